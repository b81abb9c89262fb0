// The `import` command as an operator runs it: a JSON Lines and a CSV export from the seeds' apps go
// in, the report lists every rejected row with all its reasons, a second run changes nothing, and
// the imported bcrypt users log in over HTTP and leave with argon2id hashes. SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRow } from "../../src/cli/import-row.ts";
import { freshDatabase, type TestDatabase } from "../helpers/database.ts";
import { MAIN, startServer } from "../helpers/server.ts";

const PASSWORD = "legacy-password-1";
// passlib's bcrypt writes $2b$, as Bun does; cost 4 keeps the test fast.
const BCRYPT = await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: 4 });
// Made elsewhere: the crypt_blowfish/OpenBSD test vector for the password "U*U", and the hash
// argon2-cffi's README shows (passlib's argon2 backend, default parameters).
const FOREIGN_BCRYPT = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
const FOREIGN_PASSWORD = "U*U";
// Also crypt_blowfish's: a password past bcrypt's 72 bytes, which every bcrypt but Bun's truncates.
const LONG_BCRYPT = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
const LONG_PASSWORD = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored";
const ARGON2_CFFI = "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg";

const PLAINTEXT = "hunter2hunter2";
const DATE_FORMAT = 'created_at must be an ISO 8601 date and time, like 2024-05-01T12:30:00Z or "2024-05-01 12:30:00"';
const NOT_A_HASH = "password_hash is not a password hash: plaintext passwords are never imported (give a bcrypt or argon2id hash)";

