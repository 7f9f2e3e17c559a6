package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/claims"
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
