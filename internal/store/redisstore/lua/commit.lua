-- commit.lua: commits one claim atomically (scripts.go: commitScript).
-- Arguments, named once:
local clm, cnt, ben, claimsof = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local DIGEST, BLOB, RECEIVED_AT, CLAIM_TTL, YEAR = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local CLAIM_ID, COUNTERS_TTL, NREQ, META, DAILY_TTL = ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10]
local NDAILY = tonumber(ARGV[11])
-- ARGV[12 .. 11 + NDAILY]: the care year of KEYS[5] ..; then REQ_FIELDS values per request.
local function dailyYear(j) return ARGV[11 + j] end
local REQ_BASE, REQ_FIELDS = 12 + NDAILY, 12
-- The limit bits of a grant (store.go: limitBit*, the same values).
local LIMIT_LINE_AMO, LIMIT_DAILY_CAP, LIMIT_DAILY_COUNT, LIMIT_ANNUAL_CAP, LIMIT_ANNUAL_COUNT = 1, 2, 4, 8, 16
local existing = rec_unpack(redis.call('GET', clm))
if existing then
  if existing[F_DIGEST] ~= DIGEST then return {'CONFLICT'} end
  local v = existing
  return {'DUP', v[F_BLOB], v[F_GRANTS], v[F_BAL], v[F_AT], v[F_STATE], v[F_META], v[F_PAY]}
end
-- counter key j: 0 the annual counters, 1..NDAILY the daily counters KEYS[4 + j]
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
local grants, debt = {}, 0
for i = 0, NREQ - 1 do
  local o = REQ_BASE + i * REQ_FIELDS
  local ded, units, unit, lim = ARGV[o], tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local dk, dayf, daycap = tonumber(ARGV[o + 4]), ARGV[o + 5], tonumber(ARGV[o + 6])
  local cntf, cntcap = ARGV[o + 7], tonumber(ARGV[o + 8])
  local annual, debtflag, acount = tonumber(ARGV[o + 9]), ARGV[o + 10], tonumber(ARGV[o + 11])
  local limits, amount = 0, 0
  if ded == 'fr' then
    amount = units * unit
    if lim < amount then amount = lim; limits = limits + LIMIT_LINE_AMO end
    if dayf ~= '' then
      local room = daycap - get(dk, dayf)
      if room < amount then amount = room; limits = limits + LIMIT_DAILY_CAP end
    end
    local room = annual - get(0, 'fr')
    if room < amount then amount = room; limits = limits + LIMIT_ANNUAL_CAP end
    if amount <= 0 then amount = 0; units = 0 end
    if dayf ~= '' then add(dk, dayf, amount) end
    add(0, 'fr', amount)
  else
    if cntf ~= '' and cntcap > 0 then
      local room = cntcap - get(dk, cntf)
      if room < units then units = room; limits = limits + LIMIT_DAILY_COUNT end
      if units < 0 then units = 0 end
    end
    if acount > 0 then
      local room = acount - get(0, 'pfn')
      if room < units then units = room; limits = limits + LIMIT_ANNUAL_COUNT end
      if units < 0 then units = 0 end
    end
    local per = unit
    if units > 0 and lim < per then per = lim; limits = limits + LIMIT_LINE_AMO end
    amount = units * per
    if annual >= 0 then
      local room = annual - get(0, 'pf')
      if room < amount then amount = room; limits = limits + LIMIT_ANNUAL_CAP end
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
    dincs[#dincs + 1] = dailyYear(j) .. '|' .. entry
  end
  touched[j] = true
end
if touched[0] then redis.call('EXPIRE', cnt, COUNTERS_TTL) end
for j = 1, NDAILY do
  if touched[j] then redis.call('EXPIRE', KEYS[4 + j], DAILY_TTL) end
end
local bal
if debt ~= 0 then
  bal = redis.call('HINCRBY', ben, 'debt', debt)
else
  bal = tonumber(redis.call('HGET', ben, 'debt') or '0')
end
local inc, dinc, g = table.concat(incs, ';'), table.concat(dincs, ';'), table.concat(grants, ',')
local rec = {}
rec[F_DIGEST], rec[F_BLOB], rec[F_GRANTS], rec[F_INC], rec[F_DINC], rec[F_YEAR] = DIGEST, BLOB, g, inc, dinc, YEAR
rec[F_DEBT], rec[F_BAL], rec[F_AT], rec[F_STATE], rec[F_META] = string.format('%d', debt), string.format('%d', bal), RECEIVED_AT, 'C', META
redis.call('SET', clm, rec_pack(rec), 'EX', CLAIM_TTL)
-- The beneficiary's claims, for the reconciliation, no older than a claim lives.
redis.call('ZADD', claimsof, RECEIVED_AT, CLAIM_ID)
redis.call('ZREMRANGEBYSCORE', claimsof, '-inf', '(' .. string.format('%d', tonumber(RECEIVED_AT) - tonumber(CLAIM_TTL) * 1000))
redis.call('EXPIRE', claimsof, CLAIM_TTL)
return {'NEW', g, string.format('%d', bal)}
