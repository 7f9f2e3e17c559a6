package redisstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// usedMemory is INFO memory's used_memory.
func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	info, err := rdb.Info(adminCtx(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}

// familyBytes is the MEMORY USAGE of every key matching pattern, summed.
func familyBytes(b *testing.B, rdb *redis.Client, pattern string) int64 {
	b.Helper()
	ctx := adminCtx()
	keys, err := rdb.Keys(ctx, pattern).Result()
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, k := range keys {
		total += rdb.MemoryUsage(ctx, k, 0).Val()
	}
	return total
}

// BenchmarkBeneficiaryMemory registers 10 000 beneficiaries through the
// service (UpsertBeneficiary: the record, the organism's set of managed
// beneficiaries, an audit-trail event) on a fresh redis-server and reports
// the used_memory delta per beneficiary and, per key family, MEMORY USAGE
// per beneficiary: the beneficiary hashes (ben:), the organism sets
// (orgben:), the audit trail (trail:). It then commits one guaranteed GP
// claim per beneficiary and reports the due index's bytes per unpaid
// guaranteed claim (due:, the overdue gauge's index, due.go). Run with
// -benchtime 1x: each iteration is the whole load (docs/OPERATIONS.md#sizing).
func BenchmarkBeneficiaryMemory(b *testing.B) {
	for range b.N {
		srv, err := redistest.Start()
		if err != nil {
			b.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
		st := redisstore.New(rdb, testKeyer)
		ctx := adminCtx()
		if err := st.LoadScripts(ctx); err != nil {
			b.Fatal(err)
		}
		svc := service.New(service.Deps{Params: table, Ledger: st, Archive: st, Bens: st.Registry(), Digest: testKeyer.Digest,
			Payments: st, Fraud: st.Fraud(), Organisms: st.Organisms(), Trail: st.Trail(), Due: st,
			Clock: func() time.Time { return now }, Zone: paris})
		const n = 10000
		nirs := make([]string, n)
		t := &testing.T{}
		before := usedMemory(b, rdb)
		for k := range nirs {
			nirs[k] = nirFor(300000 + k)
			register(t, svc, nirs[k])
		}
		if t.Failed() {
			b.Fatal("registration failed")
		}
		after := usedMemory(b, rdb)
		b.ReportMetric(float64(after-before)/n, "redis-B/beneficiary")
		for _, fam := range []string{"ben:", "orgben:", "trail:"} {
			b.ReportMetric(float64(familyBytes(b, rdb, fam+"*"))/n, fam+"B/beneficiary")
		}
		for k, nir := range nirs {
			r, err := svc.Adjudicate(ctx, gp(fmt.Sprintf("SZ-%d", k), nir, fmt.Sprintf("PRO%d", k%200)))
			if err != nil {
				b.Fatal(err)
			}
			if !r.Meta.Guaranteed {
				b.Fatal("the sizing claim is not guaranteed")
			}
		}
		b.ReportMetric(float64(familyBytes(b, rdb, "due:*"))/n, "due:B/claim")
		rdb.Close()
		srv.Stop()
	}
}
