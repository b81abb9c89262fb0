// What uploads cost the whole service process (src/main.ts run as it is in production): held
// bodies (issue 14.2) and pixel bombs (issue 14.3), measured as peak resident memory from /proc.
import { describe, expect, test } from "bun:test";
import { solidPng } from "../fixtures/bombs.ts";
import { heldUpload, watchMemory, type HeldUpload } from "../helpers/held-upload.ts";
import { Client, expectProblem, type ServiceProcess, startProcess, tempDirsForFile } from "../helpers/server.ts";

const MIB = 1024 * 1024;
const tempDir = tempDirsForFile("profile-memory-");

async function service(env: Record<string, string> = {}): Promise<ServiceProcess & { client: Client; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = tempDir();
  const started = await startProcess(dir, { RATE_LIMITS: "off", ACCESS_LOG: "false", ...env });
  return {
    ...started,
    client: new Client(started.url),
    async [Symbol.asyncDispose]() {
      started.proc.kill("SIGKILL");
      await started.proc.exited;
    },
  };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

describe("upload bodies in flight are bounded before they are read (issue 14.2)", () => {
  test("200 held 5 MiB uploads: peak RSS under 300 MiB, the surplus get 503 server_busy with Retry-After at once", async () => {
    await using svc = await service();
    const users = await Promise.all(Array.from({ length: 20 }, () => svc.client.signUp()));
    const memory = watchMemory(svc.proc.pid);
    const held: HeldUpload[] = [];
    try {
      // One account's three uploads at once: two are held, whichever comes third is refused.
      const own = [0, 1, 2].map(() => heldUpload(svc.url, "/me/upload-image", users[0]!.token, 5 * MIB));
      held.push(...own);
      const ownAnswers = await Promise.all(own.map((h) => Promise.race([h.answer, h.sent.then(() => Bun.sleep(300)).then(() => "pending" as const)])));
      expect(ownAnswers.filter((a) => a === "pending")).toHaveLength(2);
      // Refused with a 503 the client reads: the unread body is drained, never reset under the answer.
      expect(ownAnswers.filter((a) => a !== undefined && a !== "pending" && a.status === 503)).toHaveLength(1);
      // Then 197 more from the other 19 accounts, a few at a time as clients arrive.
      for (let i = 3; i < 200; i += 8) {
        const wave = Array.from({ length: Math.min(8, 200 - i) }, (_, k) => heldUpload(svc.url, "/me/upload-image", users[1 + ((i + k) % 19)]!.token, 5 * MIB));
        held.push(...wave);
        await Promise.all(wave.map((h) => Promise.race([h.answer, h.sent])));
      }
      await Promise.all(held.map((h) => Promise.race([h.answer, h.sent])));
      await Bun.sleep(300); // the held bodies are all in the server now
      const answers = await Promise.all(held.map((h) => Promise.race([h.answer, Bun.sleep(10).then(() => "pending" as const)])));
      const refused = answers.filter((a) => a !== "pending" && a?.status === 503) as Array<{ status: number; ms: number }>;
      const pending = answers.filter((a) => a === "pending").length;
      // Closed with the 503 still unread on our side: a reset that overtook the answer.
      const closedUnread = answers.filter((a) => a === undefined).length;
      const { treePeakMiB, hwmMiB } = memory.stop();
      const times = refused.map((r) => r.ms);
      console.log(
        `held ${pending}, refused ${refused.length} (+${closedUnread} closed before the answer was read); 503 after p50 ` +
          `${percentile(times, 0.5).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms; ` +
          `VmHWM ${hwmMiB.toFixed(0)} MiB`,
      );
      expect(pending).toBe(16); // UPLOADS_IN_FLIGHT's default
      expect(refused.length).toBe(184);
      expect(closedUnread).toBe(0);
      expect(hwmMiB).toBeLessThan(300);
      expect(treePeakMiB).toBeLessThan(300);
      // The bar is 100 ms; a loaded test machine gets a margin.
      expect(percentile(times, 0.5)).toBeLessThan(100);
      expect(Math.max(...times)).toBeLessThan(2000);
    } finally {
      held.forEach((h) => h.close());
    }
    // The places are given back when the held uploads go away.
    await Bun.sleep(200);
    const after = await svc.client.upload(users[0]!.token, solidPng(64, 64));
    expect(after.status).toBe(200);
  }, 60_000);

  test("a refused upload's 503 names server_busy and carries Retry-After", async () => {
    await using svc = await service({ UPLOADS_PER_USER: "1" });
    const user = await svc.client.signUp();
    const hold = async () => {
      const held = heldUpload(svc.url, "/me/upload-image", user.token, MIB);
      await held.sent;
      return held;
    };
    let held = await hold();
    try {
      // The held upload takes its place when the server reaches its handler, which on a busy machine
      // can come after our bytes are sent: until then a second upload still fits (and gets 200). It
      // can also take the account's one place first, and the held one is then refused: hold another.
      let reply = await svc.client.upload(user.token, solidPng(64, 64));
      for (let tries = 0; reply.status === 200 && tries < 40; tries++) {
        const ended = await Promise.race([held.answer.then(() => true), Bun.sleep(1).then(() => false)]);
        if (ended) {
          held.close();
          held = await hold();
        }
        await Bun.sleep(50);
        reply = await svc.client.upload(user.token, solidPng(64, 64));
      }
      expectProblem(reply, 503, "server_busy");
      expect(reply.headers.get("retry-after")).toBe("1");
    } finally {
      held.close();
    }
  }, 30_000);
});

describe("decode memory is bounded, not just decode slots (issue 14.3)", () => {
  test("32 parallel pixel bombs (the issue's 6320×6320, then 25 MP ones) peak under 300 MiB", async () => {
    // Memory is measured here, not time: a loaded test machine must not turn decodes into 422s.
    await using svc = await service({ IMAGE_DECODE_TIMEOUT_MS: "30000" });
    const users = await Promise.all(Array.from({ length: 16 }, () => svc.client.signUp()));
    const issues = solidPng(6320, 6320); // 39.9 MP in some 120 KiB
    const largest = solidPng(5000, 5000); // 25 MP: the most still accepted
    const memory = watchMemory(svc.proc.pid);
    const statuses: number[] = [];
    for (const bomb of [issues, largest]) {
      // Two per account, as many as an account may have in flight.
      const replies = await Promise.all([...users, ...users].map((u) => svc.client.upload(u.token, bomb)));
      statuses.push(...replies.map((r) => r.status));
    }
    const { treePeakMiB, hwmMiB } = memory.stop();
    console.log(`pixel bombs: statuses ${JSON.stringify(statuses.reduce((n: Record<number, number>, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}))}; ` +
      `server VmHWM ${hwmMiB.toFixed(0)} MiB, with decoders ${treePeakMiB.toFixed(0)} MiB`);
    expect(statuses.slice(0, 32)).toEqual(Array(32).fill(413)); // over IMAGE_MAX_PIXELS
    expect(statuses.slice(32)).toContain(200);
    expect(statuses.slice(32).every((s) => s === 200 || s === 503)).toBe(true);
    expect(hwmMiB).toBeLessThan(300);
    expect(treePeakMiB).toBeLessThan(300);
  }, 120_000);
});
