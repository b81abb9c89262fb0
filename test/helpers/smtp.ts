// A real SMTP server on 127.0.0.1 for the tests (the npm smtp-server package): it accepts every
// message, keeps it, and lets a test wait for the one sent to an address and pull its link out.
import { afterAll, expect } from "bun:test";
import { SMTPServer } from "smtp-server";
import { startServer, type TestServer, uniqueEmail } from "./server.ts";

export type ReceivedMail = { from: string; to: string[]; raw: string; text: string; subject: string };

export type SmtpSink = {
  url: string;
  messages: ReceivedMail[];
  /** The next message to `to` not yet taken, waiting up to `timeoutMs`; taken messages are not returned twice. */
  next(to: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
};

/** Undoes quoted-printable (RFC 2045), which mailers use for long lines like our links. */
export function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, "latin1").toString("utf8");
}

/** The decoded bodies of a MIME message, all parts run together: enough to find text and links. */
function readableText(raw: string): string {
  const [, ...bodies] = raw.split(/\r?\n\r?\n/);
  const body = bodies.join("\n\n");
  if (/Content-Transfer-Encoding: base64/i.test(raw)) {
    const decoded = body.replace(/^[A-Za-z0-9+/=\r\n]{20,}$/gm, (b64) => Buffer.from(b64.replace(/\s/g, ""), "base64").toString("utf8"));
    return decodeQuotedPrintable(decoded);
  }
  return decodeQuotedPrintable(body);
}

/** The `token` query parameter of the first link in a message. */
export function tokenFrom(mail: ReceivedMail): string {
  const link = /https?:\/\/[^\s"<>]+\?token=([^\s"<>&]+)/.exec(mail.text);
  if (!link) throw new Error(`no link with a token in the mail "${mail.subject}":\n${mail.text}`);
  return decodeURIComponent(link[1]!);
}

export async function startSmtpSink(auth?: { user: string; pass: string }): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    disabledCommands: auth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    allowInsecureAuth: true,
    authOptional: !auth,
    logger: false,
    onAuth(credentials, _session, callback) {
      if (auth && credentials.username === auth.user && credentials.password === auth.pass) return callback(null, { user: auth.user });
      callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw,
          text: readableText(raw),
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? "",
        });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  // A sender that dies mid-conversation (the crash tests SIGKILL the service) resets its
  // connection; that is the sender's failure, not the sink's, and must not throw here.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  const url = auth ? `smtp://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@127.0.0.1:${port}` : `smtp://127.0.0.1:${port}`;

  const find = (to: string) => messages.find((m) => !taken.has(m) && m.to.includes(to.toLowerCase()));
  return {
    url,
    messages,
    async next(to, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = find(to);
        if (mail) {
          taken.add(mail);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms (got ${messages.length} for others)`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 50);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A mail sink and a server that sends to it, shared by a whole test file and stopped after its last test. */
export async function mailServerForFile(
  env: Record<string, string> = {},
  auth?: { user: string; pass: string },
): Promise<{ smtp: SmtpSink; server: TestServer }> {
  const smtp = await startSmtpSink(auth);
  const server = await startServer({ ...env, SMTP_URL: smtp.url });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });
  return { smtp, server };
}

/**
 * The account-mail suites' server: MAIL_FROM set, and SMTP credentials, so they also prove SMTP_URL's user and
 * password reach the mail server; `registered` makes an account (201) and `me` reads the signed-in user back.
 */
export async function accountsServerForFile() {
  const { smtp, server } = await mailServerForFile({ MAIL_FROM: "Profiles <accounts@profiles.test>" }, { user: "mailer", pass: "s3cret pass" });
  async function registered(email = uniqueEmail("acct")) {
    const reply = await server.client.register({ email });
    expect(reply.status).toBe(201);
    return { id: reply.body.id as number, email, password: "password123" };
  }
  const me = async (token: string) => (await server.client.send("GET", "/me", { token })).body;
  return { smtp, server, registered, me };
}
