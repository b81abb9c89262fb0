// How connections end: a refused body is still read by Node's own clients as a status, never an
// EPIPE, and a connection that stalls or idles is closed after IDLE_TIMEOUT_SECONDS.
import { describe, expect, test } from "bun:test";
import { serverForFile, startServer } from "../helpers/server.ts";
import { closedAfter } from "../helpers/sockets.ts";

const server = await serverForFile();
const user = await server.client.signUp();

describe("refusals that Node's own clients read (issue 9.2)", () => {
  const script = new URL("../helpers/node-refusals.mjs", import.meta.url).pathname;
  const MB = 1_000_000;
  // [what, method, path, bytes, content type, token, status]
  const cases = (): Array<[string, string, string, number, string, string, number]> => [
    ["a 6 MB upload", "POST", "/me/upload-image", 6 * MB, "multipart/form-data; boundary=XyZ", user.token, 413],
    ["a 147 KB upload with a bad token", "POST", "/me/upload-image", 147_000, "multipart/form-data; boundary=XyZ", "not-a-token", 401],
    ["6 MB of JSON to /register", "POST", "/register", 6 * MB, "application/json", "", 413],
  ];

  for (const client of ["fetch", "http", "chunked"] as const) {
    test(`Node ${client}: each of 10 attempts reads the status, never EPIPE`, async () => {
      for (const [what, method, path, bytes, type, token, status] of cases()) {
        const node = Bun.spawn(["/usr/bin/node", script, server.url, client, method, path, String(bytes), type, token, "10"], { stdout: "pipe", stderr: "pipe" });
        const [out, err, code] = await Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited]);
        expect({ what, code, err }).toEqual({ what, code: 0, err: "" });
        expect({ what, seen: JSON.parse(out) }).toEqual({ what, seen: Array(10).fill(status) });
      }
    }, 60_000);
  }

  test("after a refused body of known length the connection stays usable (keep-alive, no close)", async () => {
    const reply = await server.client.send("POST", "/me/upload-image", { token: "not-a-token", body: new Uint8Array(147_000), headers: { "Content-Type": "multipart/form-data; boundary=XyZ" } });
    expect(reply.status).toBe(401);
    expect(reply.headers.get("connection")).not.toBe("close");
  });
});

describe("idle connections are closed (issue 14.4)", () => {
  test("IDLE_TIMEOUT_SECONDS=1 closes a stalled body and an idle keep-alive connection in seconds; Bun closes a silent one by ~12 s", async () => {
    await using idle = await startServer({ IDLE_TIMEOUT_SECONDS: "1" });
    const [stalledBody, keptAlive, silent] = await Promise.all([
      closedAfter(idle.url, 'POST /register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na', 8000),
      closedAfter(idle.url, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n", 8000),
      // Before a whole request head Bun's own fixed 10 s timer applies (checked every 4 s); no setting moves it.
      closedAfter(idle.url, "GET /healthz HTTP/1.1\r\nHost: te", 20_000),
    ]);
    // Bun checks its timers every 4 s and a 1 s timeout fires at the next check, so "1 s" is anywhere
    // from a few ms to ~4 s (a full run saw 160 ms); without the setting it is 10-12 s. What shows the
    // close is for idleness is what came before it: nothing for the stalled body, the whole 200 here.
    expect(stalledBody.received).toBe("");
    expect(keptAlive.received).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n\{"status":"ok"\}$/);
    for (const { ms } of [stalledBody, keptAlive]) expect(ms).toBeLessThan(7000);
    expect(silent.ms).toBeLessThan(16_000);
  }, 30_000);
});
