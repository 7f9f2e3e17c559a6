package redisstore

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The scripts live in lua/*.lua, each naming its KEYS and ARGV once at its
// top; their callers are beside them in this package.
var (
	//go:embed lua/claimrec.lua
	claimrecLua string
	//go:embed lua/commit.lua
	commitLua string
	//go:embed lua/cancel.lua
	cancelLua string
	//go:embed lua/payment.lua
	paymentLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/cas.lua
	casLua string
	//go:embed lua/import.lua
	importLua string
)

// The bits of a grant's limits, as commit.lua's LIMIT_* constants
// (TestLuaLimitBits checks they agree).
const (
	limitBitLineAMO     = 1
	limitBitDailyCap    = 2
	limitBitDailyCount  = 4
	limitBitAnnualCap   = 8
	limitBitAnnualCount = 16
)

// commitScript commits one claim atomically (docs/rules.md#order,
// docs/rules.md#claim-id-reuse). It is the Lua mirror of franchise.Consume,
// in integer cents: every request is granted in order against the counters as
// they stand inside the script, so two claims of one beneficiary at the same
// instant never push a cap past its limit. The annual counters are those of
// the adjudication year; each daily counter is read and written in the key of
// its care date's year (dailyKey), so a daily cap holds across the year end.
//
// KEYS: 1 claim record (claimrec.go), 2 annual counters hash of the
// adjudication year, 3 beneficiary hash, 4 the beneficiary's claims
// (claimsOfKey, trimmed here to the claims' lifetime), 5… the daily counters
// hash of each care year the requests name (all with the beneficiary's hash
// tag).
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
// The claim record keeps the increments, which Reconcile sums: "inc", annual,
// "f=d;…" in the key of year "y"; "dinc", daily, "careyear|f=d;…".
//
// Replies: {"NEW", grants, balance} on commit; {"DUP", blob, grants, balance,
// received-at, state, meta, payment} when the claim id is already committed with the same
// digest; {"CONFLICT"} when it is committed with another digest.
// Each grant is "units:amount:limits" (limits: 1 line AMO, 2 daily cap,
// 4 daily count, 8 annual cap, 16 annual count), comma separated, in request
// order.
var commitScript = redis.NewScript(claimrecLua + commitLua)

// cancelScript reverses a committed claim once: every counter increment it
// recorded is subtracted and its patient debt removed
// (docs/rules.md#cancellation). It never recreates a counter: an increment
// whose key has expired (annual counters live countersTTL, less than a
// claim) or whose field is gone is not given back, and a counter is never
// taken below 0, so no key is ever left without its TTL and no counter is
// negative. What it did give back is recorded in the claim record ("xinc",
// "xdinc"), which the reconciliation subtracts.
//
// KEYS: 1 claim record (claimrec.go), 2 annual counters hash of the claim's
// year, 3 beneficiary hash, 4… the daily counters hash of each care year of
// the claim's "dinc". ARGV: 1 cancel instant (Unix ms), 2… the care year of
// KEYS[4]….
// A claim with a recorded payment is never cancelled: the check is made
// here, atomically with the reversal, so a payment recorded between the
// service's read and this script cannot be undone (docs/rules.md#cancellation).
// Replies: {"NOTFOUND"}, {"PAID"}, {"ALREADY", cancelled-at, given back, daily
// given back} or {"CANCELLED", cancelled-at, given back, daily given back}.
var cancelScript = redis.NewScript(claimrecLua + cancelLua)

// paymentScript records a claim's payment once, and never on a cancelled
// claim: the check is made here, atomically with the write, so a cancel
// that lands between the service's own check and this script cannot let a
// payment through (docs/rules.md#cancellation).
// KEYS: 1 claim record. ARGV: 1 payment (JSON).
// Replies: {"NOTFOUND"}, {"CANCELLED"}, {"NEW", payment} or {"OLD", payment
// already stored}.
var paymentScript = redis.NewScript(claimrecLua + paymentLua)

// releaseScript frees a claim-id reservation if it still holds the digest.
// KEYS: 1 claim index key. ARGV: 1 "|" + digest.
var releaseScript = redis.NewScript(releaseLua)
