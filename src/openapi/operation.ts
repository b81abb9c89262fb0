// How one OpenAPI operation is written: its problem codes (statuses from TITLES), bodies and answers,
// shared by the operation tables (operations.ts and its pictures and service parts).
import type { ProblemCode } from "../http/problem.ts";
import { problems } from "./problems.ts";
import { ref, type Json } from "./schemas.ts";

// Codes that travel together.
export const JSON_BODY: ProblemCode[] = ["bad_request", "payload_too_large", "unsupported_media_type", "validation_failed"];
export const IMAGE_BODY: ProblemCode[] = [...JSON_BODY, "image_too_large", "unsupported_image_type", "invalid_image", "image_too_complex", "server_busy"];
export const SIGNED_IN: ProblemCode[] = ["invalid_token"];
export const DATABASE: ProblemCode[] = ["service_unavailable"]; // the database is not answering
export const HASHING: ProblemCode[] = ["server_busy"]; // the password-hash queue is full
export const LIMITED: ProblemCode[] = ["rate_limited"];
export const ON_AN_ACCOUNT: ProblemCode[] = [...SIGNED_IN, "forbidden", "not_found", ...DATABASE]; // /users/{id}

type Spec = {
  summary: string;
  description?: string;
  tag: string;
  /** A bearer token the handler reads if sent; required ones follow from the entry's access rule. */
  optionalToken?: true;
  parameters?: Json[];
  body?: Json;
  ok: Record<string, Json>;
  codes: ProblemCode[];
};

/** An operation; every one may also answer 500 internal_error, which says nothing more. */
export function operation({ summary, description, tag, optionalToken, parameters, body, ok, codes }: Spec) {
  return {
    summary,
    ...(description ? { description } : {}),
    tags: [tag],
    ...(optionalToken ? { security: [{ bearerAuth: [] }, {}] } : {}),
    ...(parameters ? { parameters } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: { ...ok, ...problems([...codes, "internal_error"]) },
  };
}

/** What differs between an account operation's two routes; `body` and `ok` override the shared ones. */
type Side = Pick<Spec, "summary" | "description"> & Partial<Pick<Spec, "body" | "ok">>;

/**
 * An operation on one account, written once for its two routes and keyed by both ids: on /me (tag
 * "me") the caller's own, so besides `codes` only the token or the database can fail it; on
 * /users/{id} (tag "users") its owner's or an admin's, so also forbidden and not_found.
 */
export function onAccount<const M extends string, const U extends string>(
  ids: [M, U],
  { me, user, codes, ...shared }: Omit<Spec, "summary" | "description" | "tag" | "ok"> & { ok?: Spec["ok"]; me: Side; user: Side },
): Record<M | U, ReturnType<typeof operation>> {
  const side = (words: Side) => ({ ...shared, ...words, ok: words.ok ?? shared.ok ?? {} });
  return {
    [ids[0]]: operation({ ...side(me), tag: "me", codes: [...codes, ...SIGNED_IN, ...DATABASE] }),
    [ids[1]]: operation({ ...side(user), tag: "users", codes: [...ON_AN_ACCOUNT, ...codes] }),
  } as Record<M | U, ReturnType<typeof operation>>;
}

export const json = (schema: string, example?: Json, types = ["application/json"]): Json => ({
  required: true,
  content: Object.fromEntries(types.map((type) => [type, { schema: ref(schema), ...(example ? { example } : {}) }])),
});
export const answer = (description: string, schema: string): Json => ({ description, content: { "application/json": { schema: ref(schema) } } });
export const html = (description: string): Json => ({ description, content: { "text/html": { schema: { type: "string" } } } });
export const message = (description: string) => answer(description, "Message");

export const imageBody: Json = { required: true, content: { "multipart/form-data": { schema: ref("ImageUpload") } } };
export const tokenQuery: Json = { name: "token", in: "query", required: false, schema: { type: "string" }, description: "The mailed token; the page posts it." };

export type Operation = ReturnType<typeof operation> & { operationId: string };

/** Each operation of a table with its key as operationId. */
export function withIds<T extends Record<string, ReturnType<typeof operation>>>(table: T): { [K in keyof T]: Operation } {
  return Object.fromEntries(Object.entries(table).map(([operationId, op]) => [operationId, { operationId, ...op }])) as { [K in keyof T]: Operation };
}
