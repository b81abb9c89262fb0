// The vocabulary every layer shares and none owns, importing nothing: the injected clock, and the
// closed set of problem codes with the error that carries one (src/http/problem.ts gives statuses).

/**
 * Milliseconds since the epoch, read from a Clock that is injected (src/main.ts and src/cli/index.ts
 * make the only real ones) so tests can move time. Converted only at the database and JWT edges.
 */
export type Clock = () => number;

// Domain modules (store, images, rate limits, storage) throw CodedError and never import http/.
export type ProblemCode =
  | "bad_request"
  | "invalid_credentials"
  | "invalid_token"
  | "forbidden"
  | "email_not_verified"
  | "account_disabled"
  | "link_invalid"
  | "last_admin"
  | "not_found"
  | "method_not_allowed"
  | "email_taken"
  | "payload_too_large"
  | "image_too_large"
  | "unsupported_media_type"
  | "unsupported_image_type"
  | "validation_failed"
  | "invalid_image"
  | "image_too_complex"
  | "rate_limited"
  | "server_busy"
  | "service_unavailable"
  | "internal_error";

export type FieldError = { field: string; message: string };

export type ErrorOptions = {
  errors?: FieldError[];
  headers?: Record<string, string>;
  cause?: unknown;
  extensions?: Record<string, unknown>;
};

/** An error with a stable code; src/http/problem.ts is the one place that gives it a status. */
export class CodedError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: ErrorOptions = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "CodedError";
  }
}
