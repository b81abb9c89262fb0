// Mail goes out after the response, never inside it: the client does not wait on an SMTP server,
// and a forgot-password request takes the same time whether or not the account exists.
import type { Logger } from "../log.ts";
import { describeError } from "../log.ts";

export type MailResult = "sent" | "failed" | "dropped";
/** What the outbox reports: a request for mail as it is made (the same for every address), then its result. */
export type MailEvent = "requested" | MailResult;

// Warnings about dropped mail, at most this often: a flood must not flood the log too.
const DROP_WARNING_INTERVAL_MS = 10_000;

// Tasks are tracked so shutdown (and tests) can wait for what is still on its way, and bounded: a
// flood of requests that send mail (across many addresses, past the rate limits) must not pile up
// tasks and SMTP connections without end while the mail server is slow.
export class Outbox {
  private readonly pending = new Set<Promise<void>>();
  private lastDropWarning = -Infinity;

  constructor(
    private readonly log: Logger,
    private readonly count: (event: MailEvent, what: string) => void = () => {},
    private readonly maxPending = 1000,
  ) {}

  /**
   * Runs `task` in the background; a failure is logged (without the message body) and counted.
   * With `maxPending` tasks already on their way the task is dropped, counted and warned about:
   * the request was answered already, and its sender can ask again.
   */
  later(what: string, requestId: string | undefined, task: () => Promise<unknown>): void {
    this.count("requested", what);
    if (this.pending.size >= this.maxPending) {
      this.count("dropped", what);
      if (performance.now() - this.lastDropWarning > DROP_WARNING_INTERVAL_MS) {
        this.lastDropWarning = performance.now();
        this.log.warn("mail dropped: too many messages on their way", { mail: what, request_id: requestId, pending: this.pending.size });
      }
      return;
    }
    const done = (async () => {
      // Not a step of it before the answer is out: on SQLite a lookup runs synchronously, and its
      // cost would show in the response time of exactly the requests that name a real account.
      await new Promise((resolve) => setTimeout(resolve, 0));
      try {
        if ((await task()) !== false) this.count("sent", what);
      } catch (err) {
        this.count("failed", what);
        const { stack: _stack, ...reason } = describeError(err);
        this.log.error("mail not sent", { mail: what, request_id: requestId, ...reason });
      }
    })();
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  get depth(): number {
    return this.pending.size;
  }

  /** Resolves once every task started so far has finished, or after `timeoutMs`; how many are left. */
  async idle(timeoutMs = 10_000): Promise<number> {
    const deadline = Bun.sleep(Math.max(0, timeoutMs));
    while (this.pending.size > 0) {
      const settled = Promise.allSettled([...this.pending]).then(() => "done");
      if ((await Promise.race([settled, deadline.then(() => "timeout")])) === "timeout") break;
    }
    return this.pending.size;
  }
}
