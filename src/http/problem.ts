// One error type for everything a client may see, turned into RFC 9457 problem+json at one boundary.
// The internal cause travels with the error for the log only; it never reaches the response.
import { CodedError, type ErrorOptions, type FieldError, type ProblemCode } from "../core.ts";

export type { FieldError, ProblemCode } from "../core.ts";

// Exported for the OpenAPI document, which lists every problem type from this table.
export const TITLES: Readonly<Record<ProblemCode, readonly [status: number, title: string]>> = {
  bad_request: [400, "Bad request"],
  invalid_credentials: [401, "Invalid credentials"],
  invalid_token: [401, "Invalid or expired token"],
  forbidden: [403, "Forbidden"],
  email_not_verified: [403, "Email not verified"],
  account_disabled: [403, "Account deactivated"],
  link_invalid: [400, "Invalid or expired link"],
  last_admin: [409, "Last admin"],
  not_found: [404, "Not found"],
  method_not_allowed: [405, "Method not allowed"],
  email_taken: [409, "Email already registered"],
  payload_too_large: [413, "Payload too large"],
  image_too_large: [413, "Image too large"],
  unsupported_media_type: [415, "Unsupported media type"],
  unsupported_image_type: [415, "Unsupported image type"],
  validation_failed: [422, "Validation failed"],
  invalid_image: [422, "Invalid image"],
  image_too_complex: [422, "Image too complex"],
  rate_limited: [429, "Too many requests"],
  server_busy: [503, "Server busy"],
  service_unavailable: [503, "Service unavailable"],
  internal_error: [500, "Internal server error"],
};

// 5xx answers that are the service working as designed under load or a dependency's outage, not a
// bug: worth a warning in the log, without a stack, rather than an error.
const EXPECTED: ReadonlySet<ProblemCode> = new Set(["server_busy", "service_unavailable"]);

/** A CodedError that knows its status and title from the one table above. */
export class HttpError extends CodedError {
  readonly status: number;
  readonly title: string;

  constructor(code: ProblemCode, detail: string, options: ErrorOptions = {}) {
    super(code, detail, options);
    this.name = "HttpError";
    [this.status, this.title] = TITLES[code];
  }

  /** True for a refusal by design (busy, dependency down): log it at warn, without a stack. */
  get expected(): boolean {
    return EXPECTED.has(this.code);
  }
}

/** The RFC 9457 `type` of a code: a relative URI, `/problems/<code-with-dashes>`. */
export function problemType(code: ProblemCode): string {
  return `/problems/${code.replaceAll("_", "-")}`;
}

const BEARER_CHALLENGE = 'Bearer realm="api"';

/**
 * Every 401 carries the Bearer challenge (RFC 6750), with `error="invalid_token"` for a token we
 * refused and, when given, an `error_description` (a fixed phrase: never any part of the token).
 */
export function unauthorized(code: "invalid_credentials" | "invalid_token", detail: string, description?: string): HttpError {
  let challenge = code === "invalid_token" ? `${BEARER_CHALLENGE}, error="invalid_token"` : BEARER_CHALLENGE;
  if (description !== undefined) challenge += `, error_description="${description}"`;
  return new HttpError(code, detail, { headers: { "WWW-Authenticate": challenge } });
}

/** RFC 6750 §3.1: a request that sent no credentials gets the bare challenge, without an error code. */
export function credentialsRequired(detail: string): HttpError {
  return new HttpError("invalid_token", detail, { headers: { "WWW-Authenticate": BEARER_CHALLENGE } });
}

export function validationFailed(errors: FieldError[]): HttpError {
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  return new HttpError("validation_failed", detail, { errors });
}

export function problemResponse(error: HttpError): Response {
  const body: Record<string, unknown> = {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
  };
  if (error.options.errors) body.errors = error.options.errors;
  Object.assign(body, error.options.extensions);
  const headers = new Headers(error.options.headers);
  headers.set("Content-Type", "application/problem+json");
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/**
 * The one converter from any error to what a client sees. A domain module's CodedError keeps its
 * code, detail and headers, and is itself the cause the log shows; anything else is a bug, and the
 * client learns nothing about it.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof CodedError) return new HttpError(err.code, err.detail, { ...err.options, cause: err });
  return new HttpError("internal_error", "Something went wrong on our side.", { cause: err });
}
