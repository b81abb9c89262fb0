// A fixed set of hashing threads (src/auth/hash-worker.ts). A thread that dies fails its job and is
// replaced, so no request ever waits on a dead thread.
import type { HashPacer } from "./hash-pacer.ts";
import type { HashJob, HashReply, HashThreadReady, HashWorkerData } from "./hash-worker.ts";

type Pending = { resolve: (result: { value: string | boolean; cpuMs: number }) => void; reject: (err: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// In a compiled binary every module's import.meta.url is the binary itself, and each extra
// entrypoint lives under /$bunfs/root/ at its path relative to src/ (see the Dockerfile's build).
const WORKER_URL = import.meta.url.startsWith("file:///$bunfs/")
  ? "file:///$bunfs/root/auth/hash-worker.ts"
  : new URL("./hash-worker.ts", import.meta.url).href;

// The caller bounds concurrency to the pool's size, so a free thread is always there when a job is sent.
export class HashPool {
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly tids = new Map<Worker, number>();
  private nextId = 1;
  private closed = false;

  constructor(
    size: number,
    private readonly threadData: HashWorkerData = {},
    private readonly pacer?: HashPacer,
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    // Bun's Worker takes Node's workerData option; its DOM typing does not list it.
    const worker = new Worker(WORKER_URL, { workerData: this.threadData } as WorkerOptions);
    worker.onmessage = (event: MessageEvent<HashReply | HashThreadReady>) => {
      if ("id" in event.data) this.settle(worker, event.data);
      else if (event.data.tid !== undefined) {
        this.tids.set(worker, event.data.tid);
        this.pacer?.watch(event.data.tid);
      }
    };
    worker.onerror = (event) => this.replace(worker, new Error(`hashing thread failed: ${event.message}`));
    worker.unref();
    return worker;
  }

  private settle(worker: Worker, reply: HashReply): void {
    if (this.running.delete(worker)) this.pacer?.end();
    worker.unref();
    this.idle.push(worker);
    const pending = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (!pending) return;
    if (reply.ok) pending.resolve({ value: reply.value, cpuMs: reply.cpuMs });
    else pending.reject(new Error(`password hashing failed: ${reply.error}`));
  }

  private replace(worker: Worker, error: Error): void {
    const id = this.running.get(worker);
    if (this.running.delete(worker)) this.pacer?.end();
    const tid = this.tids.get(worker);
    if (tid !== undefined) this.pacer?.forget(tid);
    this.tids.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    worker.terminate();
    if (id !== undefined) {
      this.pending.get(id)?.reject(error);
      this.pending.delete(id);
    }
    if (!this.closed) this.idle.push(this.spawn());
  }

  run(job: DistributiveOmit<HashJob, "id">): Promise<string | boolean> {
    return this.measured(job).then((result) => result.value);
  }

  /** As run, with the CPU time the thread spent on the job. */
  measured(job: DistributiveOmit<HashJob, "id">): Promise<{ value: string | boolean; cpuMs: number }> {
    if (this.closed) return Promise.reject(new Error("the hashing pool is closed"));
    const worker = this.idle.pop();
    if (!worker) return Promise.reject(new Error("no idle hashing thread: callers must bound concurrency"));
    const id = this.nextId++;
    this.running.set(worker, id);
    this.pacer?.begin();
    // An idle thread must not keep the process alive, a busy one must: at start nothing else may
    // (hashing the first admin's password, before the server listens).
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...job, id });
    });
  }

  close(): void {
    this.closed = true;
    this.pacer?.close();
    for (const worker of [...this.idle, ...this.running.keys()]) worker.terminate();
  }
}
