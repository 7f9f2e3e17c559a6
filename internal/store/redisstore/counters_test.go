package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/service"
)

func asPro(id string) context.Context {
	return access.With(context.Background(), access.Principal{ID: "pro-" + id, Role: access.RoleProfessional, Professional: id})
}

func asOperator(org string) context.Context {
	return access.With(context.Background(), access.Principal{ID: "op-" + org, Role: access.RoleOperator, Organism: org})
}

// TestServiceCounters (issue 18 item 1): GetCounters reads what the claims
// consumed, against the caps of the table, to the callers allowed; Simulate
// shows the same counters and changes nothing.
func TestServiceCounters(t *testing.T) {
	tg := targets(t)[0]
	svc, _ := newService(t, tg.rdb)
	ctx := adminCtx()
	if err := svc.UpsertOrganism(ctx, organism.Organism{Code: "CPAM-STORE-TEST", Name: "CPAM", Kind: organism.KindCaisse, Departement: "75"}); err != nil {
		t.Fatal(err)
	}
	nir := nirFor(int(time.Now().UnixNano()%900000) + 1)
	register(t, svc, nir)
	pf, err := svc.Adjudicate(ctx, gp("CNT-GP-"+runID+t.Name(), nir, "P1"))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := svc.Adjudicate(ctx, nurse("CNT-NU-"+runID+t.Name(), nir, "N1", 3))
	if err != nil {
		t.Fatal(err)
	}
	pfUsed, frUsed := pf.Decision.Totals.ParticipationForfaitaire, fr.Decision.Totals.Franchise
	if pfUsed.Sign() <= 0 || frUsed.Sign() <= 0 {
		t.Fatalf("the claims consumed nothing: %s, %s", pfUsed, frUsed)
	}
	care := day("2025-03-10")
	q := service.CountersQuery{NIR: nir, CareDate: care, Professional: "P1"}
	_, v, err := svc.GetCounters(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case v.Year != 2025 || !v.PF.Used.Equal(pfUsed) || v.PF.CountUsed != 1 || v.PF.CountCap != 25 || v.PF.CountLeft != 24 || v.PF.HasCap:
		t.Errorf("PF %+v, want %s used, 1 of 25 participations", v.PF, pfUsed)
	case !v.Franchise.Used.Equal(frUsed) || !v.Franchise.HasCap || !v.Franchise.Left.Equal(v.Franchise.Cap.Sub(frUsed)):
		t.Errorf("franchise %+v, want %s used", v.Franchise, frUsed)
	case !v.Debt.Equal(pfUsed.Add(frUsed)):
		t.Errorf("debt %s, want %s", v.Debt, pfUsed.Add(frUsed))
	case len(v.Daily) != 1 || v.Daily[0].PFCount != 1 || !v.Daily[0].Franchise[0].Used.Equal(frUsed) || !v.Daily[0].Franchise[0].HasCap:
		t.Errorf("daily %+v", v.Daily)
	}

	unknown := nirFor(int(time.Now().UnixNano()%900000) + 2)
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		q       service.CountersQuery
		denied  bool
		missing bool
		fields  []string
		pfCount int // the daily participations counted
	}{
		{name: "administrator", ctx: ctx, q: q, pfCount: 1},
		{name: "the professional presenting the NIR", ctx: asPro("P1"), q: service.CountersQuery{NIR: nir, CareDate: care}, pfCount: 1},
		{name: "another professional presenting the NIR counts its own", ctx: asPro("P2"), q: service.CountersQuery{NIR: nir, CareDate: care}},
		{name: "a professional asking another's participations", ctx: asPro("P2"), q: q, denied: true},
		{name: "the managing organism's operator", ctx: asOperator("CPAM-STORE-TEST"), q: q, pfCount: 1},
		{name: "another organism's operator", ctx: asOperator("OTHER"), q: q, denied: true},
		{name: "no caller", ctx: context.Background(), q: q, denied: true},
		{name: "unknown beneficiary, administrator", ctx: ctx, q: service.CountersQuery{NIR: unknown}, missing: true},
		{name: "unknown beneficiary, professional", ctx: asPro("P1"), q: service.CountersQuery{NIR: unknown}, denied: true},
		{name: "every bad field", ctx: ctx, q: service.CountersQuery{NIR: "123", Year: 2031, CareDate: day("2031-01-01")},
			fields: []string{"nir", "year", "care_date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, v, err := svc.GetCounters(tc.ctx, tc.q)
			var ve *claims.ValidationError
			switch {
			case tc.denied:
				if !errors.Is(err, access.ErrDenied) {
					t.Fatalf("want denied, got %v", err)
				}
			case tc.missing:
				if !errors.Is(err, service.ErrNotFound) {
					t.Fatalf("want not found, got %v", err)
				}
			case tc.fields != nil:
				if !errors.As(err, &ve) || len(ve.Fields) != len(tc.fields) {
					t.Fatalf("want %v, got %v", tc.fields, err)
				}
				for i, f := range tc.fields {
					if ve.Fields[i].Field != f {
						t.Errorf("field %d: %s, want %s", i, ve.Fields[i].Field, f)
					}
				}
			case err != nil:
				t.Fatal(err)
			case len(v.Daily) != 1 || v.Daily[0].PFCount != tc.pfCount:
				t.Errorf("daily %+v, want %d participations", v.Daily, tc.pfCount)
			}
		})
	}
	// A past year: its own (empty) counters, with the caps in force at its end.
	if _, v, err := svc.GetCounters(ctx, service.CountersQuery{NIR: nir, Year: 2024}); err != nil || v.PF.Used.Sign() != 0 || v.PF.CountCap != 50 || !v.PF.HasCap {
		t.Errorf("2024: %+v %v", v.PF, err)
	}

	sim, err := svc.Simulate(asPro("P1"), gp("CNT-SIM-"+runID+t.Name(), nir, "P1"))
	if err != nil {
		t.Fatal(err)
	}
	if sim.Counters == nil || !sim.Counters.PF.Used.Equal(pfUsed) || len(sim.Counters.Daily) != 1 || sim.Counters.Daily[0].PFCount != 1 {
		t.Fatalf("Simulate's counters: %+v", sim.Counters)
	}
	if _, after, err := svc.GetCounters(ctx, q); err != nil || !after.PF.Used.Equal(pfUsed) || after.Daily[0].PFCount != 1 {
		t.Errorf("Simulate changed the counters: %+v %v", after.PF, err)
	}
}

