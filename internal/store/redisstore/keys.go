// Package redisstore keeps the adjudicator's shared state in Redis: claims and
// their decisions, the beneficiaries' rights, debts and cap counters, and the
// opposition list. Every key that one claim touches carries the same hash tag
// per beneficiary, so each claim commits in one Lua script that runs unchanged
// on Redis Cluster. No key contains a NIR: beneficiaries are named by a keyed
// hash (HMAC-SHA256) of their NIR.
package redisstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Keyer turns NIRs into opaque beneficiary references and names the keys.
type Keyer struct {
	secret []byte
}

// NewKeyer returns a Keyer using secret for the HMAC.
func NewKeyer(secret []byte) Keyer { return Keyer{secret: append([]byte(nil), secret...)} }

// Ref is the opaque reference of the beneficiary with this NIR: the first 16
// bytes of HMAC-SHA256(secret, NIR), base64url. It is safe to log.
func (k Keyer) Ref(nir string) string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(nir))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Digest is a keyed hash of arbitrary content (a claim's canonical encoding):
// it tells a retry from a different claim without storing the content.
func (k Keyer) Digest(content []byte) string {
	m := hmac.New(sha256.New, k.secret)
	m.Write(content)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tag is the hash tag of every key of one beneficiary.
func tag(ref string) string { return "{b:" + ref + "}" }

func beneficiaryKey(ref string) string { return "ben:" + tag(ref) }

// countersKey holds the annual counters ("pf", "fr" in cents; "pfn", the
// number of participations) of one
// adjudication year: they belong to the year the claim is received in
// (docs/rules.md#dates).
func countersKey(ref string, year int) string {
	return "cnt:" + tag(ref) + ":" + strconv.Itoa(year)
}

// dailyKey holds the daily counters of every care date of one calendar year
// of care: the franchise per care date and category ("fd:<date>:<kind>",
// cents) and the PF count per professional and care date
// ("pc:<professional>:<date>"). A daily cap belongs to its care date whatever
// the year the claim is received in (docs/rules.md#franchise-daily-cap,
// docs/rules.md#pf-daily-count-cap): care on 31 December received on
// 2 January reads and writes the key of the care date's year, beside the
// annual counters of the year of receipt. One key per care year (not per care
// date) keeps a claim at one or two counter keys; the hash tag keeps them in
// the beneficiary's slot. Its lifetime is dailyTTL (store.go).
func dailyKey(ref string, careYear int) string {
	return "cntd:" + tag(ref) + ":" + strconv.Itoa(careYear)
}

func claimKey(ref, claimID string) string { return "clm:" + tag(ref) + ":" + claimID }

// claimsOfKey is the beneficiary's claims, by receipt (a sorted set written
// by the commit script, trimmed to the claims' lifetime): what Reconcile sums
// the claim records of.
func claimsOfKey(ref string) string { return "bcl:" + tag(ref) }

// claimIndexKey maps a claim id to its beneficiary reference and content
// digest. It has its own hash tag: it is written in the read round trip, not
// in the commit script.
func claimIndexKey(claimID string) string { return "cidx:{c:" + claimID + "}" }

// professionalIndexKey lists a professional's claims by receipt time.
func professionalIndexKey(professional string) string { return "pro:{p:" + professional + "}" }

// reportIndexKey lists an organism's claims of a quarter ("<organism>|<quarter>").
func reportIndexKey(bucket string) string { return "rep:{r:" + bucket + "}" }

// fraudKey holds every professional's fraud regimes (field: professional id).
const fraudKey = "fraud:{f}"

// organismsKey holds the organisms (field: organism code).
const organismsKey = "org:{org}"

// managedKey is the set of beneficiary references an organism manages or managed.
func managedKey(org string) string { return "orgben:{o:" + org + "}" }
