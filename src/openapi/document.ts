// The OpenAPI 3.1 document served at GET /openapi.json: the route table's paths, each method's
// operation from operations.ts. test/openapi/ checks it against src/app.ts's routes both ways, so a
// route cannot be added without being described here.
import { operations } from "./operations.ts";
import { PROBLEM_HEADERS, problems, problemSchemas } from "./problems.ts";
import { schemas, type Json, type SchemaLimits } from "./schemas.ts";
import { ASSET_NAMES } from "./swagger-ui.ts";

type Method = "get" | "put" | "post" | "delete";
type OperationId = keyof typeof operations;

// HEAD and OPTIONS are left implicit, as the description says: every GET also answers HEAD (same
// headers, no body) and every path answers OPTIONS (204 with Allow, and CORS preflight).
const PATHS: Record<string, Partial<Record<Method, OperationId>>> = {
  "/register": { post: "register" },
  "/login": { post: "login" },
  "/token/refresh": { post: "refreshTokens" },
  "/logout": { post: "logout" },
  "/me": { get: "getMe", put: "updateMe", delete: "deleteMe" },
  "/me/upload-image": { post: "uploadImage" },
  "/me/image": { delete: "deleteImage" },
  "/password/forgot": { post: "forgotPassword" },
  "/password/reset": { post: "resetPassword" },
  "/email/verify": { post: "verifyEmail" },
  "/email/verify/resend": { post: "resendVerification" },
  "/users": { get: "listUsers" },
  "/users/{id}": { get: "getUser", put: "updateUser", delete: "deleteUser" },
  "/users/{id}/profile-picture": { post: "uploadUserPicture", delete: "deleteUserPicture" },
  "/static/profile/{file}": { get: "profileImage" },
  "/verify-email": { get: "verifyEmailPage" },
  "/reset-password": { get: "resetPasswordPage" },
  "/healthz": { get: "healthz" },
  "/readyz": { get: "readyz" },
  "/metrics": { get: "metrics" },
  "/openapi.json": { get: "openApi" },
  "/docs": { get: "docsPage" },
  "/docs/assets/{name}": { get: "docsAsset" },
};

// The seeds' names for the same operations (src/app.ts), so their clients work unchanged.
const ALIASES: Record<string, { of: string; seed: string; methods: Method[] }> = {
  "/auth/signup": { of: "/register", seed: "001", methods: ["post"] },
  "/auth/login": { of: "/login", seed: "001", methods: ["post"] },
  "/profile/me": { of: "/me", seed: "001", methods: ["get", "put"] },
  "/users/register": { of: "/register", seed: "003", methods: ["post"] },
  "/users/login": { of: "/login", seed: "003", methods: ["post"] },
  "/users/me": { of: "/me", seed: "003", methods: ["get", "put", "delete"] },
  "/profile/{id}": { of: "/users/{id}", seed: "004", methods: ["get", "put"] },
};

const PATH_PARAMETERS: Record<string, Json> = {
  id: { schema: { type: "integer", minimum: 1 }, description: "A user id; anything else is 404." },
  file: { schema: { type: "string", pattern: "^[1-9][0-9]{0,14}\\.jpg$" }, description: "`<user id>.jpg`" },
  name: { schema: { type: "string", enum: ASSET_NAMES } },
};

function pathItem(path: string, methods: Partial<Record<Method, Json>>): Json {
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const parameters = names.map((name) => ({ name, in: "path", required: true, ...PATH_PARAMETERS[name] }));
  return { ...(parameters.length > 0 ? { parameters } : {}), ...methods };
}

function paths(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [path, methods] of Object.entries(PATHS)) {
    const ops = Object.entries(methods).map(([method, id]) => [method, { operationId: id, ...operations[id] }]);
    out[path] = pathItem(path, Object.fromEntries(ops));
  }
  for (const [path, { of, seed, methods }] of Object.entries(ALIASES)) {
    const ops = methods.map((method) => {
      const id = PATHS[of]![method]!;
      const original = operations[id];
      const alias = `Alias of ${method.toUpperCase()} ${of}, for seed ${seed}'s clients.`;
      return [method, {
        ...original,
        operationId: `${id}_seed${seed}`,
        summary: `${original.summary} (alias of ${of})`,
        description: "description" in original ? `${alias} ${original.description}` : alias,
        tags: ["seed compatibility"],
      }];
    });
    out[path] = pathItem(path, Object.fromEntries(ops));
  }
  return out;
}

const DESCRIPTION = `User profiles and authentication: register, log in for a JWT, read and edit your profile,
upload a picture, and the mailed links for password resets and email verification.

**Conventions.** Every GET also answers HEAD; every path answers OPTIONS (204 with \`Allow\`, and
CORS preflight when \`CORS_ORIGINS\` is set). A method a path does not list answers 405
(\`method_not_allowed\`, with \`Allow\`: the \`MethodNotAllowed\` response, not repeated on every
operation); a path that is not here answers 404 \`not_found\`. Every response carries \`X-Request-Id\`.
Errors are RFC 9457 \`application/problem+json\` with a stable \`code\`: the table of codes is under
the \`ProblemCode\` schema below.`;

/** The whole document; the limits are the running config's, so the schemas say what it accepts. */
export function openApiDocument(limits: SchemaLimits): Json {
  return {
    openapi: "3.1.1",
    info: { title: "profile-service", version: "0.1.0", description: DESCRIPTION },
    servers: [{ url: "/" }],
    tags: [
      { name: "auth", description: "Accounts and credentials" },
      { name: "me", description: "The signed-in user's own account" },
      { name: "pictures", description: "Profile pictures" },
      { name: "mailed links", description: "Password resets and email verification" },
      { name: "users", description: "Accounts by id: the owner, or an admin" },
      { name: "service", description: "Health and this documentation" },
      { name: "seed compatibility", description: "The seed apps' route names for the same operations" },
    ],
    paths: paths(),
    components: {
      schemas: { ...schemas(limits), ...problemSchemas() },
      responses: { MethodNotAllowed: problems(["method_not_allowed"])["405"] },
      headers: PROBLEM_HEADERS,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "`access_token` from POST /login" } },
    },
  };
}
