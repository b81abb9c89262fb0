// Serves stored profile pictures: /static/profile/<id>.jpg (the current full picture, as ever) and the
// immutable, content-named objects of picture sets. Names are parsed strictly, so no "..", "/" or "\" gets through.
import type { Ctx } from "../context.ts";
import { httpDate, lastModifiedHeader, notModified } from "../http/conditional.ts";
import { HttpError } from "../http/problem.ts";
import { parseObjectName } from "../storage/index.ts";
import { pictureObjects } from "../store/index.ts";

const FILE_NAME = /^([1-9][0-9]{0,14})\.jpg$/;

// Pictures are public, whatever the storage (README, "Profile pictures are public"): no credentials,
// no expiry, as older clients expect them and as a CDN in front may cache them.
export async function profileImage(req: Request, ctx: Ctx): Promise<Response> {
  const match = FILE_NAME.exec(ctx.params.file ?? "");
  // The row can move on (an upload, the backfill giving a legacy picture its set) between our reading
  // it and the object, whose old version then goes: a miss reads the row once more.
  const image = match ? ((await currentPicture(ctx, Number(match[1]))) ?? (await currentPicture(ctx, Number(match[1])))) : undefined;
  if (!image) throw new HttpError("not_found", "No such picture.");
  // One reading for the Date header and the Last-Modified capped by it.
  const now = ctx.deps.clock();
  const headers = {
    "Content-Type": "image/jpeg",
    ETag: image.etag,
    Date: httpDate(now),
    "Last-Modified": lastModifiedHeader(image.lastModified, now),
    // Short: URLs carry ?v=<version>, and a deleted picture should not live on in caches for long.
    "Cache-Control": "public, max-age=300",
  };
  if (notModified(req, image, now)) return new Response(null, { status: 304, headers });
  if (req.method === "HEAD") {
    return new Response(null, { headers: { ...headers, "Content-Length": String(image.size) } });
  }
  return new Response(image.body, { headers });
}

/**
 * Only the picture the account points at now: never an orphan, never a deleted user's. A set's full
 * JPEG, or a picture from before sets, stored as it was.
 */
async function currentPicture(ctx: Ctx, id: number) {
  const user = await ctx.deps.store.userById(id);
  if (user?.imageVersion == null) return undefined;
  return user.imageSet ? await ctx.deps.storage.getObject(user.imageSet.full) : await ctx.deps.storage.get(user.id, user.imageVersion);
}

// A year, and immutable: the name carries a hash of the bytes, so it never names anything else.
const IMMUTABLE = "public, max-age=31536000, immutable";

/** GET/HEAD /static/p/<userId>/<hash>-<size>.<ext>: one object of the set the user's row points at now. */
export async function pictureObject(req: Request, ctx: Ctx): Promise<Response> {
  const name = `${ctx.params.owner ?? ""}/${ctx.params.object ?? ""}`;
  const parsed = parseObjectName(name);
  const user = parsed ? await ctx.deps.store.userById(parsed.userId) : undefined;
  // Only objects of the current set: never an orphan, a replaced picture or a deleted user's.
  const current = user?.imageSet ? pictureObjects(user.imageSet).includes(name) : false;
  const image = current ? await ctx.deps.storage.getObject(name) : undefined;
  if (!parsed || !image) throw new HttpError("not_found", "No such picture.");
  const now = ctx.deps.clock();
  const headers = {
    "Content-Type": parsed.contentType,
    ETag: image.etag, // strong: "<content hash>"
    Date: httpDate(now),
    "Last-Modified": lastModifiedHeader(image.lastModified, now),
    "Cache-Control": IMMUTABLE,
  };
  if (notModified(req, image, now)) return new Response(null, { status: 304, headers });
  if (req.method === "HEAD") return new Response(null, { headers: { ...headers, "Content-Length": String(image.size) } });
  return new Response(image.body, { headers });
}
