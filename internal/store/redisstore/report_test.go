package redisstore_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestStoreDelayReport generates a quarter of claims for an Alsace-Moselle
// organism, pays most of them after a chosen number of working days, and
// checks the delay report against counts kept by the test itself.
func TestStoreDelayReport(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	ctx := adminCtx()
	k := redisstore.NewKeyer([]byte("a test secret of at least 32 characters"))
	st := redisstore.New(rdb, k)
	var clock atomic.Int64
	svc := service.New(service.Deps{Params: table, Ledger: st, Archive: st, Bens: st.Registry(), Digest: k.Digest,
		Payments: st, Fraud: st.Fraud(), Organisms: st.Organisms(),
		Clock: func() time.Time { return time.UnixMilli(clock.Load()).UTC() }, Zone: paris})
	org := fmt.Sprintf("CPAM67-%d", time.Now().UnixNano())
	if err := svc.UpsertOrganism(ctx, organism.Organism{Code: org, Kind: organism.KindCaisse, Departement: "67"}); err != nil {
		t.Fatal(err)
	}
	cal := calendar.AlsaceMoselle()
	rng := rand.New(rand.NewPCG(2025, 3))
	type want struct {
		claims, within, overdue int
		delays                  []int
		penalties               decimal.Decimal
	}
	expect := map[claims.Profession]*want{}
	reportDay := day("2025-04-15")
	for i := 0; i < 150; i++ {
		nir := nirFor(700000 + i)
		_, err := svc.UpsertBeneficiary(ctx, nir, service.Beneficiary{
			Rights:      claims.Rights{BirthDate: day("1970-01-01"), Open: []claims.Period{{From: day("2020-01-01")}}},
			Attachments: []service.Attachment{{Organism: org, Period: claims.Period{From: day("2020-01-01")}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Received on a working day of Q1 2025, 10:00 Paris.
		rcv := cal.AddWorkingDays(day("2025-01-02"), rng.IntN(60))
		clock.Store(rcv.Add(9 * time.Hour).UnixMilli())
		id := fmt.Sprintf("%s-R%03d", org, i)
		var c claims.Claim
		switch i % 3 {
		case 0:
			c = gp(id, nir, "PRO1")
		case 1:
			c = pharmacy(id, nir, "PH1", 1)
		default:
			c = nurse(id, nir, "N1", 1)
		}
		c.CreatedAt = rcv
		for j := range c.Lines {
			c.Lines[j].CareDate = rcv
		}
		r, err := svc.Adjudicate(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		w := expect[c.Professional.Profession]
		if w == nil {
			w = &want{penalties: decimal.Zero}
			expect[c.Professional.Profession] = w
		}
		w.claims++
		due := cal.AddWorkingDays(rcv, 7)
		if !r.Meta.DueDate.Equal(due) {
			t.Fatalf("claim %d: due %v, want %v (Alsace-Moselle calendar)", i, r.Meta.DueDate, due)
		}
		if rng.IntN(10) == 0 { // unpaid
			if due.Before(reportDay) {
				w.overdue++
			}
			continue
		}
		delay := 1 + rng.IntN(12)
		paidOn := cal.AddWorkingDays(rcv, delay)
		tr, _, err := svc.RecordPayment(ctx, id, "VIR-"+id, paidOn.Add(12*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		w.delays = append(w.delays, delay)
		amo := r.Decision.Totals.PayableToProfessional
		switch {
		case delay <= 7:
			w.within++
		case delay <= 9:
			w.penalties = w.penalties.Add(decimal.NewFromInt(1))
		default:
			w.penalties = w.penalties.Add(amo.Mul(decimal.RequireFromString("0.10")).Round(2))
		}
		if tr.Payment.WorkingDay != delay {
			t.Fatalf("claim %d paid on working day %d, want %d", i, tr.Payment.WorkingDay, delay)
		}
	}
	clock.Store(reportDay.Add(9 * time.Hour).UnixMilli())
	q, _ := service.ParseQuarter("2025Q1")
	rows, err := svc.DelayReport(ctx, org, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(expect) {
		t.Fatalf("%d rows, want %d", len(rows), len(expect))
	}
	for _, row := range rows {
		w := expect[row.Profession]
		sort.Ints(w.delays)
		nearest := func(p int) float64 { return float64(w.delays[(p*len(w.delays)+99)/100-1]) }
		share := decimal.NewFromInt(int64(w.within)).DivRound(decimal.NewFromInt(int64(w.claims)), 4)
		if row.Claims != w.claims || !row.PaidWithinDeadline.Equal(share) || row.MedianDelay != nearest(50) || row.P90 != nearest(90) ||
			!row.PenaltiesDue.Equal(w.penalties) || row.OverdueUnpaid != w.overdue {
			t.Errorf("profession %d: got %+v; want claims %d share %s median %v p90 %v penalties %s overdue %d",
				row.Profession, row, w.claims, share, nearest(50), nearest(90), w.penalties, w.overdue)
		}
	}
	if other, err := svc.DelayReport(ctx, org, service.Quarter{Year: 2025, Q: 2}); err != nil || len(other) != 0 {
		t.Errorf("Q2 has no claims: %v %v", other, err)
	}
}
