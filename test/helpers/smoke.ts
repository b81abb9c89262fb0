// The API smoke suite: one pass over every route group against a service that is already running
// (the compiled binary, a container). Each step asserts the contract's status and shape.
import { expect } from "bun:test";
import { png } from "../fixtures/images.ts";
import { expectProblem, uniqueEmail, type Client } from "./server.ts";
import type { SmtpSink } from "./smtp.ts";
import { tokenFrom } from "./smtp.ts";

export async function apiSmoke(client: Client, smtp: SmtpSink): Promise<void> {
  expect((await client.send("GET", "/healthz")).status).toBe(200);
  expect((await client.send("GET", "/readyz")).status).toBe(200);

  const email = uniqueEmail("smoke");
  const registered = await client.register({ email, password: "smoke-password" });
  expect(registered.status).toBe(201);
  expectProblem(await client.register({ email }), 409, "email_taken");
  const verify = tokenFrom(await smtp.next(email));
  expect((await client.send("POST", "/email/verify", { json: { token: verify } })).status).toBe(200);

  const login = await client.login(email, "smoke-password");
  expect(login.status).toBe(200);
  let token: string = login.body.access_token;
  expectProblem(await client.login(email, "wrong-password"), 401, "invalid_credentials");

  const me = await client.send("GET", "/me", { token });
  expect(me.body).toMatchObject({ id: registered.body.id, email, email_verified: true, image_url: null });
  expect((await client.send("PUT", "/me", { token, json: { name: "Smoke", bio: "test" } })).body.user).toMatchObject({ name: "Smoke", bio: "test" });

  const upload = await client.upload(token, png(40, 30));
  expect(upload.status).toBe(200);
  const picture = await fetch(`${client.url}/static/profile/${registered.body.id}.jpg`);
  expect(picture.status).toBe(200);
  expect(await new Bun.Image(new Uint8Array(await picture.arrayBuffer())).metadata()).toMatchObject({ format: "jpeg", width: 40 });
  expect((await client.send("DELETE", "/me/image", { token })).status).toBe(200);

  const refreshed = await client.send("POST", "/token/refresh", { json: { refresh_token: login.body.refresh_token } });
  expect(refreshed.status).toBe(200);
  token = refreshed.body.access_token;

  expect((await client.send("POST", "/password/forgot", { json: { email } })).status).toBe(202);
  const reset = tokenFrom(await smtp.next(email));
  expect((await client.send("POST", "/password/reset", { json: { token: reset, new_password: "smoke-password-2" } })).status).toBe(200);
  expectProblem(await client.send("GET", "/me", { token }), 401, "invalid_token");
  const again = await client.login(email, "smoke-password-2");
  expect(again.status).toBe(200);
  token = again.body.access_token;

  expectProblem(await client.send("GET", "/users", { token }), 403, "forbidden");
  expect((await client.send("GET", `/users/${registered.body.id}`, { token })).status).toBe(200);
  // Metrics live on the management port; the public one has them only with METRICS_TOKEN.
  expectProblem(await client.send("GET", "/metrics"), 404, "not_found");
  expect((await client.send("POST", "/logout", { json: { refresh_token: again.body.refresh_token } })).status).toBe(204);
  expectProblem(await client.send("GET", "/me", { token }), 401, "invalid_token");

  const last = await client.login(email, "smoke-password-2");
  expect((await client.send("DELETE", "/me", { token: last.body.access_token })).status).toBe(200);
  expectProblem(await client.login(email, "smoke-password-2"), 401, "invalid_credentials");
}
