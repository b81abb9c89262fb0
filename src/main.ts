// Entry point: read the config, build the dependencies, serve, and on SIGTERM/SIGINT stop taking
// connections, let in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), close the database.
import { createServer } from "./app.ts";
import type { Clock } from "./core.ts";
import { ConfigError, loadConfig, logLevelFrom, redactUrl, type Config } from "./config.ts";
import { isCliCommand, runCli } from "./cli/index.ts";
import { runDecodeChild } from "./images/decoder.ts";
import { createLogger, describeError, stdoutSink } from "./log.ts";
import { startMetricsListener } from "./metrics/listener.ts";
import { healthcheck, startFailureReason, warnIfLowNofile } from "./startup.ts";
import { buildDeps } from "./wire.ts";

const out = stdoutSink();
// The one clock (epoch ms) everything is given; it becomes a Date only at the database's edge and
// seconds only at the JWT's.
const clock: Clock = Date.now;
const log = createLogger(out.sink, out.flush, logLevelFrom(), clock);
// Set once read: the reasons for a failed start name the database and address it was given.
let given: Config | undefined;

async function main(): Promise<void> {
  let listening = false;
  // Nothing may end the process before it listens without saying so: an event loop left empty
  // (work that held no handle open) would otherwise exit 0, which a supervisor reads as success.
  process.on("beforeExit", () => {
    if (listening) return;
    log.error("failed to start: the process ran out of work before it could listen");
    out.flush();
    process.exit(1);
  });
  let config;
  try {
    config = given = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  warnIfLowNofile(log);
  const deps = await buildDeps(config, log, clock);
  const server = createServer(deps, { hostname: config.host, port: config.port });
  listening = true;
  log.info("listening", {
    url: `http://${server.hostname}:${server.port}`,
    public_base_url: config.publicBaseUrl,
    database: redactUrl(config.databaseUrl),
    env: config.env,
  });
  const management = startMetricsListener(deps);
  out.flush();

  const sweeper = setInterval(
    () =>
      Promise.all([deps.sessions.deleteExpired(), deps.accountTokens.deleteExpired(clock())]).catch((err) =>
        log.error("token sweep failed", describeError(err)),
      ),
    60 * 60 * 1000,
  );
  sweeper.unref();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    const deadline = performance.now() + config.shutdownTimeoutMs;
    const drained = server.stop(false);
    const timedOut = Bun.sleep(config.shutdownTimeoutMs).then(() => "timeout" as const);
    if ((await Promise.race([drained, timedOut])) === "timeout") {
      log.warn("in-flight requests did not finish in time; closing them", { timeout_ms: config.shutdownTimeoutMs });
      await server.stop(true);
    }
    clearInterval(sweeper);
    // Scraped until the end of the drain, so the last figures can still be read.
    await management?.stop(true);
    deps.sweeper.stop();
    await deps.backfill.stop();
    // Mail for requests already answered, within what is left of the same budget.
    const unsent = await deps.outbox.idle(deadline - performance.now());
    if (unsent > 0) log.warn("shutting down with mail not yet sent", { messages: unsent, timeout_ms: config.shutdownTimeoutMs });
    deps.mailer.close();
    deps.hasher.close();
    deps.limiter.close();
    await deps.store.close();
    log.info("stopped");
    out.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

if (process.argv[2] === "healthcheck") process.exit(await healthcheck());
if (process.argv[2] === "image-decode") process.exit(await runDecodeChild(process.argv));
if (isCliCommand(process.argv[2])) process.exit(await runCli(process.argv.slice(2)));

main().catch((err) => {
  const reason = startFailureReason(err, given);
  log.error("failed to start", { reason, ...describeError(err), stack: undefined });
  out.flush();
  process.stderr.write(`failed to start: ${reason}\n`);
  process.exit(1);
});
