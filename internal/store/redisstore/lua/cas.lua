-- cas.lua: compare-and-set of one identifier's fields (oppositions.go: casScript); arguments there.
local cur = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
local parts = {}
for i = 1, 6 do parts[i] = cur[i] or '' end
if table.concat(parts, '\31') ~= ARGV[7] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[1], ARGV[tonumber(ARGV[8]) + 1], ARGV[9])
local v = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MINID', math.max(0, v - tonumber(ARGV[14])), v .. '-1', 'k', ARGV[10], 'id', ARGV[11], 'v', ARGV[13], 't', ARGV[12], 'by', ARGV[15])
return v
