// Where mail goes: an SMTP server (nodemailer) when SMTP_URL is set, otherwise the log, so a
// developer with curl can follow a reset or verification link without running a mail server.
import type { Transporter } from "nodemailer";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";

export type Mail = { to: string; subject: string; text: string; html: string };

export type Mailer = { send(mail: Mail): Promise<void>; close(): void };

// A dead or slow mail server must not hold a background task for minutes (nodemailer's default).
const SMTP_TIMEOUT_MS = 10_000;

function smtpMailer(smtpUrl: string, from: string): Mailer {
  const url = new URL(smtpUrl);
  const secure = url.protocol === "smtps:";
  // nodemailer is loaded with the first mail, not at start: loading it was a third of a cold start.
  let transport: Promise<Transporter> | undefined;
  const open = () =>
    (transport ??= import("nodemailer").then(({ default: nodemailer }) =>
      // Pooled: a burst of sign-ups shares a few connections instead of opening one each, which
      // providers throttle or refuse; the outbox's bound does the queuing in front of the pool.
      nodemailer.createTransport({
        pool: true,
        maxConnections: 5,
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port === "" ? (secure ? 465 : 587) : Number(url.port),
        secure,
        auth: url.username === "" ? undefined : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
        connectionTimeout: SMTP_TIMEOUT_MS,
        greetingTimeout: SMTP_TIMEOUT_MS,
        socketTimeout: SMTP_TIMEOUT_MS,
      }),
    ));
  return {
    async send(mail) {
      await (await open()).sendMail({ from, ...mail });
    },
    close: () => void transport?.then((opened) => opened.close()),
  };
}

function logMailer(log: Logger): Mailer {
  return {
    async send(mail) {
      log.info("mail (not sent: SMTP_URL is not set)", { to: mail.to, subject: mail.subject, text: mail.text });
      log.flush(); // someone is waiting for this link; do not hold it for the next batch
    },
    close() {},
  };
}

// Production refuses to start without SMTP_URL (src/config.ts), so the log never gets real links.
export function createMailer(config: Config, log: Logger): Mailer {
  return config.smtpUrl === undefined ? logMailer(log) : smtpMailer(config.smtpUrl, config.mailFrom);
}
