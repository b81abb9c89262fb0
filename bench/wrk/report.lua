-- done() for every wrk script here: one machine-readable BENCH_JSON line that the bench scripts
-- extract. Loaded with dofile() by request.lua and tokens.lua (wrk gives each script its own state).
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
