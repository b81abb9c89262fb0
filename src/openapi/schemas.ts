// The bodies the API reads and writes, as JSON Schema (2020-12, which OpenAPI 3.1 uses). Limits
// mirror src/http/validate.ts; the two that are configurable come from the running config.
export type Json = Record<string, unknown>;

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

export type SchemaLimits = { passwordMinLength: number; maxUploadBytes: number };

const name: Json = {
  type: "string",
  minLength: 1,
  maxLength: 100,
  description:
    "1–100 characters after trimming; no control or invisible formatting characters (a ZWJ inside an emoji sequence is fine), nor more than 30 combining marks in a row.",
};
const email: Json = { type: "string", format: "email", maxLength: 254, description: "Trimmed and lower-cased; unique ignoring case. At most 30 combining marks in a row." };
const token: Json = { type: "string", minLength: 1, maxLength: 512 };
const message: Json = { type: "string" };

// Older clients call the display name `name`, `username` (/users/register) or `user`: one of them.
const nameAliases: Json = {
  username: { ...name, description: "Same as `name` (for clients of /users/register); give only one of name, username, user." },
  user: { ...name, description: "Same as `name` (for older clients); give only one of name, username, user." },
};

export function schemas({ passwordMinLength, maxUploadBytes }: SchemaLimits): Record<string, Json> {
  const password: Json = { type: "string", minLength: passwordMinLength, maxLength: 256, format: "password" };
  const credential: Json = { type: "string", minLength: 1, maxLength: 1024, format: "password" };
  return {
    Profile: {
      type: "object",
      required: ["id", "name", "email", "email_verified", "bio", "image_url", "image", "role", "active", "created_at", "updated_at"],
      properties: {
        id: { type: "integer", minimum: 1, description: "Never reused." },
        name: { type: "string" },
        email: { type: "string", format: "email" },
        email_verified: { type: "boolean" },
        bio: { type: "string", maxLength: 500 },
        image_url: { type: ["string", "null"], format: "uri", description: "Changes with every new picture (`?v=` or a new key); null without one." },
        image: {
          oneOf: [ref("ProfileImage"), { type: "null" }],
          description: "The picture's square variants and placeholder; null without a picture, and for a picture from before variants until the background backfill has made them.",
        },
        role: { type: "string", enum: ["user", "admin"] },
        active: { type: "boolean", description: "False while an admin has deactivated the account." },
        created_at: { type: "string", format: "date-time" },
        updated_at: { type: "string", format: "date-time" },
      },
    },
    ProfileImage: {
      type: "object",
      required: ["sizes", "placeholder", "width", "height"],
      properties: {
        sizes: {
          type: "object",
          description:
            "Square, centre-cropped variants by side in pixels (IMAGE_VARIANT_SIZES, default 64, 128, 256), each in WebP and JPEG; never enlarged beyond the source, so a size above the picture's short side holds its largest square. URLs are immutable (content-hashed names, cacheable for a year).",
          additionalProperties: {
            type: "object",
            required: ["webp", "jpeg"],
            properties: { webp: { type: "string", format: "uri" }, jpeg: { type: "string", format: "uri" } },
          },
        },
        placeholder: { type: "string", pattern: "^data:image/png;base64,", description: "ThumbHash rendering of the square crop (~500 bytes), to show while a variant loads." },
        width: { type: "integer", minimum: 1, description: "Of the full picture (`image_url`)." },
        height: { type: "integer", minimum: 1 },
      },
    },
    Message: { type: "object", required: ["message"], properties: { message } },
    Registered: {
      type: "object",
      required: ["id", "message"],
      properties: { id: { type: "integer", minimum: 1 }, message: { const: "User registered successfully" } },
    },
    TokenPair: {
      type: "object",
      required: ["access_token", "token_type", "expires_in", "refresh_token"],
      properties: {
        access_token: { type: "string", description: "HS256 JWT for `Authorization: Bearer`." },
        token_type: { const: "bearer" },
        expires_in: { type: "integer", description: "Seconds until the access token expires." },
        refresh_token: { type: "string", description: "Opaque, single use: POST /token/refresh trades it for a new pair." },
      },
    },
    ProfileUpdated: {
      type: "object",
      required: ["message", "user"],
      properties: {
        message: { const: "Profile updated successfully" },
        user: ref("Profile"),
        access_token: { type: "string", description: "Only when the owner changed their password: every other access token died." },
        token_type: { const: "bearer" },
        expires_in: { type: "integer" },
      },
    },
    UserPage: {
      type: "object",
      required: ["users", "next_cursor"],
      properties: {
        users: { type: "array", items: ref("Profile"), description: "Newest first." },
        next_cursor: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null on the last one." },
      },
    },
    ImageUploaded: {
      type: "object",
      required: ["message", "image_url"],
      properties: {
        message: { const: "Upload successful" },
        image_url: { type: "string", format: "uri" },
        image: ref("ProfileImage"),
      },
    },
    EmailVerified: {
      type: "object",
      required: ["message", "email", "email_verified"],
      properties: { message, email: { type: "string", format: "email" }, email_verified: { const: true } },
    },
    Health: { type: "object", required: ["status"], properties: { status: { const: "ok" } } },
    Readiness: {
      type: "object",
      required: ["status", "checks"],
      properties: { status: { const: "ok" }, checks: ref("ReadinessChecks") },
    },
    ReadinessChecks: {
      type: "object",
      required: ["database", "storage"],
      properties: { database: { enum: ["ok", "unavailable"] }, storage: { enum: ["ok", "unavailable"] } },
    },

    // Requests. Unknown fields are a 422 naming them, hence additionalProperties: false.
    RegisterRequest: {
      type: "object",
      additionalProperties: false,
      required: ["email", "password"],
      anyOf: [{ required: ["name"] }, { required: ["username"] }, { required: ["user"] }],
      properties: { name, ...nameAliases, email, password },
      examples: [{ name: "John Doe", email: "john@example.com", password: "correct horse" }],
    },
    LoginRequest: {
      type: "object",
      additionalProperties: false,
      required: ["password"],
      anyOf: [{ required: ["email"] }, { required: ["username"] }],
      description:
        "JSON, or the OAuth2 password form. A malformed email is just another failed login (401); one with a run of more than 30 combining marks is refused (422), as it costs too much to normalise.",
      properties: {
        email: { type: "string", maxLength: 1024 },
        username: { type: "string", maxLength: 1024, description: "The email, as OAuth2 password-grant clients and clients of /users/login send it." },
        password: credential,
        grant_type: { type: "string", description: "Accepted and ignored." },
        scope: { type: "string", description: "Accepted and ignored." },
        client_id: { type: "string", description: "Accepted and ignored." },
        client_secret: { type: "string", description: "Accepted and ignored." },
      },
      examples: [{ email: "john@example.com", password: "correct horse" }],
    },
    LogoutRequest: {
      type: "object",
      additionalProperties: false,
      properties: {
        refresh_token: token,
        scope: { type: "string", enum: ["local", "others", "global"], default: "local", description: "Which sessions to end: this one, every other one of its user, or all (also `?scope=`)." },
      },
    },
    SessionList: {
      type: "object",
      required: ["sessions"],
      properties: {
        sessions: {
          type: "array",
          description: "Live sessions (one per login), most recently used first.",
          items: {
            type: "object",
            required: ["id", "created_at", "last_used_at", "device", "ip", "current"],
            properties: {
              id: { type: "string", description: "The session id (the access token's `sid`)." },
              created_at: { type: "string", format: "date-time", description: "When its login checked the password." },
              last_used_at: { type: "string", format: "date-time", description: "Its last request or refresh, to within a minute." },
              device: { type: ["string", "null"], description: "Read from the User-Agent at login, from fixed words: \"Firefox on Linux\", \"curl\", \"Unknown device\"." },
              ip: { type: ["string", "null"], description: "The client address at login, without port." },
              current: { type: "boolean", description: "The session of the access token that asked." },
            },
          },
        },
      },
    },
    RefreshTokenRequest: { type: "object", additionalProperties: false, required: ["refresh_token"], properties: { refresh_token: token } },
    AccountUpdate: {
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      description:
        "At least one field besides current_password. Changing your own email or password needs `current_password` unless you logged in within REAUTH_WINDOW_SECONDS. `role` and `active` are for admins only (403 otherwise).",
      properties: {
        name,
        ...nameAliases,
        bio: { type: ["string", "null"], maxLength: 500, description: "Newlines and tabs allowed; at most 30 combining marks in a row; null clears it." },
        email,
        password,
        current_password: credential,
        role: { type: "string", enum: ["user", "admin"] },
        active: { type: "boolean" },
      },
      examples: [{ name: "Johnny", bio: "Hello!" }],
    },
    ImageUpload: {
      type: "object",
      description: `One file, in the field \`image\` (or \`file\`): JPEG, PNG, GIF or WebP up to ${maxUploadBytes} bytes. Stored re-encoded as JPEG.`,
      properties: {
        image: { type: "string", format: "binary", contentMediaType: "application/octet-stream" },
        file: { type: "string", format: "binary", contentMediaType: "application/octet-stream", description: "Same as `image` (FastAPI's usual name)." },
      },
    },
    DeleteAccountRequest: {
      type: "object",
      additionalProperties: false,
      description:
        "Deleting your own account needs `current_password` unless you logged in within REAUTH_WINDOW_SECONDS; then the body may be left out. An admin deleting someone else's account sends none.",
      properties: { current_password: credential },
      examples: [{ current_password: "correct horse" }],
    },
    EmailRequest: { type: "object", additionalProperties: false, required: ["email"], properties: { email } },
    PasswordResetRequest: {
      type: "object",
      additionalProperties: false,
      required: ["token", "new_password"],
      properties: { token: { ...token, description: "From the mailed link." }, new_password: password },
    },
    LinkTokenRequest: {
      type: "object",
      additionalProperties: false,
      required: ["token"],
      properties: { token: { ...token, description: "From the mailed link." } },
    },
  };
}
