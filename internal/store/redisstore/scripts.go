package redisstore

import "github.com/redis/go-redis/v9"

// commitScript commits one claim atomically (docs/rules.md#order,
// docs/rules.md#claim-id-reuse). It is the Lua mirror of franchise.Consume,
// in integer cents: every request is granted in order against the counters as
// they stand inside the script, so two claims of one beneficiary at the same
// instant never push a cap past its limit. The annual counters are those of
// the adjudication year; each daily counter is read and written in the key of
// its care date's year (dailyKey), so a daily cap holds across the year end.
//
// KEYS: 1 claim hash, 2 annual counters hash of the adjudication year, 3
// beneficiary hash, 4 beneficiary audit stream, 5… the daily counters hash of
// each care year the requests name (all with the beneficiary's hash tag).
// ARGV: 1 content digest, 2 priced blob, 3 received-at (Unix ms), 4 claim TTL
// (s), 5 year, 6 claim id, 7 annual counters TTL (s), 8 number of requests, 9
// claim meta (payment tracking), 10 daily counters TTL (s), 11 number m of
// daily keys, 12…11+m the care year of KEYS[5]…KEYS[4+m], then 12 values per
// request: deduction ("pf"/"fr"), units, unit amount, line limit (a PF: one
// act's AMO, per participation), daily key (i for KEYS[4+i], 0 for none),
// daily field ("" for none), daily cap, count field ("" for none), count cap,
// annual cap in cents (-1 for none), debt flag ("1" when the deduction
// becomes patient debt), annual count cap (a PF: participations a year in
// field "pfn", 0 for none).
//
// The claim hash and the audit entry record the increments: "inc", annual,
// "f=d;…" in the key of year "y"; "dinc", daily, "careyear|f=d;…".
//
// Replies: {"NEW", grants, balance} on commit; {"DUP", blob, grants, balance,
// received-at, state, meta, payment} when the claim id is already committed with the same
// digest; {"CONFLICT"} when it is committed with another digest.
// Each grant is "units:amount:limits" (limits: 1 line AMO, 2 daily cap,
// 4 daily count, 8 annual cap, 16 annual count), comma separated, in request
// order.
var commitScript = redis.NewScript(`
local clm, cnt, ben, aud = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local existing = redis.call('HGET', clm, 'h')
if existing then
  if existing ~= ARGV[1] then return {'CONFLICT'} end
  local v = redis.call('HMGET', clm, 'p', 'g', 'bal', 'at', 'st', 'm', 'pay')
  return {'DUP', v[1], v[2], v[3], v[4], v[5], v[6] or '', v[7] or ''}
end
local m = tonumber(ARGV[11])
-- counter key j: 0 the annual counters, 1..m the daily counters KEYS[4 + j]
local function keyof(j)
  if j == 0 then return cnt end
  return KEYS[4 + j]
end
local cache, deltas, order = {}, {}, {}
local function get(j, f)
  local c = j .. '|' .. f
  local v = cache[c]
  if v == nil then
    v = tonumber(redis.call('HGET', keyof(j), f) or '0')
    cache[c] = v
  end
  return v
end
local function add(j, f, d)
  if d == 0 then return end
  local c = j .. '|' .. f
  if deltas[c] == nil then deltas[c] = 0; order[#order + 1] = {j, f, c} end
  deltas[c] = deltas[c] + d
  cache[c] = get(j, f) + d
end
local n = tonumber(ARGV[8])
local grants, debt = {}, 0
for i = 0, n - 1 do
  local o = 12 + m + i * 12
  local ded, units, unit, lim = ARGV[o], tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local dk, dayf, daycap = tonumber(ARGV[o + 4]), ARGV[o + 5], tonumber(ARGV[o + 6])
  local cntf, cntcap = ARGV[o + 7], tonumber(ARGV[o + 8])
  local annual, debtflag, acount = tonumber(ARGV[o + 9]), ARGV[o + 10], tonumber(ARGV[o + 11])
  local limits, amount = 0, 0
  if ded == 'fr' then
    amount = units * unit
    if lim < amount then amount = lim; limits = limits + 1 end
    if dayf ~= '' then
      local room = daycap - get(dk, dayf)
      if room < amount then amount = room; limits = limits + 2 end
    end
    local room = annual - get(0, 'fr')
    if room < amount then amount = room; limits = limits + 8 end
    if amount <= 0 then amount = 0; units = 0 end
    if dayf ~= '' then add(dk, dayf, amount) end
    add(0, 'fr', amount)
  else
    if cntf ~= '' and cntcap > 0 then
      local room = cntcap - get(dk, cntf)
      if room < units then units = room; limits = limits + 4 end
      if units < 0 then units = 0 end
    end
    if acount > 0 then
      local room = acount - get(0, 'pfn')
      if room < units then units = room; limits = limits + 16 end
      if units < 0 then units = 0 end
    end
    local per = unit
    if units > 0 and lim < per then per = lim; limits = limits + 1 end
    amount = units * per
    if annual >= 0 then
      local room = annual - get(0, 'pf')
      if room < amount then amount = room; limits = limits + 8 end
    end
    if amount <= 0 then amount = 0; units = 0 end
    if cntf ~= '' and cntcap > 0 then add(dk, cntf, units) end
    add(0, 'pfn', units)
    add(0, 'pf', amount)
  end
  if debtflag == '1' then debt = debt + amount end
  grants[#grants + 1] = string.format('%d:%d:%d', units, amount, limits)
end
local incs, dincs, touched = {}, {}, {}
for _, e in ipairs(order) do
  local j, f, c = e[1], e[2], e[3]
  redis.call('HINCRBY', keyof(j), f, deltas[c])
  local entry = f .. '=' .. string.format('%d', deltas[c])
  if j == 0 then
    incs[#incs + 1] = entry
  else
    dincs[#dincs + 1] = ARGV[11 + j] .. '|' .. entry
  end
  touched[j] = true
end
if touched[0] then redis.call('EXPIRE', cnt, ARGV[7]) end
for j = 1, m do
  if touched[j] then redis.call('EXPIRE', KEYS[4 + j], ARGV[10]) end
end
local bal
if debt ~= 0 then
  bal = redis.call('HINCRBY', ben, 'debt', debt)
else
  bal = tonumber(redis.call('HGET', ben, 'debt') or '0')
end
local inc, dinc, g = table.concat(incs, ';'), table.concat(dincs, ';'), table.concat(grants, ',')
redis.call('HSET', clm, 'h', ARGV[1], 'p', ARGV[2], 'g', g, 'inc', inc, 'dinc', dinc, 'y', ARGV[5],
  'debt', string.format('%d', debt), 'bal', string.format('%d', bal), 'at', ARGV[3], 'st', 'C', 'm', ARGV[9])
redis.call('EXPIRE', clm, ARGV[4])
redis.call('XADD', aud, '*', 't', 'C', 'claim', ARGV[6], 'y', ARGV[5], 'inc', inc, 'dinc', dinc,
  'debt', string.format('%d', debt))
return {'NEW', g, string.format('%d', bal)}
`)

