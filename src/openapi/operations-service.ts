// The operations of the service's own routes: health, metrics, keys, the API description and the
// pages mailed links open. Part of the one operation table (operations.ts).
import { answer, html, json, operation, tokenQuery, withIds } from "./operation.ts";
import { problems } from "./problems.ts";
import { ref } from "./schemas.ts";

export const serviceOperations = withIds({
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
});
