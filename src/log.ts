// JSON lines to stdout, one per event. Callers pass only what is safe to keep: the request log
// names the route pattern, never the raw URL, so tokens in query strings cannot leak into it.
import type { Clock, ProblemCode } from "./core.ts";

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;
export type Logger = {
  /** Routine detail nobody needs unless LOG_LEVEL=debug (each picture sweep pass, for one). */
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  flush(): void;
  /** The access log's line for one answered request (src/http/pipeline.ts); see createLogger. */
  request(line: AccessLine): void;
};

/**
 * What the access log keeps of one request: never the raw URL, so tokens in query strings stay out.
 * `requestId`, `route` and `problem` are written as they are: a request id is one that passed
 * SANE_REQUEST_ID (src/http/pipeline.ts) or ours, a route one of the route table's patterns.
 */
export type AccessLine = {
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  userId: number | undefined;
  problem: ProblemCode | undefined;
  ip: string;
};

/**
 * How much text collects before it is written. Tried and not kept: 8 KiB, written more often but kept
 * in the caches it was made in; side by side it was no cheaper (bash bench/compare.sh HEAD 7: worse in
 * every round, by 0.4–2.7 µs, after another harness had shown it ~1 µs better).
 */
export const LOG_BATCH_BYTES = 64 * 1024;

/**
 * Batched stdout: lines collect in memory and go out in one write every 100 ms or LOG_BATCH_BYTES,
 * whichever comes first. Measured here, handing each line to a stdout writer cost ~7 µs a request;
 * this costs well under one. A crash can lose the last 100 ms of lines; shutdown flushes them.
 */
export function stdoutSink(write: (text: string) => void = (text) => void process.stdout.write(text)): { sink: LogSink; flush: () => void } {
  // One growing string rather than an array joined at each write: side by side (bench/compare.sh), a
  // little cheaper per request, and it says the same.
  let pending = "";
  const flush = () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = "";
    write(batch);
  };
  const timer = setInterval(flush, 100);
  timer.unref();
  const sink = (line: string) => {
    pending += line;
    if (pending.length >= LOG_BATCH_BYTES) flush();
  };
  return { sink, flush };
}

/**
 * `text` as a JSON string. A method or an address nearly always is printable ASCII with no quote or
 * backslash, which needs no escaping: that case is written as it is, anything else goes through
 * JSON.stringify. Side by side (bench/compare.sh), ~1 µs a request cheaper than JSON.stringify for both.
 */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(text);
  }
  return `"${text}"`;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Lines below `level` are dropped before they are built (LOG_LEVEL=warn silences the access log).
 * `clock` is the service's one clock (src/main.ts), so a test that moves time moves the log's too.
 */
export function createLogger(sink: LogSink, flush: () => void = () => {}, level: LogLevel = "info", clock: Clock = Date.now): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  // Under load many lines share a millisecond, so its text is made once.
  let lastMs = NaN;
  let lastTime = "";
  const timeOf = (ms: number) => (ms === lastMs ? lastTime : ((lastMs = ms), (lastTime = new Date(ms).toISOString())));
  const dropped = (lineLevel: LogLevel) => LOG_LEVELS.indexOf(lineLevel) < threshold;
  const write = (lineLevel: LogLevel) => {
    if (dropped(lineLevel)) return () => {};
    // The fixed keys first, then the fields' own JSON spliced in: no merged copy of the fields is made.
    return (msg: string, fields?: LogFields) => {
      const head = `{"time":"${timeOf(clock())}","level":"${lineLevel}","msg":${JSON.stringify(msg)}`;
      const rest = fields === undefined ? "{}" : JSON.stringify(fields);
      sink(rest.length === 2 ? `${head}}\n` : `${head},${rest.slice(1)}\n`);
    };
  };
  // One line per request, so it is written out by hand rather than through JSON.stringify of its fields
  // (side by side, bench/compare.sh: ~1 µs a request less). Only the method and the address may carry
  // what a client chose (X-Forwarded-For), so only they are escaped (AccessLine says why the rest need not).
  const request = dropped("info") ? () => {} : (l: AccessLine) => {
    const user = l.userId === undefined ? "" : `,"user_id":${l.userId}`;
    const problem = l.problem === undefined ? "" : `,"problem":"${l.problem}"`;
    sink(
      `{"time":"${timeOf(clock())}","level":"info","msg":"request","request_id":"${l.requestId}","method":${jsonString(l.method)},"route":"${l.route}","status":${l.status},"duration_ms":${l.durationMs}${user}${problem},"ip":${jsonString(l.ip)}}\n`,
    );
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error"), flush, request };
}

/** What the log may say about an unexpected error: its kind, message and where it came from. */
export function describeError(err: unknown): LogFields {
  if (err instanceof Error) {
    return { error: err.name, error_message: err.message, error_code: (err as { code?: unknown }).code, stack: err.stack };
  }
  return { error: String(err) };
}