const dir = mkdtempSync(join(tmpdir(), "import-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function runImport(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, MAIN, "import", ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  // Whatever happens, no hash and no password reaches the terminal.
  expect(out + err).not.toMatch(/\$2[abxy]\$\d\d\$|\$argon2id\$v=19\$m=\d|hunter2|legacy-password/);
  return { code, report: out === "" ? undefined : JSON.parse(out), stderr: err };
}

const JSONL = [
  { email: "Legacy.User@Example.com", username: "Legacy User", password_hash: BCRYPT, created_at: "2021-03-04 05:06:07", id: 17, is_active: true },
  { email: "blowfish@example.com", name: "Blow Fish", bio: "two\nlines", password_hash: FOREIGN_BCRYPT, created_at: "2020-01-02T03:04:05.678+02:00", email_verified: true },
  { email: "argon@example.com", user: "Argon", password_hash: ARGON2_CFFI },
  "",
  { email: "not-an-email", name: "Bad Email", password_hash: BCRYPT },
  { email: "nameless@example.com", password_hash: BCRYPT },
  { email: "plain@example.com", name: "Plain", password_hash: PLAINTEXT },
  { email: "feb30@example.com", name: "Feb", password_hash: BCRYPT, created_at: "2021-02-30 10:00:00" },
  { email: "legacy.user@example.com", name: "Again", password_hash: BCRYPT },
  '{"email": "broken@example.com", ',
  { email: "", name: "", password_hash: "$2b$12$short", created_at: "yesterday", email_verified: "maybe" },
  { email: "twice@example.com", name: "Twice", username: "Twice", password_hash: BCRYPT },
  { email: "long@example.com", name: "Long", password_hash: LONG_BCRYPT },
]
  .map((row) => (typeof row === "string" ? row : JSON.stringify(row)))
  .join("\n");

const JSONL_REJECTED = [
  { line: 5, reasons: ["email must be an address like name@example.com"] },
  { line: 6, email: "nameless@example.com", reasons: ["name is required"] },
  { line: 7, email: "plain@example.com", reasons: [NOT_A_HASH] },
  { line: 8, email: "feb30@example.com", reasons: [DATE_FORMAT] },
  { line: 9, email: "legacy.user@example.com", reasons: ["email already appears on line 1"] },
  { line: 10, reasons: ["line is not valid JSON"] },
  {
    line: 11,
    reasons: [
      "email is required",
      "name is required",
      "password_hash is not a well-formed bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, then 53 characters)",
      DATE_FORMAT,
      "email_verified must be true or false",
    ],
  },
  { line: 12, email: "twice@example.com", reasons: ["give name once, as one of name, username"] },
];

// As a spreadsheet saves it: BOM, CRLF, capitalised headers, a quoted bio spanning two lines.
const CSV = [
  "\uFEFFEmail,Name,Bio,Password_Hash,Created_At,Email_Verified",
  `csv.one@example.com,"Doe, Jane","said ""hi""\r\nthen left",${BCRYPT},2019-12-31T23:59:59Z,false`,
  `csv.two@example.com,Two,,${FOREIGN_BCRYPT.replace("$2a$", "$2y$")},,`,
  `csv.three@example.com,Three,,${PLAINTEXT},,`,
  `csv.four@example.com,Four,five fields,${BCRYPT},`,
  `CSV.ONE@example.com,Dup,,${BCRYPT},,`,
  `csv.five@example.com,Five,"bad "quote,${BCRYPT},,`,
  `csv.six@example.com,Six,,${BCRYPT},2031-01-01 00:00:00,`,
].join("\r\n");

const CSV_REJECTED = [
  { line: 5, email: "csv.three@example.com", reasons: [NOT_A_HASH] },
  { line: 6, reasons: ["row has 5 fields where the header has 6"] },
  { line: 7, email: "csv.one@example.com", reasons: ["email already appears on line 2"] },
  { line: 8, reasons: ["row is not well-formed CSV: text after the closing quote of a field"] },
  { line: 9, email: "csv.six@example.com", reasons: ["created_at must be between 1970 and now"] },
];

describe.each(["sqlite", "postgres"] as const)("import into %s", (kind) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase(mkdtempSync(join(dir, `${kind}-`)), kind);
    env = { DATABASE_URL: database.url };
  });
  afterAll(() => database.drop());

  const jsonl = writeFile(`users-${kind}.jsonl`, JSONL);
  const csv = writeFile(`users-${kind}.csv`, CSV);
  let firstRunAt: { before: number; after: number };

  test("a JSON Lines file: valid rows imported, every other row rejected with all its reasons", async () => {
    const before = Date.now();
    const { code, report, stderr } = await runImport(["--file", jsonl], env);
    firstRunAt = { before, after: Date.now() };
    expect({ code, report }).toEqual({ code: 1, report: { file: jsonl, imported: 4, skipped: 0, rejected: JSONL_REJECTED } });
    expect(stderr).toBe("import: ignoring columns this service does not keep: id, is_active\n");
  });

  test("a CSV file (--verified): the same checks, lines counted across quoted line breaks", async () => {
    const { code, report } = await runImport(["--file", csv, "--verified"], env);
    expect({ code, report }).toEqual({ code: 1, report: { file: csv, imported: 2, skipped: 0, rejected: CSV_REJECTED } });
  });

  test("a second run imports nothing and skips what is already there", async () => {
    expect((await runImport(["--file", jsonl], env)).report).toEqual({ file: jsonl, imported: 0, skipped: 4, rejected: JSONL_REJECTED });
    expect((await runImport(["--file", csv], env)).report).toEqual({ file: csv, imported: 0, skipped: 2, rejected: CSV_REJECTED });
  });

  test("a file with nothing wrong exits 0", async () => {
    const clean = writeFile(`clean-${kind}.txt`, `${JSON.stringify({ email: "clean@example.com", name: "Clean", password_hash: BCRYPT })}\n`);
    expect(await runImport(["--file", clean, "--format", "jsonl"], env)).toEqual({
      code: 0,
      report: { file: clean, imported: 1, skipped: 0, rejected: [] },
      stderr: "",
    });
  });

  test("imported users log in with their old passwords; bcrypt becomes argon2id; fields are the file's", async () => {
    await using server = await startServer(env);
    const store = server.deps.store;

    const login = await server.client.login("legacy.user@example.com", PASSWORD);
    expect(login.status).toBe(200);
    expect((await store.userByEmail("legacy.user@example.com"))!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    const me = await server.client.send("GET", "/me", { token: login.body.access_token });
    expect(me.body).toMatchObject({ email: "legacy.user@example.com", name: "Legacy User", bio: "", created_at: "2021-03-04T05:06:07.000Z", email_verified: false, role: "user" });
    expect((await server.client.login("legacy.user@example.com", "wrong-password")).status).toBe(401);

    expect((await server.client.login("blowfish@example.com", FOREIGN_PASSWORD)).status).toBe(200);
    expect((await server.client.login("csv.two@example.com", FOREIGN_PASSWORD)).status).toBe(200); // $2y$
    // Checked on its first 72 bytes as bcrypt does; the argon2id it becomes holds all of it.
    expect((await server.client.login("long@example.com", LONG_PASSWORD)).status).toBe(200);
    expect((await server.client.login("long@example.com", LONG_PASSWORD.slice(0, 72))).status).toBe(401);
    expect((await server.client.login("long@example.com", LONG_PASSWORD)).status).toBe(200);
    expect(await store.userByEmail("blowfish@example.com")).toMatchObject({ bio: "two\nlines", createdAt: "2020-01-02T01:04:05.678Z", emailVerified: true });
    expect(await store.userByEmail("csv.one@example.com")).toMatchObject({
      name: "Doe, Jane",
      bio: 'said "hi"\r\nthen left',
      createdAt: "2019-12-31T23:59:59.000Z",
      emailVerified: true, // --verified outranks the file's false
    });
    const argon = (await store.userByEmail("argon@example.com"))!;
    expect(argon.passwordHash).toBe(ARGON2_CFFI);
    expect(Date.parse(argon.createdAt)).toBeGreaterThanOrEqual(firstRunAt.before - 1);
    expect(Date.parse(argon.createdAt)).toBeLessThanOrEqual(firstRunAt.after);
  });
});

