// docs/configuration.md is checked against src/config.ts, so the reference cannot drift: every
// variable config.ts reads has a row, no row names a variable it does not read, and each default
// written there as a literal behaves as one (setting it changes nothing).
import { expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "../src/config.ts";

const root = resolve(import.meta.dir, "..");
const source = readFileSync(resolve(root, "src/config.ts"), "utf8");
const doc = readFileSync(resolve(root, "docs/configuration.md"), "utf8");

/** The table's rows: variable → default cell. */
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/gm)].map(([, name, fallback]) => [name!, fallback!.trim()] as const),
);

/**
 * What config.ts reads: every `read.*("NAME"` call in its source, plus every name loadConfig asks a
 * recording environment for (the RATE_LIMIT_* names are built from the limits table at run time).
 * Two environments, so that reads behind a branch (S3_* only with a bucket) are seen as well.
 */
function variablesRead(): Set<string> {
  const names = new Set([...source.matchAll(/read\.\w+\(\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]!));
  for (const base of [{}, { S3_BUCKET: "bucket", NODE_ENV: "production", JWT_SECRET: "x".repeat(40), SMTP_URL: "smtp://mail:25" }]) {
    const recording = new Proxy(base as Record<string, string | undefined>, {
      get(target, name) {
        if (typeof name === "string" && /^[A-Z][A-Z0-9_]*$/.test(name)) names.add(name);
        return target[name as string];
      },
    });
    loadConfig(recording);
  }
  return names;
}

test("every variable src/config.ts reads is in docs/configuration.md, and nothing else is", () => {
  const read = [...variablesRead()].sort();
  expect(read.length).toBeGreaterThan(60);
  expect([...documented.keys()].sort()).toEqual(read);
});

/** The parsed config, without flags that record whether a variable was set at all (METRICS_PORT's). */
const parsed = (env: Record<string, string>) => JSON.stringify(loadConfig(env), (key, value) => (key.endsWith("Explicit") ? undefined : value));

test("each default written as a literal is the default: setting it changes nothing", () => {
  const unset = parsed({});
  const literal = [...documented].filter(([, fallback]) => fallback.startsWith("`"));
  expect(literal.length).toBeGreaterThan(50);
  for (const [name, fallback] of literal) {
    const value = /^`([^`]*)`/.exec(fallback)![1]!;
    expect({ name, config: parsed({ [name]: value }) }).toEqual({ name, config: unset });
  }
});

test("defaults written in words say what the code does", () => {
  expect(documented.get("HASH_CONCURRENCY")).toBe("cores");
  expect(loadConfig({}).hashConcurrency).toBe(Math.max(1, availableParallelism()));
  expect(loadConfig({}).imageConcurrency).toBe(Math.max(1, availableParallelism()));
  expect(loadConfig({}).publicBaseUrl).toBe("http://localhost:8000");
  expect(loadConfig({ PORT: "9000" }).publicBaseUrl).toBe("http://localhost:9000");
  expect(documented.get("PUBLIC_BASE_URL")).toBe("http://localhost:`PORT`");
});
