-- wrk: POST /collect with what pb.js sends, a distinct event_id per request, spread over the pixels
-- seed-0 to seed-(PIXELS-1) that `pixel-edge bench seed` creates. PIXELS comes from the environment.
local pixels = tonumber(os.getenv("PIXELS") or "1000")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "w" .. threads .. "-")
end
local counter = 0
function request()
  counter = counter + 1
  local body = '{"pixel":"seed-' .. (counter % pixels) .. '","event":"ViewContent","event_id":"' .. prefix .. counter ..
    '","properties":{"value":10,"currency":"EUR"},"ttclid":"E.C.P.CsABCmVfMQ","ttp":"2V0nGvp8EfDSePRs9J4Ho8RPVzL",' ..
    '"url":"https://shop.example/item/' .. counter .. '","referrer":"https://www.tiktok.com/","consent":"granted"}'
  return wrk.format("POST", "/collect", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end
