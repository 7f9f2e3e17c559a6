package redisstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
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

// TestStoreBeneficiaryUpdateIsAtomic: a change made between Update's read
// and its write (here an administrator's transfer, made from inside the
// first try) is not overwritten: the write is dropped and f runs again on
// the new record.
func TestStoreBeneficiaryUpdateIsAtomic(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			_, st := newService(t, tg.rdb)
			reg := st.Registry()
			ctx := adminCtx()
			nir := nirFor(int(time.Now().UnixNano()%1000000) + 7)
			att := func(org string) []service.Attachment {
				return []service.Attachment{{Organism: org, Period: claims.Period{From: day("2020-01-01")}}}
			}
			set := func(org string) func(service.Beneficiary, bool) (service.Beneficiary, error) {
				return func(old service.Beneficiary, _ bool) (service.Beneficiary, error) {
					old.Attachments = att(org)
					return old, nil
				}
			}
			if _, err := reg.Update(ctx, nir, set("MUT-A")); err != nil {
				t.Fatal(err)
			}
			var seen []string
			_, err := reg.Update(ctx, nir, func(old service.Beneficiary, existed bool) (service.Beneficiary, error) {
				seen = append(seen, old.Attachments[0].Organism)
				if len(seen) == 1 {
					if _, err := reg.Update(ctx, nir, set("MUT-B")); err != nil {
						t.Fatal(err)
					}
				}
				old.HasMedecinTraitant = true
				return old, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(seen, " ") != "MUT-A MUT-B" {
				t.Fatalf("f saw %v, want MUT-A then MUT-B", seen)
			}
			_, b, err := reg.Get(ctx, nir)
			if err != nil || b.Attachments[0].Organism != "MUT-B" || !b.HasMedecinTraitant {
				t.Fatalf("stored %+v, %v: the transfer was overwritten", b, err)
			}
			denied := errors.New("denied")
			if _, err := reg.Update(ctx, nir, func(service.Beneficiary, bool) (service.Beneficiary, error) { return service.Beneficiary{}, denied }); !errors.Is(err, denied) {
				t.Fatalf("f's error: %v", err)
			}
			if _, b, _ := reg.Get(ctx, nir); b.Attachments[0].Organism != "MUT-B" {
				t.Fatal("written although f failed")
			}
		})
	}
}
