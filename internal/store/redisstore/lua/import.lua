-- import.lua: adds a batch of oppositions (oppositions.go: importScript); arguments there.
local n, v = 0, tonumber(redis.call('GET', KEYS[1]) or '0')
local first, log = v + 1, {}
for i = 3, #KEYS do
  local o = 4 + (i - 3) * 10
  local id, r, sec, ptext = ARGV[o], tonumber(ARGV[o + 7]), ARGV[o + 8], ARGV[o + 9]
  local cur = redis.call('HMGET', KEYS[i], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6])
  local full = nil
  local present = false
  for k = 1, 6 do if cur[k] then present = true end end
  if not present then
    redis.call('HSET', KEYS[i], ARGV[o + 1 + r], sec)
    full = ptext
  elseif cur[1] then
    local last = string.match(cur[1], '[^|]*$')
    -- the third field of "effective.reason[.lifted[.owner]]": lifted when set
    local lifted = string.match(last, '^[^.]*%.[^.]*%.?([^.]*)')
    if lifted and lifted ~= '' then
      full = cur[1] .. '|' .. ptext
      redis.call('HSET', KEYS[i], ARGV[o + 1], full)
    end
  end
  if full then
    v = v + 1
    n = n + 1
    log[n] = id .. '\t' .. full
  end
end
if n > 0 then
  redis.call('SET', KEYS[1], v)
  redis.call('XADD', KEYS[2], 'MINID', math.max(0, v - tonumber(ARGV[2])), v .. '-1', 'k', 'B', 'from', first, 'd', table.concat(log, '\n'), 't', ARGV[1], 'by', ARGV[3])
end
return {n, v}
