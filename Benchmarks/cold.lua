-- wrk: GET the bundle of a different pixel each request (seed-0, seed-1, ...; the threads take turns), so
-- that every request is a cache miss of a pixel never asked for before: what a cold burst costs. Over the
-- 100,000 seeded pixels, a run must end before 100,000 requests (5 s up to 20,000/s), or it asks for
-- pixels that do not exist and gets 404s (which Benchmarks/run refuses).
local threads = 0
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end
function init()
  counter = first
end
function request()
  local path = "/p/seed-" .. counter .. "/pb.js"
  counter = counter + 2
  return wrk.format("GET", path, {["Accept-Encoding"] = "gzip, br"})
end
