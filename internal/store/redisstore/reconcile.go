package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/store"
)

// Difference is one disagreement between the claim records and the state.
type Difference struct {
	BeneficiaryRef string
	// Year is the adjudication year of an annual counter ("pf", "fr", "pfn"), the
	// care year of a daily one ("fd:…", "pc:…", Daily set), 0 for the debt.
	Year      int
	Daily     bool
	Field     string // counter field ("pf", "fr", "pfn", "fd:…", "pc:…"), "debt", or "index:…"
	FromAudit int64  // from the claim records: cents, or counts for "pc:" fields
	InState   int64
	// Repaired is set for an index entry ("index:pro:<id>", "index:rep:<id>")
	// that was missing and was added.
	Repaired bool
}

func (d Difference) String() string {
	if idx, claim, ok := strings.Cut(strings.TrimPrefix(d.Field, "index:"), ":"); ok && strings.HasPrefix(d.Field, "index:") {
		which := map[string]string{"pro": "the professional's claims", "rep": "the organism's quarter report"}[idx]
		note := ""
		if d.Repaired {
			note = " (repaired)"
		}
		return fmt.Sprintf("beneficiary %s: claim %s missing from %s index%s", d.BeneficiaryRef, claim, which, note)
	}
	if d.Daily {
		return fmt.Sprintf("beneficiary %s, care year %d, %s: audit %d, state %d", d.BeneficiaryRef, d.Year, d.Field, d.FromAudit, d.InState)
	}
	return fmt.Sprintf("beneficiary %s, year %d, %s: audit %d, state %d", d.BeneficiaryRef, d.Year, d.Field, d.FromAudit, d.InState)
}

// ReconcileStats summarises a reconciliation.
type ReconcileStats struct {
	Beneficiaries, Commits, Cancels int
}

// Reconcile recomputes, for every beneficiary, the cap counters and the
// patient debt from its claim records (claimsOfKey lists them): the annual
// increments "inc" of each claim's adjudication year and the daily ones
// "dinc" of each care year, less what a cancellation gave back ("xinc",
// "xdinc"), and the debt of every claim not cancelled. It compares them with
// the stored counters and debt, checks every claim is in its professional's
// and its report's indexes (adding a missing entry), and calls diff for every
// difference. Adjudication years and care years older than minYear are
// skipped (their counters may have expired). A claim record lives as long as
// claimTTL, longer than any counter, so every live counter is the sum of live
// records.
func (s *Store) Reconcile(ctx context.Context, minYear int, diff func(Difference)) (ReconcileStats, error) {
	var stats ReconcileStats
	refs, err := s.claimRefs(ctx)
	if err != nil {
		return stats, err
	}
	for _, ref := range refs {
		stats.Beneficiaries++
		t := tally{annual: map[int]map[string]int64{}, daily: map[int]map[string]int64{}}
		for start := int64(0); ; start += reconcilePage {
			ids, err := s.rdb.ZRange(ctx, claimsOfKey(ref), start, start+reconcilePage-1).Result()
			if err != nil {
				return stats, wrap(err)
			}
			if len(ids) == 0 {
				break
			}
			if err := s.reconcilePage(ctx, ref, ids, &t, &stats, diff); err != nil {
				return stats, err
			}
		}
		for _, kind := range []struct {
			expect map[int]map[string]int64
			key    func(string, int) string
			daily  bool
		}{{t.annual, countersKey, false}, {t.daily, dailyKey, true}} {
			if err := s.compareCounters(ctx, ref, minYear, kind.expect, kind.key, kind.daily, diff); err != nil {
				return stats, err
			}
		}
		got, err := s.rdb.HGet(ctx, beneficiaryKey(ref), "debt").Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return stats, wrap(err)
		}
		if got != t.debt {
			diff(Difference{BeneficiaryRef: ref, Field: "debt", FromAudit: t.debt, InState: got})
		}
	}
	return stats, nil
}

// reconcilePage is how many claim records Reconcile reads in one round trip.
const reconcilePage = 500

// tally is what a beneficiary's claim records add up to.
type tally struct {
	annual map[int]map[string]int64 // adjudication year → annual field
	daily  map[int]map[string]int64 // care year → daily field
	debt   int64
}

func (t *tally) annualAdd(year int, incs string, sign int64) error {
	for _, kv := range strings.Split(incs, ";") {
		f, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("bad increment %q", kv)
		}
		if t.annual[year] == nil {
			t.annual[year] = map[string]int64{}
		}
		t.annual[year][f] += sign * n
	}
	return nil
}

func (t *tally) dailyAdd(dincs string, sign int64) error {
	daily, err := parseDaily(dincs)
	if err != nil {
		return err
	}
	for _, e := range daily {
		if t.daily[e.Year] == nil {
			t.daily[e.Year] = map[string]int64{}
		}
		t.daily[e.Year][e.Field] += sign * e.Delta
	}
	return nil
}

