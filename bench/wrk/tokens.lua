-- GET with a different bearer token on each request, round robin over the lines of WRK_TOKENS_FILE
-- (bench/million.ts: many users instead of one). done() is report.lua's, as for request.lua.
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

-- done(): the BENCH_JSON line, from report.lua beside this file (found via this file's own path).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
