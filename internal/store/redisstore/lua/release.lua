-- release.lua: frees a claim-id reservation if it still holds the digest (scripts.go: releaseScript).
local idx, SUFFIX = KEYS[1], ARGV[1]
local v = redis.call('GET', idx)
if v and string.sub(v, -string.len(SUFFIX)) == SUFFIX then return redis.call('DEL', idx) end
return 0
