// The one notion of time the service passes around: milliseconds since the epoch, read from a Clock
// that is injected (src/main.ts and src/cli/index.ts make the only real ones) so tests can move time.

/** Milliseconds since the epoch; injected so tests can freeze time. */
export type Clock = () => number;
