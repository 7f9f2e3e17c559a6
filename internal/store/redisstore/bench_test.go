package redisstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// BenchmarkAdjudicate is the whole claim path on a real redis-server: one
// pipelined read, the engine, the commit script. A beneficiary takes 50
// claims, then the next one starts its year.
func BenchmarkAdjudicate(b *testing.B) {
	srv, err := redistest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	rdb := redis.NewUniversalClient(opts(srv.Addr))
	defer rdb.Close()
	t := &testing.T{}
	svc, _ := newService(t, rdb)
	ctx := adminCtx()
	nirs := make([]string, b.N/50+1)
	for i := range nirs {
		nirs[i] = nirFor(600000 + i)
		register(t, svc, nirs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op") }()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("B-%s-%d", runID, i)
		var c claims.Claim
		switch i % 3 {
		case 0:
			c = pharmacy(id, nirs[i/50], "PH1", 2)
		case 1:
			c = gp(id, nirs[i/50], "GP1")
		default:
			c = nurse(id, nirs[i/50], "N1", 1)
		}
		if _, err := svc.Adjudicate(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOppositionLookup reads a claim's context (one pipelined round
// trip, the opposition check included) against lists of 10 000 and
// 1 000 000 entries: the cost should not depend on the list's size.
func BenchmarkOppositionLookup(b *testing.B) {
	for _, size := range []int{10000, 1000000} {
		b.Run(fmt.Sprintf("entries=%d", size), func(b *testing.B) {
			srv, err := redistest.Start()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			rdb := redis.NewUniversalClient(opts(srv.Addr))
			defer rdb.Close()
			t := &testing.T{}
			svc, st := newService(t, rdb)
			items := make([]redisstore.ImportItem, size)
			for i := range items {
				items[i] = redisstore.ImportItem{Identifier: strconv.Itoa(3000000000 + i), Reason: opposition.ReasonLoss, Effective: now.Add(-time.Hour)}
			}
			if _, _, err := st.Oppositions().Import(adminCtx(), items, now, natl); err != nil {
				b.Fatal(err)
			}
			nir := nirFor(512)
			register(t, svc, nir)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := pharmacy(fmt.Sprintf("OL-%d", i), nir, "PH", 1)
				c.Identification.Value = strconv.Itoa(3000000000 + (i*7919)%size) // opposed: rejected, nothing consumed
				if _, err := svc.Simulate(adminCtx(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkYearFilling adjudicates a beneficiary's first claims of the year
// and claims after its 500th: the cost should not grow with the year.
func BenchmarkYearFilling(b *testing.B) {
	for _, prior := range []int{0, 500} {
		b.Run(fmt.Sprintf("prior-claims=%d", prior), func(b *testing.B) {
			srv, err := redistest.Start()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			rdb := redis.NewUniversalClient(opts(srv.Addr))
			defer rdb.Close()
			t := &testing.T{}
			svc, _ := newService(t, rdb)
			nir := nirFor(513)
			register(t, svc, nir)
			claim := func(i int) claims.Claim {
				c := pharmacy(fmt.Sprintf("YF-%d", i), nir, fmt.Sprintf("PH%d", i%50), 1)
				c.Lines[0].CareDate = day("2025-01-02").AddDate(0, 0, i%60) // many daily fields
				return c
			}
			for i := 0; i < prior; i++ {
				if _, err := svc.Adjudicate(adminCtx(), claim(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := svc.Adjudicate(adminCtx(), claim(prior+i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// processCPU is this process's user and system CPU time: the claim path's
// own cost, Redis's excluded (the wall time per claim is mostly waiting for
// Redis's answers).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClaimMemory registers 1 000 beneficiaries and commits 10 000
// three-line pharmacy claims on a fresh redis-server, then reports the Redis
// memory per claim (used_memory before and after) and, per key family, the
// bytes per claim of a sample of keys (MEMORY USAGE): the claim records
// (clm:), the beneficiaries' claim lists (bcl:), the professionals' and
// reports' indexes (pro:, rep:), the claim-id index (cidx:), the audit
// trail (trail:). Run with -benchtime 1x: each iteration is the whole load.
func BenchmarkClaimMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		srv, err := redistest.Start()
		if err != nil {
			b.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
		t := &testing.T{}
		svc, st := newService(t, rdb)
		_ = st
		ctx := adminCtx()
		const nBen, nClaims = 1000, 10000
		nirs := make([]string, nBen)
		for k := range nirs {
			nirs[k] = nirFor(700000 + k)
			register(t, svc, nirs[k])
		}
		used := func() int64 {
			info := rdb.Info(ctx, "memory").Val()
			for _, l := range strings.Split(info, "\r\n") {
				if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
					n, _ := strconv.ParseInt(v, 10, 64)
					return n
				}
			}
			return 0
		}
		before := used()
		for k := 0; k < nClaims; k++ {
			c := pharmacy(fmt.Sprintf("M-%d", k), nirs[k%nBen], fmt.Sprintf("PH%d", k%200), 1)
			c.Lines = append(c.Lines, c.Lines[0], c.Lines[0])
			c.Lines[1].ID, c.Lines[2].ID = "2", "3"
			c.Lines[1].ProductRate, c.Lines[2].ProductRate = eur("0.30"), eur("0.15")
			if _, err := svc.Adjudicate(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		after := used()
		b.ReportMetric(float64(after-before)/nClaims, "redis-B/claim")
		for _, fam := range []string{"clm:", "bcl:", "pro:", "rep:", "cidx:", "trail:"} {
			keys, err := rdb.Keys(ctx, fam+"*").Result()
			if err != nil || len(keys) == 0 {
				continue
			}
			var total int64
			for _, k := range keys {
				total += rdb.MemoryUsage(ctx, k, 0).Val()
			}
			b.ReportMetric(float64(total)/nClaims, fam+"B/claim")
		}
		rdb.Close()
		srv.Stop()
	}
}