// cancelScript reverses a committed claim once: every counter increment it
// recorded is subtracted and its patient debt removed
// (docs/rules.md#cancellation). It never recreates a counter: an increment
// whose key has expired (annual counters live countersTTL, less than a
// claim) or whose field is gone is not given back, and a counter is never
// taken below 0, so no key is ever left without its TTL and no counter is
// negative. What it did give back is recorded ("xinc", "xdinc" in the claim
// hash; "inc", "dinc" in the audit entry, which the reconciliation
// subtracts).
//
// KEYS: 1 claim hash, 2 annual counters hash of the claim's year, 3
// beneficiary hash, 4 audit stream, 5… the daily counters hash of each care
// year of the claim's "dinc". ARGV: 1 cancel instant (Unix ms), 2 claim id,
// 3… the care year of KEYS[5]….
// A claim with a recorded payment is never cancelled: the check is made
// here, atomically with the reversal, so a payment recorded between the
// service's read and this script cannot be undone (docs/rules.md#cancellation).
// Replies: {"NOTFOUND"}, {"PAID"}, {"ALREADY", cancelled-at, given back, daily
// given back} or {"CANCELLED", cancelled-at, given back, daily given back}.
var cancelScript = redis.NewScript(`
local clm, cnt, ben, aud = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v = redis.call('HMGET', clm, 'st', 'xat', 'inc', 'debt', 'y', 'dinc', 'xinc', 'xdinc', 'pay')
if not v[1] then return {'NOTFOUND'} end
if v[1] == 'X' then return {'ALREADY', v[2], v[7] or '', v[8] or ''} end
if v[9] then return {'PAID'} end
local daily = {}
for i = 5, #KEYS do daily[ARGV[i - 2]] = KEYS[i] end
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
for f, d in string.gmatch(v[3] or '', '([^;=]+)=(-?%d+)') do
  local back = giveback(cnt, f, tonumber(d))
  if back ~= 0 then incs[#incs + 1] = f .. '=' .. string.format('%d', back) end
end
for y, f, d in string.gmatch(v[6] or '', '(%d+)|([^;=]+)=(-?%d+)') do
  local back = giveback(daily[y], f, tonumber(d))
  if back ~= 0 then dincs[#dincs + 1] = y .. '|' .. f .. '=' .. string.format('%d', back) end
end
local inc, dinc = table.concat(incs, ';'), table.concat(dincs, ';')
local debt = tonumber(v[4] or '0')
if debt ~= 0 then redis.call('HINCRBY', ben, 'debt', -debt) end
redis.call('HSET', clm, 'st', 'X', 'xat', ARGV[1], 'xinc', inc, 'xdinc', dinc)
redis.call('XADD', aud, '*', 't', 'X', 'claim', ARGV[2], 'y', v[5], 'inc', inc, 'dinc', dinc,
  'debt', string.format('%d', -debt))
return {'CANCELLED', ARGV[1], inc, dinc}
`)

// paymentScript records a claim's payment once, and never on a cancelled
// claim: the check is made here, atomically with the write, so a cancel
// that lands between the service's own check and this script cannot let a
// payment through (docs/rules.md#cancellation).
// KEYS: 1 claim hash. ARGV: 1 payment (JSON).
// Replies: {"NOTFOUND"}, {"CANCELLED"}, {"NEW", payment} or {"OLD", payment
// already stored}.
var paymentScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'st', 'pay')
if not v[1] then return {'NOTFOUND'} end
if v[1] == 'X' then return {'CANCELLED'} end
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
