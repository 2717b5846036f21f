-- wrk script for new TLS handshakes per second: the requests of
-- wrk_xrealip.lua (from the shared bench folder, WRK_BASE_SCRIPT), each with
-- "Connection: close", so every request opens a new connection and makes a
-- full handshake (wrk offers no session to resume).
--
--   WRK_BASE_SCRIPT=../shared/bench/wrk_xrealip.lua WRK_ADDRS=addrs.txt \
--     wrk -t1 -c50 -d10s -s bench/wrk_xrealip_close.lua https://127.0.0.1:18444/

local base = os.getenv("WRK_BASE_SCRIPT")
if not base or base == "" then
   io.stderr:write("wrk_xrealip_close.lua: set WRK_BASE_SCRIPT to wrk_xrealip.lua\n")
   os.exit(2)
end
dofile(base)

-- Its request table is local to that chunk: rewrite each request as it goes
-- out (a few microseconds, against a full handshake per request).
local base_request = request
function request()
   return (base_request():gsub("\r\n\r\n$", "\r\nConnection: close\r\n\r\n"))
end
