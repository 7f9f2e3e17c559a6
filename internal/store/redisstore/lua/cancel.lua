-- cancel.lua: reverses a committed claim once (scripts.go: cancelScript).
local clm, cnt, ben = KEYS[1], KEYS[2], KEYS[3]
local CANCELLED_AT = ARGV[1]
-- KEYS[4 ..]: the daily counters of the care years ARGV[2 ..].
local rec = rec_unpack(redis.call('GET', clm))
if not rec then return {'NOTFOUND'} end
if rec[F_STATE] == 'X' then return {'ALREADY', rec[F_XAT], rec[F_XINC], rec[F_XDINC]} end
if rec[F_PAY] ~= '' then return {'PAID'} end
local daily = {}
for i = 4, #KEYS do daily[ARGV[i - 2]] = KEYS[i] end
local function giveback(k, f, d)
  if k == nil or redis.call('EXISTS', k) == 0 then return 0 end
  local cur = tonumber(redis.call('HGET', k, f) or '0')
  local left = cur - d
  if left < 0 then left = 0 end
  local back = cur - left
  if back ~= 0 then redis.call('HINCRBY', k, f, -back) end
  return back
end
local incs, dincs = {}, {}
for f, d in string.gmatch(rec[F_INC], '([^;=]+)=(-?%d+)') do
  local back = giveback(cnt, f, tonumber(d))
  if back ~= 0 then incs[#incs + 1] = f .. '=' .. string.format('%d', back) end
end
for y, f, d in string.gmatch(rec[F_DINC], '(%d+)|([^;=]+)=(-?%d+)') do
  local back = giveback(daily[y], f, tonumber(d))
  if back ~= 0 then dincs[#dincs + 1] = y .. '|' .. f .. '=' .. string.format('%d', back) end
end
local inc, dinc = table.concat(incs, ';'), table.concat(dincs, ';')
local debt = tonumber(rec[F_DEBT]) or 0
if debt ~= 0 then redis.call('HINCRBY', ben, 'debt', -debt) end
rec[F_STATE], rec[F_XAT], rec[F_XINC], rec[F_XDINC] = 'X', CANCELLED_AT, inc, dinc
redis.call('SET', clm, rec_pack(rec), 'KEEPTTL')
return {'CANCELLED', CANCELLED_AT, inc, dinc}
