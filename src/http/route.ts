// What one entry of the route table (src/app.ts) says about its route: the handler, who may call it,
// the per-address rate limit, and its OpenAPI operation. The pipeline and the document both read it.
import type { Handler } from "../context.ts";
import type { Operation } from "../openapi/operations.ts";
import type { LimitName } from "../ratelimit/limiter.ts";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * Who may call a route, checked by the pipeline before the handler runs:
 * - `public`: anyone (a handler may still look at an optional bearer token itself);
 * - `user`: a valid bearer token; the account acted on is the caller's own;
 * - `self-or-admin`: a valid bearer token, and the route's `:id` is the caller or the caller is an admin;
 * - `admin`: a valid bearer token of an admin.
 */
export type Access = "public" | "user" | "self-or-admin" | "admin";

export type Entry = {
  handler: Handler;
  access: Access;
  /** A limit keyed by the client's address, taken before anything else. Limits keyed by what the body names stay with the domain code. */
  limit?: LimitName;
  operation: Operation;
};

export type Route = Partial<Record<Method, Entry>>;

/** Another name for a route, kept for older clients: the same entries, for all or some of its methods. */
export type Alias = { alias: string; methods?: Method[] };

export const alias = (canonical: string, methods?: Method[]): Alias => ({ alias: canonical, methods });

export const isAlias = (value: Route | Alias): value is Alias => "alias" in value;

/** The entries an alias serves: its canonical route's, for the methods it keeps. */
export function resolve(table: Record<string, Route | Alias>, value: Route | Alias): Route {
  if (!isAlias(value)) return value;
  const canonical = table[value.alias];
  if (canonical === undefined || isAlias(canonical)) throw new TypeError(`alias of ${value.alias}, which is not a route`);
  if (value.methods === undefined) return canonical;
  return Object.fromEntries(value.methods.map((method) => [method, canonical[method]]));
}
