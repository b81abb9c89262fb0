// Run by Node (not Bun): sends refused request bodies the way Node's own clients do and prints what
// each attempt saw, a status or an error code, as one JSON line. Issue 9.2: these were EPIPE.
//   node node-refusals.mjs <url> <fetch|http> <method> <path> <bytes> <content-type> [token] [times]
import http from "node:http";

const [url, client, method, path, bytes, contentType, token = "", times = "10"] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytes), 0x41);
const headers = { "Content-Type": contentType, ...(token ? { Authorization: `Bearer ${token}` } : {}) };

async function viaFetch() {
  const res = await fetch(url + path, { method, headers, body, signal: AbortSignal.timeout(20_000) });
  await res.arrayBuffer();
  return res.status;
}

function viaHttp() {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method, headers: { ...headers, "Content-Length": body.byteLength }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

const seen = [];
for (let i = 0; i < Number(times); i++) {
  try {
    seen.push(client === "http" ? await viaHttp() : await viaFetch());
  } catch (err) {
    seen.push(String(err?.cause?.code ?? err?.code ?? err?.message ?? err));
  }
}
console.log(JSON.stringify(seen));
