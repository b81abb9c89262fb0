// The parsing half of src/config.ts: reads variables from the env it is handed (config.ts alone
// passes the real one), validating each and collecting every problem so all are reported at once.

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

export type Env = Record<string, string | undefined>;

/** Reads variables one by one, remembering every problem instead of stopping at the first. */
export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === "" ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(", ")} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }

  /** A comma-separated list of 1 to `maxCount` whole numbers from 1 to `max`, or the fallback. */
  wholeNumbers(name: string, fallback: readonly number[], max: number, maxCount: number, what: string): readonly number[] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const items = value.split(",").map((item) => item.trim());
    if (items.length <= maxCount && items.every((item) => /^[1-9][0-9]*$/.test(item) && Number(item) <= max)) return items.map(Number);
    this.problems.push(`${name} must be 1 to ${maxCount} comma-separated ${what} from 1 to ${max} (got "${value}")`);
    return fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["1", "true", "on", "yes"].includes(value)) return true;
    if (["0", "false", "off", "no"].includes(value)) return false;
    this.problems.push(`${name} must be on or off (got "${value}")`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: readonly string[]): string {
    const value = this.raw(name) ?? fallback;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problems.push(`${name} must be a URL (got "${redactUrl(value)}")`);
      return fallback;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must start with ${protocols.join(" or ")} (got "${redactUrl(value)}")`);
    }
    return value;
  }
}

/** Hides credentials in a URL so neither a config error nor a log line ever prints a password. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.username || url.password) {
      url.username = "***";
      url.password = "";
    }
    return url.toString();
  } catch {
    // Not a URL we can parse: everything between "//" and the last "@" may be a credential.
    return value.replace(/\/\/.*@/, "//***@");
  }
}
