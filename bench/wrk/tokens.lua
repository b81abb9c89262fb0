-- GET with a different bearer token on each request, round robin over the lines of WRK_TOKENS_FILE
-- (bench/million.ts: many users instead of one). done() prints the same BENCH_JSON line as request.lua.
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS_FILE")) do
  if line ~= "" then tokens[#tokens + 1] = "Bearer " .. line end
end
local path = os.getenv("WRK_PATH") or "/me"
local i = 0

function init(args)
  -- Each thread (and wrk runs one per -t) starts at a different place in the list.
  i = math.random(#tokens)
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", path, { Authorization = tokens[i] })
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
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
