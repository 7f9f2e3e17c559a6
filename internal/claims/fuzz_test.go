package claims

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

var fuzzCategories = []Category{
	CategoryPhysician, CategoryMidwife, CategoryAuxiliary, CategoryDentist, CategoryBiology,
	CategoryMedicine, CategoryTransport, CategoryEmergencyTransport, CategoryDispensingFee, CategoryMedicalDevice,
}

var fuzzPrices = []string{"0.00", "0.50", "1.37", "4.37", "8.40", "12.15", "18.00", "25.00", "30.00", "46.20", "98.60", "119.99", "120.00", "150.00"}

// randomClaims builds a sequence of claims of one beneficiary, in receipt
// order, from a seed.
func randomClaims(seed uint64, n int) ([]Input, Rights) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r := rights([]string{"1950-03-01", "1985-06-15", "2007-10-05", "2015-01-01"}[rng.IntN(4)])
	if rng.IntN(4) == 0 {
		r.ALD = []Period{{From: d("2022-01-01")}}
	}
	if rng.IntN(6) == 0 {
		r.CSS = []Period{{From: d("2024-01-01"), To: d("2024-12-31")}}
	}
	if rng.IntN(6) == 0 {
		r.Pregnancies = []Pregnancy{{ExpectedDelivery: d("2025-08-20")}}
	}
	start := d("2023-06-01")
	receipt := start
	ins := make([]Input, 0, n)
	for k := 0; k < n; k++ {
		receipt = receipt.AddDate(0, 0, rng.IntN(20))
		nl := 1 + rng.IntN(6)
		lines := make([]Line, 0, nl)
		for j := 0; j < nl; j++ {
			cat := fuzzCategories[rng.IntN(len(fuzzCategories))]
			care := receipt.AddDate(0, 0, -rng.IntN(10))
			if rng.IntN(15) == 0 {
				care = receipt.AddDate(-2, -rng.IntN(6), 0) // maybe time-barred
			}
			l := line(cat, care.Format(time.DateOnly), fuzzPrices[rng.IntN(len(fuzzPrices))], 1+rng.IntN(6))
			l.ID = "L" + strconv.Itoa(j)
			switch cat {
			case CategoryMedicine:
				l.ProductRate = eur([]string{"1.00", "0.65", "0.30", "0.15"}[rng.IntN(4)])
				if rng.IntN(5) == 0 {
					l.GenericRefused, l.HighestGenericPrice = true, eur("5.00")
				}
			case CategoryPhysician:
				l.Parcours = Parcours(rng.IntN(4))
				l.Emergency = rng.IntN(5) == 0
			case CategoryMedicalDevice:
				l.ProductRate = eur([]string{"1.00", "0.60"}[rng.IntN(2)])
			case CategoryDispensingFee:
				// The fee of the previous line when it is a pack without
				// one, else a prescription fee, sometimes the complex one.
				if j > 0 && lines[j-1].Category == CategoryMedicine && rng.IntN(3) > 0 {
					l.AttachedTo = lines[j-1].ID
				} else if rng.IntN(2) == 0 {
					l.FeeKind = FeeKindComplexPrescription
				}
			}
			if rng.IntN(4) == 0 {
				l.Coefficient = decimal.NewFromInt(int64(rng.IntN(80)))
			}
			l.ALDRelated = rng.IntN(4) == 0
			l.MaternityExam = rng.IntN(10) == 0
			l.DuringHospitalStay = rng.IntN(10) == 0
			if rng.IntN(3) == 0 {
				l.BilledAmount = l.BilledAmount.Add(decimal.NewFromInt(int64(rng.IntN(20))))
			}
			lines = append(lines, l)
		}
		c := claim(lines...)
		c.ID = "PRO-" + strconv.Itoa(k)
		c.Professional.ID = []string{"P1", "P2"}[rng.IntN(2)]
		in := Input{Claim: c, Rights: r, ReceivedAt: receipt.Add(9 * time.Hour), Opposed: rng.IntN(12) == 0}
		ins = append(ins, in)
	}
	return ins, r
}

