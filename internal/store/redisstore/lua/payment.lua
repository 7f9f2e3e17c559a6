-- payment.lua: records a claim's payment once, never on a cancelled claim (scripts.go: paymentScript).
local clm, PAYMENT = KEYS[1], ARGV[1]
local v = redis.call('HMGET', clm, 'st', 'pay')
if not v[1] then return {'NOTFOUND'} end
if v[1] == 'X' then return {'CANCELLED'} end
if v[2] then return {'OLD', v[2]} end
redis.call('HSET', clm, 'pay', PAYMENT)
return {'NEW', PAYMENT}
