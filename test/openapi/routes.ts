// The route table (src/app.ts) and the OpenAPI document in the same terms, for the drift checks:
// operations as "METHOD /path/{param}", and a concrete request path mapped back to its route.
import { routes } from "../../src/app.ts";

export type Doc = { paths: Record<string, Record<string, any>>; components: Record<string, any> };

export const OPENAPI_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export const toOpenApiPath = (route: string) => route.replace(/:(\w+)/g, "{$1}");

/** Every method the route table lists (GET's implied HEAD and every path's OPTIONS are not listed). */
export function tableOperations(): string[] {
  return Object.entries(routes).flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method} ${toOpenApiPath(route)}`));
}

export function documentOperations(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => OPENAPI_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

const segments = (path: string) => path.split("/").slice(1);

/**
 * The route Bun would pick for a request path, as Bun does: an exact route first, then the
 * parameter route with the most literal segments. A parameter matches one non-empty segment.
 */
export function routeFor(pathname: string): string | undefined {
  if (Object.hasOwn(routes, pathname)) return pathname;
  const parts = segments(pathname);
  const candidates = Object.keys(routes).filter((route) => {
    const pattern = segments(route);
    return pattern.length === parts.length && pattern.every((p, i) => (p.startsWith(":") ? parts[i] !== "" : p === parts[i]));
  });
  const literals = (route: string) => segments(route).filter((p) => !p.startsWith(":")).length;
  return candidates.sort((a, b) => literals(b) - literals(a))[0];
}

export type Observation = { method: string; path: string; status: number };

/**
 * What in `observations` the document does not account for, one line each. Left out on purpose:
 * 404 from a path no route matches, OPTIONS (implicit: 204 with Allow), and 405 for a method the
 * route does not list (the document's common MethodNotAllowed response). HEAD is held to GET's
 * responses, which it shares.
 */
export function undocumented(observations: Observation[], doc: Doc): string[] {
  const problems = new Set<string>();
  for (const { method, path, status } of observations) {
    const route = routeFor(path);
    if (route === undefined) {
      if (status !== 404) problems.add(`${method} ${path} → ${status}: no route matches, so it should have been 404`);
      continue;
    }
    const listed = Object.keys(routes[route]!);
    const asked = method === "HEAD" && !listed.includes("HEAD") ? "GET" : method;
    if (method === "OPTIONS") {
      if (status !== 204) problems.add(`OPTIONS ${route} → ${status}: OPTIONS is documented as 204 only`);
    } else if (!listed.includes(asked)) {
      if (status !== 405) problems.add(`${method} ${route} → ${status}: not a listed method, so it should have been 405`);
      else if (!doc.components.responses?.MethodNotAllowed) problems.add("405 answered, but the document has no MethodNotAllowed response");
    } else {
      const operation = doc.paths[toOpenApiPath(route)]?.[asked.toLowerCase()];
      if (!operation) problems.add(`${asked} ${toOpenApiPath(route)} is not in the document`);
      else if (!(String(status) in operation.responses)) problems.add(`${asked} ${toOpenApiPath(route)} answered ${status}, which is not documented`);
    }
  }
  return [...problems].sort();
}