test("a report of megabytes reaches a pipe whole before the process exits", async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ email: `u${i}@example.com`, name: "U", password_hash: PLAINTEXT }));
  const file = writeFile("all-rejected.jsonl", rows.join("\n"));
  const { code, report } = await runImport(["--file", file], { DATABASE_URL: `sqlite://${join(dir, "big", "app.db")}` });
  expect(code).toBe(1);
  expect(report.rejected).toHaveLength(20_000);
  expect(report.rejected.at(-1)).toEqual({ line: 20_000, email: "u19999@example.com", reasons: [NOT_A_HASH] });
});

describe("import: usage errors exit 2 before touching any database", () => {
  const noHash = writeFile("no-hash.csv", "email,name\na@example.com,A\n");
  const latin1 = join(dir, "latin1.jsonl");
  writeFileSync(latin1, new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d])); // {"n":"é"} in Latin-1
  test.each([
    ["no --file", [], "import: needs --file\n"],
    ["an unknown option", ["--file", noHash, "--force"], "import: Unknown option '--force'"],
    ["an extension that names no format", ["--file", join(dir, "users.txt")], "import: cannot tell the format of"],
    ["an unknown --format", ["--file", noHash, "--format", "xml"], "import: unknown --format xml: jsonl or csv\n"],
    ["a file that is not there", ["--file", join(dir, "missing.csv")], "(ENOENT)\n"],
    ["a CSV header without a hash column", ["--file", noHash], ": the header has no password_hash or hashed_password column\n"],
    ["an empty CSV file", ["--file", writeFile("empty.csv", "")], ": the file is empty: a CSV import starts with a header row\n"],
    ["a file that is not UTF-8", ["--file", latin1], " is not UTF-8 text\n"],
  ])("%s", async (_, args, message) => {
    const { code, report, stderr } = await runImport(args as string[], { DATABASE_URL: `sqlite://${join(dir, "untouched", "app.db")}` });
    expect({ code, report }).toEqual({ code: 2, report: undefined });
    expect(stderr).toContain(message);
    expect(await Bun.file(join(dir, "untouched", "app.db")).exists()).toBe(false);
  });
});

