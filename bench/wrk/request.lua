-- One wrk script for every run in bench/run.sh. The request comes from the environment so the
-- shell decides what is sent; done() (report.lua) prints one machine-readable line that run.sh extracts.
--   WRK_METHOD        GET (default) or POST
--   WRK_BODY          request body (POST /login sends a fixed JSON credential pair)
--   WRK_CONTENT_TYPE  Content-Type of the body
--   WRK_AUTH          value of the Authorization header ("Bearer <token>")
--   WRK_FORWARDED_FOR value of X-Forwarded-For, as a proxy in front would set it (bench/cache.sh, TRUST_PROXY=1)
--   WRK_PIPELINE      requests sent at once on each connection (HTTP/1.1 pipelining; default 1), so the
--                     load generator spends less per request (bench/two-instances.sh)
-- No response() callback: wrk then skips per-response Lua work and the load generator stays cheap.
-- Non-2xx/3xx answers are still counted by wrk itself (summary.errors.status).

wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then wrk.body = body end
local ct = os.getenv("WRK_CONTENT_TYPE")
if ct and ct ~= "" then wrk.headers["Content-Type"] = ct end
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local forwarded = os.getenv("WRK_FORWARDED_FOR")
if forwarded and forwarded ~= "" then wrk.headers["X-Forwarded-For"] = forwarded end

local depth = tonumber(os.getenv("WRK_PIPELINE") or "1") or 1
if depth > 1 then
  local batch
  init = function() batch = string.rep(wrk.format(), depth) end
  request = function() return batch end
end

-- done(): the BENCH_JSON line, from report.lua beside this file (found via this file's own path).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
