package redisstore_test

import (
	"fmt"
	"strconv"
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