// checkInvariants adjudicates a sequence of claims against evolving counters
// and checks the engine's invariants.
func checkInvariants(t *testing.T, e *Engine, seed uint64, n int) {
	ins, _ := randomClaims(seed, n)
	var s franchise.State
	pfByYear := map[int]decimal.Decimal{}
	frByYear := map[int]decimal.Decimal{}
	for k, in := range ins {
		dec, inc, err := e.Adjudicate(in, s)
		if err != nil {
			t.Fatalf("claim %d: %v", k, err)
		}
		again, inc2, _ := e.Adjudicate(in, s)
		if !reflect.DeepEqual(dec, again) || !reflect.DeepEqual(inc, inc2) {
			t.Fatalf("claim %d: same input, different output", k)
		}
		// JSON round trip of Priced gives the same decision.
		p, err := e.Price(in)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		var back Priced
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		rolled := s.ForYear(dec.AdjudicatedOn.Year())
		g, _ := franchise.Consume(rolled, back.Requests)
		j1, _ := json.Marshal(dec)
		j2, _ := json.Marshal(e.Finish(back, g))
		if string(j1) != string(j2) {
			t.Fatalf("claim %d: decision differs after a JSON round trip of Priced", k)
		}

		for i, l := range dec.Lines {
			for name, v := range map[string]decimal.Decimal{
				"base": l.Base, "rate": l.Rate, "amo": l.AMO, "tm": l.TicketModerateur, "pf": l.ParticipationForfaitaire,
				"franchise": l.Franchise, "excess": l.Excess, "payable_pro": l.PayableToProfessional,
				"payable_patient": l.PayableToPatient, "share": l.PatientShare, "debt": l.PatientDebt,
			} {
				if v.Sign() < 0 {
					t.Fatalf("claim %d line %d: negative %s %s", k, i, name, v)
				}
				if !v.Equal(v.Round(2)) && name != "rate" {
					t.Fatalf("claim %d line %d: %s %s not rounded to the cent", k, i, name, v)
				}
			}
			if l.AMO.GreaterThan(l.Base) {
				t.Fatalf("claim %d line %d: AMO %s > base %s", k, i, l.AMO, l.Base)
			}
			if !l.Base.Equal(l.AMO.Add(l.TicketModerateur)) {
				t.Fatalf("claim %d line %d: base %s != AMO %s + TM %s", k, i, l.Base, l.AMO, l.TicketModerateur)
			}
			// A pack's deductions are bounded by its AMO and its fee's
			// together (D160-9 a); every other line's by its own AMO.
			bound := l.AMO
			for j, x := range in.Claim.Lines {
				if x.Category == CategoryDispensingFee && x.AttachedTo == in.Claim.Lines[i].ID {
					bound = bound.Add(dec.Lines[j].AMO)
				}
			}
			if l.ParticipationForfaitaire.Add(l.Franchise).GreaterThan(bound) {
				t.Fatalf("claim %d line %d: deductions %s above the AMO bound %s", k, i, l.ParticipationForfaitaire.Add(l.Franchise), bound)
			}
			if c := in.Claim.Lines[i].Category; (c == CategoryDispensingFee || c == CategoryMedicalDevice) && !l.ParticipationForfaitaire.Add(l.Franchise).IsZero() {
				t.Fatalf("claim %d line %d: a fee or a device bears a deduction", k, i)
			}
			if l.PayableToProfessional.GreaterThan(l.AMO) {
				t.Fatalf("claim %d line %d: payable above AMO", k, i)
			}
			if in.Opposed && (!l.PayableToProfessional.IsZero() || !l.ParticipationForfaitaire.IsZero() || !l.Franchise.IsZero()) {
				t.Fatalf("claim %d line %d: opposed claim paid or consumed", k, i)
			}
		}
		if in.Opposed && dec.Status != StatusRejected {
			t.Fatalf("claim %d: opposed claim not rejected", k)
		}

		s = rolled.Apply(inc)
		y := dec.AdjudicatedOn.Year()
		pfByYear[y] = pfByYear[y].Add(dec.Totals.ParticipationForfaitaire)
		frByYear[y] = frByYear[y].Add(dec.Totals.Franchise)
		checkCaps(t, e, s, pfByYear[y], frByYear[y], dec.AdjudicatedOn)
	}
}

