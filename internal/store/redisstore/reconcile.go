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

	"github.com/tierspayant/tierspayant/internal/service"
)

// Difference is one disagreement between the audit streams and the state.
type Difference struct {
	BeneficiaryRef string
	// Year is the adjudication year of an annual counter ("pf", "fr", "pfn"), the
	// care year of a daily one ("fd:…", "pc:…", Daily set), 0 for the debt.
	Year      int
	Daily     bool
	Field     string // counter field ("pf", "fr", "pfn", "fd:…", "pc:…"), "debt", or "claim:<id>"
	FromAudit int64  // cents, or counts for "pc:" fields; commits for "claim:"
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
	if strings.HasPrefix(d.Field, "claim:") {
		return fmt.Sprintf("beneficiary %s: %s committed %d times in the audit stream (net of cancels)", d.BeneficiaryRef, d.Field, d.FromAudit)
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

// Reconcile recomputes, for every beneficiary with an audit stream, the cap
// counters and the patient debt from the stream (commits minus what cancels
// gave back): the annual counters of each adjudication year ("inc" of year
// "y") and the daily counters of each care year ("dinc"). It compares them
// with the stored counters and debt, and checks that no claim is counted
// twice. It calls diff for every difference. Adjudication years and care
// years older than minYear are skipped (their counters may have expired).
func (s *Store) Reconcile(ctx context.Context, minYear int, diff func(Difference)) (ReconcileStats, error) {
	var stats ReconcileStats
	refs, err := s.auditRefs(ctx)
	if err != nil {
		return stats, err
	}
	for _, ref := range refs {
		stats.Beneficiaries++
		expect := map[int]map[string]int64{}      // adjudication year → annual field
		expectDaily := map[int]map[string]int64{} // care year → daily field
		debt := int64(0)
		net := map[string]int{}
		last := "-"
		for {
			msgs, err := s.rdb.XRangeN(ctx, auditKey(ref), excl(last), "+", 1000).Result()
			if err != nil {
				return stats, wrap(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				last = m.ID
				str := func(k string) string { v, _ := m.Values[k].(string); return v }
				year, _ := strconv.Atoi(str("y"))
				sign := int64(1)
				switch str("t") {
				case "C":
					stats.Commits++
					net[str("claim")]++
				case "X":
					stats.Cancels++
					net[str("claim")]--
					sign = -1
				}
				if expect[year] == nil {
					expect[year] = map[string]int64{}
				}
				for _, kv := range strings.Split(str("inc"), ";") {
					f, v, ok := strings.Cut(kv, "=")
					if !ok {
						continue
					}
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return stats, fmt.Errorf("audit %s %s: bad increment %q", ref, m.ID, kv)
					}
					expect[year][f] += sign * n
				}
				daily, err := parseDaily(str("dinc"))
				if err != nil {
					return stats, fmt.Errorf("audit %s %s: %w", ref, m.ID, err)
				}
				for _, e := range daily {
					if expectDaily[e.Year] == nil {
						expectDaily[e.Year] = map[string]int64{}
					}
					expectDaily[e.Year][e.Field] += sign * e.Delta
				}
				d, _ := strconv.ParseInt(str("debt"), 10, 64)
				debt += d // a cancel records its debt negated
			}
		}
		ids := make([]string, 0, len(net))
		for claim, n := range net {
			if n != 0 && n != 1 {
				diff(Difference{BeneficiaryRef: ref, Field: "claim:" + claim, FromAudit: int64(n), InState: 1})
			}
			ids = append(ids, claim)
		}
		sort.Strings(ids)
		if err := s.checkIndexes(ctx, ref, ids, diff); err != nil {
			return stats, err
		}
		for _, kind := range []struct {
			expect map[int]map[string]int64
			key    func(string, int) string
			daily  bool
		}{{expect, countersKey, false}, {expectDaily, dailyKey, true}} {
			if err := s.compareCounters(ctx, ref, minYear, kind.expect, kind.key, kind.daily, diff); err != nil {
				return stats, err
			}
		}
		got, err := s.rdb.HGet(ctx, beneficiaryKey(ref), "debt").Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return stats, wrap(err)
		}
		if got != debt {
			diff(Difference{BeneficiaryRef: ref, Field: "debt", FromAudit: debt, InState: got})
		}
	}
	return stats, nil
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

// checkIndexes checks that every stored claim of ref is listed in its
// professional's and its report's indexes, and adds the missing entries (an
// acknowledged claim whose index writes failed after its commit script).
func (s *Store) checkIndexes(ctx context.Context, ref string, ids []string, diff func(Difference)) error {
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		pipe := s.rdb.Pipeline()
		recs := make([]*redis.StringCmd, len(part))
		for i, id := range part {
			recs[i] = pipe.Get(ctx, claimKey(ref, id))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return wrap(err)
		}
		type want struct {
			id, kind, key string
			score         float64
			cmd           *redis.FloatCmd
		}
		var wants []*want
		check := s.rdb.Pipeline()
		for i, id := range part {
			if recs[i].Err() != nil {
				continue // expired or never committed
			}
			rec, err := decodeClaimRecord([]byte(recs[i].Val()))
			if err != nil {
				return fmt.Errorf("claim %s of %s: %w", id, ref, err)
			}
			if len(rec[recMeta]) == 0 {
				continue // written without meta: no index to check
			}
			var m service.ClaimMeta
			if err := json.Unmarshal(rec[recMeta], &m); err != nil {
				return fmt.Errorf("claim %s of %s: decode meta: %w", id, ref, err)
			}
			ms, _ := strconv.ParseInt(string(rec[recAt]), 10, 64)
			if m.Professional != "" {
				wants = append(wants, &want{id: id, kind: "pro", key: professionalIndexKey(m.Professional), score: float64(ms)})
			}
			if !m.Receipt.IsZero() {
				wants = append(wants, &want{id: id, kind: "rep", key: reportIndexKey(m.ReportBucket()), score: float64(ms)})
			}
		}
		for _, w := range wants {
			w.cmd = check.ZScore(ctx, w.key, w.id)
		}
		if len(wants) == 0 {
			continue
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
	}
	return nil
}

func excl(id string) string {
	if id == "-" {
		return id
	}
	return "(" + id
}

// auditRefs lists the beneficiaries that have an audit stream, on every
// master of a Cluster.
func (s *Store) auditRefs(ctx context.Context) ([]string, error) {
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	seen := map[string]bool{}
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "aud:{b:*}", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			ref := strings.TrimSuffix(strings.TrimPrefix(k, "aud:{b:"), "}")
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
