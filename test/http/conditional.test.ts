// Conditional GET (RFC 9110 §13) through the one helper both validator-sending routes use: the
// helper as a table, then /static/profile/<id>.jpg and /docs/assets/* as a client sees them.
import { afterAll, describe, expect, test } from "bun:test";
import { utimesSync } from "node:fs";
import { join } from "node:path";
import { lastModifiedHeader, notModified } from "../../src/http/conditional.ts";
import { png } from "../fixtures/images.ts";
import { startServer } from "../helpers/server.ts";

const ETAG = '"abc-1"';
const MODIFIED = Date.parse("Tue, 01 Dec 2026 10:00:00 GMT") + 400; // sub-second, as file times are
const NOW = Date.parse("Thu, 03 Dec 2026 08:00:00 GMT");
const ask = (headers: Record<string, string>, method = "GET") => notModified(new Request("http://x/", { method, headers }), { etag: ETAG, lastModified: MODIFIED }, NOW);

describe("notModified", () => {
  test.each([
    ["the same tag", { "If-None-Match": '"abc-1"' }, true],
    ["a weak form of it (weak comparison)", { "If-None-Match": 'W/"abc-1"' }, true],
    ["a list holding it", { "If-None-Match": '"x", W/"y" ,"abc-1"' }, true],
    ["a list with empty members", { "If-None-Match": ' , "abc-1",' }, true],
    ["*", { "If-None-Match": "*" }, true],
    ["another tag", { "If-None-Match": '"abc-2"' }, false],
    ["a tag with a comma inside, not ours", { "If-None-Match": '"abc-1,"' }, false],
    ["an unquoted tag (invalid: ignored)", { "If-None-Match": "abc-1" }, false],
    ["If-Modified-Since at Last-Modified", { "If-Modified-Since": "Tue, 01 Dec 2026 10:00:00 GMT" }, true],
    ["If-Modified-Since after it", { "If-Modified-Since": "Wed, 02 Dec 2026 10:00:00 GMT" }, true],
    ["If-Modified-Since a second before", { "If-Modified-Since": "Tue, 01 Dec 2026 09:59:59 GMT" }, false],
    ["If-Modified-Since in RFC 850 form", { "If-Modified-Since": "Wednesday, 02-Dec-26 10:00:00 GMT" }, true],
    ["If-Modified-Since in asctime form", { "If-Modified-Since": "Wed Dec  2 10:00:00 2026" }, true],
    ["If-Modified-Since that is not a date", { "If-Modified-Since": "yesterday" }, false],
    ["If-None-Match wins over If-Modified-Since", { "If-None-Match": '"other"', "If-Modified-Since": "Wed, 02 Dec 2026 10:00:00 GMT" }, false],
  ] as const)("%s", (_name, headers, expected) => {
    expect(ask(headers)).toBe(expected);
  });

  test("HEAD is conditional too; other methods are not 304", () => {
    expect(ask({ "If-None-Match": "*" }, "HEAD")).toBe(true);
    expect(ask({ "If-None-Match": "*" }, "POST")).toBe(false);
  });

  test("Last-Modified is never later than the response's own time", () => {
    expect(lastModifiedHeader(NOW + 1500, NOW)).toBe(new Date(NOW).toUTCString());
    expect(lastModifiedHeader(MODIFIED, NOW)).toBe("Tue, 01 Dec 2026 10:00:00 GMT");
  });
});

describe("over HTTP", async () => {
  const server = await startServer();
  afterAll(() => server.close());
  const user = await server.client.signUp();
  expect((await server.client.upload(user.token, png(16, 16))).status).toBe(200);
  const path = `/static/profile/${user.id}.jpg`;

  test("a picture: Last-Modified not after Date right after an upload; If-Modified-Since gives 304", async () => {
    const first = await server.client.send("GET", path);
    expect(first.status).toBe(200);
    const lastModified = first.headers.get("last-modified")!;
    expect(Date.parse(lastModified)).toBeLessThanOrEqual(Date.parse(first.headers.get("date")!));
    const again = await server.client.send("GET", path, { headers: { "If-Modified-Since": lastModified } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    const older = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await server.client.send("GET", path, { headers: { "If-Modified-Since": older } })).status).toBe(200);
  });

  test("a picture written with a clock ahead of ours (NFS, an S3 server) still has Last-Modified <= Date", async () => {
    const file = join(server.dir, "static", "profile", (await server.deps.store.userById(user.id))!.imageSet!.full);
    const ahead = new Date(Date.now() + 3600_000);
    utimesSync(file, ahead, ahead);
    const reply = await server.client.send("GET", path);
    expect(reply.status).toBe(200);
    expect(Date.parse(reply.headers.get("last-modified")!)).toBeLessThanOrEqual(Date.parse(reply.headers.get("date")!));
  });

  test("a picture: weak and listed If-None-Match give 304", async () => {
    const etag = (await server.client.send("GET", path)).headers.get("etag")!;
    for (const value of [`W/${etag}`, `"nope", ${etag}`, "*"]) {
      expect((await server.client.send("GET", path, { headers: { "If-None-Match": value } })).status).toBe(304);
    }
  });

  test("/docs/assets: weak, listed and * If-None-Match give 304; another tag 200", async () => {
    const asset = "/docs/assets/swagger-ui-bundle.js";
    const etag = (await server.client.send("GET", asset)).headers.get("etag")!;
    const opaque = etag.replace(/^W\//, "");
    for (const value of [etag, opaque, `W/${opaque}`, `"nope", ${etag}`, `"nope",${opaque}`, "*"]) {
      expect((await server.client.send("GET", asset, { headers: { "If-None-Match": value } })).status).toBe(304);
    }
    expect((await server.client.send("GET", asset, { headers: { "If-None-Match": '"nope"' } })).status).toBe(200);
  });
});