func checkCaps(t *testing.T, e *Engine, s franchise.State, pf, fr decimal.Decimal, adj time.Time) {
	t.Helper()
	pfCount, _ := e.table.At(pPFAnnualCount, adj)
	frCap, _ := e.table.At(pFRAnnualCap, adj)
	if s.PFYearCount > pfCount.Int() || !pf.Equal(s.PFYear) {
		t.Fatalf("PF for %d: %d participations (cap %d), counter %s, decisions %s", adj.Year(), s.PFYearCount, pfCount.Int(), s.PFYear, pf)
	}
	if pfAmount, ok, _ := e.table.Lookup(pPFAnnualAmount, adj); ok && s.PFYear.GreaterThan(pfAmount.Decimal) {
		t.Fatalf("PF for %d: counter %s above the amount cap %s", adj.Year(), s.PFYear, pfAmount.Decimal)
	}
	if s.FranchiseYear.GreaterThan(frCap.Decimal) || fr.GreaterThan(frCap.Decimal) || !fr.Equal(s.FranchiseYear) {
		t.Fatalf("franchise for %d: counter %s, decisions %s, cap %s", adj.Year(), s.FranchiseYear, fr, frCap.Decimal)
	}
	for k, v := range s.FranchiseDay {
		id := map[franchise.Kind]string{franchise.KindActeParamedical: pFRDailyAuxiliary, franchise.KindTransport: pFRDailyTransport}[k.Kind]
		if id == "" {
			continue
		}
		capV, err := e.table.At(id, k.CareDate)
		if err != nil {
			t.Fatal(err)
		}
		if v.GreaterThan(capV.Decimal) {
			t.Fatalf("daily franchise %v on %s: %s above cap %s", k.Kind, k.CareDate.Format(time.DateOnly), v, capV.Decimal)
		}
	}
	for k, n := range s.PFCount {
		count, _ := e.table.At(pPFDailyCount, k.CareDate)
		if n > count.Int() {
			t.Fatalf("PF count %d for %s on %s above %d", n, k.Professional, k.CareDate.Format(time.DateOnly), count.Int())
		}
	}
}

// TestEngineInvariants runs the fuzz property on fixed seeds, so that plain
// "go test" exercises it.
func TestEngineInvariants(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	seeds := make([]uint64, 60)
	for i := range seeds {
		seeds[i] = uint64(i)*7919 + 1
	}
	sort.Slice(seeds, func(a, b int) bool { return seeds[a] < seeds[b] })
	for _, seed := range seeds {
		checkInvariants(t, e, seed, 40)
	}
}

// FuzzEngineInvariants checks, for any sequence of claims of one beneficiary:
// no negative amount, AMO ≤ base, base = AMO + ticket modérateur, deductions
// within the annual, daily and per-professional caps, and the same output for
// the same input, also after a JSON round trip of Priced.
func FuzzEngineInvariants(f *testing.F) {
	f.Add(uint64(1), uint8(10))
	f.Add(uint64(42), uint8(60))
	e := newEngine(f)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		checkInvariants(t, e, seed, int(n%80)+1)
	})
}

func benchmarkPrice(b *testing.B, in Input) {
	e := newEngine(b)
	if _, err := e.Price(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Price(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPricePharmacy3Lines(b *testing.B) {
	benchmarkPrice(b, input(pharmacy(med("2025-04-14", "8.40", "0.65"), med("2025-04-14", "12.15", "0.65"), med("2025-04-14", "4.37", "0.30")),
		adult(), "2025-04-15"))
}

func BenchmarkPricePhysician1Line(b *testing.B) {
	benchmarkPrice(b, input(claim(gp("2025-03-10", "30.00")), adult(), "2025-03-11"))
}

// BenchmarkPricePharmacyInvoice6Lines is the README's real pharmacy invoice
// (two packs with their fees, a device, a prescription fee): the cost of a
// real invoice against the 3-pack and the 1-line benchmarks.
func BenchmarkPricePharmacyInvoice6Lines(b *testing.B) {
	const day = "2025-06-10"
	benchmarkPrice(b, input(pharmacy(named("L1", med(day, "12.15", "0.65")), fee(day, "1.02", "L1"),
		named("L3", med(day, "2.00", "0.30")), fee(day, "1.02", "L3"),
		device(day, "15.00", "0.60"), line(CategoryDispensingFee, day, "0.51", 1)), adult(), day))
}

// BenchmarkPricePhysician1LineRegimeLocal is the 1-line claim of a
// régime-local invalidity pensioner (statuses and the local complement).
func BenchmarkPricePhysician1LineRegimeLocal(b *testing.B) {
	r := adult()
	r.RegimeLocal = []Period{{From: d("2015-01-01")}}
	r.Statuses = []StatusPeriod{{Kind: StatusATRentierDependant, Period: Period{From: d("2030-01-01")}}}
	benchmarkPrice(b, input(claim(gp("2025-03-10", "30.00")), r, "2025-03-11"))
}
