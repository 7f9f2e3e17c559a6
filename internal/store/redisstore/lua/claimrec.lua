-- claimrec.lua: the claim record, one string value (claimrec.go: the same
-- layout). Prepended to the scripts that read or write a claim.
-- A version byte, then REC_NFIELDS fields in this order, each its length and
-- its bytes; a length below 128 is one byte, below 16384 two (high bits 10),
-- else four (high bits 11). An empty field is an absent one.
local REC_VERSION, REC_NFIELDS = 1, 15
local F_DIGEST, F_BLOB, F_GRANTS, F_INC, F_DINC, F_YEAR, F_DEBT, F_BAL = 1, 2, 3, 4, 5, 6, 7, 8
local F_AT, F_STATE, F_META, F_PAY, F_XAT, F_XINC, F_XDINC = 9, 10, 11, 12, 13, 14, 15
local function rec_unpack(s)
  if not s then return nil end
  if string.byte(s, 1) ~= REC_VERSION then return error('claim record: unknown version') end
  local f, i = {}, 2
  for k = 1, REC_NFIELDS do
    local b, n = string.byte(s, i), 0
    if b < 128 then
      n, i = b, i + 1
    elseif b < 192 then
      n, i = (b - 128) * 256 + string.byte(s, i + 1), i + 2
    else
      local b2, b3, b4 = string.byte(s, i + 1, i + 3)
      n, i = ((b - 192) * 256 + b2) * 65536 + b3 * 256 + b4, i + 4
    end
    f[k] = string.sub(s, i, i + n - 1)
    i = i + n
  end
  return f
end
local function rec_pack(f)
  local out = {string.char(REC_VERSION)}
  for k = 1, REC_NFIELDS do
    local v = f[k] or ''
    local n = #v
    if n < 128 then
      out[#out + 1] = string.char(n)
    elseif n < 16384 then
      out[#out + 1] = string.char(128 + math.floor(n / 256), n % 256)
    else
      out[#out + 1] = string.char(192 + math.floor(n / 16777216), math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
    end
    out[#out + 1] = v
  end
  return table.concat(out)
end
