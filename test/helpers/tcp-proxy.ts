// A TCP proxy on 127.0.0.1 that a test can cut, black-hole and restore, to play a database going
// away loudly (connections reset) or silently (bytes swallowed, no FIN or RST, until the kernel gives up).
// It can also add latency each way, to play a database or bucket further off.
import type { Socket, TCPSocketListener } from "bun";

type Pair = { client: Socket<Pair>; upstream?: Socket<Pair>; pending: Uint8Array[]; swallowed: boolean };
type Mode = "up" | "down" | "blackhole";

export class TcpProxy {
  private listener: TCPSocketListener<Pair> | undefined;
  private readonly pairs = new Set<Pair>();
  private mode: Mode = "up";

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
          if (self.mode === "down") return void client.end();
          const pair: Pair = { client, pending: [], swallowed: self.mode === "blackhole" };
          client.data = pair;
          self.pairs.add(pair);
          // Accepted and then never answered: what a client sees when packets are dropped on the way.
          if (pair.swallowed) return;
          pair.upstream = await Bun.connect<Pair>({
            ...self.target,
            data: pair,
            socket: {
              data: (_s, bytes) => void (pair.swallowed || self.forward(pair.client, bytes)),
              close: () => void (pair.swallowed || pair.client.end()),
              error: () => void (pair.swallowed || pair.client.end()),
            },
          }).catch(() => undefined);
          if (!pair.upstream) return void client.end();
          for (const bytes of pair.pending) pair.upstream.write(bytes);
        },
        data(client, bytes) {
          const pair = client.data;
          if (pair.swallowed) return;
          if (pair.upstream) self.forward(pair.upstream, bytes);
          else pair.pending.push(new Uint8Array(bytes));
        },
        close(client) {
          if (!client.data) return;
          client.data.upstream?.end();
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
    this.mode = "down";
    for (const pair of this.pairs) {
      pair.client.terminate();
      pair.upstream?.terminate();
    }
    this.pairs.clear();
  }

  /**
   * From now on bytes go nowhere, both ways, on every connection, old and new, and nothing is
   * closed: a network that silently drops packets. A connection swallowed this way has lost bytes
   * mid-stream and stays dead after restore(), as a real one does until the kernel gives up on it.
   */
  blackhole(): void {
    this.mode = "blackhole";
    for (const pair of this.pairs) pair.swallowed = true;
  }

  /** New connections go through again (the network healed); swallowed ones stay stuck. */
  restore(): void {
    this.mode = "up";
  }

  /** Connections open now that carry bytes. */
  get liveConnections(): number {
    let live = 0;
    for (const pair of this.pairs) if (!pair.swallowed) live++;
    return live;
  }

  stop(): void {
    this.cut();
    this.listener?.stop(true);
  }
}