// TestServiceCheckRights (issue 18 item 2): the rights check reads the
// registry and the opposition list, answers through the engine, and records
// nothing.
func TestServiceCheckRights(t *testing.T) {
	tg := targets(t)[0]
	svc, st := newService(t, tg.rdb)
	ctx := adminCtx()
	if err := svc.UpsertOrganism(ctx, organism.Organism{Code: "CPAM-STORE-TEST", Name: "CPAM", Kind: organism.KindCaisse, Departement: "75"}); err != nil {
		t.Fatal(err)
	}
	nir := nirFor(int(time.Now().UnixNano()%900000) + 3)
	register(t, svc, nir)
	ald := nirFor(int(time.Now().UnixNano()%900000) + 4)
	if _, err := svc.UpsertBeneficiary(ctx, ald, service.Beneficiary{
		Rights: claims.Rights{BirthDate: day("1985-05-20"), Open: []claims.Period{{From: day("2020-01-01")}}, ALD: []claims.Period{{From: day("2021-01-01")}},
			CSS: []claims.Period{{From: day("2024-01-01")}}},
		Attachments: []service.Attachment{{Organism: "CPAM-STORE-TEST", Period: claims.Period{From: day("2020-01-01")}}},
	}); err != nil {
		t.Fatal(err)
	}
	card := "OPP" + runID
	if _, _, err := st.Oppositions().Add(ctx, card, opposition.ReasonTheft, now.Add(-time.Hour), now, opposition.Actor{ID: "admin"}); err != nil {
		t.Fatal(err)
	}
	unknown := nirFor(int(time.Now().UnixNano()%900000) + 5)
	vitale := func(v string) claims.Identification {
		return claims.Identification{Kind: claims.IdentificationVitaleCard, Value: v}
	}
	physician := func(n string) service.RightsCheck {
		return service.RightsCheck{NIR: n, CareDate: day("2025-03-10"), Category: claims.CategoryPhysician}
	}
	with := func(q service.RightsCheck, f func(*service.RightsCheck)) service.RightsCheck { f(&q); return q }
	events := func() int {
		evs, _, err := svc.AuditEvents(ctx, service.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	before := events()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		q      service.RightsCheck
		state  claims.RightsState
		tp     claims.TiersPayantAvailability
		rate   string
		exo    string
		denied bool
		fields []string
	}{
		{name: "open rights", ctx: asPro("P1"), q: physician(nir), state: claims.RightsOpen, tp: claims.TiersPayantPossible, rate: "0.70"},
		{name: "ALD-related care, CSS", ctx: asPro("P1"), q: with(physician(ald), func(q *service.RightsCheck) { q.ALDRelated = true }),
			state: claims.RightsOpen, tp: claims.TiersPayantPossible, rate: "1.00", exo: "ALD"},
		{name: "opposed card", ctx: asPro("P1"), q: with(physician(nir), func(q *service.RightsCheck) { q.Identification = vitale(card) }),
			state: claims.RightsOpen, tp: claims.TiersPayantNotPossible, rate: "0.70"},
		{name: "unknown beneficiary: cannot tell", ctx: asPro("P1"), q: physician(unknown), state: claims.RightsUnknown, tp: claims.TiersPayantCannotTell},
		{name: "unknown beneficiary, administrator", ctx: ctx, q: physician(unknown), state: claims.RightsUnknown, tp: claims.TiersPayantCannotTell},
		{name: "the managing organism's operator", ctx: asOperator("CPAM-STORE-TEST"), q: physician(nir), state: claims.RightsOpen, tp: claims.TiersPayantPossible, rate: "0.70"},
		{name: "another organism's operator", ctx: asOperator("OTHER"), q: physician(nir), denied: true},
		{name: "an operator, unknown beneficiary", ctx: asOperator("CPAM-STORE-TEST"), q: physician(unknown), denied: true},
		{name: "every bad field", ctx: ctx, q: service.RightsCheck{NIR: "1", CareDate: day("2031-01-01"), Category: claims.CategoryMedicine,
			Nature: claims.NatureATMP, Identification: claims.Identification{Kind: claims.IdentificationVitaleCard}},
			fields: []string{"nir", "care_date", "nature", "product_rate", "identification.value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := svc.CheckRights(tc.ctx, tc.q)
			var ve *claims.ValidationError
			switch {
			case tc.denied:
				if !errors.Is(err, access.ErrDenied) {
					t.Fatalf("want denied, got %v", err)
				}
				return
			case tc.fields != nil:
				if !errors.As(err, &ve) || len(ve.Fields) != len(tc.fields) {
					t.Fatalf("want %v, got %v", tc.fields, err)
				}
				for i, f := range tc.fields {
					if ve.Fields[i].Field != f {
						t.Errorf("field %d: %s, want %s", i, ve.Fields[i].Field, f)
					}
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			rate := ""
			if a.HasRate {
				rate = a.Rate.StringFixed(2)
			}
			if a.State != tc.state || a.TiersPayant != tc.tp || rate != tc.rate {
				t.Errorf("got %v, %v, rate %q; want %v, %v, %q (reasons %+v)", a.State, a.TiersPayant, rate, tc.state, tc.tp, tc.rate, a.Reasons)
			}
			if tc.exo != "" && (len(a.Exonerations) == 0 || a.Exonerations[0] != tc.exo) {
				t.Errorf("exonerations %v, want %s first", a.Exonerations, tc.exo)
			}
			if a.Opposed != (tc.q.Identification.Value == card) {
				t.Errorf("opposed %v", a.Opposed)
			}
		})
	}
	if after := events(); after != before {
		t.Errorf("the rights check wrote %d audit events: a read records nothing", after-before)
	}
}
