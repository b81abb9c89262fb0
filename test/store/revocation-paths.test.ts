// Every write that changes what authentication reads leaves a revocation feed row, whoever makes it:
// hand edits in SQL included, on both databases. A path that leaves none would let other instances
// serve a revoked user or session from memory until the entry ages out of their caches.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionCache } from "../../src/auth/session-cache.ts";
import { createLogger } from "../../src/log.ts";
import { openStore, type Revocation, type Store } from "../../src/store/index.ts";
import { freshDatabase, type TestDatabase } from "../helpers/database.ts";

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`${dialect}: hand edits leave feed rows`, () => {
    let database: TestDatabase;
    let store: Store;
    let hand: SQL;
    let cursor: number;
    let alice: number;
    let bob: number;

    beforeEach(async () => {
      database = await freshDatabase(mkdtempSync(join(tmpdir(), "revocation-paths-")), dialect);
      store = (await openStore(database.url, { now: Date.now })).store;
      alice = await store.createUser({ name: "alice", email: "alice@paths.test", passwordHash: "h", now: Date.now() });
      bob = await store.createUser({ name: "bob", email: "bob@paths.test", passwordHash: "h", now: Date.now() });
      hand =
        dialect === "postgres"
          ? new SQL(database.url, { max: 1 })
          : new SQL({ adapter: "sqlite", filename: database.url.replace(/^sqlite:\/\//, "") });
      await hand`INSERT INTO refresh_tokens (id, family_id, user_id, user_version, secret_hash, expires_at, created_at)
        VALUES ('t1', 'f1', ${alice}, 0, 'x', ${new Date(Date.now() + 3_600_000).toISOString()}, ${new Date().toISOString()})`;
      cursor = (await store.revocations.latest()).id;
    });

    afterEach(async () => {
      await hand.close();
      await store.close();
      await database.drop();
    });

    /** What the feed says happened since the last look, without ids. */
    async function since(): Promise<Revocation[]> {
      const read = await store.revocations.after(cursor, []);
      cursor = read.newest;
      return read.entries.map(({ id: _, ...revocation }) => revocation as Revocation);
    }

    test("a user's id changed: the old id, which caches hold, and the new one", async () => {
      // bob: alice's refresh token would stop it on PostgreSQL (its foreign key does not cascade updates)
      await hand.unsafe(`UPDATE users SET id = ${bob + 1000} WHERE id = ${bob}`);
      expect(await since()).toEqual([{ user: bob }, { user: bob + 1000 }]);
    });

    test("a refresh token moved to another session or another user: the session it left", async () => {
      await hand`UPDATE refresh_tokens SET family_id = 'f2' WHERE id = 't1'`;
      expect(await since()).toEqual([{ session: "f1" }]);
      await hand.unsafe(`UPDATE refresh_tokens SET user_id = ${bob} WHERE id = 't1'`);
      expect(await since()).toEqual([{ session: "f2" }]);
    });

    test("a session's own bookkeeping (last used, spent) leaves no row", async () => {
      await hand`UPDATE refresh_tokens SET last_used_at = ${new Date().toISOString()}, used_at = ${new Date().toISOString()} WHERE id = 't1'`;
      await hand`UPDATE refresh_tokens SET family_id = 'f1', user_id = ${alice} WHERE id = 't1'`; // set to what it was
      expect(await since()).toEqual([]);
    });

    /** A session cache on this store, its log kept: `said` finds lines by their text, `until` waits up to 2 s for one. */
    function loggingCache(now?: () => number) {
      const lines: string[] = [];
      const cache = new SessionCache(store, { size: 10, boundMs: 1000, log: createLogger((line) => lines.push(line)), now });
      const said = (text: string) => lines.filter((line) => line.includes(text)).map((line) => JSON.parse(line));
      const until = async (text: string) => {
        for (let i = 0; i < 40 && said(text).length === 0; i++) await Bun.sleep(50);
      };
      return { cache, said, until };
    }

    test("a feed trigger dropped, disabled or no longer firing always, or ids handed out in blocks, is named when a cache starts", async () => {
      expect(await store.revocations.faults()).toEqual([]);
      if (dialect === "postgres") {
        // What a data-only pg_dump --disable-triggers wraps its load in: enabled again, but no longer ALWAYS.
        await hand`ALTER TABLE users DISABLE TRIGGER ALL`;
        await hand`ALTER TABLE users ENABLE TRIGGER ALL`;
        await hand`ALTER TABLE refresh_tokens DISABLE TRIGGER revocations_session`;
        await hand`ALTER SEQUENCE revocations_id_seq CACHE 10`;
      } else {
        await hand`DROP TRIGGER revocations_session_end`;
      }
      const faults = dialect === "postgres"
        ? [
            "trigger users.revocations_user not in force", "trigger users.revocations_truncate not in force",
            "trigger refresh_tokens.revocations_session not in force", "id sequence caches 10 ids per connection (must be 1)",
          ]
        : ["trigger refresh_tokens.revocations_session_end not in force"];
      expect(await store.revocations.faults()).toEqual(faults);
      const { cache, said, until } = loggingCache();
      cache.start();
      await until("not as its migrations left it");
      cache.stop();
      expect(said("not as its migrations left it")).toHaveLength(1);
      expect(said("not as its migrations left it")[0].faults).toEqual(faults);
    });

    test("a fault that appears while the cache runs is named at its next prune, a minute on, and its end too", async () => {
      let now = 0;
      const { cache, said, until } = loggingCache(() => now);
      cache.start();
      await Bun.sleep(300);
      if (dialect === "postgres") await hand`ALTER TABLE users DISABLE TRIGGER revocations_user`;
      else await hand`DROP TRIGGER revocations_user_delete`;
      const name = dialect === "postgres" ? "users.revocations_user" : "users.revocations_user_delete";
      now += 61_000;
      await until("not as its migrations left it");
      expect(said("not as its migrations left it").map((line) => line.faults)).toEqual([[`trigger ${name} not in force`]]);
      if (dialect === "postgres") await hand`ALTER TABLE users ENABLE ALWAYS TRIGGER revocations_user`;
      else await hand`CREATE TRIGGER revocations_user_delete AFTER DELETE ON users BEGIN INSERT INTO revocations (user_id) VALUES (OLD.id); END`;
      now += 61_000;
      await until("as its migrations left it again");
      cache.stop();
      expect(said("as its migrations left it again")).toHaveLength(1);
      expect(said("not as its migrations left it")).toHaveLength(1); // said once, not at every prune
    });

    if (dialect === "sqlite") {
      test("REPLACE, which deletes the rows in its way without their delete triggers: each replaced row", async () => {
        // A copy of token t1, edited, put back in whole rows.
        await hand`CREATE TEMP TABLE token AS SELECT * FROM refresh_tokens WHERE id = 't1'`;
        await hand`UPDATE token SET id = 't2', family_id = 'f9'`;
        await hand`INSERT INTO refresh_tokens SELECT * FROM token`;
        expect(await since()).toEqual([]); // a plain insert replaces nothing
        await hand`UPDATE token SET id = 't1', family_id = 'f2'`;
        await hand`REPLACE INTO refresh_tokens SELECT * FROM token`;
        expect(await since()).toEqual([{ session: "f1" }]);
        await hand`UPDATE OR REPLACE refresh_tokens SET id = 't1' WHERE id = 't2'`;
        expect(await since()).toEqual([{ session: "f2" }]);
        await hand.unsafe(`CREATE TEMP TABLE kept AS SELECT * FROM users WHERE id = ${alice}`);
        await hand`UPDATE kept SET disabled_at = '2026-01-01T00:00:00.000Z'`;
        await hand`INSERT OR REPLACE INTO users SELECT * FROM kept`;
        expect(await since()).toEqual([{ user: alice }]);
        await hand.unsafe(`UPDATE OR REPLACE users SET email = 'BOB@paths.test' WHERE id = ${alice}`);
        expect(await since()).toEqual([{ user: bob }, { user: alice }]);
      });

      test("every user deleted at once (no WHERE): a row per user, as SQLite has no TRUNCATE", async () => {
        await hand`DELETE FROM refresh_tokens`;
        await hand`DELETE FROM users`;
        expect(await since()).toEqual([{ session: "f1" }, { user: alice }, { user: bob }]);
      });
    }

    if (dialect === "postgres") {
      test("a writer whose search_path does not reach the service's schema (logical replication's apply has none) still writes the service's feed", async () => {
        const schema = new URL(database.url).searchParams.get("search_path")!;
        await hand.begin(async (tx) => {
          await tx`SET LOCAL search_path = ''`;
          await tx`SET LOCAL session_replication_role = replica`;
          await tx.unsafe(`UPDATE "${schema}".users SET disabled_at = now() WHERE id = ${alice}`);
          await tx.unsafe(`DELETE FROM "${schema}".refresh_tokens WHERE id = 't1'`);
          await tx.unsafe(`TRUNCATE "${schema}".users CASCADE`);
        });
        expect(await since()).toEqual([{ user: alice }, { session: "f1" }, { all: true }, { all: true }]);
      });

      test("TRUNCATE of users, of refresh tokens, or of the feed itself: a row meaning everything", async () => {
        await hand`TRUNCATE refresh_tokens`;
        expect(await since()).toEqual([{ all: true }]);
        await hand`TRUNCATE users CASCADE`;
        // users and, by the cascade, refresh_tokens: one row each
        expect(await since()).toEqual([{ all: true }, { all: true }]);
        await hand`INSERT INTO revocations (user_id) VALUES (1)`; // a row no reader has read yet…
        await hand`TRUNCATE revocations`; // …gone with the truncate, which says so
        expect(await since()).toEqual([{ all: true }]);
      });

      test("writes with session_replication_role = replica (logical replication's apply, bulk loads) still leave rows", async () => {
        const asReplica = (edit: (tx: SQL) => Promise<unknown>) =>
          hand.begin(async (tx) => (await tx`SET LOCAL session_replication_role = replica`, await edit(tx)));
        await asReplica(async (tx) => {
          await tx.unsafe(`UPDATE users SET disabled_at = now() WHERE id = ${alice}`);
          await tx`UPDATE refresh_tokens SET family_id = 'f2' WHERE id = 't1'`;
          await tx`DELETE FROM refresh_tokens WHERE id = 't1'`;
          await tx`TRUNCATE refresh_tokens`;
          await tx`TRUNCATE users CASCADE`;
        });
        expect(await since()).toEqual([{ user: alice }, { session: "f1" }, { session: "f2" }, { all: true }, { all: true }, { all: true }]);
        await asReplica((tx) => tx`TRUNCATE revocations`);
        expect(await since()).toEqual([{ all: true }]);
      });
    }
  });
}
