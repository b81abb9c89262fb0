// Starts the real entry point (src/main.ts) as a child process and waits until it listens: for
// tests of what only a whole process shows (signals, restarts, several instances at once).
import { resolve } from "node:path";

export const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export type ServiceProcess = { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; url: string; output: () => Promise<string> };

/** `nofile` starts it under `ulimit -n <nofile>` (soft and hard), as a host with a low limit would. */
export async function startProcess(cwd: string, env: Record<string, string> = {}, options: { nofile?: number } = {}): Promise<ServiceProcess> {
  const command = options.nofile === undefined ? [process.execPath, MAIN] : ["sh", "-c", `ulimit -n ${options.nofile} && exec "$0" "$1"`, process.execPath, MAIN];
  const proc = Bun.spawn(command, {
    stdin: "ignore",
    cwd,
    env: { PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let output = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    output += new TextDecoder().decode(value);
    const match = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(output);
    if (match) {
      const rest = (async () => {
        for (;;) {
          const next = await reader.read();
          if (next.done) return output;
          output += new TextDecoder().decode(next.value);
        }
      })();
      return { proc, url: `http://127.0.0.1:${match[1]}`, output: () => rest };
    }
  }
  proc.kill();
  throw new Error(`server did not start: ${output}${await new Response(proc.stderr).text()}`);
}
