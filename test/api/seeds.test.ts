// Each seed app's clients work against this service unchanged: their documented request bodies,
// sent to their own route names, get the canonical responses.
import { describe, expect, test } from "bun:test";
import { png } from "../fixtures/images.ts";
import { localUrl, serverForFile, uniqueEmail, type TestServer } from "../helpers/server.ts";

const server = await serverForFile();

const send = (method: string, path: string, init: Parameters<TestServer["client"]["send"]>[2] = {}) => server.client.send(method, path, init);

describe("seed 001: /auth/signup, /auth/login (OAuth2 form), /profile/me", () => {
  test("sign up, log in with the OAuth2 password form, read and update name + bio", async () => {
    const email = uniqueEmail("seed001");
    const signup = await send("POST", "/auth/signup", { json: { name: "Sejal", email, password: "password123" } });
    expect(signup.status).toBe(201);
    expect(signup.body.message).toBe("User registered successfully");

    const form = new URLSearchParams({ username: email, password: "password123" });
    const login = await send("POST", "/auth/login", { body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(login.status).toBe(200);
    expect(login.body.token_type).toBe("bearer");
    const token = login.body.access_token;

    expect((await send("GET", "/profile/me", { token })).body).toMatchObject({ id: signup.body.id, name: "Sejal", email, bio: "" });
    const updated = await send("PUT", "/profile/me", { token, json: { name: "Sejal S.", bio: "Mobile dev" } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ message: "Profile updated successfully", user: { name: "Sejal S.", bio: "Mobile dev" } });
  });
});

describe("seed 003: /users/register, /users/login, /users/me", () => {
  test("username is the name on register and the email on login; GET, PUT {username, email, password}, DELETE", async () => {
    const email = uniqueEmail("seed003");
    const register = await send("POST", "/users/register", { json: { username: "johndoe", email, password: "password123" } });
    expect(register.status).toBe(201);

    const login = await send("POST", "/users/login", { json: { username: email, password: "password123" } });
    expect(login.status).toBe(200);
    const token = login.body.access_token;
    expect(typeof token).toBe("string");
    expect(login.body.token_type).toBe("bearer");
    expect((await send("GET", "/users/me", { token })).body).toMatchObject({ id: register.body.id, name: "johndoe", email });

    // The seed's client sends no current password; right after logging in it needs none.
    const moved = uniqueEmail("seed003b");
    const put = await send("PUT", "/users/me", { token, json: { username: "john", email: moved, password: "new-password-1" } });
    expect(put.status).toBe(200);
    expect(put.body.user).toMatchObject({ name: "john", email: moved });
    const again = await send("POST", "/users/login", { json: { username: moved, password: "new-password-1" } });
    expect(again.status).toBe(200);

    expect((await send("DELETE", "/users/me", { token: again.body.access_token })).status).toBe(200);
    expect((await send("POST", "/users/login", { json: { username: moved, password: "new-password-1" } })).status).toBe(401);
  });

  test("`username` and `name` together are ambiguous → 422", async () => {
    const reply = await send("POST", "/users/register", { json: { username: "a", name: "b", email: uniqueEmail(), password: "password123" } });
    expect(reply.status).toBe(422);
  });
});

describe("seed 004: /register {user, …}, /login, /profile/{id}", () => {
  test("register with `user`, read and update /profile/{id} with {user, email, password}; another id → 403", async () => {
    const email = uniqueEmail("seed004");
    const register = await send("POST", "/register", { json: { user: "Aiven Fan", email, password: "password123" } });
    expect(register.status).toBe(201);
    const id = register.body.id;
    const token = (await send("POST", "/login", { json: { email, password: "password123" } })).body.access_token;

    expect((await send("GET", `/profile/${id}`, { token })).body).toMatchObject({ id, name: "Aiven Fan", email });
    const moved = uniqueEmail("seed004b");
    const put = await send("PUT", `/profile/${id}`, { token, json: { user: "Renamed", email: moved, password: "password456" } });
    expect(put.status).toBe(200);
    expect(put.body.user).toMatchObject({ id, name: "Renamed", email: moved });
    expect((await send("POST", "/login", { json: { email: moved, password: "password456" } })).status).toBe(200);

    const other = await server.client.signUp();
    expect((await send("GET", `/profile/${other.id}`, { token: put.body.access_token })).status).toBe(403);
    expect((await send("PUT", `/profile/${other.id}`, { token: put.body.access_token, json: { user: "Hijack" } })).status).toBe(403);
  });
});

describe("seed 002: POST /users/{user_id}/profile-picture", () => {
  test("a FastAPI UploadFile (`file`) for one's own id → the canonical upload answer, served back as JPEG", async () => {
    const user = await server.client.signUp();
    const form = new FormData();
    form.append("file", new Blob([png(120, 80)], { type: "image/png" }), "avatar.png");
    const reply = await send("POST", `/users/${user.id}/profile-picture`, { token: user.token, body: form });
    expect(reply.status).toBe(200);
    expect(reply.body.message).toBe("Upload successful");
    const picture = await fetch(localUrl(server, reply.body.image_url));
    expect(picture.headers.get("content-type")).toBe("image/jpeg");
  });
});
