package redisstore

import "github.com/redis/go-redis/v9"

// commitScript commits one claim atomically (docs/rules.md#order,
// docs/rules.md#claim-id-reuse). It is the Lua mirror of franchise.Consume,
// in integer cents: every request is granted in order against the counters as
// they stand inside the script, so two claims of one beneficiary at the same
// instant never push a cap past its limit.
//
// KEYS: 1 claim hash, 2 counters hash of the adjudication year, 3 beneficiary
// hash, 4 beneficiary audit stream (all with the beneficiary's hash tag).
// ARGV: 1 content digest, 2 priced blob, 3 received-at (Unix ms), 4 claim TTL
// (s), 5 year, 6 claim id, 7 counters TTL (s), 8 number of requests, 9 claim
// meta (payment tracking), then 10 values per request: deduction ("pf"/"fr"), units, unit amount, line limit,
// daily field ("" for none), daily cap, count field ("" for none), count cap,
// annual cap, debt flag ("1" when the deduction becomes patient debt).
//
// Replies: {"NEW", grants, balance} on commit; {"DUP", blob, grants, balance,
// received-at, state, meta, payment} when the claim id is already committed with the same
// digest; {"CONFLICT"} when it is committed with another digest.
// Each grant is "units:amount:limits" (limits: 1 line AMO, 2 daily cap,
// 4 daily count, 8 annual cap), comma separated, in request order.
var commitScript = redis.NewScript(`
local clm, cnt, ben, aud = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local existing = redis.call('HGET', clm, 'h')
if existing then
  if existing ~= ARGV[1] then return {'CONFLICT'} end
  local v = redis.call('HMGET', clm, 'p', 'g', 'bal', 'at', 'st', 'm', 'pay')
  return {'DUP', v[1], v[2], v[3], v[4], v[5], v[6] or '', v[7] or ''}
end
local cache, deltas, order = {}, {}, {}
local function get(f)
  local v = cache[f]
  if v == nil then
    v = tonumber(redis.call('HGET', cnt, f) or '0')
    cache[f] = v
  end
  return v
end
local function add(f, d)
  if d == 0 then return end
  if deltas[f] == nil then deltas[f] = 0; order[#order + 1] = f end
  deltas[f] = deltas[f] + d
  cache[f] = get(f) + d
end
local n = tonumber(ARGV[8])
local grants, debt = {}, 0
for i = 0, n - 1 do
  local o = 10 + i * 10
  local ded, units, unit, lim = ARGV[o], tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local dayf, daycap, cntf, cntcap = ARGV[o + 4], tonumber(ARGV[o + 5]), ARGV[o + 6], tonumber(ARGV[o + 7])
  local annual, debtflag = tonumber(ARGV[o + 8]), ARGV[o + 9]
  local limits, amount = 0, 0
  if ded == 'fr' then
    amount = units * unit
    if lim < amount then amount = lim; limits = limits + 1 end
    if dayf ~= '' then
      local room = daycap - get(dayf)
      if room < amount then amount = room; limits = limits + 2 end
    end
    local room = annual - get('fr')
    if room < amount then amount = room; limits = limits + 8 end
    if amount <= 0 then amount = 0; units = 0 end
    if dayf ~= '' then add(dayf, amount) end
    add('fr', amount)
  else
    if cntf ~= '' and cntcap > 0 then
      local room = cntcap - get(cntf)
      if room < units then units = room; limits = limits + 4 end
      if units < 0 then units = 0 end
    end
    amount = units * unit
    if lim < amount then amount = lim; limits = limits + 1 end
    local room = annual - get('pf')
    if room < amount then amount = room; limits = limits + 8 end
    if amount <= 0 then amount = 0; units = 0 end
    if cntf ~= '' and cntcap > 0 then add(cntf, units) end
    add('pf', amount)
  end
  if debtflag == '1' then debt = debt + amount end
  grants[#grants + 1] = string.format('%d:%d:%d', units, amount, limits)
end
local incs = {}
for _, f in ipairs(order) do
  redis.call('HINCRBY', cnt, f, deltas[f])
  incs[#incs + 1] = f .. '=' .. string.format('%d', deltas[f])
end
if #order > 0 then redis.call('EXPIRE', cnt, ARGV[7]) end
local bal
if debt ~= 0 then
  bal = redis.call('HINCRBY', ben, 'debt', debt)
else
  bal = tonumber(redis.call('HGET', ben, 'debt') or '0')
end
local inc, g = table.concat(incs, ';'), table.concat(grants, ',')
redis.call('HSET', clm, 'h', ARGV[1], 'p', ARGV[2], 'g', g, 'inc', inc, 'y', ARGV[5],
  'debt', string.format('%d', debt), 'bal', string.format('%d', bal), 'at', ARGV[3], 'st', 'C', 'm', ARGV[9])
redis.call('EXPIRE', clm, ARGV[4])
redis.call('XADD', aud, '*', 't', 'C', 'claim', ARGV[6], 'y', ARGV[5], 'inc', inc, 'debt', string.format('%d', debt))
return {'NEW', g, string.format('%d', bal)}
`)

// cancelScript reverses a committed claim once: every counter increment it
// recorded is subtracted and its patient debt removed
// (docs/rules.md#cancellation).
//
// KEYS: 1 claim hash, 2 counters hash of the claim's year, 3 beneficiary hash,
// 4 audit stream. ARGV: 1 cancel instant (Unix ms), 2 claim id.
// Replies: {"NOTFOUND"}, {"ALREADY", cancelled-at, increments} or
// {"CANCELLED", cancelled-at, increments}.
var cancelScript = redis.NewScript(`
local clm, cnt, ben, aud = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v = redis.call('HMGET', clm, 'st', 'xat', 'inc', 'debt', 'y')
if not v[1] then return {'NOTFOUND'} end
if v[1] == 'X' then return {'ALREADY', v[2], v[3]} end
local inc = v[3] or ''
for f, d in string.gmatch(inc, '([^;=]+)=(-?%d+)') do
  redis.call('HINCRBY', cnt, f, -tonumber(d))
end
local debt = tonumber(v[4] or '0')
if debt ~= 0 then redis.call('HINCRBY', ben, 'debt', -debt) end
redis.call('HSET', clm, 'st', 'X', 'xat', ARGV[1])
redis.call('XADD', aud, '*', 't', 'X', 'claim', ARGV[2], 'y', v[5], 'inc', inc, 'debt', string.format('%d', -debt))
return {'CANCELLED', ARGV[1], inc}
`)

// paymentScript records a claim's payment once.
// KEYS: 1 claim hash. ARGV: 1 payment (JSON).
// Replies: {"NOTFOUND"}, {"NEW", payment} or {"OLD", payment already stored}.
var paymentScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'st', 'pay')
if not v[1] then return {'NOTFOUND'} end
if v[2] then return {'OLD', v[2]} end
redis.call('HSET', KEYS[1], 'pay', ARGV[1])
return {'NEW', ARGV[1]}
`)

// releaseScript frees a claim-id reservation if it still holds the digest.
// KEYS: 1 claim index key. ARGV: 1 "|" + digest.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -string.len(ARGV[1])) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
