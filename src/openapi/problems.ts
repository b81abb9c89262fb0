// Problem types in the OpenAPI document, generated from src/http/problem.ts's TITLES so that a new
// code, or a code moved to another status, shows up here without anyone remembering to.
import { problemType, TITLES, type ProblemCode } from "../http/problem.ts";
import { ref, type Json } from "./schemas.ts";

const CODES = Object.keys(TITLES) as ProblemCode[];

export function problemSchemas(): Record<string, Json> {
  return {
    ProblemCode: {
      type: "string",
      enum: CODES,
      description: `Stable: switch on this, not on \`title\` or \`detail\`.\n\n${problemTable()}`,
    },
    Problem: {
      type: "object",
      description: "RFC 9457 problem details, always as `application/problem+json`.",
      required: ["type", "title", "status", "detail", "code"],
      properties: {
        type: { type: "string", format: "uri-reference", description: "`/problems/<code with dashes>`" },
        title: { type: "string" },
        status: { type: "integer" },
        detail: { type: "string", description: "For people; may change." },
        code: ref("ProblemCode"),
        errors: { type: "array", items: ref("FieldError"), description: "On 422 validation_failed: every bad, missing or unknown field." },
      },
    },
    FieldError: {
      type: "object",
      required: ["field", "message"],
      properties: { field: { type: "string" }, message: { type: "string" } },
    },
  };
}

/** A markdown table of every problem type, by status. */
function problemTable(): string {
  const rows = [...CODES].sort((a, b) => TITLES[a][0] - TITLES[b][0]).map((code) => `| ${TITLES[code][0]} | \`${code}\` | \`${problemType(code)}\` | ${TITLES[code][1]} |`);
  return ["| status | code | type | title |", "|---|---|---|---|", ...rows].join("\n");
}

// The headers that come with a status, whatever the code.
const HEADERS_BY_STATUS: Record<number, string[]> = {
  401: ["WWW-Authenticate"],
  405: ["Allow"],
  429: ["Retry-After", "RateLimit", "RateLimit-Policy"],
};

const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });

/**
 * The problem responses of an operation from the codes it may answer: grouped by the status each
 * code has in TITLES, each response's schema narrowed to its codes. `extra` adds properties to
 * every problem body here (readiness's `checks`).
 */
export function problems(codes: readonly ProblemCode[], extra: Record<string, Json> = {}): Record<string, Json> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes)) {
    const status = TITLES[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = Object.fromEntries((HEADERS_BY_STATUS[status] ?? []).map((name) => [name, header(name)]));
    // Most 503s say when to come back (server_busy, the database's); readiness's does not.
    if (status === 503) headers["Retry-After"] = header("Retry-After");
    responses[status] = {
      description: group.map((code) => `\`${code}\`: ${TITLES[code][1]}`).join("; "),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        "application/problem+json": {
          schema: {
            allOf: [
              ref("Problem"),
              {
                properties: {
                  status: { const: status },
                  code: { enum: group },
                  type: { enum: group.map(problemType) },
                  ...extra,
                },
              },
            ],
          },
        },
      },
    };
  }
  return responses;
}

export const PROBLEM_HEADERS: Record<string, Json> = {
  "WWW-Authenticate": { description: 'Always `Bearer realm="api"` (RFC 6750), with `error="invalid_token"` for a bad token (and `error_description="The access token expired"` for an expired one); none when no credentials were sent.', schema: { type: "string" } },
  Allow: { description: "The methods this path answers.", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer" } },
  RateLimit: { description: "draft-ietf-httpapi-ratelimit-headers: `limit=…, remaining=…, reset=…`.", schema: { type: "string" } },
  "RateLimit-Policy": { description: "`<max>;w=<window seconds>`.", schema: { type: "string" } },
};
