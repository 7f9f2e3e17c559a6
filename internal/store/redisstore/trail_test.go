package redisstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// TestStoreTrail pages through the sharded trail: every event exactly once,
// in the order of the store's clock, whatever the page size and filter.
func TestStoreTrail(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := adminCtx()
			st := redisstore.New(tg.rdb, testKeyer)
			tr := st.Trail()
			by := "trail-" + runID + "-" + tg.name
			start := time.Now().Add(-time.Second)
			const n = 45
			for i := 0; i < n; i++ {
				e := service.Event{At: time.Now(), By: by, Role: "admin", Op: "test.op", Subject: fmt.Sprintf("s%d", i), Details: fmt.Sprint(i)}
				if i%3 == 0 {
					e.Op = "test.other"
				}
				if err := tr.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			for _, size := range []int{1, 7, 100} {
				seen := map[string]bool{}
				cursor, prev := "", ""
				for pages := 0; ; pages++ {
					if pages > n+2 {
						t.Fatal("no end")
					}
					evs, next, err := tr.Events(ctx, service.EventQuery{By: by, After: cursor, Limit: size, From: start})
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) > size {
						t.Fatalf("page of %d events for a size %d", len(evs), size)
					}
					for _, e := range evs {
						if seen[e.Details] {
							t.Fatalf("size %d: event %s twice", size, e.Details)
						}
						seen[e.Details] = true
						if e.By != by || e.Role != "admin" || e.Subject != "s"+e.Details {
							t.Fatalf("event read back as %+v", e)
						}
						if prev != "" && streamMS(t, e.ID) < streamMS(t, prev) {
							t.Fatalf("out of order: %s after %s", e.ID, prev)
						}
						prev = e.ID
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if len(seen) != n {
					t.Fatalf("size %d: %d events of %d", size, len(seen), n)
				}
			}
			evs, _, err := tr.Events(ctx, service.EventQuery{By: by, Op: "test.other", From: start})
			if err != nil || len(evs) != n/3 {
				t.Fatalf("op filter: %d events, %v", len(evs), err)
			}
			evs, _, err = tr.Events(ctx, service.EventQuery{By: by, Subject: "s17"})
			if err != nil || len(evs) != 1 || evs[0].Details != "17" {
				t.Fatalf("subject filter: %+v, %v", evs, err)
			}
			evs, next, err := tr.Events(ctx, service.EventQuery{By: by, To: start})
			if err != nil || len(evs) != 0 || next != "" {
				t.Fatalf("before the first: %d events, next %q, %v", len(evs), next, err)
			}
			for _, bad := range []string{"x", "1-2", "1-2.99", "a-b.1"} {
				if _, _, err := tr.Events(ctx, service.EventQuery{After: bad}); !errors.Is(err, service.ErrBadCursor) {
					t.Errorf("cursor %q: %v", bad, err)
				}
			}
		})
	}
}

func streamMS(t *testing.T, id string) int64 {
	t.Helper()
	var ms, seq int64
	var shard int
	if _, err := fmt.Sscanf(strings.Replace(id, ".", " ", 1), "%d-%d %d", &ms, &seq, &shard); err != nil {
		t.Fatalf("event id %q: %v", id, err)
	}
	return ms
}

// TestStoreTrailClaims: a claim's commit is in the trail once, with its
// caller, whether it was committed by its first call or by a retry; a
// replay adds nothing; a cancellation is recorded.
func TestStoreTrailClaims(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			svc, st := newService(t, tg.rdb)
			p := access.Principal{ID: "pharma-" + runID, Role: access.RoleProfessional, Professional: "10000000001"}
			ctx := access.With(adminCtx(), p)
			nir := nirFor(int(time.Now().UnixNano() % 1000000))
			register(t, svc, nir)
			c := gp("trail-"+tg.name+"-"+runID, nir, p.Professional)
			for i := 0; i < 3; i++ {
				if _, err := svc.Adjudicate(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.CancelClaim(adminCtx(), c.ID); err != nil {
				t.Fatal(err)
			}
			evs, _, err := st.Trail().Events(adminCtx(), service.EventQuery{Subject: c.ID})
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, e := range evs {
				ops = append(ops, e.Op)
				if strings.Contains(fmt.Sprint(e), nir) {
					t.Fatalf("NIR in the trail: %+v", e)
				}
			}
			if strings.Join(ops, " ") != "claim.commit claim.cancel" {
				t.Fatalf("events of the claim: %v", ops)
			}
			if e := evs[0]; e.By != p.ID || e.Role != "professional" || e.Tenant != p.Professional || !e.At.Equal(now) {
				t.Fatalf("commit event: %+v", e)
			}
			if evs[1].By != access.Open.ID || evs[1].Role != "admin" {
				t.Fatalf("cancel event: %+v", evs[1])
			}
		})
	}
}
