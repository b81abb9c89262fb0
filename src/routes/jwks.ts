// GET /.well-known/jwks.json: the public keys access tokens are signed with (RFC 7517), so another
// service verifies our tokens with any JWT library and no shared secret. HS256 publishes none.
import { json, type Ctx } from "../context.ts";

// Verifiers may cache it this long; a new key is listed (second) at least this long before it signs
// (the rotation procedure in docs/operations.md), so no cached copy lacks the key of a token.
export const JWKS_MAX_AGE_SECONDS = 300;

export async function jwks(_req: Request, ctx: Ctx): Promise<Response> {
  // With HS256 an empty set, not a 404: a verifier finds no key and refuses, the same as for an unknown kid.
  return json(ctx.deps.accessTokens.jwks(), 200, {
    "Content-Type": "application/jwk-set+json",
    "Cache-Control": `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
  });
}
