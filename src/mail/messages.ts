// The messages the service sends, as plain text and HTML, carrying no text a user chose (a
// "name" like "your account is locked, go to evil.example" must not reach someone else's inbox).
import type { Mail } from "./mailer.ts";

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function html(paragraphs: string[], link?: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n");
  const button = link ? `\n<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : "";
  return `<!doctype html>\n<html><body style="font-family:sans-serif">\n${body}${button}\n</body></html>\n`;
}

const minutes = (seconds: number) => (seconds % 3600 === 0 ? `${seconds / 3600} hour${seconds === 3600 ? "" : "s"}` : `${Math.round(seconds / 60)} minutes`);

// Anyone can sign up with someone else's address; values put into HTML are escaped all the same.
/** A message with a link: the text has the link between `lines` and `after`, the HTML a button at the end. */
function linkMail(to: string, subject: string, lines: string[], link: { href: string; label: string }, after: string): Mail {
  return {
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${link.href}\n\n${after}\n`,
    html: html([...lines, after], link),
  };
}

export function verificationMail(to: { email: string }, link: string, ttlSeconds: number): Mail {
  return linkMail(
    to.email,
    "Confirm your email address",
    ["Hello,", `Please confirm that ${to.email} is your email address. The link works once, for ${minutes(ttlSeconds)}.`],
    { href: link, label: "Confirm my email address" },
    "If you did not ask for this, you can ignore this message.",
  );
}

export function passwordResetMail(to: { email: string }, link: string, ttlSeconds: number): Mail {
  return linkMail(
    to.email,
    "Reset your password",
    ["Hello,", `Someone asked to reset the password of your account. The link works once, for ${minutes(ttlSeconds)}.`],
    { href: link, label: "Choose a new password" },
    "If it was not you, ignore this message: your password stays as it is.",
  );
}

export function emailChangedMail(to: { email: string }, newEmail: string): Mail {
  const lines = [
    "Hello,",
    `The email address of your account was changed from ${to.email} to ${newEmail}.`,
    "If you did not make this change, reset your password right away and contact us.",
  ];
  return { to: to.email, subject: "Your email address was changed", text: `${lines.join("\n\n")}\n`, html: html(lines) };
}

/**
 * A login from a device and network the account has not used lately. `device` is a label built from
 * fixed words (src/auth/device.ts) and `ip` a validated address, so nothing here is a user's text.
 */
export function newDeviceMail(to: { email: string }, login: { device: string; ip: string | null; at: number }): Mail {
  const when = `${new Date(login.at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const lines = [
    "Hello,",
    "Your account was just signed in to from a device or network it has not used lately.",
    `Device: ${login.device}`,
    `Address: ${login.ip ?? "unknown"}`,
    `Time: ${when}`,
    "If this was you, there is nothing to do. If it was not, change your password right away: that signs out every session. Your sessions are listed, and can be ended one by one, at GET /me/sessions.",
  ];
  return { to: to.email, subject: "New sign-in to your account", text: `${lines.join("\n\n")}\n`, html: html(lines) };
}
