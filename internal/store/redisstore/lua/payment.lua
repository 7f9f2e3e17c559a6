-- payment.lua: records a claim's payment once, never on a cancelled claim (scripts.go: paymentScript).
local clm, PAYMENT = KEYS[1], ARGV[1]
local rec = rec_unpack(redis.call('GET', clm))
if not rec then return {'NOTFOUND'} end
if rec[F_STATE] == 'X' then return {'CANCELLED'} end
if rec[F_PAY] ~= '' then return {'OLD', rec[F_PAY]} end
rec[F_PAY] = PAYMENT
redis.call('SET', clm, rec_pack(rec), 'KEEPTTL')
return {'NEW', PAYMENT}
