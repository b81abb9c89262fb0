// GET /openapi.json is built from the route table (src/app.ts), so it cannot miss a route; what is
// checked here is what construction does not give: each entry's operation says enough and is valid
// OpenAPI 3.1, its access rule and limit show in its answers, and problem types are src/http/problem.ts's.
// (Observed statuses: check-observed.ts, after the suites.)
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, test } from "bun:test";
import { isAlias, resolve, routes } from "../../src/app.ts";
import { problemType, TITLES, type ProblemCode } from "../../src/http/problem.ts";
import { openApiDocument } from "../../src/openapi/document.ts";
import { serverForFile } from "../helpers/server.ts";
import { tableOperations, toOpenApiPath, undocumented, type Doc } from "./observed.ts";

const doc = openApiDocument({ passwordMinLength: 8, maxUploadBytes: 5 * 1024 * 1024 }) as Doc;
const server = await serverForFile({ PASSWORD_MIN_LENGTH: "12", MAX_UPLOAD_BYTES: "100000" });
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([key]) => key !== "parameters")
      .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
  );
const entries = () =>
  Object.entries(routes).flatMap(([route, value]) =>
    Object.entries(resolve(routes, value)).map(([method, entry]) => ({
      name: `${method} ${toOpenApiPath(route)}`,
      entry,
      operation: doc.paths[toOpenApiPath(route)]![method.toLowerCase()],
    })),
  );
/** The problem codes an operation documents, over all its statuses. */
const codesOf = (operation: any): string[] =>
  Object.values<any>(operation.responses).flatMap((r) => r.content?.["application/problem+json"]?.schema.allOf?.[1].properties.code.enum ?? []);

describe("each route table entry declares its route completely", () => {
  test("every entry has an operation with a summary, at least one success response, and only known problem codes", () => {
    expect(entries().length).toBe(tableOperations().length);
    for (const { name, entry, operation } of entries()) {
      expect({ name, summary: typeof entry.operation.summary }).toEqual({ name, summary: "string" });
      const statuses = Object.keys(operation.responses);
      expect({ name, success: statuses.some((s) => /^[23]\d\d$/.test(s)) }).toEqual({ name, success: true });
      for (const code of codesOf(operation)) expect({ name, code, known: code in TITLES }).toEqual({ name, code, known: true });
    }
  });

  test("its access rule and limit show in its answers: 401 when signed in, 403/404 on another's account, 429 when limited", () => {
    for (const { name, entry, operation } of entries()) {
      const codes = codesOf(operation);
      const wanted: string[] = [];
      if (entry.access !== "public") wanted.push("invalid_token");
      if (entry.access === "admin" || entry.access === "self-or-admin") wanted.push("forbidden");
      if (entry.access === "self-or-admin") wanted.push("not_found");
      if (entry.limit !== undefined) wanted.push("rate_limited");
      expect({ name, missing: wanted.filter((code) => !codes.includes(code)) }).toEqual({ name, missing: [] });
    }
  });

  test("an alias serves its route's entries, is tagged and says whose alias it is, and says nothing of seeds", () => {
    const aliases = Object.entries(routes).filter(([, value]) => isAlias(value));
    expect(aliases.length).toBe(7);
    for (const [route, value] of aliases) {
      if (!isAlias(value)) continue;
      for (const [method, entry] of Object.entries(resolve(routes, value))) {
        const operation = doc.paths[toOpenApiPath(route)]![method.toLowerCase()];
        expect(operation.tags).toEqual(["aliases"]);
        expect(operation.summary).toContain(`(alias of ${toOpenApiPath(value.alias)})`);
        expect(operation.operationId.startsWith(`${entry.operation.operationId}_alias_`)).toBe(true);
      }
    }
    expect(JSON.stringify(doc).match(/.{0,40}seed.{0,40}/gi) ?? []).toEqual([]);
  });

  test("an alias keeps only its methods: /profile/me has no DELETE, /users/me has", () => {
    expect(Object.keys(doc.paths["/profile/me"]!).sort()).toEqual(["get", "put"]);
    expect(Object.keys(doc.paths["/profile/{id}"]!).sort()).toEqual(["get", "parameters", "put"]);
    expect(Object.keys(doc.paths["/users/me"]!).sort()).toEqual(["delete", "get", "put"]);
  });
});

