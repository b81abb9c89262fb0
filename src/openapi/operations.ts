// One OpenAPI operation per handler: what it reads, what it answers, and which problem codes it
// may send (their statuses come from TITLES). Route table entries (src/app.ts) name them.
import { DATABASE, HASHING, JSON_BODY, LIMITED, SIGNED_IN, answer, json, message, onAccount, operation, withIds } from "./operation.ts";
import { pictureOperations } from "./operations-pictures.ts";
import { serviceOperations } from "./operations-service.ts";

export type { Operation } from "./operation.ts";

export const operations = {
  ...withIds({
    register: operation({
      summary: "Create an account",
      description: "Sends a verification mail. `username` or `user` may stand for `name`.",
      tag: "auth",
      body: json("RegisterRequest", { name: "John Doe", email: "john@example.com", password: "correct horse" }),
      ok: { 201: answer("Registered", "Registered") },
      codes: [...JSON_BODY, "email_taken", ...LIMITED, ...HASHING, ...DATABASE],
    }),
    login: operation({
      summary: "Log in: a token pair",
      description:
        "JSON `{email, password}` or the OAuth2 password form (`username`, `password`). Every wrong email or password is the same 401; `account_disabled` and `email_not_verified` are told only to someone who gave the right password.",
      tag: "auth",
      body: json("LoginRequest", { email: "john@example.com", password: "correct horse" }, ["application/json", "application/x-www-form-urlencoded"]),
      ok: { 200: answer("Logged in", "TokenPair") },
      codes: [...JSON_BODY, "invalid_credentials", "account_disabled", "email_not_verified", ...LIMITED, ...HASHING, ...DATABASE],
    }),
    refreshTokens: operation({
      summary: "Trade a refresh token for a new pair",
      description:
        "The old refresh token is spent. Presented again within `REFRESH_TOKEN_REUSE_SECONDS` (10 s) of its first use (two tabs, a retry after a lost answer) it gets another pair for the same session; later, it ends the whole session (401).",
      tag: "auth",
      body: json("RefreshTokenRequest"),
      ok: { 200: answer("A new pair", "TokenPair") },
      codes: [...JSON_BODY, ...SIGNED_IN, ...LIMITED, ...DATABASE],
    }),
    logout: operation({
      summary: "End a session: the refresh token's, the bearer token's, or both",
      description:
        "204 for any refresh token, known or not; its access tokens stop working at once. With no body, the bearer access token says which session to end (401 if it is not valid); with neither, 401. `scope` (body or query, as in Supabase Auth): `local` (default) ends that session, `others` every other session of its user, `global` all of them.",
      tag: "auth",
      optionalToken: true,
      parameters: [{ name: "scope", in: "query", required: false, schema: { type: "string", enum: ["local", "others", "global"], default: "local" } }],
      body: { ...json("LogoutRequest"), required: false },
      ok: { 204: { description: "Logged out" } },
      codes: [...JSON_BODY, ...SIGNED_IN, ...DATABASE],
    }),
    ...onAccount(["getMe", "getUser"], {
      me: { summary: "Your profile", ok: { 200: answer("Your profile", "Profile") } },
      user: { summary: "Read an account (its owner or an admin)", ok: { 200: answer("The account", "Profile") } },
      codes: [],
    }),
    ...onAccount(["updateMe", "updateUser"], {
      me: { summary: "Change your profile, email or password", body: json("AccountUpdate", { name: "Johnny", bio: "Hello!" }) },
      user: { summary: "Change an account (its owner or an admin)", body: json("AccountUpdate", { name: "Johnny" }) },
      ok: { 200: answer("Updated", "ProfileUpdated") },
      codes: [...JSON_BODY, "forbidden", "email_taken", "last_admin", ...LIMITED, ...HASHING],
    }),
    ...onAccount(["deleteMe", "deleteUser"], {
      me: { summary: "Delete your account and picture" },
      user: { summary: "Delete an account (its owner or an admin)" },
      body: { ...json("DeleteAccountRequest"), required: false },
      ok: { 200: message("Deleted") },
      codes: [...JSON_BODY, "forbidden", "last_admin", ...LIMITED, ...HASHING],
    }),
    ...onAccount(["listMySessions", "listUserSessions"], {
      me: {
        summary: "Your live sessions",
        description: "One per login: its device (from the User-Agent), address and last use; `current` marks the one asking.",
        ok: { 200: answer("Your sessions", "SessionList") },
      },
      user: { summary: "An account's live sessions (its owner or an admin)", ok: { 200: answer("The account's sessions", "SessionList") } },
      codes: [],
    }),
    ...onAccount(["endMySession", "endUserSession"], {
      me: {
        summary: "End one of your sessions",
        description: "Its refresh token and access tokens stop working at once. An id that is not one of your sessions is 404.",
      },
      user: {
        summary: "End one of an account's sessions (its owner or an admin)",
        description: "Its refresh token and access tokens stop working at once. An id that is not one of the account's sessions is 404.",
      },
      ok: { 204: { description: "Ended" } },
      codes: ["not_found"],
    }),
    forgotPassword: operation({
      summary: "Mail a password-reset link",
      description: "202 with the same body whether or not an account has the address.",
      tag: "mailed links",
      body: json("EmailRequest"),
      ok: { 202: message("Accepted") },
      codes: [...JSON_BODY, ...LIMITED],
    }),
    resetPassword: operation({
      summary: "Set a new password with a mailed link",
      description: "Signs out every session.",
      tag: "mailed links",
      body: json("PasswordResetRequest"),
      ok: { 200: message("Changed") },
      codes: [...JSON_BODY, "link_invalid", ...LIMITED, ...HASHING, ...DATABASE],
    }),
    verifyEmail: operation({
      summary: "Confirm an email address with a mailed link",
      tag: "mailed links",
      body: json("LinkTokenRequest"),
      ok: { 200: answer("Confirmed", "EmailVerified") },
      codes: [...JSON_BODY, "link_invalid", ...LIMITED, ...DATABASE],
    }),
    resendVerification: operation({
      summary: "Mail a new verification link",
      description: "Signed in: for your address, no body. Signed out: `{email}`. 202 either way.",
      tag: "mailed links",
      optionalToken: true,
      body: { ...json("EmailRequest"), required: false },
      ok: { 202: message("Accepted") },
      codes: [...JSON_BODY, ...SIGNED_IN, ...LIMITED, ...DATABASE],
    }),
    listUsers: operation({
      summary: "List users (admins)",
      tag: "users",
      parameters: [
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
        { name: "cursor", in: "query", schema: { type: "string" }, description: "`next_cursor` of the previous page." },
        { name: "q", in: "query", schema: { type: "string", maxLength: 254 }, description: "Start of a name or an email; no control characters, nor more than 30 combining marks in a row." },
      ],
      ok: { 200: answer("Newest first", "UserPage") },
      codes: ["validation_failed", ...SIGNED_IN, "forbidden", ...DATABASE],
    }),
  }),
  ...pictureOperations,
  ...serviceOperations,
};
