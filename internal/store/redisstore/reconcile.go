package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
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
}

func (d Difference) String() string {
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
		for claim, n := range net {
			if n != 0 && n != 1 {
				diff(Difference{BeneficiaryRef: ref, Field: "claim:" + claim, FromAudit: int64(n), InState: 1})
			}
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
