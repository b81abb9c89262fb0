// The public shape of a user, the one place that decides which columns a client may see.
import type { UserRow } from "../db/index.ts";
import type { ImageStorage } from "../storage/index.ts";

export type Profile = {
  id: number;
  name: string;
  email: string;
  bio: string;
  image_url: string | null;
  role: string;
  created_at: string;
  updated_at: string;
};

export function toProfile(user: UserRow, storage: ImageStorage): Profile {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    bio: user.bio,
    image_url: user.imageVersion === null ? null : storage.publicUrl(user.id, user.imageVersion),
    role: user.role,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}