describe("a valid OpenAPI 3.1 document", () => {
  test("@seriousme/openapi-schema-validator accepts it", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  test("every $ref points at something in the document", () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (key === "$ref") refs.push(value as string);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(100);
    const dangling = [...new Set(refs)].filter((ref) => {
      if (!ref.startsWith("#/")) return true;
      let at: any = doc;
      for (const part of ref.slice(2).split("/")) at = at?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
      return at === undefined;
    });
    expect(dangling).toEqual([]);
  });

  test("operationIds are unique; signed-in operations ask for the bearer token, public ones say `security: []`", () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: "JWT" }));
    // Its 401 invalid_token is about the refresh token in the body, not a bearer token.
    const bodyToken = ["POST /token/refresh"];
    for (const { name, operation } of operations()) {
      const problem401 = operation.responses["401"]?.content["application/problem+json"].schema;
      const checksBearer = Boolean(problem401?.allOf[1].properties.code.enum.includes("invalid_token")) && !bodyToken.includes(name);
      expect({ name, security: operation.security.length > 0 }).toEqual({ name, security: checksBearer });
    }
  });

  test("info.version is package.json's", async () => {
    const pkg = await Bun.file(`${import.meta.dir}/../../package.json`).json();
    expect((doc as any).info.version).toBe(pkg.version);
  });
});

describe("problem types come from src/http/problem.ts", () => {
  const codes = Object.keys(TITLES) as ProblemCode[];

  test("ProblemCode lists every code, and its description every type with its status and title", () => {
    const schema = doc.components.schemas.ProblemCode;
    expect(schema.enum).toEqual(codes);
    for (const code of codes) {
      expect(schema.description).toContain(`| ${TITLES[code][0]} | \`${code}\` | \`${problemType(code)}\` | ${TITLES[code][1]} |`);
    }
  });

  test("each problem response narrows to codes that have its status; every code is answered somewhere", () => {
    const answered = new Set<string>();
    for (const { name, operation } of operations()) {
      for (const [status, response] of Object.entries<any>(operation.responses)) {
        const schema = response.content?.["application/problem+json"]?.schema;
        if (!schema) continue;
        const narrowed = schema.allOf[1].properties;
        for (const code of narrowed.code.enum as ProblemCode[]) {
          expect({ name, code, status: TITLES[code][0] }).toEqual({ name, code, status: Number(status) });
          answered.add(code);
        }
        expect(narrowed.type.enum).toEqual(narrowed.code.enum.map(problemType));
      }
    }
    // method_not_allowed is the common MethodNotAllowed response instead.
    expect(codes.filter((code) => !answered.has(code))).toEqual(["method_not_allowed"]);
    expect(doc.components.responses.MethodNotAllowed.content["application/problem+json"].schema.allOf[1].properties.code.enum).toEqual(["method_not_allowed"]);
  });
});

describe("the observed-status check (check-observed.ts) itself", () => {
  test.each<[string, { method: string; path: string; status: number }, string[]]>([
    ["a documented status", { method: "GET", path: "/users/12", status: 404 }, []],
    ["HEAD, held to GET's responses", { method: "HEAD", path: "/static/profile/3.jpg", status: 304 }, []],
    ["405 for a method the route does not list", { method: "PATCH", path: "/me", status: 405 }, []],
    ["OPTIONS → 204", { method: "OPTIONS", path: "/users/7/profile-picture", status: 204 }, []],
    ["404 where no route matches", { method: "GET", path: "/nope/1", status: 404 }, []],
    ["an exact route before a parameter route", { method: "PUT", path: "/users/me", status: 404 }, ["PUT /users/me answered 404, which is not documented"]],
    ["an undocumented status", { method: "GET", path: "/healthz", status: 418 }, ["GET /healthz answered 418, which is not documented"]],
    ["a listed method answering 405", { method: "POST", path: "/login", status: 405 }, ["POST /login answered 405, which is not documented"]],
    ["an unrouted path that did not 404", { method: "GET", path: "/nope", status: 200 }, ["GET /nope → 200: no route matches, so it should have been 404"]],
  ])("%s", async (_, observation, expected) => {
    expect(await undocumented([observation], doc)).toEqual(expected);
  });
});

describe("served", () => {

  test("GET /openapi.json is the document, with the running config's limits", async () => {
    const reply = await server.client.send("GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/json");
    const served = reply.body;
    expect(served.paths).toEqual(JSON.parse(JSON.stringify(doc.paths)));
    expect(served.components.schemas.RegisterRequest.properties.password.minLength).toBe(12);
    expect(served.components.schemas.ImageUpload.description).toContain("100000 bytes");
    expect(served.servers).toEqual([{ url: "/" }]);
  });
});
