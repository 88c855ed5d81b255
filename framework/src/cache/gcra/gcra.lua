-- GCRA (generic cell rate algorithm) for one client's bucket, as the `governor` crate computes
-- it in process, so that `rate_limit.store = "redis"` answers exactly like the local store.
--
-- KEYS[1]  the bucket's key; its value is the theoretical arrival time (TAT) in microseconds
-- ARGV[1]  the refill period T: microseconds per request (integer, >= 1)
-- ARGV[2]  the burst (integer, >= 1)
--
-- Returns {allowed (1|0), remaining, reset_us, retry_after_us}.
--
-- The clock is the Redis server's (TIME), so replicas with skewed clocks agree. The key expires
-- when the bucket is full again, which is the same as having no key: idle clients cost nothing.

-- Redis < 5 replicates scripts verbatim and refuses writes after TIME unless effects are
-- replicated; from Redis 5 on this is the default and the call a no-op.
if redis.replicate_commands then
  redis.replicate_commands()
end

local period = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
-- governor's delay tolerance: a full bucket admits `burst` requests at one instant.
local tau = period * (burst - 1)

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil then
  tat = now
end

local earliest = tat - tau
if now < earliest then
  local wait = earliest - now
  return {0, 0, wait + tau, wait}
end

local next_tat = math.max(tat, now) + period
local ttl_ms = math.ceil((next_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', string.format('%d', ttl_ms))

local remaining = math.floor(math.min(now + tau + period - next_tat, tau + period) / period)
return {1, remaining, period * (burst - remaining), 0}
