// `profile-service healthcheck`: asks the running service's /healthz over loopback and exits 0 or 1,
// so a container HEALTHCHECK needs no curl in a distroless image.
import { portFrom } from "./config.ts";

export async function healthcheck(port: number = portFrom()): Promise<number> {
  try {
    const reply = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
    return reply.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}
