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

// Imported (bench/pipeline.ts takes PROFILE), it serves nothing.
if (import.meta.main) {
  const server = Bun.serve({
    hostname: process.env.HOST ?? "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
    routes: {
      "/me": { GET: () => Response.json(PROFILE) },
      "/healthz": () => Response.json({ status: "ok" }),
    },
    fetch: () => new Response("not found", { status: 404 }),
  });
  console.log(`baseline listening on http://${server.hostname}:${server.port}`);
  process.on("SIGTERM", () => {
    server.stop(true);
    process.exit(0);
  });
}
