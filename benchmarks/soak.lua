-- wrk script for benchmarks/soak.py: cycles through every feed; with VALIDATE=1 it
-- revalidates each path with the ETag it last received, like a polling reader.
local paths = {}
for line in io.lines(os.getenv("SOAK_PATHS")) do paths[#paths + 1] = line end
local validate = os.getenv("VALIDATE") == "1"
local etags = {}
local i = 0
local current

request = function()
  i = i % #paths + 1
  current = paths[i]
  local headers = {["Accept-Encoding"] = "gzip"}
  if validate and etags[current] then headers["If-None-Match"] = etags[current] end
  return wrk.format("GET", current, headers)
end

response = function(status, headers, body)
  if validate and status == 200 and headers["etag"] then etags[current] = headers["etag"] end
end
