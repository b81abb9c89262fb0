// GET /users/{id}/avatar (issue 11): one public URL per account that always yields an image: a 302 to
// the stored picture's object, or else a default avatar generated from the name (src/images/avatar*.ts).
import type { Config } from "../config.ts";
import type { Ctx } from "../context.ts";
import { notModified } from "../http/conditional.ts";
import { HttpError, validationFailed } from "../http/problem.ts";
import { pngAvatar } from "../images/avatar-png.ts";
import { AVATAR_SVG_HEADERS, DEFAULT_AVATAR_SIZE, svgAvatar } from "../images/avatar.ts";
import { variantUrl } from "../accounts/profile.ts";
import type { UserRow } from "../store/index.ts";
import { LruMap } from "../util/lru.ts";

export const AVATAR_FORMATS = ["webp", "jpeg", "png", "svg"] as const;
export type AvatarFormat = (typeof AVATAR_FORMATS)[number];
export type PictureFormat = "webp" | "jpeg";

// Short: the answer changes when the account uploads, removes its picture or is renamed, and the
// objects redirected to are immutable and cached for long on their own URLs.
export const AVATAR_CACHE_CONTROL = "public, max-age=60";

const ID = /^[1-9][0-9]{0,14}$/;

/** The square sides a client may ask for: the variant sizes pictures are stored in. */
export function avatarSizes(config: Config): readonly number[] {
  return config.imageVariantSizes;
}

/** Where the account's picture is, in about `size` pixels and `format`; undefined without a picture. */
export function pictureUrl(ctx: Ctx, user: UserRow, size: number, format: PictureFormat): string | undefined {
  return variantUrl(user, size, format, ctx.deps.storage);
}

/** Whether an Accept header lists image/webp with a q-value above zero (`*` ranges do not count). */
export function acceptsWebp(header: string): boolean {
  for (const entry of header.split(",")) {
    const [range, ...params] = entry.trim().toLowerCase().split(";");
    if (range?.trim() !== "image/webp") continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
  }
  return false;
}

type Query = { size: number; format: AvatarFormat | undefined };

/** `size` (one of the configured sizes, 128 when absent) and `format`; anything else is a 422. */
function parseQuery(req: Request, config: Config): Query {
  const params = new URL(req.url).searchParams;
  const sizes = avatarSizes(config);
  const errors: Array<{ field: string; message: string }> = [];
  const sizeValues = params.getAll("size");
  const formatValues = params.getAll("format");
  let size = sizes.includes(DEFAULT_AVATAR_SIZE) ? DEFAULT_AVATAR_SIZE : sizes[0]!;
  if (sizeValues.length > 0) {
    const value = sizeValues[0]!;
    if (sizeValues.length > 1 || !/^[1-9][0-9]{0,3}$/.test(value) || !sizes.includes(Number(value))) {
      errors.push({ field: "size", message: `must be one of ${sizes.join(", ")}` });
    } else size = Number(value);
  }
  let format: AvatarFormat | undefined;
  if (formatValues.length > 0) {
    const value = formatValues[0]!;
    if (formatValues.length > 1 || !(AVATAR_FORMATS as readonly string[]).includes(value)) {
      errors.push({ field: "format", message: `must be one of ${AVATAR_FORMATS.join(", ")}` });
    } else format = value as AvatarFormat;
  }
  if (errors.length > 0) throw validationFailed(errors);
  return { size, format };
}

/** The picture's format: WebP when asked for by name or by Accept, else JPEG (a photo has no PNG or SVG form). */
function pictureFormat(req: Request, format: AvatarFormat | undefined): PictureFormat {
  if (format === "webp") return "webp";
  if (format === undefined && acceptsWebp(req.headers.get("accept") ?? "")) return "webp";
  return "jpeg";
}

type Generated = { body: Uint8Array | string; headers: Record<string, string> };

// Rendering a 512-px raster costs some milliseconds of this thread, so the answers are remembered by
// their ETag (which names id, name, size and format); 512 entries of at most ~11 KB each.
const generated = new LruMap<string, Generated>(512);
// Bumped whenever the drawing changes, so caches holding the old one see a new ETag.
const RENDERER = "1";

function avatarTag(user: UserRow, size: number, format: AvatarFormat): string {
  const digest = new Bun.CryptoHasher("sha256").update(JSON.stringify([RENDERER, user.id, user.name, size, format])).digest("base64url");
  return `"av-${digest.slice(0, 22)}"`;
}

async function render(user: UserRow, size: number, format: AvatarFormat): Promise<Generated> {
  if (format === "svg") return { body: svgAvatar(user.id, user.name, size).svg, headers: { ...AVATAR_SVG_HEADERS } };
  const { png } = pngAvatar(user.id, user.name, size);
  if (format === "png") return { body: png, headers: { "Content-Type": "image/png" } };
  // Our own PNG, so decoding it here (not in the decode child that untrusted uploads go to) is safe.
  const image = new Bun.Image(png);
  const bytes = await (format === "webp" ? image.webp({ quality: 90 }) : image.jpeg({ quality: 90 })).bytes();
  return { body: bytes, headers: { "Content-Type": `image/${format}` } };
}

export async function avatar(req: Request, ctx: Ctx): Promise<Response> {
  const { store } = ctx.deps;
  const id = ctx.params.id ?? "";
  const query = parseQuery(req, ctx.deps.config);
  const user = ID.test(id) ? await store.userById(Number(id)) : undefined;
  if (!user) throw new HttpError("not_found", "No such account.");

  // A deactivated account keeps an avatar (lists that show it do not break) but not its picture.
  const url = user.disabledAt === null ? pictureUrl(ctx, user, query.size, pictureFormat(req, query.format)) : undefined;
  const common = { "Cache-Control": AVATAR_CACHE_CONTROL, Vary: "Accept" };
  if (url !== undefined) return new Response(null, { status: 302, headers: { ...common, Location: url } });

  // The generated avatar: SVG unless a raster format is named (Accept is not consulted: every
  // browser draws SVG in an <img>, and a client that cannot names the format it can).
  const format = query.format ?? "svg";
  const etag = avatarTag(user, query.size, format);
  const headers = { ...common, ETag: etag };
  if (notModified(req, { etag }, ctx.deps.clock())) return new Response(null, { status: 304, headers });
  let answer = generated.get(etag);
  if (answer === undefined) {
    answer = await render(user, query.size, format);
    generated.set(etag, answer);
  }
  return new Response(answer.body, { headers: { ...answer.headers, ...headers } });
}
