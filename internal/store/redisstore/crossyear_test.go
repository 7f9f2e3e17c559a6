package redisstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// clockedService is a service on rdb whose clock the test moves.
func clockedService(t *testing.T, rdb redis.UniversalClient, at *atomic.Pointer[time.Time]) (*service.Service, *redisstore.Store) {
	t.Helper()
	return newServiceClock(t, rdb, func() time.Time { return *at.Load() })
}

func onDay(c claims.Claim, care string, created time.Time) claims.Claim {
	c.CreatedAt = created
	for i := range c.Lines {
		c.Lines[i].CareDate = day(care)
	}
	return c
}

// TestStoreDailyCapAcrossNewYear (issue 13, D29): the daily caps belong to
// the care date, not to the receipt year. Nurse care on 2025-12-31: 4 acts
// received that day take the 4.00 € daily franchise cap; 2 more acts of the
// same care date received on 2026-01-02 owe nothing more. The same for the
// PF daily count of one physician.
func TestStoreDailyCapAcrossNewYear(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			var at atomic.Pointer[time.Time]
			dec31 := time.Date(2025, 12, 31, 15, 0, 0, 0, time.UTC)
			jan2 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
			at.Store(&dec31)
			svc, _ := clockedService(t, tg.rdb, &at)
			nir := nirFor(int(time.Now().UnixNano()%900000) + 41)
			register(t, svc, nir)
			ctx := adminCtx()
			id := "NY-" + tg.name + "-" + runID

			first, err := svc.Adjudicate(ctx, onDay(nurse(id+"-N1", nir, "N1", 4), "2025-12-31", dec31.Add(-time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			gp4 := gp(id+"-G1", nir, "G1")
			gp4.Lines = append(gp4.Lines, gp4.Lines[0], gp4.Lines[0], gp4.Lines[0])
			for i := range gp4.Lines {
				gp4.Lines[i].ID = strconv.Itoa(i + 1)
			}
			gpFirst, err := svc.Adjudicate(ctx, onDay(gp4, "2025-12-31", dec31.Add(-time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			at.Store(&jan2)
			second, err := svc.Adjudicate(ctx, onDay(nurse(id+"-N2", nir, "N1", 2), "2025-12-31", jan2.Add(-time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			gpSecond, err := svc.Adjudicate(ctx, onDay(gp(id+"-G2", nir, "G1"), "2025-12-31", jan2.Add(-time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			if f, s := first.Decision.Totals.Franchise, second.Decision.Totals.Franchise; !f.Equal(eur("4.00")) || !s.IsZero() {
				t.Errorf("nurse franchise across the year end: %s then %s, want 4.00 then 0.00 (one daily cap)", f, s)
			}
			if f, s := gpFirst.Decision.Totals.ParticipationForfaitaire, gpSecond.Decision.Totals.ParticipationForfaitaire; !f.Equal(eur("8.00")) || !s.IsZero() {
				t.Errorf("PF across the year end: %s then %s, want 8.00 then 0.00 (4 a day with one physician)", f, s)
			}
			ref := refOf(nir)
			if c := annualCounters(t, tg.rdb, ref, 2026); c["fr"] != 0 || c["pf"] != 0 || c["pfn"] != 0 {
				t.Errorf("2026 annual counters after claims that deducted nothing: %v", c)
			}
			if c := annualCounters(t, tg.rdb, ref, 2025); c["fr"] != 400 || c["pf"] != 800 || c["pfn"] != 4 {
				t.Errorf("2025 annual counters: %v, want fr 400, pf 800, pfn 4", c)
			}
		})
	}
}

// TestStoreCancelAfterExpiry (issue 13, D29): a claim cancelled after its
// counters expired (counters live 2 years, claims 3) recreates no counter and
// drives none negative; a counter lower than the claim's increment is brought
// to 0 and keeps its expiry.
func TestStoreCancelAfterExpiry(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			var at atomic.Pointer[time.Time]
			at.Store(&now)
			svc, _ := clockedService(t, tg.rdb, &at)
			ctx := adminCtx()
			ref := refOf

			// Both counter hashes gone, as after their expiry.
			nir := nirFor(int(time.Now().UnixNano()%900000) + 53)
			register(t, svc, nir)
			id := "EXP1-" + tg.name + "-" + runID
			if _, err := svc.Adjudicate(ctx, nurse(id, nir, "N1", 3)); err != nil {
				t.Fatal(err)
			}
			annual, daily := "cnt:{b:"+ref(nir)+"}:2025", "cntd:{b:"+ref(nir)+"}:2025"
			if err := tg.rdb.Del(ctx, annual).Err(); err != nil {
				t.Fatal(err)
			}
			if err := tg.rdb.Del(ctx, daily).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := svc.CancelClaim(ctx, id)
			if err != nil || !got.Now {
				t.Fatalf("cancel after expiry: %+v %v", got, err)
			}
			for _, k := range []string{annual, daily} {
				if n := tg.rdb.Exists(ctx, k).Val(); n != 0 {
					t.Errorf("cancel recreated the expired %s: %v", k, hashCounters(t, tg.rdb, k))
				}
			}
			if !got.FRRestored.IsZero() {
				t.Errorf("restored %s of an expired counter", got.FRRestored)
			}

			// A counter lower than the claim's increment (another year's
			// claims were cancelled, or a repair): floor at 0, TTL kept.
			nir2 := nirFor(int(time.Now().UnixNano()%900000) + 59)
			register(t, svc, nir2)
			id2 := "EXP2-" + tg.name + "-" + runID
			if _, err := svc.Adjudicate(ctx, nurse(id2, nir2, "N1", 3)); err != nil {
				t.Fatal(err)
			}
			annual2 := "cnt:{b:" + ref(nir2) + "}:2025"
			if err := tg.rdb.HSet(ctx, annual2, "fr", 100).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CancelClaim(ctx, id2); err != nil {
				t.Fatal(err)
			}
			if c := hashCounters(t, tg.rdb, annual2); c["fr"] != 0 {
				t.Errorf("counter after cancel: %v, want fr 0 (never negative)", c)
			}
			if ttl := tg.rdb.TTL(ctx, annual2).Val(); ttl <= 0 {
				t.Errorf("counter lost its expiry: TTL %v", ttl)
			}
		})
	}
}

// TestStoreCancelVersusPayment (issues 13 D29 and 14.4): a cancel and a
// payment of the same claim at the same instant: exactly one wins, and the
// stored claim agrees (a cancelled claim has no payment; a paid claim is not
// cancelled). A paid claim cannot be cancelled afterwards.
func TestStoreCancelVersusPayment(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			var at atomic.Pointer[time.Time]
			at.Store(&now)
			svc, st := clockedService(t, tg.rdb, &at)
			ctx := adminCtx()
			nir := nirFor(int(time.Now().UnixNano()%900000) + 61)
			register(t, svc, nir)
			const n = 40
			var cancels, payments atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("RACE-%s-%s-%d", tg.name, runID, i)
				if _, err := svc.Adjudicate(ctx, gp(id, nir, "P"+strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, err := svc.CancelClaim(ctx, id)
					switch {
					case err == nil:
						cancels.Add(1)
					case !errors.Is(err, service.ErrClaimPaid):
						t.Errorf("cancel %s: %v", id, err)
					}
				}()
				go func() {
					defer wg.Done()
					_, _, err := svc.RecordPayment(ctx, id, "PAY-"+id, now.Add(time.Hour))
					switch {
					case err == nil:
						payments.Add(1)
					case !errors.Is(err, service.ErrClaimCancelled):
						t.Errorf("payment %s: %v", id, err)
					}
				}()
			}
			wg.Wait()
			if c, p := cancels.Load(), payments.Load(); c+p != n {
				t.Fatalf("%d cancels + %d payments for %d claims: exactly one of the two must win each race", c, p, n)
			}
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("RACE-%s-%s-%d", tg.name, runID, i)
			}
			recs, err := st.Records(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				if r.Cancelled == (r.Payment != nil) {
					t.Errorf("%s: cancelled %v, payment %q: exactly one must hold", ids[i], r.Cancelled, r.Payment)
				}
			}

			id := "PAIDCANCEL-" + tg.name + "-" + runID
			if _, err := svc.Adjudicate(ctx, gp(id, nir, "Q1")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.RecordPayment(ctx, id, "PAY-"+id, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CancelClaim(ctx, id); !errors.Is(err, service.ErrClaimPaid) {
				t.Fatalf("cancel of a paid claim: %v, want ErrClaimPaid", err)
			}
		})
	}
}

// FuzzCommitMatchesConsume (issue 13, D29): the commit script grants exactly
// what franchise.Consume grants, on real Price output, over a sequence of
// claims received across several years (care dates before the receipt, so
// the daily fields of one care year are met from the next adjudication
// year), and the annual counters of every year end equal to the Go model.
func FuzzCommitMatchesConsume(f *testing.F) {
	tgs := targets(f)
	engine := claims.NewEngine(table)
	f.Add(uint64(1), uint8(40))
	f.Add(uint64(7), uint8(60))
	f.Add(uint64(2024), uint8(30))
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, seed uint64, count uint8) {
		n := 5 + int(count)%60
		for _, tg := range tgs {
			st := redisstore.New(tg.rdb, redisstore.NewKeyer([]byte("conformance secret of 32 characters")))
			ref := fmt.Sprintf("fz-%s-%s-%d", tg.name, runID, seq.Add(1))
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			// Receipts move forward from 2023-12-20 through 2026-01-10, in
			// steps small enough to revisit care dates across each year end.
			received := time.Date(2023, 12, 20, 0, 0, 0, 0, time.UTC)
			var model franchise.State
			priced := 0
			for c := 0; c < n; c++ {
				received = received.AddDate(0, 0, rng.IntN(3))
				if rng.IntN(8) == 0 {
					received = received.AddDate(0, 0, 150+rng.IntN(200))
				}
				if received.Year() > 2026 {
					break
				}
				in := randomClaim(rng, c, received)
				p, err := engine.Price(in)
				if err != nil {
					var ve *claims.ValidationError
					if errors.As(err, &ve) {
						t.Fatalf("generated claim %d invalid: %v", c, err)
					}
					continue // a care date without parameters (NO_PARAMETER_FOR_DATE)
				}
				priced++
				year := p.Decision.AdjudicatedOn.Year()
				if model.Year != 0 && model.Year != year {
					checkAnnual(t, tg.rdb, ref, model)
				}
				model = model.ForYear(year)
				want, inc := franchise.Consume(model, p.Requests)
				model = model.Apply(inc)
				reqs := make([]service.CapRequest, len(p.Requests))
				for i, r := range p.Requests {
					reqs[i] = service.CapRequest{Request: r, Debt: true}
				}
				got, err := st.Commit(adminCtx(), service.CommitRequest{ClaimID: fmt.Sprintf("c%d", c), BeneficiaryRef: ref,
					Digest: "d", Blob: []byte("{}"), ReceivedAt: received, Year: year, Requests: reqs})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Grants) != len(want) {
					t.Fatalf("claim %d: %d grants from Lua, %d from Go", c, len(got.Grants), len(want))
				}
				for i, g := range got.Grants {
					w := want[i]
					if g.Units != w.Units || !g.Amount.Equal(w.Amount) || fmt.Sprint(g.Limits) != fmt.Sprint(w.LimitedBy) {
						t.Fatalf("claim %d received %s request %d (%+v): Lua units=%d amount=%s limits=%v, Go units=%d amount=%s limits=%v",
							c, received.Format(time.DateOnly), i, p.Requests[i], g.Units, g.Amount, g.Limits, w.Units, w.Amount, w.LimitedBy)
					}
				}
			}
			if model.Year != 0 {
				checkAnnual(t, tg.rdb, ref, model)
			}
			if priced == 0 {
				t.Fatalf("no claim of seed %d was priced", seed)
			}
		}
	})
}

func checkAnnual(t *testing.T, rdb redis.UniversalClient, ref string, m franchise.State) {
	t.Helper()
	c := annualCounters(t, rdb, ref, m.Year)
	if c["pf"] != m.PFYear.Shift(2).IntPart() || c["fr"] != m.FranchiseYear.Shift(2).IntPart() || c["pfn"] != int64(m.PFYearCount) {
		t.Fatalf("year %d: Redis %v, Go pf %s fr %s pfn %d", m.Year, c, m.PFYear, m.FranchiseYear, m.PFYearCount)
	}
}

// randomClaim is a claim received at received, with care dates up to 5 days
// before it: physician or biology lines (PF) from 2 professionals, or
// nurse, transport or pharmacy lines (franchise), with quantities and prices
// that reach every cap.
func randomClaim(rng *rand.Rand, c int, received time.Time) claims.Input {
	care := received.AddDate(0, 0, -rng.IntN(6))
	prof := []claims.Profession{claims.ProfessionPhysician, claims.ProfessionLaboratory, claims.ProfessionNurse,
		claims.ProfessionTransporter, claims.ProfessionPharmacist}[rng.IntN(5)]
	pro := strconv.Itoa(int(prof)) + "-" + strconv.Itoa(rng.IntN(2))
	cl := claims.Claim{
		ID: "F" + strconv.Itoa(c), CreatedAt: received, NIR: nirFor(424242), Nature: claims.NatureMaladie, Mode: claims.ModeAMOOnly,
		Professional:   claims.Professional{ID: pro, Profession: prof, Departement: "75"},
		Identification: claims.Identification{Kind: claims.IdentificationVitaleCard, Value: "CARD"},
	}
	for l := 0; l < 1+rng.IntN(4); l++ {
		qty := 1 + rng.IntN(5)
		price := decimal.New(int64(100+rng.IntN(4000)), -2)
		line := claims.Line{ID: strconv.Itoa(l + 1), Code: "X", CareDate: care.AddDate(0, 0, -rng.IntN(2)), UnitPrice: price, Quantity: qty}
		switch prof {
		case claims.ProfessionPhysician:
			line.Category, line.Parcours = claims.CategoryPhysician, claims.ParcoursRespected
			if rng.IntN(6) == 0 {
				line.Kind = claims.LineKindComplement
			}
		case claims.ProfessionLaboratory:
			line.Category = claims.CategoryBiology
			if rng.IntN(6) == 0 {
				line.ActFamily = claims.ActFamilyBiologySampling
			}
		case claims.ProfessionNurse:
			line.Category = claims.CategoryAuxiliary
		case claims.ProfessionTransporter:
			line.Category, line.Quantity = claims.CategoryTransport, 1+rng.IntN(3)
		default:
			line.Category, line.ProductRate = claims.CategoryMedicine, []decimal.Decimal{decimal.New(65, -2), decimal.New(30, -2), decimal.New(15, -2)}[rng.IntN(3)]
			prev := len(cl.Lines) - 1
			switch k := rng.IntN(6); {
			case k == 0 && prev >= 0 && cl.Lines[prev].Category == claims.CategoryMedicine:
				// The previous pack's dispensing fee: its franchise limit
				// becomes the pack's and the fee's AMO (D160-9 a).
				line.Category, line.ProductRate, line.Quantity, line.AttachedTo = claims.CategoryDispensingFee, decimal.Zero, 1, cl.Lines[prev].ID
			case k == 1:
				line.Category, line.ProductRate = claims.CategoryMedicalDevice, decimal.New(60, -2)
			}
		}
		if line.CareDate.After(received) {
			line.CareDate = received
		}
		line.BilledAmount = line.UnitPrice.Mul(decimal.NewFromInt(int64(line.Quantity)))
		cl.Lines = append(cl.Lines, line)
	}
	return claims.Input{Claim: cl, ReceivedAt: received,
		Rights: claims.Rights{BirthDate: day("1980-02-03"), Open: []claims.Period{{From: day("2000-01-01")}}, Debt: decimal.Zero, Organism: "CPAM-75"}}
}
