// The running server the request fuzzer talks to: fills a plan's placeholders from a live session,
// sends it (fetch, or a bare socket), judges the reply, and starts a new session when one ends.
import { type TestServer, uniqueEmail } from "../helpers/server.ts";
import { SLOT, type Plan } from "./plans.ts";
import { exchange, type RawPlan } from "./raw-http.ts";

const TIMEOUT_MS = 10_000;
const CUT_SHORT_WAIT_MS = 500;

export type Result = { status: number; failure?: string };
type Session = Awaited<ReturnType<TestServer["client"]["signUp"]>>;

/**
 * What is wrong with one response, if anything. The one 5xx allowed is Bun's own bodiless 505 for
 * an HTTP version it does not speak (RFC 9110's answer), sent before any of our code runs.
 */
export function verdict(status: number, headers: Headers, body: Uint8Array, method: string): string | undefined {
  if (status >= 500 && !(status === 505 && !headers.has("x-request-id") && body.length === 0)) return `status ${status}`;
  if (status < 400 || body.length === 0 || method === "HEAD") return undefined;
  if (!headers.get("content-type")?.startsWith("application/problem+json")) return `${status} with content-type ${headers.get("content-type")}`;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return `${status} problem+json that is not JSON`;
  }
  const ok = typeof problem.type === "string" && typeof problem.title === "string" && problem.status === status && typeof problem.code === "string";
  return ok ? undefined : `${status} problem lacks type/title/status/code`;
}

export const preview = (bytes: Uint8Array | string | undefined, n = 200) =>
  bytes === undefined ? "" : JSON.stringify((typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1")).slice(0, n));

export class LiveTarget {
  private renewing: Promise<Session> | undefined;
  readonly port: number;

  private constructor(
    readonly server: TestServer,
    private session: Session,
  ) {
    this.port = Number(new URL(server.url).port);
  }

  static async start(server: TestServer): Promise<LiveTarget> {
    return new LiveTarget(server, await server.client.signUp());
  }

  /** Resolves once no new session is being made: a token we know is dead only tests the 401 path. */
  async ready(): Promise<void> {
    await this.renewing;
  }

  private renew(): Promise<Session> {
    this.renewing ??= this.server.client.signUp().then((fresh) => {
      this.session = fresh;
      this.renewing = undefined;
      return fresh;
    });
    return this.renewing;
  }

  /** Renews the session if it no longer works, whatever ended it. */
  async checkSession(): Promise<void> {
    if ((await this.server.client.send("GET", "/me", { token: this.session.token })).status !== 200) await this.renew();
  }

  fill(text: string, tokenEdit?: (token: string) => string): string {
    const { token, refresh, email, id } = this.session;
    return text
      .replaceAll(SLOT.token, tokenEdit ? tokenEdit(token) : token)
      .replaceAll(SLOT.refresh, refresh)
      .replaceAll(SLOT.newEmail, uniqueEmail("fuzz"))
      .replaceAll(SLOT.email, email)
      .replaceAll(SLOT.user, String(id));
  }

  private fillBytes(bytes: Uint8Array): Uint8Array {
    const buf = Buffer.from(bytes);
    return buf.includes("@@") ? Buffer.from(this.fill(buf.toString("latin1")), "latin1") : bytes; // latin1 round-trips any byte
  }

  /** After a 2xx that may have ended the session (deletion, logout, rotation, new password), start another. */
  private async afterReply(target: string, status: number, body: Uint8Array): Promise<void> {
    if (status < 200 || status >= 300) return;
    const passwordChanged = target === "PUT /me" && Buffer.from(body).includes("access_token");
    if (passwordChanged || target.startsWith("DELETE ") || ["POST /logout", "POST /token/refresh"].includes(target)) await this.renew();
  }

  async send(p: Plan): Promise<Result> {
    const headers = new Headers();
    for (const [name, value] of p.headers) headers.append(name, this.fill(value, p.tokenEdit));
    const body = p.body && !["GET", "HEAD"].includes(p.method.toUpperCase()) ? this.fillBytes(p.body) : undefined;
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(this.server.url + this.fill(p.path), { method: p.method, headers, body, redirect: "manual", signal, decompress: false });
    } catch (err) {
      const name = (err as Error).name;
      if (name === "TimeoutError" || name === "AbortError") return { status: 0, failure: `no response in ${TIMEOUT_MS} ms` };
      return { status: -1 }; // refused by fetch itself, or the connection dropped: counted, not judged
    }
    const bytes = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    await this.afterReply(p.target, res.status, bytes);
    const failure = verdict(res.status, res.headers, bytes, p.method.toUpperCase());
    return { status: res.status, failure: failure && `${failure}; response ${preview(bytes)}` };
  }

  async sendRaw(target: string, r: RawPlan): Promise<Result> {
    const outcome = await exchange(this.port, Buffer.from(this.fill(r.bytes), "latin1"), r.complete ? TIMEOUT_MS : CUT_SHORT_WAIT_MS);
    for (const res of outcome.responses) await this.afterReply(target, res.status, res.body);
    if (outcome.timedOut && r.complete && outcome.responses.length === 0) return { status: 0, failure: `no response or close in ${TIMEOUT_MS} ms` };
    for (const res of outcome.responses) {
      const failure = verdict(res.status, res.headers, res.body, "");
      if (failure) return { status: res.status, failure: `${failure}; received ${preview(outcome.received, 400)}` };
    }
    return { status: outcome.responses[0]?.status ?? (outcome.closed ? -2 : -3) };
  }
}
