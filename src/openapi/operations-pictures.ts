// The operations of the picture routes: uploads and removals, the served objects and the avatar.
// Part of the one operation table (operations.ts), split out to keep each file to one subject.
import { DATABASE, IMAGE_BODY, ON_AN_ACCOUNT, SIGNED_IN, answer, imageBody, message, operation, withIds } from "./operation.ts";
import type { Json } from "./schemas.ts";
import { DEFAULT_VARIANT_SIZES } from "../images/variants.ts";

/** Conditional GETs: If-None-Match first, else If-Modified-Since (RFC 9110 §13). */
const CONDITIONAL: Json[] = [
  { name: "If-None-Match", in: "header", schema: { type: "string" } },
  { name: "If-Modified-Since", in: "header", schema: { type: "string" } },
];
const images = (...types: string[]): Json => Object.fromEntries(types.map((type) => [type, { schema: { type: "string", contentMediaType: type } }]));

export const pictureOperations = withIds({
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
  profileImage: operation({
    summary: "A stored profile picture",
    description:
      "The picture the account has now, as JPEG; `image_url` points here (or at S3_PUBLIC_URL). Pictures are public: no credentials, no expiry, whatever the storage.",
    tag: "pictures",
    parameters: CONDITIONAL,
    ok: {
      200: {
        description: "The picture",
        headers: { ETag: { schema: { type: "string" } }, "Last-Modified": { schema: { type: "string" } } },
        content: images("image/jpeg"),
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
        content: images("image/svg+xml", "image/png", "image/webp", "image/jpeg"),
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
    parameters: CONDITIONAL,
    ok: {
      200: {
        description: "The object",
        headers: {
          ETag: { schema: { type: "string" }, description: "Strong: the content hash" },
          "Cache-Control": { schema: { const: "public, max-age=31536000, immutable" } },
          "Last-Modified": { schema: { type: "string" } },
        },
        content: images("image/webp", "image/jpeg"),
      },
      304: { description: "Not modified (If-None-Match, or else If-Modified-Since)" },
    },
    codes: ["not_found", ...DATABASE],
  }),
});
