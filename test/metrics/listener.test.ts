// The management listener as configured and as main.ts runs it: loopback on 9464 by default, its
// own port in the real process (stopped on SIGTERM), what happens when that port is taken, and a
// compose file that keeps it inside its network.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { Metrics } from "../../src/metrics/index.ts";
import { startMetricsListener } from "../../src/metrics/listener.ts";
import { MAIN, startProcess, tempDirsForFile } from "../helpers/server.ts";

const tempDir = tempDirsForFile("profile-metrics-");
/** A port nobody listens on right now (held by nobody once returned). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

describe("configuration", () => {
  test("defaults: metrics on, management listener on 127.0.0.1:9464, public /metrics off (no token)", () => {
    expect(loadConfig({})).toMatchObject({ metrics: true, metricsHost: "127.0.0.1", metricsPort: 9464, metricsPortExplicit: false, metricsToken: undefined });
    expect(loadConfig({ METRICS_HOST: "0.0.0.0", METRICS_PORT: "9100" })).toMatchObject({ metricsHost: "0.0.0.0", metricsPort: 9100, metricsPortExplicit: true });
  });

  test("METRICS_PORT: a port, and not the public one", () => {
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(/METRICS_PORT must be a whole number from 0 to 65535/);
    expect(() => loadConfig({ PORT: "9000", METRICS_PORT: "9000" })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(loadConfig({ PORT: "0", METRICS_PORT: "0" }).metricsPort).toBe(0);
  });
});

describe("a taken port", () => {
  const deps = (env: Record<string, string>, explicit: boolean) => {
    const logs: string[] = [];
    const config = { ...loadConfig(env), metricsPortExplicit: explicit };
    const metrics = new Metrics({ hashing: () => 0, images: () => 0, mail: () => 0 });
    return { logs, deps: { config, metrics, log: createLogger((line) => logs.push(line)) } };
  };

  test("METRICS_PORT given: the start fails, naming the address", () => {
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      const { deps: given } = deps({ METRICS_PORT: String(holder.port) }, true);
      expect(() => startMetricsListener(given)).toThrow(`cannot serve metrics on 127.0.0.1:${holder.port} (METRICS_HOST, METRICS_PORT)`);
    } finally {
      holder.stop(true);
    }
  });

  test("the default port (a second instance on the host): a warning, and the service runs without it", () => {
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      const { deps: defaulted, logs } = deps({ METRICS_PORT: String(holder.port) }, false);
      expect(startMetricsListener(defaulted)).toBeUndefined();
      expect(JSON.parse(logs[0]!)).toMatchObject({ level: "warn", msg: "metrics listener not started: its default port is in use; set METRICS_PORT" });
    } finally {
      holder.stop(true);
    }
  });

  test("the real process with METRICS_PORT taken: exit 1 and one clear line", async () => {
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      const proc = Bun.spawn([process.execPath, MAIN], {
        cwd: tempDir(),
        env: { PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: String(holder.port) },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(code).toBe(1);
      expect(stderr).toContain(`failed to start: cannot serve metrics on 127.0.0.1:${holder.port}`);
    } finally {
      holder.stop(true);
    }
  });
});

test("the real process: metrics on the management port, a 404 on the public one, and the management port closed on SIGTERM", async () => {
  const port = freePort();
  const service = await startProcess(tempDir(), { METRICS_PORT: String(port) });
  const management = `http://127.0.0.1:${port}/metrics`;
  await fetch(`${service.url}/healthz`);
  const scraped = await fetch(management);
  expect(scraped.status).toBe(200);
  expect(await scraped.text()).toContain('http_requests_total{route="/healthz",method="GET",status="200"} 1');
  expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
  service.proc.kill("SIGTERM");
  expect(await service.proc.exited).toBe(0);
  expect(await service.output()).toContain(`"msg":"metrics listening","url":"http://127.0.0.1:${port}/metrics"`);
  await expect(fetch(management)).rejects.toThrow();
});

test("docker-compose.yml: the apps listen for metrics inside the network, and nothing publishes that port", async () => {
  const compose = Bun.YAML.parse(await Bun.file(resolve(import.meta.dir, "../../docker-compose.yml")).text()) as {
    services: Record<string, { environment?: Record<string, string>; ports?: string[]; command?: string }>;
  };
  const apps = Object.entries(compose.services).filter(([, service]) => service.environment?.JWT_SECRET !== undefined);
  expect(apps.map(([name]) => name)).toEqual(["app1", "app2"]);
  for (const [, app] of apps) {
    expect(app.environment).toMatchObject({ METRICS_HOST: "0.0.0.0", METRICS_PORT: "9464" });
    expect(app.environment!.METRICS_TOKEN).toBeUndefined();
    expect(app.ports).toBeUndefined();
  }
  const published = Object.values(compose.services).flatMap((service) => service.ports ?? []);
  expect(published.filter((mapping) => mapping.split(":").at(-1) === "9464")).toEqual([]);
  // The proxy forwards the public port only.
  expect(compose.services.proxy!.command).not.toContain("9464");
});
