// One OpenAPI operation per handler: what it reads, what it answers, and which problem codes it
// may send (their statuses come from TITLES). Route table entries (src/app.ts) name them.
import type { ProblemCode } from "../http/problem.ts";
import { DEFAULT_VARIANT_SIZES } from "../images/variants.ts";
import { problems } from "./problems.ts";
import { ref, type Json } from "./schemas.ts";

// Codes that travel together.
const JSON_BODY: ProblemCode[] = ["bad_request", "payload_too_large", "unsupported_media_type", "validation_failed"];
const IMAGE_BODY: ProblemCode[] = [...JSON_BODY, "image_too_large", "unsupported_image_type", "invalid_image", "image_too_complex", "server_busy"];
const SIGNED_IN: ProblemCode[] = ["invalid_token"];
const DATABASE: ProblemCode[] = ["service_unavailable"]; // the database is not answering
const HASHING: ProblemCode[] = ["server_busy"]; // the password-hash queue is full
const LIMITED: ProblemCode[] = ["rate_limited"];
const ON_AN_ACCOUNT: ProblemCode[] = [...SIGNED_IN, "forbidden", "not_found", ...DATABASE]; // /users/{id}

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
function operation({ summary, description, tag, optionalToken, parameters, body, ok, codes }: Spec) {
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

const json = (schema: string, example?: Json, types = ["application/json"]): Json => ({
  required: true,
  content: Object.fromEntries(types.map((type) => [type, { schema: ref(schema), ...(example ? { example } : {}) }])),
});
const answer = (description: string, schema: string): Json => ({ description, content: { "application/json": { schema: ref(schema) } } });
const html = (description: string): Json => ({ description, content: { "text/html": { schema: { type: "string" } } } });
const message = (description: string) => answer(description, "Message");

const imageBody: Json = { required: true, content: { "multipart/form-data": { schema: ref("ImageUpload") } } };
const tokenQuery: Json = { name: "token", in: "query", required: false, schema: { type: "string" }, description: "The mailed token; the page posts it." };

const table = {
  register: operation({
    summary: "Create an account",
    description: "Sends a verification mail. `username` or `user` may stand for `name`.",
    tag: "auth",
    body: json("RegisterRequest", { name: "John Doe", email: "john@example.com", password: "correct horse" }),
    ok: { 201: answer("Registered", "Registered") },
    codes: [...JSON_BODY, "email_taken", ...LIMITED, ...HASHING, ...DATABASE],
  }),
  login: operation({
    summary: "Log in: a token pair",
    description:
      "JSON `{email, password}` or the OAuth2 password form (`username`, `password`). Every wrong email or password is the same 401; `account_disabled` and `email_not_verified` are told only to someone who gave the right password.",
    tag: "auth",
    body: json("LoginRequest", { email: "john@example.com", password: "correct horse" }, ["application/json", "application/x-www-form-urlencoded"]),
    ok: { 200: answer("Logged in", "TokenPair") },
    codes: [...JSON_BODY, "invalid_credentials", "account_disabled", "email_not_verified", ...LIMITED, ...HASHING, ...DATABASE],
  }),
  refreshTokens: operation({
    summary: "Trade a refresh token for a new pair",
    description:
      "The old refresh token is spent. Presented again within `REFRESH_TOKEN_REUSE_SECONDS` (10 s) of its first use (two tabs, a retry after a lost answer) it gets another pair for the same session; later, it ends the whole session (401).",
    tag: "auth",
    body: json("RefreshTokenRequest"),
    ok: { 200: answer("A new pair", "TokenPair") },
    codes: [...JSON_BODY, ...SIGNED_IN, ...LIMITED, ...DATABASE],
  }),
  logout: operation({
    summary: "End a session: the refresh token's, the bearer token's, or both",
    description:
      "204 for any refresh token, known or not; its access tokens stop working at once. With no body, the bearer access token says which session to end (401 if it is not valid); with neither, 401. `scope` (body or query, as in Supabase Auth): `local` (default) ends that session, `others` every other session of its user, `global` all of them.",
    tag: "auth",
    optionalToken: true,
    parameters: [{ name: "scope", in: "query", required: false, schema: { type: "string", enum: ["local", "others", "global"], default: "local" } }],
    body: { ...json("LogoutRequest"), required: false },
    ok: { 204: { description: "Logged out" } },
    codes: [...JSON_BODY, ...SIGNED_IN, ...DATABASE],
  }),
  getMe: operation({
    summary: "Your profile",
    tag: "me",
    ok: { 200: answer("Your profile", "Profile") },
    codes: [...SIGNED_IN, ...DATABASE],
  }),
  updateMe: operation({
    summary: "Change your profile, email or password",
    tag: "me",
    body: json("AccountUpdate", { name: "Johnny", bio: "Hello!" }),
    ok: { 200: answer("Updated", "ProfileUpdated") },
    codes: [...JSON_BODY, ...SIGNED_IN, "forbidden", "email_taken", "last_admin", ...LIMITED, ...HASHING, ...DATABASE],
  }),
  deleteMe: operation({
    summary: "Delete your account and picture",
    tag: "me",
    body: { ...json("DeleteAccountRequest"), required: false },
    ok: { 200: message("Deleted") },
    codes: [...JSON_BODY, ...SIGNED_IN, "forbidden", "last_admin", ...LIMITED, ...HASHING, ...DATABASE],
  }),
  uploadImage: operation({
    summary: "Upload your profile picture",
    tag: "pictures",
    body: imageBody,
    ok: { 200: answer("Stored", "ImageUploaded") },
    codes: [...IMAGE_BODY, ...SIGNED_IN, "not_found", ...DATABASE],
  }),
  deleteImage: operation({
    summary: "Remove your profile picture",
    tag: "pictures",
    ok: { 200: message("Removed") },
    codes: [...SIGNED_IN, "not_found", ...DATABASE],
  }),
  listMySessions: operation({
    summary: "Your live sessions",
    description: "One per login: its device (from the User-Agent), address and last use; `current` marks the one asking.",
    tag: "me",
    ok: { 200: answer("Your sessions", "SessionList") },
    codes: [...SIGNED_IN, ...DATABASE],
  }),
  endMySession: operation({
    summary: "End one of your sessions",
    description: "Its refresh token and access tokens stop working at once. An id that is not one of your sessions is 404.",
    tag: "me",
    ok: { 204: { description: "Ended" } },
    codes: [...SIGNED_IN, "not_found", ...DATABASE],
  }),
  forgotPassword: operation({
    summary: "Mail a password-reset link",
    description: "202 with the same body whether or not an account has the address.",
    tag: "mailed links",
    body: json("EmailRequest"),
    ok: { 202: message("Accepted") },
    codes: [...JSON_BODY, ...LIMITED],
  }),
  resetPassword: operation({
    summary: "Set a new password with a mailed link",
    description: "Signs out every session.",
    tag: "mailed links",
    body: json("PasswordResetRequest"),
    ok: { 200: message("Changed") },
    codes: [...JSON_BODY, "link_invalid", ...LIMITED, ...HASHING, ...DATABASE],
  }),
  verifyEmail: operation({
    summary: "Confirm an email address with a mailed link",
    tag: "mailed links",
    body: json("LinkTokenRequest"),
    ok: { 200: answer("Confirmed", "EmailVerified") },
    codes: [...JSON_BODY, "link_invalid", ...LIMITED, ...DATABASE],
  }),
  resendVerification: operation({
    summary: "Mail a new verification link",
    description: "Signed in: for your address, no body. Signed out: `{email}`. 202 either way.",
    tag: "mailed links",
    optionalToken: true,
    body: { ...json("EmailRequest"), required: false },
    ok: { 202: message("Accepted") },
    codes: [...JSON_BODY, ...SIGNED_IN, ...LIMITED, ...DATABASE],
  }),
  listUsers: operation({
    summary: "List users (admins)",
    tag: "users",
    parameters: [
      { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
      { name: "cursor", in: "query", schema: { type: "string" }, description: "`next_cursor` of the previous page." },
      { name: "q", in: "query", schema: { type: "string", maxLength: 254 }, description: "Start of a name or an email; no control characters, nor more than 30 combining marks in a row." },
    ],
    ok: { 200: answer("Newest first", "UserPage") },
    codes: ["validation_failed", ...SIGNED_IN, "forbidden", ...DATABASE],
  }),
  getUser: operation({
    summary: "Read an account (its owner or an admin)",
    tag: "users",
    ok: { 200: answer("The account", "Profile") },
    codes: ON_AN_ACCOUNT,
  }),
  updateUser: operation({
    summary: "Change an account (its owner or an admin)",
    tag: "users",
    body: json("AccountUpdate", { name: "Johnny" }),
    ok: { 200: answer("Updated", "ProfileUpdated") },
    codes: [...JSON_BODY, ...ON_AN_ACCOUNT, "email_taken", "last_admin", ...LIMITED, ...HASHING],
  }),
  deleteUser: operation({
    summary: "Delete an account (its owner or an admin)",
    tag: "users",
    body: { ...json("DeleteAccountRequest"), required: false },
    ok: { 200: message("Deleted") },
    codes: [...JSON_BODY, ...ON_AN_ACCOUNT, "last_admin", ...LIMITED, ...HASHING],
  }),
  uploadUserPicture: operation({
    summary: "Upload an account's picture (its owner or an admin)",
    tag: "users",
    body: imageBody,
    ok: { 200: answer("Stored", "ImageUploaded") },
    codes: [...IMAGE_BODY, ...ON_AN_ACCOUNT],
  }),
  deleteUserPicture: operation({
    summary: "Remove an account's picture (its owner or an admin)",
    tag: "users",
    ok: { 200: message("Removed") },
    codes: ON_AN_ACCOUNT,
  }),
  listUserSessions: operation({
    summary: "An account's live sessions (its owner or an admin)",
    tag: "users",
    ok: { 200: answer("The account's sessions", "SessionList") },
    codes: ON_AN_ACCOUNT,
  }),
  endUserSession: operation({
    summary: "End one of an account's sessions (its owner or an admin)",
    description: "Its refresh token and access tokens stop working at once. An id that is not one of the account's sessions is 404.",
    tag: "users",
    ok: { 204: { description: "Ended" } },
    codes: ON_AN_ACCOUNT,
  }),
  profileImage: operation({
    summary: "A stored profile picture",
    description:
      "The picture the account has now, as JPEG; `image_url` points here (or at S3_PUBLIC_URL). Pictures are public: no credentials, no expiry, whatever the storage.",
    tag: "pictures",
    parameters: [
      { name: "If-None-Match", in: "header", schema: { type: "string" } },
      { name: "If-Modified-Since", in: "header", schema: { type: "string" } },
    ],
    ok: {
      200: {
        description: "The picture",
        headers: { ETag: { schema: { type: "string" } }, "Last-Modified": { schema: { type: "string" } } },
        content: { "image/jpeg": { schema: { type: "string", contentMediaType: "image/jpeg" } } },
      },
      304: { description: "Not modified (If-None-Match, or else If-Modified-Since)" },
    },
    codes: ["not_found", ...DATABASE],
  }),
  userAvatar: operation({
    summary: "An account's avatar: its picture, or one generated from its name",
    description:
      "Public, like pictures. With a picture (and an active account): 302 to the picture's immutable object in about `size` pixels, WebP for `format=webp` or, without `format`, when Accept lists image/webp; JPEG otherwise (also for `png` and `svg`). Without one, or for a deactivated account: a generated avatar, the name's initials on a colour derived from the id, as SVG (under a CSP that loads and runs nothing; no name becomes markup) or, for `format=png`, `jpeg` or `webp`, that raster. Every answer may be cached for 60 seconds and varies on Accept; the generated one has an ETag (it changes with the name).",
    tag: "pictures",
    parameters: [
      { name: "size", in: "query", schema: { type: "integer", enum: [...DEFAULT_VARIANT_SIZES], default: 128 }, description: "Side of the square in pixels: one of the configured sizes (IMAGE_VARIANT_SIZES, by default 64, 128, 256); others are a 422." },
      { name: "format", in: "query", schema: { type: "string", enum: ["webp", "jpeg", "png", "svg"] }, description: "Absent: WebP when Accept lists image/webp, else JPEG, for a picture; SVG for a generated avatar." },
      { name: "Accept", in: "header", schema: { type: "string" } },
      { name: "If-None-Match", in: "header", schema: { type: "string" } },
    ],
    ok: {
      200: {
        description: "The generated avatar (the account has no picture, or is deactivated)",
        headers: { ETag: { schema: { type: "string" } }, "Content-Security-Policy": { schema: { type: "string" } } },
        content: Object.fromEntries(
          ["image/svg+xml", "image/png", "image/webp", "image/jpeg"].map((type) => [type, { schema: { type: "string", contentMediaType: type } }]),
        ),
      },
      302: { description: "To the picture in the size and format asked for", headers: { Location: { schema: { type: "string", format: "uri" } } } },
      304: { description: "Not modified (If-None-Match on a generated avatar)" },
    },
    codes: ["validation_failed", "not_found", ...DATABASE],
  }),
  pictureObject: operation({
    summary: "One object of a picture set (immutable)",
    description:
      "A square variant (WebP or JPEG) or the full JPEG of the account's current picture, as listed in the profile's `image` field. The name carries a hash of the content, so the answer is cacheable for a year (`Cache-Control: public, max-age=31536000, immutable`) with a strong ETag (the hash); a new upload gives new names. Objects of a replaced or removed picture answer 404.",
    tag: "pictures",
    parameters: [
      { name: "If-None-Match", in: "header", schema: { type: "string" } },
      { name: "If-Modified-Since", in: "header", schema: { type: "string" } },
    ],
    ok: {
      200: {
        description: "The object",
        headers: {
          ETag: { schema: { type: "string" }, description: "Strong: the content hash" },
          "Cache-Control": { schema: { const: "public, max-age=31536000, immutable" } },
          "Last-Modified": { schema: { type: "string" } },
        },
        content: {
          "image/webp": { schema: { type: "string", contentMediaType: "image/webp" } },
          "image/jpeg": { schema: { type: "string", contentMediaType: "image/jpeg" } },
        },
      },
      304: { description: "Not modified (If-None-Match, or else If-Modified-Since)" },
    },
    codes: ["not_found", ...DATABASE],
  }),
  verifyEmailPage: operation({
    summary: "The page a verification mail links to",
    description: "Following the link spends nothing; the page's button POSTs the token to /email/verify.",
    tag: "mailed links",
    parameters: [tokenQuery],
    ok: { 200: html("A small page with a button") },
    codes: [],
  }),
  resetPasswordPage: operation({
    summary: "The page a reset mail links to",
    description: "The page's form POSTs the token and the new password to /password/reset.",
    tag: "mailed links",
    parameters: [tokenQuery],
    ok: { 200: html("A small page with a form") },
    codes: [],
  }),
  healthz: operation({ summary: "Liveness", tag: "service", ok: { 200: answer("The process answers", "Health") }, codes: [] }),
  readyz: operation({
    summary: "Readiness: database and storage answer",
    tag: "service",
    // Its 503 says which check failed.
    ok: { 200: answer("Ready", "Readiness"), ...problems(["service_unavailable"], { checks: ref("ReadinessChecks") }) },
    codes: [],
  }),
  metrics: operation({
    summary: "Prometheus metrics",
    description:
      "Text exposition format 0.0.4. Prometheus scrapes the management listener (METRICS_HOST:METRICS_PORT, 127.0.0.1:9464 by default; not part of this API), which has every figure. Here, on the public port, it is a 404 unless METRICS_TOKEN is set, and then wants that token as a bearer token and shows the public view: requests by route pattern, method and status, a latency histogram, hashing and image queue depths, uploads, rate-limit refusals, database errors, and mail requests by kind. It leaves out mail delivery results and the mail queue's depth, which would tell whether an address has an account. 404 when METRICS=off.",
    tag: "service",
    optionalToken: true,
    ok: { 200: { description: "The metrics", content: { "text/plain": { schema: { type: "string" } } } } },
    codes: ["invalid_token", "not_found"],
  }),
  jwks: operation({
    summary: "The public keys access tokens are signed with (JWKS, RFC 7517)",
    description:
      "With JWT_ALG=EdDSA, every Ed25519 key that signs or still verifies access tokens (the current one first), so another service can check them (iss and aud say which service they are for). With HS256 (the default) the set is empty: those keys are shared secrets. Cacheable for 5 minutes.",
    tag: "auth",
    ok: {
      200: {
        description: "The key set",
        headers: { "Cache-Control": { schema: { type: "string", example: "public, max-age=300" } } },
        content: {
          "application/jwk-set+json": {
            schema: {
              type: "object",
              required: ["keys"],
              properties: {
                keys: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["kty", "crv", "x", "kid", "alg", "use"],
                    properties: {
                      kty: { const: "OKP" },
                      crv: { const: "Ed25519" },
                      x: { type: "string" },
                      kid: { type: "string" },
                      alg: { const: "EdDSA" },
                      use: { const: "sig" },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    codes: [],
  }),
  openApi: operation({
    summary: "This document",
    tag: "service",
    ok: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } },
    codes: [],
  }),
  docsPage: operation({ summary: "Swagger UI for this document", tag: "service", ok: { 200: html("The page") }, codes: [] }),
  docsAsset: operation({
    summary: "Swagger UI's files, served from the swagger-ui-dist package",
    tag: "service",
    ok: {
      200: { description: "The file (CSS, JavaScript or PNG), cacheable for a year; gzipped if the client accepts it" },
      304: { description: "Not modified (If-None-Match)" },
    },
    codes: ["not_found"],
  }),
};

export type Operation = ReturnType<typeof operation> & { operationId: string };

/** Each operation with its key as operationId. */
export const operations = Object.fromEntries(
  Object.entries(table).map(([operationId, op]) => [operationId, { operationId, ...op }]),
) as { [K in keyof typeof table]: Operation };
