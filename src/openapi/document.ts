// The OpenAPI 3.1 document served at GET /openapi.json, built by walking the route table in
// src/app.ts: each entry carries its operation, so a route cannot exist without its description.
import { isAlias, resolve, routes, type Entry } from "../app.ts";
import { PROBLEM_HEADERS, problems, problemSchemas } from "./problems.ts";
import { schemas, type Json, type SchemaLimits } from "./schemas.ts";
import { ASSET_NAMES } from "./swagger-ui.ts";

// HEAD and OPTIONS are left implicit, as the description says: every GET also answers HEAD (same
// headers, no body) and every path answers OPTIONS (204 with Allow, and CORS preflight).
const toOpenApiPath = (route: string) => route.replace(/:(\w+)/g, "{$1}");

/** An entry's operation; who may call it says whether it needs the bearer token (public: explicitly not). */
function described(entry: Entry): Json {
  const { operation, access } = entry;
  const security = access === "public" ? ("security" in operation ? operation.security : []) : [{ bearerAuth: [] }];
  return { ...operation, security };
}

/** "/users/me" → "usersMe", for an alias's operationId. */
const camel = (path: string) =>
  path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join("");

function aliased(entry: Entry, method: string, path: string, canonical: string): Json {
  const original = described(entry);
  const note = `Alias of ${method} ${toOpenApiPath(canonical)}, for clients written against ${toOpenApiPath(path)}.`;
  return {
    ...original,
    operationId: `${entry.operation.operationId}_alias_${camel(path)}`,
    summary: `${entry.operation.summary} (alias of ${toOpenApiPath(canonical)})`,
    description: "description" in entry.operation ? `${note} ${entry.operation.description}` : note,
    tags: ["aliases"],
  };
}

const PATH_PARAMETERS: Record<string, Json> = {
  id: { schema: { type: "integer", minimum: 1 }, description: "A user id; anything else is 404." },
  file: { schema: { type: "string", pattern: "^[1-9][0-9]{0,14}\\.jpg$" }, description: "`<user id>.jpg`" },
  name: { schema: { type: "string", enum: ASSET_NAMES } },
  sid: { schema: { type: "string" }, description: "A session's `id` from the list; one that is not the account's is 404." },
  owner: { schema: { type: "string", pattern: "^[1-9][0-9]{0,14}$" }, description: "The user id the picture belongs to." },
  object: { schema: { type: "string", pattern: "^[0-9a-f]{16}-(full|[1-9][0-9]{0,3})\\.(jpg|webp)$" }, description: "`<content hash>-<size|full>.<jpg|webp>`" },
};

function pathItem(path: string, methods: Record<string, Json>): Json {
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const parameters = names.map((name) => ({ name, in: "path", required: true, ...PATH_PARAMETERS[name] }));
  return { ...(parameters.length > 0 ? { parameters } : {}), ...methods };
}

/** The route table's paths, canonical routes and aliases alike, in the table's order. */
function paths(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [route, value] of Object.entries(routes)) {
    const ops = Object.entries(resolve(routes, value)).map(([method, entry]) => [
      method.toLowerCase(),
      isAlias(value) ? aliased(entry, method, route, value.alias) : described(entry),
    ]);
    out[toOpenApiPath(route)] = pathItem(toOpenApiPath(route), Object.fromEntries(ops));
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
      { name: "aliases", description: "Older clients' names for the same operations (/users/me, /profile/{id}, /auth/login, …)" },
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
