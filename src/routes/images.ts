// Upload and removal of a profile picture, one's own (/me/…) or, for its owner or an admin, any user's:
// the body waits for a bounded place, is read under the size limit, made into variants under bounds, stored.
import { actingOf, json, type Ctx } from "../context.ts";
import { readMultipartFile } from "../http/body.ts";
import { HttpError, validationFailed } from "../http/problem.ts";
import { pictureUrl, profileImage } from "../accounts/profile.ts";
import { storePictureSet } from "../storage/sweeper.ts";
import { pictureObjects } from "../store/index.ts";

// Each upload leaves megabytes of body and pixel buffers behind, which the collector gets to late:
// measured here, 3 rounds of 16 parallel 5 MiB uploads peaked at 300–375 MiB without help and at
// 218–235 MiB with a full collection after an upload at most twice a second. A full collection
// pauses this thread (up to ~15 ms, measured), hence the cap, whatever the upload rate.
let lastCollection = 0;
function collectUploadGarbage(): void {
  const now = performance.now();
  if (now - lastCollection < 500) return;
  lastCollection = now;
  Bun.gc(true);
}

// Room for the multipart boundaries and part headers around the file itself.
const MULTIPART_OVERHEAD = 16 * 1024;

// `image` is ours and older clients'; FastAPI apps name an UploadFile `file`.
const FILE_FIELDS = ["image", "file"] as const;

async function store(req: Request, ctx: Ctx, user: { id: number }): Promise<Response> {
  const { config, images, storage, store, imageLocks, clock, sweeper } = ctx.deps;
  const file = await readMultipartFile(req, FILE_FIELDS, config.maxUploadBytes + MULTIPART_OVERHEAD);
  if (!file) {
    throw validationFailed([{ field: "image", message: "is required" }]);
  }
  if (file.data.byteLength > config.maxUploadBytes) {
    throw new HttpError("payload_too_large", `The image exceeds the limit of ${config.maxUploadBytes} bytes.`);
  }
  const made = await images.toVariantSet(file.data);
  const { version, set } = await imageLocks.run(user.id, async () => {
    const reserved = await store.nextImageVersion(user.id);
    if (reserved === undefined) throw new HttpError("not_found", "The account no longer exists.");
    const { next, current: previous, currentSet } = reserved;
    const set = await storePictureSet(storage, sweeper, user.id, next, made, currentSet, async (set) => {
      if (!(await store.setImageVersion(user.id, next, clock(), set))) {
        throw new HttpError("not_found", "The account no longer exists.");
      }
    });
    // Only now that the row points at the new set may the old picture go (later, if storage is down).
    if (previous !== null && currentSet === null) await sweeper.discard(user.id, previous, undefined);
    return { version: next, set };
  });
  collectUploadGarbage();
  return json({
    message: "Upload successful",
    image_url: pictureUrl({ id: user.id, imageVersion: version, imageSet: set }, storage),
    image: profileImage(set, storage),
  });
}

export async function remove(_req: Request, ctx: Ctx): Promise<Response> {
  const { sweeper, store, imageLocks, clock } = ctx.deps;
  const user = actingOf(ctx).target;
  await imageLocks.run(user.id, async () => {
    const current = await store.userById(user.id);
    if (current?.imageVersion == null) throw new HttpError("not_found", "There is no profile picture.");
    // The row is the commit point: once it says "no picture" the answer is success, and the bytes
    // go now or, with storage down, through the sweeper's retries; never a dangling URL.
    await store.setImageVersion(user.id, null, clock());
    if (current.imageSet) await sweeper.discardObjects(user.id, pictureObjects(current.imageSet));
    else await sweeper.discard(user.id, current.imageVersion, undefined);
  });
  return json({ message: "Image removed" });
}

export async function upload(req: Request, ctx: Ctx): Promise<Response> {
  const { user, target } = actingOf(ctx);
  try {
    // Counted against whoever uploads (an admin may upload for others), and held until the body,
    // which lives as long as this request, is no longer needed.
    const release = ctx.deps.images.admit(user.id);
    try {
      const res = await store(req, ctx, target);
      ctx.deps.metrics.uploads.inc({ result: "stored" });
      return res;
    } finally {
      release();
    }
  } catch (err) {
    ctx.deps.metrics.uploads.inc({ result: "refused" });
    throw err;
  }
}
