// JSON lines to stdout, one per event. Callers pass only what is safe to keep: the request log
// names the route pattern, never the raw URL, so tokens in query strings cannot leak into it.

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;
export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  flush(): void;
};

/** Buffered stdout: one syscall per batch instead of one per request line. */
export function stdoutSink(): { sink: LogSink; flush: () => void } {
  const writer = Bun.stdout.writer({ highWaterMark: 64 * 1024 });
  const timer = setInterval(() => writer.flush(), 200);
  timer.unref();
  return { sink: (line) => void writer.write(line), flush: () => void writer.flush() };
}

export function createLogger(sink: LogSink, flush: () => void = () => {}): Logger {
  const write = (level: string, msg: string, fields?: LogFields) =>
    sink(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    flush,
  };
}

/** What the log may say about an unexpected error: its kind, message and where it came from. */
export function describeError(err: unknown): LogFields {
  if (err instanceof Error) {
    return { error: err.name, error_message: err.message, error_code: (err as { code?: unknown }).code, stack: err.stack };
  }
  return { error: String(err) };
}
