// Uploads over raw sockets that send all of a multipart body but its last bytes and then wait, the
// way a slow or hostile client holds a body open; and the memory of a running service, read from /proc.
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

export type HeldUpload = {
  /** Status line's code and when it came, in ms after the request line was sent; undefined if the socket closed first. */
  answer: Promise<{ status: number; ms: number } | undefined>;
  /** Resolves once everything but the held-back bytes was handed to the kernel, or the server answered first. */
  sent: Promise<void>;
  close(): void;
};

const CHUNK = new Uint8Array(64 * 1024).fill(0x61);

/** Starts a POST of a `fileBytes` file to `path` and holds back its last `holdBack` bytes. */
export function heldUpload(url: string, path: string, token: string, fileBytes: number, holdBack = 16): HeldUpload {
  const { hostname, port } = new URL(url);
  const boundary = "----held" + Math.random().toString(16).slice(2);
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const length = head.length + fileBytes + tail.length;
  const socket: Socket = connect(Number(port), hostname);
  let started = 0;
  let answered = false;
  let closed = false;
  const answer = new Promise<{ status: number; ms: number } | undefined>((resolve) => {
    let text = "";
    socket.on("data", (data) => {
      if (answered) return;
      text += data.toString("latin1");
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) {
        answered = true;
        resolve({ status: Number(match[1]), ms: performance.now() - started });
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      resolve(undefined);
    });
  });
  const sent = new Promise<void>((resolve) => {
    socket.once("connect", async () => {
      started = performance.now();
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n${head}`,
      );
      let left = fileBytes - holdBack;
      while (left > 0 && !answered && !closed) {
        const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= piece.length;
        if (!socket.write(piece)) await new Promise((drained) => socket.once("drain", drained).once("close", drained));
      }
      resolve();
    });
    socket.once("close", () => resolve());
  });
  return { answer, sent, close: () => socket.destroy() };
}

/** A /proc/<pid>/status field in MiB (VmHWM: the peak resident set; VmRSS: the current one). */
export function procMiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0; // the process has just exited
  }
}

/** The child processes of `pid` (the image decoders of a running service). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Samples the memory of a process and its children until stopped: the peak of (its resident set
 * plus each child's own peak), which is what a container's memory limit would see.
 */
export function watchMemory(pid: number, everyMs = 5): { stop(): { treePeakMiB: number; hwmMiB: number } } {
  let treePeak = 0;
  const sample = () => {
    const kids = childrenOf(pid).reduce((sum, kid) => sum + procMiB(kid, "VmHWM"), 0);
    treePeak = Math.max(treePeak, procMiB(pid, "VmRSS") + kids);
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { treePeakMiB: Math.max(treePeak, procMiB(pid, "VmHWM")), hwmMiB: procMiB(pid, "VmHWM") };
    },
  };
}
