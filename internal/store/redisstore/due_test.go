package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/metrics"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// overdueGauge is tierspayant_overdue_guaranteed_claims{organism=org} as
// gathered from reg, -1 when the series is absent.
func overdueGauge(t *testing.T, reg *prometheus.Registry, org string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tierspayant_overdue_guaranteed_claims" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "organism" && l.GetValue() == org {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestStoreOverdueGauge: guaranteed claims committed on a real redis-server
// enter their organism's due index; once the clock passes their due date
// (7 working days, D161-13-3) the gauge counts them; a payment and a
// cancellation take one off each; a replay of the paid claim, which lists it
// again, is swept off before the count.
func TestStoreOverdueGauge(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.ClientDB(t, srv.NewDB(t)) // a database of its own: the count reads every registered organism
	ctx := adminCtx()
	k := redisstore.NewKeyer([]byte("a test secret of at least 32 characters"))
	st := redisstore.New(rdb, k)
	var clock atomic.Pointer[time.Time]
	at := func(s string) { v, _ := time.Parse(time.RFC3339, s); clock.Store(&v) }
	at("2025-03-11T09:00:00Z") // Tue 11 Mar 2025, 10:00 Paris
	svc := service.New(service.Deps{Params: table, Ledger: st, Archive: st, Bens: st.Registry(), Digest: k.Digest,
		Payments: st, Fraud: st.Fraud(), Organisms: st.Organisms(), Due: st,
		Clock: func() time.Time { return *clock.Load() }, Zone: paris})
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	org := fmt.Sprintf("CPAM75-DUE-%d", time.Now().UnixNano())
	if err := svc.UpsertOrganism(ctx, organism.Organism{Code: org, Kind: organism.KindCaisse, Departement: "75"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.RefreshOrganisms(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(when string, want float64) {
		t.Helper()
		if err := m.UpdateOverdue(context.Background(), svc); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := overdueGauge(t, reg, org); got != want {
			t.Fatalf("%s: gauge %v, want %v", when, got, want)
		}
	}

	var ids, nirs []string
	for i := range 4 {
		nir := nirFor(810000 + i)
		if _, err := svc.UpsertBeneficiary(ctx, nir, service.Beneficiary{
			Rights:      claims.Rights{BirthDate: day("1970-01-01"), Open: []claims.Period{{From: day("2020-01-01")}}},
			Attachments: []service.Attachment{{Organism: org, Period: claims.Period{From: day("2020-01-01")}}},
		}); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%s-%d", org, i)
		r, err := svc.Adjudicate(ctx, gp(id, nir, "PRO-DUE"))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Meta.Guaranteed || !r.Meta.DueDate.Equal(day("2025-03-20")) {
			t.Fatalf("claim %d: guaranteed %v, due %v; want guaranteed, due 2025-03-20", i, r.Meta.Guaranteed, r.Meta.DueDate)
		}
		ids, nirs = append(ids, id), append(nirs, nir)
	}
	count("on receipt", 0)
	at("2025-03-20T15:00:00Z") // the due date itself: not yet overdue
	count("on the due date", 0)
	at("2025-03-21T09:00:00Z")
	count("the day after the due date", 4)
	tr, err := svc.Tracking(ctx, ids[0])
	if err != nil || tr.State != service.StateOverdue {
		t.Fatalf("tracking: %v %v, want overdue", tr.State, err)
	}

	// Paid late: one fewer.
	if _, _, err := svc.RecordPayment(ctx, ids[0], "VIR-"+ids[0], clock.Load().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	count("after a payment", 3)
	// Cancelled: one fewer.
	if _, err := svc.CancelClaim(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	count("after a cancellation", 2)

	// A replay of the paid claim lists it again (its Index step does not
	// know the payment); the sweep removes it before counting.
	r, err := svc.Adjudicate(ctx, gp(ids[0], nirs[0], "PRO-DUE"))
	if err != nil || !r.Replayed {
		t.Fatalf("replay: %v %v", r.Replayed, err)
	}
	if n, err := st.CountDueBefore(ctx, []string{org}, day("2025-03-21")); err != nil || n[0] != 3 {
		t.Fatalf("due index after the replay: %v %v, want 3 (the paid claim listed again)", n, err)
	}
	count("after the replay of the paid claim", 2)
	if n, err := st.CountDueBefore(ctx, []string{org}, day("2025-03-21")); err != nil || n[0] != 2 {
		t.Fatalf("due index after the sweep: %v %v, want 2", n, err)
	}

	// The organism's index is one key, named by the organism only.
	keys, err := rdb.Keys(ctx, "due:*"+org+"*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "due:{d:"+org+"}" {
		t.Fatalf("due keys: %v %v", keys, err)
	}
	for _, nir := range nirs {
		if strings.Contains(keys[0], nir) || strings.Contains(keys[0], refOf(nir)) {
			t.Fatalf("due key %s names a beneficiary", keys[0])
		}
	}
}
