-- One wrk script for every run in bench/run.sh. The request comes from the environment so the
-- shell decides what is sent; done() prints one machine-readable line that run.sh extracts.
--   WRK_METHOD        GET (default) or POST
--   WRK_BODY          request body (POST /login sends a fixed JSON credential pair)
--   WRK_CONTENT_TYPE  Content-Type of the body
--   WRK_AUTH          value of the Authorization header ("Bearer <token>")
-- No response() callback: wrk then skips per-response Lua work and the load generator stays cheap.
-- Non-2xx/3xx answers are still counted by wrk itself (summary.errors.status).

wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then wrk.body = body end
local ct = os.getenv("WRK_CONTENT_TYPE")
if ct and ct ~= "" then wrk.headers["Content-Type"] = ct end
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  -- latency values are microseconds
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"lat_mean_ms":%.3f,"lat_max_ms":%.3f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"non2xx":%d}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency.mean / 1000, latency.max / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
