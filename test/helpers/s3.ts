// A real S3-protocol server (s3rver) on 127.0.0.1, started once per test process, with a fresh
// bucket for every test server. TEST_STORAGE=s3 runs the API suites against it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

export const TEST_STORAGE = process.env.TEST_STORAGE === "s3" ? "s3" : "local";

let running: Promise<string> | undefined;

/** The endpoint of this process's s3rver, started on first use and stopped when the process ends. */
export function s3Endpoint(): Promise<string> {
  running ??= (async () => {
    const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: mkdtempSync(join(tmpdir(), "s3rver-")) });
    const { port } = await server.run();
    process.once("beforeExit", () => void server.close());
    return `http://127.0.0.1:${port}`;
  })();
  return running;
}

/** A new empty bucket, and the environment that points the service at it. */
export async function freshBucket(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const endpoint = await s3Endpoint();
  const bucket = `t-${crypto.randomUUID().slice(0, 18)}`;
  const created = await fetch(`${endpoint}/${bucket}`, { method: "PUT" });
  if (!created.ok) throw new Error(`s3rver refused to create a bucket: ${created.status}`);
  return {
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_REGION: "us-east-1",
    S3_ACCESS_KEY_ID: "S3RVER",
    S3_SECRET_ACCESS_KEY: "S3RVER",
    ...extra,
  };
}