// reconcilePage adds the records of ids to t and checks their index entries.
func (s *Store) reconcilePage(ctx context.Context, ref string, ids []string, t *tally, stats *ReconcileStats, diff func(Difference)) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, claimKey(ref, id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return wrap(err)
	}
	var listed []listedClaim
	for i, id := range ids {
		if cmds[i].Err() != nil {
			continue // expired: its counters have expired before it
		}
		rec, err := decodeClaimRecord([]byte(cmds[i].Val()))
		if err != nil {
			return fmt.Errorf("claim %s of %s: %w", id, ref, err)
		}
		stats.Commits++
		year, err := strconv.Atoi(string(rec[recYear]))
		if err != nil {
			return fmt.Errorf("claim %s of %s: bad year %q", id, ref, rec[recYear])
		}
		debt, err := strconv.ParseInt(string(rec[recDebt]), 10, 64)
		if err != nil {
			return fmt.Errorf("claim %s of %s: bad debt %q", id, ref, rec[recDebt])
		}
		err = errors.Join(t.annualAdd(year, string(rec[recInc]), 1), t.dailyAdd(string(rec[recDinc]), 1))
		if string(rec[recState]) == "X" {
			// The cancellation gave back what it could and the whole debt.
			stats.Cancels++
			err = errors.Join(err, t.annualAdd(year, string(rec[recXinc]), -1), t.dailyAdd(string(rec[recXdinc]), -1))
		} else {
			t.debt += debt
		}
		if err != nil {
			return fmt.Errorf("claim %s of %s: %w", id, ref, err)
		}
		listed = append(listed, listedClaim{id: id, meta: rec[recMeta], at: rec[recAt]})
	}
	return s.checkIndexes(ctx, ref, listed, diff)
}

// listedClaim is what checkIndexes needs of a claim record.
type listedClaim struct {
	id       string
	meta, at []byte
}

// compareCounters compares the counters expected of each year (from year
// minYear) with the hash key(ref, year).
func (s *Store) compareCounters(ctx context.Context, ref string, minYear int, expect map[int]map[string]int64,
	key func(string, int) string, daily bool, diff func(Difference)) error {
	years := make([]int, 0, len(expect))
	for y := range expect {
		years = append(years, y)
	}
	sort.Ints(years)
	for _, y := range years {
		if y < minYear {
			continue
		}
		state, err := s.rdb.HGetAll(ctx, key(ref, y)).Result()
		if err != nil {
			return wrap(err)
		}
		fields := map[string]bool{}
		for f := range expect[y] {
			fields[f] = true
		}
		for f := range state {
			fields[f] = true
		}
		names := make([]string, 0, len(fields))
		for f := range fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			got, _ := strconv.ParseInt(state[f], 10, 64)
			if got != expect[y][f] {
				diff(Difference{BeneficiaryRef: ref, Year: y, Daily: daily, Field: f, FromAudit: expect[y][f], InState: got})
			}
		}
	}
	return nil
}

// checkIndexes checks that every claim of ref is listed in its
// professional's and its report's indexes, and adds the missing entries (an
// acknowledged claim whose index writes failed after its commit script).
func (s *Store) checkIndexes(ctx context.Context, ref string, claims []listedClaim, diff func(Difference)) error {
	type want struct {
		id, kind, key string
		score         float64
		cmd           *redis.FloatCmd
	}
	var wants []*want
	for _, c := range claims {
		if len(c.meta) == 0 {
			continue // written without meta: no index to check
		}
		var m store.ClaimMeta
		if err := json.Unmarshal(c.meta, &m); err != nil {
			return fmt.Errorf("claim %s of %s: decode meta: %w", c.id, ref, err)
		}
		ms, _ := strconv.ParseInt(string(c.at), 10, 64)
		if m.Professional != "" {
			wants = append(wants, &want{id: c.id, kind: "pro", key: professionalIndexKey(m.Professional), score: float64(ms)})
		}
		if !m.Receipt.IsZero() {
			wants = append(wants, &want{id: c.id, kind: "rep", key: reportIndexKey(m.ReportBucket()), score: float64(ms)})
		}
	}
	if len(wants) == 0 {
		return nil
	}
	check := s.rdb.Pipeline()
	for _, w := range wants {
		w.cmd = check.ZScore(ctx, w.key, w.id)
	}
	if _, err := check.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return wrap(err)
	}
	for _, w := range wants {
		if err := w.cmd.Err(); !errors.Is(err, redis.Nil) {
			if err != nil {
				return wrap(err)
			}
			continue
		}
		err := s.rdb.ZAddNX(ctx, w.key, redis.Z{Score: w.score, Member: w.id}).Err()
		diff(Difference{BeneficiaryRef: ref, Field: "index:" + w.kind + ":" + w.id, FromAudit: 1, Repaired: err == nil})
		if err != nil {
			return wrap(err)
		}
	}
	return nil
}

// claimRefs lists the beneficiaries that have claims (claimsOfKey), on every
// master of a Cluster.
func (s *Store) claimRefs(ctx context.Context) ([]string, error) {
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	seen := map[string]bool{}
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "bcl:{b:*}", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			ref := strings.TrimSuffix(strings.TrimPrefix(k, "bcl:{b:"), "}")
			<-mu
			seen[ref] = true
			mu <- struct{}{}
		}
		return iter.Err()
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		return nil, fmt.Errorf("reconcile: unsupported Redis client %T", s.rdb)
	}
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out, nil
}
