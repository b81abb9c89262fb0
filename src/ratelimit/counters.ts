// Fixed-window counters, in this process's memory or in Redis (one atomic Lua script) so every
// instance shares them; if Redis stops answering, limits bend to memory and the service stays up.
import { RedisClient } from "bun";
import type { Logger } from "../log.ts";

export type Count = { count: number; resetMs: number };

export interface Counters {
  /** Adds `cost` (0 to only look) to the window's count for `key` and returns the new total. */
  add(key: string, windowMs: number, cost: number, now: number): Promise<Count>;
  close(): void;
}

export class MemoryCounters implements Counters {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private lastSweep = 0;

  async add(key: string, windowMs: number, cost: number, now: number): Promise<Count> {
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      if (cost > 0) this.windows.set(key, window);
    }
    window.count += cost;
    return { count: window.count, resetMs: window.endsAt - now };
  }

  /** Drops finished windows now and then, so memory follows the number of active clients. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }

  close(): void {}
}

// INCRBY and the expiry in one step: two instances can never both see the first hit of a window.
const ADD_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  if count == 0 then redis.call('DEL', KEYS[1]) return {0, tonumber(ARGV[1])} end
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

// How long a command may take before Redis counts as gone, and how often we look for it meanwhile.
const COMMAND_TIMEOUT_MS = 1000;
const PROBE_EVERY_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Redis that stops answering without closing (packets dropped) leaves its client "connected" with
 * our commands stuck behind one that will never be answered: so a command that times out drops the
 * client. Requests then count in memory at once, never waiting on Redis, while a fresh client is
 * tried every PROBE_EVERY_MS in the background; the first PING it gets back puts the counts on
 * Redis again. Both switches are logged.
 */
export class RedisCounters implements Counters {
  private client: RedisClient | undefined;
  private readonly fallback = new MemoryCounters();
  private connecting: Promise<RedisClient> | undefined;
  private probe: Timer | undefined;
  private probing = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly prefix = "ratelimit:",
  ) {}

  /** Commands are not queued while disconnected (a dead Redis must not stall logins); we reconnect ourselves. */
  private async connect(): Promise<RedisClient> {
    const client = new RedisClient(this.url, { connectionTimeout: COMMAND_TIMEOUT_MS, autoReconnect: false, enableOfflineQueue: false });
    try {
      await withTimeout(client.connect(), COMMAND_TIMEOUT_MS);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  async add(key: string, windowMs: number, cost: number, now: number): Promise<Count> {
    if (this.probe !== undefined || this.closed) return this.fallback.add(key, windowMs, cost, now);
    let client = this.client;
    try {
      if (client === undefined) {
        // Requests that arrive together share one connection attempt.
        this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
        client = this.client = await this.connecting;
      }
      const eval_ = client.send("EVAL", [ADD_SCRIPT, "1", this.prefix + key, String(windowMs), String(cost)]);
      const reply = (await withTimeout(eval_, COMMAND_TIMEOUT_MS)) as [number, number];
      return { count: Number(reply[0]), resetMs: Number(reply[1]) };
    } catch (err) {
      this.down(client, err);
      return this.fallback.add(key, windowMs, cost, now);
    }
  }

  /** Drops the client that failed (if no other request did already) and starts looking for Redis. */
  private down(failed: RedisClient | undefined, err: unknown): void {
    if (failed !== this.client || this.probe !== undefined || this.closed) return;
    this.client = undefined;
    failed?.close();
    this.log.warn("rate limit store unavailable; counting in memory until it returns", { error: String((err as Error)?.message ?? err) });
    this.probe = setInterval(() => void this.tryRedis(), PROBE_EVERY_MS);
    this.probe.unref?.();
  }

  private async tryRedis(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    let client: RedisClient | undefined;
    try {
      client = await this.connect();
      await withTimeout(client.send("PING", []), COMMAND_TIMEOUT_MS);
      if (this.closed) return void client.close();
      clearInterval(this.probe);
      this.probe = undefined;
      this.client = client;
      this.log.info("rate limits back on Redis");
    } catch {
      client?.close();
    } finally {
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.probe);
    this.client?.close();
  }
}
