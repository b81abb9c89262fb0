// The seed every fuzz file starts from: fixed, so a failure in CI replays on a laptop, and
// overridable with FUZZ_SEED to explore new inputs. fast-check prints seed and path on failure.

const fromEnv = Number(process.env.FUZZ_SEED);
export const SEED = Number.isSafeInteger(fromEnv) ? fromEnv : 0x5eed_2025;

/** fast-check parameters: the shared seed and a run count sized to keep each file to seconds. */
export const runs = (numRuns: number) => ({ seed: SEED, numRuns });
