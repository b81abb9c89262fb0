// Serves stored profile pictures. Only <digits>.jpg is a valid name, so no encoding of "..", "/" or
// "\" can reach outside the picture folder: the path is rebuilt from the parsed number.
import type { Ctx } from "../context.ts";
import { lastModifiedHeader, notModified } from "../http/conditional.ts";
import { HttpError } from "../http/problem.ts";

const FILE_NAME = /^([1-9][0-9]{0,14})\.jpg$/;

// Pictures are public, whatever the storage (README, "Profile pictures are public"): no credentials,
// no expiry, as older clients expect them and as a CDN in front may cache them.
export async function profileImage(req: Request, ctx: Ctx): Promise<Response> {
  const match = FILE_NAME.exec(ctx.params.file ?? "");
  const user = match ? await ctx.deps.store.userById(Number(match[1])) : undefined;
  // Only the picture the account points at now: never an orphan, never a deleted user's.
  const image = user?.imageVersion != null ? await ctx.deps.storage.get(user.id, user.imageVersion) : undefined;
  if (!image) throw new HttpError("not_found", "No such picture.");
  // Wall time, not the injected clock: it has to agree with the Date header, set here from it.
  const now = Date.now();
  const headers = {
    "Content-Type": "image/jpeg",
    ETag: image.etag,
    Date: new Date(now).toUTCString(),
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
