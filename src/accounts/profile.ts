// The public shape of a user, the one place that decides which columns a client may see: used by
// the account routes, the admin list and the answers to a change.
import type { PictureSet, UserRow } from "../store/index.ts";
import type { ImageStorage } from "../storage/index.ts";

/** A picture's square variants by side and format, its ThumbHash placeholder and full size (issue 11). */
export type ProfileImage = {
  sizes: Record<string, { webp: string; jpeg: string }>;
  placeholder: string;
  width: number;
  height: number;
};

export type Profile = {
  id: number;
  name: string;
  email: string;
  email_verified: boolean;
  bio: string;
  image_url: string | null;
  /** Null without a picture, and for a picture from before variant sets until the backfill reaches it. */
  image: ProfileImage | null;
  role: string;
  /** False while an admin has deactivated the account. */
  active: boolean;
  created_at: string;
  updated_at: string;
};

type Pictured = Pick<UserRow, "id" | "imageVersion" | "imageSet">;

/**
 * The full picture's URL, as clients of `image_url` have always read it: where the service serves
 * pictures, /static/profile/<id>.jpg?v=<version> (which serves the set's full JPEG); from a public
 * bucket, which has no such key for a set, the full object's own immutable URL.
 */
export function pictureUrl(user: Pictured, storage: ImageStorage): string | null {
  if (user.imageVersion === null) return null;
  if (user.imageSet && !storage.servedByService) return storage.objectUrl(user.imageSet.full);
  return storage.publicUrl(user.id, user.imageVersion);
}

export function profileImage(set: PictureSet | null, storage: ImageStorage): ProfileImage | null {
  if (!set) return null;
  const sizes: ProfileImage["sizes"] = {};
  for (const [size, pair] of Object.entries(set.sizes)) sizes[size] = { webp: storage.objectUrl(pair.webp), jpeg: storage.objectUrl(pair.jpeg) };
  return { sizes, placeholder: set.placeholder, width: set.width, height: set.height };
}

/**
 * The immutable URL of the user's picture at about `size` pixels in `format`, for redirects such as
 * GET /users/{id}/avatar: the stored size itself, else the smallest larger one, else the largest.
 * A picture from before variant sets (not yet backfilled) answers with its full JPEG; no picture: undefined.
 */
export function variantUrl(user: Pictured, size: number, format: "webp" | "jpeg", storage: ImageStorage): string | undefined {
  if (user.imageVersion === null) return undefined;
  if (!user.imageSet) return storage.publicUrl(user.id, user.imageVersion);
  const sides = Object.keys(user.imageSet.sizes).map(Number).sort((a, b) => a - b);
  if (sides.length === 0) return storage.objectUrl(user.imageSet.full);
  const side = sides.find((s) => s >= size) ?? sides.at(-1)!;
  return storage.objectUrl(user.imageSet.sizes[String(side)]![format]);
}

export function toProfile(user: UserRow, storage: ImageStorage): Profile {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    bio: user.bio,
    image_url: pictureUrl(user, storage),
    image: profileImage(user.imageSet, storage),
    role: user.role,
    active: user.disabledAt === null,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

// A signed-in caller reads the same cached row again and again (src/auth/session-cache.ts), and a
// row is never changed in place (a write reads a new one), so its answer is made once per row object.
// Measured here: a cached GET /me spent ~1.5 µs making it anew each time.
const profileTexts = new WeakMap<UserRow, { storage: ImageStorage; text: string }>();

/** The profile as JSON text, as `JSON.stringify(toProfile(user, storage))`. */
export function profileJson(user: UserRow, storage: ImageStorage): string {
  const known = profileTexts.get(user);
  if (known !== undefined && known.storage === storage) return known.text;
  const text = JSON.stringify(toProfile(user, storage));
  profileTexts.set(user, { storage, text });
  return text;
}
