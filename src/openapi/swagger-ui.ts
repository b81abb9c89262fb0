// Swagger UI, served by the service itself from the swagger-ui-dist package: no CDN, so /docs works
// offline and behind a firewall. `type: "file"` makes `bun build --compile` embed the three files.
import css from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import bundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };

// Ours, served as a file so the page's CSP can forbid inline scripts. No validator badge: it would
// send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  displayRequestDuration: true,
});
`;

const SOURCES: Record<string, { type: string; load: () => Promise<Uint8Array<ArrayBuffer>> }> = {
  "swagger-ui.css": { type: "text/css; charset=utf-8", load: () => Bun.file(css).bytes() },
  "swagger-ui-bundle.js": { type: "text/javascript; charset=utf-8", load: () => Bun.file(bundle).bytes() },
  "favicon-32x32.png": { type: "image/png", load: () => Bun.file(favicon).bytes() },
  "init.js": { type: "text/javascript; charset=utf-8", load: async () => new TextEncoder().encode(INIT) },
};

export const ASSET_NAMES = Object.keys(SOURCES);

export type Asset = { type: string; bytes: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> | undefined; etag: string };

// Read (and compressed) once, on first use: 2 MB that most instances never serve.
let loaded: Promise<Map<string, Asset>> | undefined;

async function load(): Promise<Map<string, Asset>> {
  const entries = await Promise.all(
    Object.entries(SOURCES).map(async ([name, source]): Promise<[string, Asset]> => {
      const bytes = await source.load();
      // PNG is compressed already; the 1.7 MB bundle shrinks to a quarter.
      const gzip = source.type.startsWith("image/") ? undefined : Bun.gzipSync(bytes);
      // Weak: the gzipped and the plain bytes are one file to a cache.
      return [name, { type: source.type, bytes, gzip, etag: `W/"${Bun.hash(bytes).toString(36)}"` }];
    }),
  );
  return new Map(entries);
}

export async function asset(name: string): Promise<Asset | undefined> {
  loaded ??= load().catch((err) => {
    loaded = undefined; // a failed read is tried again on the next request
    throw err;
  });
  return (await loaded).get(name);
}

/** The page, its asset URLs carrying a hash of all of them so they can be cached for a year. */
export async function page(): Promise<string> {
  const assets = await Promise.all(ASSET_NAMES.map(asset));
  const version = Bun.hash(assets.map((a) => a!.etag).join()).toString(36);
  const url = (name: string) => `/docs/assets/${name}?v=${version}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>profile-service API</title>
<link rel="icon" type="image/png" href="${url("favicon-32x32.png")}">
<link rel="stylesheet" href="${url("swagger-ui.css")}">
</head><body><div id="swagger-ui"></div>
<script src="${url("swagger-ui-bundle.js")}"></script>
<script src="${url("init.js")}"></script>
</body></html>
`;
}
