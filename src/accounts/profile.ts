// The public shape of a user, the one place that decides which columns a client may see: used by
// the account routes, the admin list and the answers to a change.
import type { UserRow } from "../store/index.ts";
import type { ImageStorage } from "../storage/index.ts";

export type Profile = {
  id: number;
  name: string;
  email: string;
  email_verified: boolean;
  bio: string;
  image_url: string | null;
  role: string;
  /** False while an admin has deactivated the account. */
  active: boolean;
  created_at: string;
  updated_at: string;
};

export function toProfile(user: UserRow, storage: ImageStorage): Profile {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    bio: user.bio,
    image_url: user.imageVersion === null ? null : storage.publicUrl(user.id, user.imageVersion),
    role: user.role,
    active: user.disabledAt === null,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}
