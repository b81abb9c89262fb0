// The session suites' server (issue 10 §2): one per file, behind a proxy, with an SMTP sink and an admin,
// and logins "from" a named device and address, so each test reads as who signed in from where.
import { expect } from "bun:test";
import { mailServerForFile } from "./smtp.ts";
import { uniqueEmail } from "./server.ts";

export const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
export const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
export const ADMIN = { email: "root@sessions.test", password: "admin-password-1" };

export type Login = { access: string; refresh: string };

/** The file's server and the helpers that talk to it; stopped after the file's last test. */
export async function sessionsServerForFile() {
  // Behind one proxy, so each test can log in "from" the address it names.
  const { smtp, server } = await mailServerForFile({ TRUST_PROXY: "1", ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });

  async function login(email: string, from: { ua?: string; ip?: string } = {}, password = "password123"): Promise<Login> {
    const headers: Record<string, string> = { "User-Agent": from.ua ?? FIREFOX, "X-Forwarded-For": from.ip ?? "198.51.100.7" };
    const reply = await server.client.send("POST", "/login", { json: { email, password }, headers });
    expect(reply.status).toBe(200);
    return { access: reply.body.access_token, refresh: reply.body.refresh_token };
  }

  async function account(name = "Test User") {
    const email = uniqueEmail("sess");
    const registered = await server.client.register({ email, name });
    expect(registered.status).toBe(201);
    return { id: registered.body.id as number, email };
  }

  const list = (token: string, path = "/me/sessions") => server.client.send("GET", path, { token });
  const me = (token: string) => server.client.send("GET", "/me", { token });
  const refresh = (token: string) => server.client.send("POST", "/token/refresh", { json: { refresh_token: token } });

  /** Mail to `email` that came out of the outbox by now (registration's verification mail aside). */
  async function alertsTo(email: string) {
    await server.deps.outbox.idle();
    return smtp.messages.filter((m) => m.to.includes(email.toLowerCase()) && m.subject === "New sign-in to your account");
  }

  return { smtp, server, login, account, list, me, refresh, alertsTo };
}
