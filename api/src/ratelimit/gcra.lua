-- GCRA over several buckets at once, atomically: the request is allowed only if every bucket
-- allows it, and then every bucket is charged; a refused request charges none.
-- KEYS[i]: bucket key; ARGV[2i-1]: period in microseconds; ARGV[2i]: requests per period.
-- Time comes from the Redis server so every API replica shares one clock.
-- Returns {allowed, limit, remaining, reset_us, retry_after_us, index} for the binding bucket.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local new_tats = {}
local allowed = 1
local best = nil
for i = 1, #KEYS do
  local period = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  -- At least a microsecond: a huge limit must not make every figure below 0/0.
  local interval = math.max(math.floor(period / limit), 1)
  local capacity = interval * limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local ahead = new_tat - now
  if ahead > capacity then
    local retry = ahead - capacity
    if allowed == 1 or retry > best[5] then
      best = {0, limit, 0, tat - now, retry, i}
    end
    allowed = 0
  elseif allowed == 1 then
    local remaining = math.floor((capacity - ahead) / interval)
    if best == nil or remaining < best[3] then
      best = {1, limit, remaining, ahead, 0, i}
    end
  end
  new_tats[i] = new_tat
end
if allowed == 1 then
  for i = 1, #KEYS do
    local ttl_ms = math.floor((new_tats[i] - now) / 1000) + 1000
    redis.call('SET', KEYS[i], string.format('%d', new_tats[i]), 'PX', ttl_ms)
  end
end
return best