describe("checkRow: what a row may hold", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  const base = { email: "a@example.com", name: "A", password_hash: BCRYPT };
  const reasonsFor = (changes: Record<string, unknown>) => {
    const verdict = checkRow({ ...base, ...changes }, { now, verified: false });
    return "reasons" in verdict ? verdict.reasons : [];
  };
  const createdAt = (value: string) => {
    const verdict = checkRow({ ...base, created_at: value }, { now, verified: false });
    return "user" in verdict ? new Date(verdict.user.createdAt).toISOString() : verdict.reasons;
  };

  test("text NFC would take seconds over (issue 14.1) is refused by the API's own rules, at once", () => {
    const marks = ["\u0345", "\u035d", "\u035c", "\u0315", "\u0301", "\u0316", "\u031b", "\u0327"];
    const many = (each: number) => "a" + marks.map((mark) => mark.repeat(each)).join("");
    for (const text of [many(4000), many(125), many(4)]) {
      const started = performance.now();
      const reasons = reasonsFor({ email: `${text}@example.com`, name: text, bio: text });
      expect(performance.now() - started).toBeLessThan(200); // 4,000 of each took NFC 6 s
      expect(reasons).toEqual([
        expect.stringMatching(/^email must (be at most 254 characters|not contain more than 30 combining marks in a row)$/),
        expect.stringMatching(/^name must (be 1 to 100 characters|not contain more than 30 combining marks in a row)$/),
        expect.stringMatching(/^bio must (be at most 500 characters|not contain more than 30 combining marks in a row)$/),
      ]);
    }
    expect(reasonsFor({ name: "\u202enimda\u200b" })).toEqual([expect.stringContaining("name must not contain invisible formatting characters")]);
  });

  test.each([
    ["bcrypt $2a$, $2b$, $2y$", [BCRYPT, BCRYPT.replace("$2b$", "$2a$"), BCRYPT.replace("$2b$", "$2y$")]],
    ["argon2id with passlib's parameters", [ARGON2_CFFI]],
  ])("accepted hashes: %s", (_, hashes) => {
    for (const hash of hashes) expect(reasonsFor({ password_hash: hash })).toEqual([]);
  });

  test.each([
    ["plaintext", "correct horse battery staple", NOT_A_HASH.slice("password_hash ".length)],
    ["bcrypt one character short", BCRYPT.slice(0, -1), "is not a well-formed bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, then 53 characters)"],
    ["bcrypt $2x$ (the buggy crypt_blowfish mode)", BCRYPT.replace("$2b$", "$2x$"), "is not a well-formed bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, then 53 characters)"],
    ["bcrypt cost 31: hours per login", BCRYPT.replace("$04$", "$31$"), "has bcrypt cost 31; accepted are 4 to 12"],
    ["bcrypt cost 13: one past passlib's default, each wrong guess a quarter second more", BCRYPT.replace("$04$", "$13$"), "has bcrypt cost 13; accepted are 4 to 12"],
    ["argon2id of 2 GiB", ARGON2_CFFI.replace("m=65536", "m=2097152"), "has argon2id parameters m=2097152,t=3,p=4; accepted are m up to 65536 KiB, t up to 3, p up to 4"],
    ["argon2id with t=4", ARGON2_CFFI.replace("t=3", "t=4"), "has argon2id parameters m=65536,t=4,p=4; accepted are m up to 65536 KiB, t up to 3, p up to 4"],
    ["argon2id without its hash", ARGON2_CFFI.slice(0, ARGON2_CFFI.lastIndexOf("$")), "is not a well-formed argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)"],
    ["argon2i", ARGON2_CFFI.replace("argon2id", "argon2i"), "uses argon2i, which this service cannot verify (only bcrypt and argon2id)"],
    ["passlib's bcrypt_sha256", "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2", "uses bcrypt-sha256, which this service cannot verify (only bcrypt and argon2id)"],
    ["a number", 12345, "must be a string"],
  ])("rejected hashes: %s", (_, hash, reason) => {
    expect(reasonsFor({ password_hash: hash })).toEqual([`password_hash ${reason}`]);
  });

  test.each([
    ["SQLAlchemy str(datetime), naive = UTC", "2024-05-01 12:30:00", "2024-05-01T12:30:00.000Z"],
    ["with microseconds and an offset", "2024-05-01 12:30:00.123456+02:00", "2024-05-01T10:30:00.123Z"],
    ["PostgreSQL's text output, hour-only offset", "2024-05-01 12:30:00-05", "2024-05-01T17:30:00.000Z"],
    ["ISO 8601 with Z", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.000Z"],
    ["a date alone", "2024-05-01", "2024-05-01T00:00:00.000Z"],
    ["a leap day", "2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
  ])("created_at accepted: %s", (_, value, iso) => {
    expect(createdAt(value)).toBe(iso);
  });

  test.each([
    ["not a leap year", "2023-02-29 00:00:00", DATE_FORMAT],
    ["hour 24", "2024-05-01T24:00:00Z", DATE_FORMAT],
    ["an offset without a time", "2024-05-01+02:00", DATE_FORMAT],
    ["epoch seconds", "1714566600", DATE_FORMAT],
    ["before 1970", "1969-12-31T23:59:59Z", "created_at must be between 1970 and now"],
    ["after now", "2025-01-01T00:00:01Z", "created_at must be between 1970 and now"],
  ])("created_at rejected: %s", (_, value, reason) => {
    expect(createdAt(value)).toEqual([reason]);
  });

  test("email is normalised as at registration; bio and email_verified are optional", () => {
    expect(checkRow({ ...base, email: " A@EXAMPLE.COM ", email_verified: "t" }, { now, verified: false })).toEqual({
      user: { email: "a@example.com", name: "A", bio: "", passwordHash: BCRYPT, createdAt: now, emailVerified: true },
    });
  });
});
