// The yardstick: a bare Bun.serve that answers GET /me with a fixed, profile-shaped JSON body.
// It does what any handler must (build a JSON response per request) and nothing the service adds
// (auth, database read, headers, access log), so "service / baseline" is the cost of the service.
// Usage: PORT=<port> bun bench/baseline.ts   (HOST defaults to 127.0.0.1)
export const PROFILE = {
  id: 1,
  name: "Bench User",
  email: "bench-me@example.com",
  bio: "",
  image_url: null,
  role: "user",
  created_at: "2025-01-01T00:00:00.000Z",
  updated_at: "2025-01-01T00:00:00.000Z",
};

// Imported (bench/pipeline.ts takes PROFILE), it serves nothing. REQUEST_IP=1 also asks Bun for the
// client's address on every request, as the access log does (bench/request-ip.sh weighs that alone).
if (import.meta.main) {
  const askAddress = process.env.REQUEST_IP === "1";
  let addressChars = 0;
  const server = Bun.serve({
    hostname: process.env.HOST ?? "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
    routes: {
      "/me": {
        GET: (req, srv) => {
          if (askAddress) addressChars += srv.requestIP(req)?.address.length ?? 0;
          return Response.json(PROFILE);
        },
      },
      "/healthz": () => Response.json({ status: "ok" }),
    },
    fetch: () => new Response("not found", { status: 404 }),
  });
  console.log(`baseline listening on http://${server.hostname}:${server.port}`);
  process.on("SIGTERM", () => {
    if (askAddress && addressChars === 0) console.error("REQUEST_IP=1 but no address was read");
    server.stop(true);
    process.exit(0);
  });
}
