// Serves stored profile pictures. Only <digits>.jpg is a valid name, so no encoding of "..", "/" or
// "\" can reach outside the picture folder: the path is rebuilt from the parsed number.
import type { Ctx } from "../context.ts";
import { HttpError } from "../http/problem.ts";

const FILE_NAME = /^([1-9][0-9]{0,14})\.jpg$/;

function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || tag === etag || tag === `W/${etag}`;
  });
}

export async function profileImage(req: Request, ctx: Ctx): Promise<Response> {
  const match = FILE_NAME.exec(ctx.params.file ?? "");
  const user = match ? await ctx.deps.store.userById(Number(match[1])) : undefined;
  // Only the picture the account points at now: never an orphan, never a deleted user's.
  const image = user?.imageVersion != null ? await ctx.deps.storage.get(user.id, user.imageVersion) : undefined;
  if (!image) throw new HttpError("not_found", "No such picture.");
  const headers = {
    "Content-Type": "image/jpeg",
    ETag: image.etag,
    "Last-Modified": new Date(image.lastModified).toUTCString(),
    // Short: URLs carry ?v=<version>, and a deleted picture should not live on in caches for long.
    "Cache-Control": "public, max-age=300",
  };
  if (matchesEtag(req.headers.get("if-none-match"), image.etag)) return new Response(null, { status: 304, headers });
  if (req.method === "HEAD") {
    return new Response(null, { headers: { ...headers, "Content-Length": String(image.size) } });
  }
  return new Response(image.body, { headers });
}
