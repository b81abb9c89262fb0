// The observed-status check's logic: which (method, route, status) the API tests saw that the
// document does not list. Bun itself maps each observed path to its route, so nothing here re-implements matching.
import { resolve, routes } from "../../src/app.ts";

export type Doc = { paths: Record<string, Record<string, any>>; components: Record<string, any> };
export type Observation = { method: string; path: string; status: number };

export const toOpenApiPath = (route: string) => route.replace(/:(\w+)/g, "{$1}");

/** Every method the route table serves, aliases included, as "METHOD /path/{param}" (HEAD and OPTIONS are implicit). */
export function tableOperations(): string[] {
  return Object.entries(routes).flatMap(([route, value]) => Object.keys(resolve(routes, value)).map((method) => `${method} ${toOpenApiPath(route)}`));
}

/** The route Bun picks for each path, asked of a server with the same routes that answers with the route's name. */
export async function routesFor(paths: Iterable<string>): Promise<Map<string, string | undefined>> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    routes: Object.fromEntries(Object.keys(routes).map((route) => [route, () => new Response(route)])),
    fetch: () => new Response(null, { status: 404 }),
  });
  try {
    const found = new Map<string, string | undefined>();
    for (const path of new Set(paths)) {
      const res = await fetch(`${server.url.origin}${path}`);
      found.set(path, res.status === 200 ? await res.text() : undefined);
    }
    return found;
  } finally {
    server.stop(true);
  }
}

/**
 * What in `observations` the document does not account for, one line each. Left out on purpose:
 * 404 from a path no route matches, OPTIONS (implicit: 204 with Allow), and 405 for a method the
 * route does not list (the document's common MethodNotAllowed response). HEAD is held to GET's
 * responses, which it shares.
 */
export async function undocumented(observations: Observation[], doc: Doc): Promise<string[]> {
  const routeOf = await routesFor(observations.map((o) => o.path));
  const problems = new Set<string>();
  for (const { method, path, status } of observations) {
    const route = routeOf.get(path);
    if (route === undefined) {
      if (status !== 404) problems.add(`${method} ${path} → ${status}: no route matches, so it should have been 404`);
      continue;
    }
    const listed = Object.keys(resolve(routes, routes[route]!));
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
