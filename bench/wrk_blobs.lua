-- wrk script for bench/blob_check_throughput.sh: blob requests whose digests
-- are all new (BLOB_MODE=miss: every request needs a HEAD to the mirror) or
-- drawn from 1,000 (BLOB_MODE=hit: after the first thousand, cache hits).
local mode = os.getenv("BLOB_MODE") or "miss"
local counter = 0
request = function()
   counter = counter + 1
   local n = counter
   if mode == "hit" then n = counter % 1000 end
   return wrk.format("GET", "/v2/library/pause/blobs/sha256:" .. string.rep("0", 56) .. string.format("%08x", n))
end
