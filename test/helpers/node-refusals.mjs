// Run by Node (not Bun): sends refused request bodies the way Node's own clients do and prints what
// each attempt saw, a status or an error code, as one JSON line. Issue 9.2: these were EPIPE.
//   node node-refusals.mjs <url> <fetch|http|chunked> <method> <path> <bytes> <content-type> [token] [times]
import http from "node:http";

const [url, client, method, path, bytes, contentType, token = "", times = "10"] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytes), 0x41);
const headers = { "Content-Type": contentType, ...(token ? { Authorization: `Bearer ${token}` } : {}) };

async function viaFetch() {
  const res = await fetch(url + path, { method, headers, body, signal: AbortSignal.timeout(20_000) });
  await res.arrayBuffer();
  return res.status;
}

/** http.request with a declared length, or (chunked) streamed in 64 KiB writes without one. */
function viaHttp(chunked = false) {
  return new Promise((resolve, reject) => {
    const framing = chunked ? { "Transfer-Encoding": "chunked" } : { "Content-Length": body.byteLength };
    const req = http.request(url + path, { method, headers: { ...headers, ...framing }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error("timeout")));
    if (!chunked) return req.end(body);
    for (let at = 0; at < body.byteLength; at += 65536) req.write(body.subarray(at, at + 65536));
    req.end();
  });
}

const seen = [];
for (let i = 0; i < Number(times); i++) {
  try {
    seen.push(client === "fetch" ? await viaFetch() : await viaHttp(client === "chunked"));
  } catch (err) {
    seen.push(String(err?.cause?.code ?? err?.code ?? err?.message ?? err));
  }
}
console.log(JSON.stringify(seen));
