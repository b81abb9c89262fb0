// Fixed-window counters: in this process's memory, or in Redis (one atomic Lua script) so every
// instance shares them. If Redis stops answering, counting falls back to memory, said once in the
// log, and Redis is tried again a few seconds later: limits bend, the service stays up.
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

const RETRY_REDIS_AFTER_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class RedisCounters implements Counters {
  private readonly client: RedisClient;
  private readonly fallback = new MemoryCounters();
  private downSince: number | undefined;

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly prefix = "ratelimit:",
  ) {
    // We reconnect ourselves (see add), so a dead Redis costs one quick failure every few seconds.
    this.client = new RedisClient(url, { connectionTimeout: 1000, autoReconnect: false, enableOfflineQueue: false });
  }

  async add(key: string, windowMs: number, cost: number, now: number): Promise<Count> {
    if (this.downSince !== undefined && now - this.downSince < RETRY_REDIS_AFTER_MS) {
      return this.fallback.add(key, windowMs, cost, now);
    }
    try {
      // Commands are not queued while disconnected (a dead Redis must not stall logins), so connect first.
      if (!this.client.connected) await withTimeout(this.client.connect(), 1000);
      const eval_ = this.client.send("EVAL", [ADD_SCRIPT, "1", this.prefix + key, String(windowMs), String(cost)]);
      const reply = (await withTimeout(eval_, 1000)) as [number, number];
      if (this.downSince !== undefined) this.log.info("rate limits back on Redis");
      this.downSince = undefined;
      return { count: Number(reply[0]), resetMs: Number(reply[1]) };
    } catch (err) {
      if (this.downSince === undefined) {
        this.log.warn("rate limit store unavailable; counting in memory until it returns", { error: String((err as Error)?.message ?? err) });
      }
      this.downSince = now;
      return this.fallback.add(key, windowMs, cost, now);
    }
  }

  close(): void {
    this.client.close();
  }
}
