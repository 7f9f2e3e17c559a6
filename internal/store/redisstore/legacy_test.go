package redisstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// Claim ids reserved by a version that hashed the claim's JSON form (before
// the canonical encoding) still recognise a retry of the same claim, whether
// that claim was committed or its commit never happened; another content
// under the id is still refused.
func TestStoreLegacyDigest(t *testing.T) {
	rdb := redis.NewUniversalClient(opts(redistest.Shared(t).Addr))
	defer rdb.Close()
	ctx := adminCtx()
	svc, _ := newService(t, rdb)
	keyer := redisstore.NewKeyer([]byte("a test secret of at least 32 characters"))
	nir := nirFor(int(time.Now().UnixNano()%900000) + 7)
	register(t, svc, nir)
	ref := keyer.Ref(nir)
	legacy := func(id string) {
		t.Helper()
		raw, err := json.Marshal(gp(id, nir, "P1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx, "cidx:{c:"+id+"}", ref+"|"+keyer.Digest(raw), time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}

	committed := "P1-" + runID + "-legacy-committed"
	first, err := svc.Adjudicate(ctx, gp(committed, nir, "P1"))
	if err != nil {
		t.Fatal(err)
	}
	legacy(committed)
	again, err := svc.Adjudicate(ctx, gp(committed, nir, "P1"))
	if err != nil {
		t.Fatalf("retry of a claim reserved under its JSON digest: %v", err)
	}
	if !again.Replayed || !again.Decision.Totals.AMO.Equal(first.Decision.Totals.AMO) {
		t.Fatalf("retry: replayed %v, insurer %s, want the first answer (%s)", again.Replayed, again.Decision.Totals.AMO, first.Decision.Totals.AMO)
	}
	other := gp(committed, nir, "P1")
	other.Lines[0].UnitPrice = eur("25.00")
	if _, err := svc.Adjudicate(ctx, other); !errors.Is(err, service.ErrClaimIDReused) {
		t.Fatalf("same id, other content: %v", err)
	}

	pending := "P1-" + runID + "-legacy-pending"
	legacy(pending)
	res, err := svc.Adjudicate(ctx, gp(pending, nir, "P1"))
	if err != nil || res.Replayed {
		t.Fatalf("claim reserved under its JSON digest but never committed: replayed %v, %v", res.Replayed, err)
	}
	if back, err := svc.Adjudicate(ctx, gp(pending, nir, "P1")); err != nil || !back.Replayed {
		t.Fatalf("its retry: replayed %v, %v", back.Replayed, err)
	}
}
