// A TCP proxy on 127.0.0.1 that a test can cut and restore, to play a database going away, and
// that can add latency each way, to play a database or bucket further off.
import type { Socket, TCPSocketListener } from "bun";

type Pair = { client: Socket<Pair>; upstream?: Socket<Pair>; pending: Uint8Array[] };

export class TcpProxy {
  private listener: TCPSocketListener<Pair> | undefined;
  private readonly pairs = new Set<Pair>();
  private up = true;

  private constructor(
    private readonly target: { hostname: string; port: number },
    readonly port: number,
    private readonly delayMs: number,
  ) {}

  static async start(target: { hostname: string; port: number }, options: { delayMs?: number } = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, 0, options.delayMs ?? 0);
    proxy.listen(0);
    (proxy as { port: number }).port = proxy.listener!.port;
    return proxy;
  }

  /** Writes now, or after the delay (timers of one delay fire in order, so bytes stay in order). */
  private forward(to: Socket<Pair>, bytes: Uint8Array): void {
    if (this.delayMs === 0) return void to.write(bytes);
    const copy = new Uint8Array(bytes);
    setTimeout(() => void to.write(copy), this.delayMs);
  }

  private listen(port: number): void {
    const self = this;
    this.listener = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port,
      socket: {
        async open(client) {
          if (!self.up) return void client.end();
          const pair: Pair = { client, pending: [] };
          client.data = pair;
          self.pairs.add(pair);
          pair.upstream = await Bun.connect<Pair>({
            ...self.target,
            data: pair,
            socket: {
              data: (_s, bytes) => self.forward(pair.client, bytes),
              close: () => void pair.client.end(),
              error: () => void pair.client.end(),
            },
          }).catch(() => undefined);
          if (!pair.upstream) return void client.end();
          for (const bytes of pair.pending) pair.upstream.write(bytes);
        },
        data(client, bytes) {
          const pair = client.data;
          if (pair.upstream) self.forward(pair.upstream, bytes);
          else pair.pending.push(new Uint8Array(bytes));
        },
        close(client) {
          client.data?.upstream?.end();
          self.pairs.delete(client.data);
        },
        error(client) {
          client.data?.upstream?.end();
        },
      },
    });
  }

  /** Drops every connection and refuses new ones, like a database that went down. */
  cut(): void {
    this.up = false;
    for (const pair of this.pairs) {
      pair.client.terminate();
      pair.upstream?.terminate();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.up = true;
  }

  stop(): void {
    this.cut();
    this.listener?.stop(true);
  }
}
