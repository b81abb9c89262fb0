// The profile's JSON text, made once per row: what it says must be what toProfile says, for that row
// object and that storage, and a changed row (a new object, as every write makes) must read anew.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { profileJson, toProfile } from "../../src/accounts/profile.ts";
import type { UserRow } from "../../src/store/index.ts";
import { LocalImageStorage } from "../../src/storage/local.ts";

const row: UserRow = {
  id: 7,
  name: "Ada",
  email: "ada@example.com",
  passwordHash: "$argon2id$not-a-real-hash",
  bio: "first",
  role: "user",
  imageVersion: 3,
  imageSet: { version: 3, full: "7/abc-full.jpg", sizes: { "64": { webp: "7/abc-64.webp", jpeg: "7/abc-64.jpg" } }, width: 640, height: 480, placeholder: "data:image/png;base64,AAAA" },
  tokenVersion: 1,
  emailVerified: true,
  disabledAt: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-02T00:00:00.000Z",
};
const storage = (base: string) => new LocalImageStorage(mkdtempSync(join(tmpdir(), "profile-json-")), base);

test("is toProfile's answer as JSON, the same each time for the same row", () => {
  const pictures = storage("http://pictures.test");
  const expected = JSON.stringify(toProfile(row, pictures));
  expect(profileJson(row, pictures)).toBe(expected);
  expect(profileJson(row, pictures)).toBe(expected);
  expect(JSON.parse(expected).image.sizes["64"].webp).toBe("http://pictures.test/static/p/7/abc-64.webp");
});

test("a changed row, a new object with the same id, reads anew", () => {
  const pictures = storage("http://pictures.test");
  profileJson(row, pictures);
  const renamed: UserRow = { ...row, name: "Ada L.", disabledAt: "2026-02-01T00:00:00.000Z" };
  expect(JSON.parse(profileJson(renamed, pictures))).toMatchObject({ id: 7, name: "Ada L.", active: false });
  expect(JSON.parse(profileJson(row, pictures))).toMatchObject({ name: "Ada", active: true });
});

test("the same row under another storage names that storage's URLs", () => {
  profileJson(row, storage("http://one.test"));
  expect(JSON.parse(profileJson(row, storage("http://two.test"))).image_url).toBe("http://two.test/static/profile/7.jpg?v=3");
});
