package franchise

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// The amounts below are test inputs in the shape the engine passes (this
// package holds no legal number; the engine reads them from internal/legal).

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func fr(line int, k Kind, care string, units int, unit, lineLimit string, daily string) Request {
	r := Request{Line: line, Deduction: DeductionFranchise, Kind: k, CareDate: day(care), Units: units,
		UnitAmount: eur(unit), LineLimit: eur(lineLimit), AnnualCap: eur("50.00")}
	if daily != "" {
		r.HasDailyCap, r.DailyCap = true, eur(daily)
	}
	return r
}

// pf is a participation request under the rules of 2025: at most 4 a day
// per professional, 25 a year, no amount cap.
func pf(line int, pro, care string, units int, unit, lineLimit string) Request {
	return Request{Line: line, Deduction: DeductionPF, CareDate: day(care), Professional: pro, Units: units,
		UnitAmount: eur(unit), LineLimit: eur(lineLimit), DailyCount: 4, AnnualCount: 25}
}

// pf2024 is a participation request under the rules of 2024: 50 a year and
// at most 50.00 EUR.
func pf2024(line int, pro, care string, units int, unit, lineLimit string) Request {
	r := pf(line, pro, care, units, unit, lineLimit)
	r.AnnualCount, r.HasAnnualCap, r.AnnualCap = 50, true, eur("50.00")
	return r
}

type grantWant struct {
	amount  string
	units   int
	limited []Limit
}

func TestConsume(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		state State
		reqs  []Request
		want  []grantWant
	}{
		{"medicine pack, counters empty: unit amount",
			State{}, []Request{fr(0, KindMedicament, "2025-04-14", 1, "1.00", "5.46", "")},
			[]grantWant{{"1.00", 1, nil}}},
		{"medicine pack with AMO 0.40: limited to the line's AMO (former D322-5)",
			State{}, []Request{fr(0, KindMedicament, "2025-04-14", 1, "1.00", "0.40", "")},
			[]grantWant{{"0.40", 1, []Limit{LimitLineAMO}}}},
		{"annual franchise cap nearly reached: 0.50 then 0.00 (Ex. 8)",
			State{FranchiseYear: eur("49.50")},
			[]Request{fr(0, KindMedicament, "2025-12-01", 1, "1.00", "6.50", ""), fr(1, KindMedicament, "2025-12-01", 1, "1.00", "6.50", "")},
			[]grantWant{{"0.50", 1, []Limit{LimitAnnualCap}}, {"0.00", 0, []Limit{LimitAnnualCap}}}},
		{"five auxiliary acts with a 4.00 daily cap (Ex. 4)",
			State{}, []Request{fr(0, KindActeParamedical, "2025-05-12", 5, "1.00", "54.00", "4.00")},
			[]grantWant{{"4.00", 5, []Limit{LimitDailyCap}}}},
		{"daily cap is per category: transport unaffected by auxiliary acts",
			State{FranchiseDay: map[DayKey]decimal.Decimal{{CareDate: day("2025-05-12"), Kind: KindActeParamedical}: eur("4.00")}},
			[]Request{fr(0, KindTransport, "2025-05-12", 2, "4.00", "108.46", "8.00"), fr(1, KindActeParamedical, "2025-05-12", 1, "1.00", "6.00", "4.00")},
			[]grantWant{{"8.00", 2, nil}, {"0.00", 0, []Limit{LimitDailyCap}}}},
		{"daily cap is per care date: another day is free",
			State{FranchiseDay: map[DayKey]decimal.Decimal{{CareDate: day("2025-05-12"), Kind: KindActeParamedical}: eur("4.00")}},
			[]Request{fr(0, KindActeParamedical, "2025-05-13", 1, "1.00", "10.80", "4.00")},
			[]grantWant{{"1.00", 1, nil}}},
		{"daily and annual caps both bind",
			State{FranchiseYear: eur("49.00"), FranchiseDay: map[DayKey]decimal.Decimal{{CareDate: day("2025-05-12"), Kind: KindActeParamedical}: eur("2.50")}},
			[]Request{fr(0, KindActeParamedical, "2025-05-12", 3, "1.00", "30.00", "4.00")},
			[]grantWant{{"1.00", 3, []Limit{LimitDailyCap, LimitAnnualCap}}}},
		{"counters above their caps (inconsistent store): floor at 0",
			State{FranchiseYear: eur("51.00")}, []Request{fr(0, KindMedicament, "2025-04-14", 1, "1.00", "5.00", "")},
			[]grantWant{{"0.00", 0, []Limit{LimitAnnualCap}}}},
		{"pharmacist service at 0.00: nothing granted, nothing limited",
			State{}, []Request{fr(0, KindPrestationPharmacien, "2025-04-14", 1, "0.00", "5.00", "")},
			[]grantWant{{"0.00", 0, nil}}},
		{"PF: one consultation",
			State{}, []Request{pf(0, "P1", "2025-03-10", 1, "2.00", "21.00")},
			[]grantWant{{"2.00", 1, nil}}},
		{"PF: fifth participation with the same professional the same day",
			State{PFCount: map[ProDayKey]int{{Professional: "P1", CareDate: day("2025-03-10")}: 4}},
			[]Request{pf(0, "P1", "2025-03-10", 1, "2.00", "21.00"), pf(1, "P2", "2025-03-10", 1, "2.00", "21.00")},
			[]grantWant{{"0.00", 0, []Limit{LimitDailyCount}}, {"2.00", 1, nil}}},
		{"PF: three units requested, two left today",
			State{PFCount: map[ProDayKey]int{{Professional: "P1", CareDate: day("2025-03-10")}: 2}},
			[]Request{pf(0, "P1", "2025-03-10", 3, "2.00", "63.00")},
			[]grantWant{{"4.00", 2, []Limit{LimitDailyCount}}}},
		{"D9 PF 2024: 49.00 of 50.00 EUR, the next one reduced to 1.00 and counted, then none",
			State{PFYear: eur("49.00"), PFYearCount: 30}, []Request{pf2024(0, "P1", "2024-12-01", 1, "2.00", "21.00"), pf2024(1, "P1", "2024-12-01", 1, "2.00", "21.00")},
			[]grantWant{{"1.00", 1, []Limit{LimitAnnualCap}}, {"0.00", 0, []Limit{LimitAnnualCap}}}},
		{"D9 PF 2024: 49 participations counted, the 50th granted, the 51st refused",
			State{PFYear: eur("40.00"), PFYearCount: 49}, []Request{pf2024(0, "P1", "2024-12-01", 2, "1.00", "21.00")},
			[]grantWant{{"1.00", 1, []Limit{LimitAnnualCount}}}},
		{"D9 PF 2025 (Ex. 8 corrected): 25 participations already counted, none more",
			State{PFYear: eur("49.00"), PFYearCount: 25}, []Request{pf(0, "P1", "2025-12-02", 1, "2.00", "21.00")},
			[]grantWant{{"0.00", 0, []Limit{LimitAnnualCount}}}},
		{"D9 PF 2025: the 25th granted, the 26th refused",
			State{PFYear: eur("48.00"), PFYearCount: 24}, []Request{pf(0, "P1", "2025-12-02", 1, "2.00", "21.00"), pf(1, "P2", "2025-12-02", 1, "2.00", "21.00")},
			[]grantWant{{"2.00", 1, nil}, {"0.00", 0, []Limit{LimitAnnualCount}}}},
		{"D9 PF 2025: no amount cap, 60.00 EUR already deducted does not matter below 25",
			State{PFYear: eur("60.00"), PFYearCount: 20}, []Request{pf(0, "P1", "2025-12-02", 1, "2.00", "21.00")},
			[]grantWant{{"2.00", 1, nil}}},
		{"D9 PF 2025: a participation reduced by the AMO amount still counts one",
			State{PFYearCount: 24}, []Request{pf(0, "P1", "2025-12-02", 1, "2.00", "0.90"), pf(1, "P2", "2025-12-02", 1, "2.00", "21.00")},
			[]grantWant{{"0.90", 1, []Limit{LimitLineAMO}}, {"0.00", 0, []Limit{LimitAnnualCount}}}},
		{"D9′ PF: the AMO limit is per act: 6 lab acts of 0.90 with 4 participations left give 4 × 0.90",
			State{PFCount: map[ProDayKey]int{}}, []Request{pf(0, "L1", "2025-03-10", 6, "2.00", "0.90")},
			[]grantWant{{"3.60", 4, []Limit{LimitDailyCount, LimitLineAMO}}}},
		{"PF: limited to a small AMO amount, the unit still counts",
			State{}, []Request{pf(0, "P1", "2025-03-10", 1, "2.00", "0.90")},
			[]grantWant{{"0.90", 1, []Limit{LimitLineAMO}}}},
		{"PF: AMO 0.00, no amount and no unit",
			State{}, []Request{pf(0, "P1", "2025-03-10", 1, "2.00", "0.00")},
			[]grantWant{{"0.00", 0, []Limit{LimitLineAMO}}}},
		{"PF: no daily count before the rule existed",
			State{PFCount: map[ProDayKey]int{{Professional: "P1", CareDate: day("2007-03-10")}: 9}},
			[]Request{func() Request { r := pf(0, "P1", "2007-03-10", 1, "1.00", "14.00"); r.DailyCount = 0; return r }()},
			[]grantWant{{"1.00", 1, nil}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			grants, _ := Consume(tc.state, tc.reqs)
			if len(grants) != len(tc.want) {
				t.Fatalf("%d grants, want %d", len(grants), len(tc.want))
			}
			for i, w := range tc.want {
				g := grants[i]
				if !g.Amount.Equal(eur(w.amount)) || g.Units != w.units || !reflect.DeepEqual(g.LimitedBy, w.limited) {
					t.Errorf("grant %d = %s × %d limited by %v, want %s × %d limited by %v", i, g.Amount, g.Units, g.LimitedBy, w.amount, w.units, w.limited)
				}
				if g.Line != tc.reqs[i].Line || g.Deduction != tc.reqs[i].Deduction {
					t.Errorf("grant %d is for line %d/%v", i, g.Line, g.Deduction)
				}
			}
		})
	}
}

func TestConsumeDoesNotMutateAndApplyAdds(t *testing.T) {
	t.Parallel()
	key := DayKey{CareDate: day("2025-05-12"), Kind: KindActeParamedical}
	pro := ProDayKey{Professional: "P1", CareDate: day("2025-05-12")}
	s := State{Year: 2025, PFYear: eur("3.00"), FranchiseYear: eur("1.00"),
		FranchiseDay: map[DayKey]decimal.Decimal{key: eur("1.00")}, PFCount: map[ProDayKey]int{pro: 1}}
	reqs := []Request{
		fr(0, KindActeParamedical, "2025-05-12", 2, "1.00", "21.60", "4.00"),
		pf(1, "P1", "2025-05-12", 1, "2.00", "21.00"),
		// a care date with a time of day and another location is the same day
		func() Request {
			r := fr(2, KindActeParamedical, "2025-05-12", 5, "1.00", "54.00", "4.00")
			r.CareDate = time.Date(2025, 5, 12, 15, 0, 0, 0, time.FixedZone("CEST", 2*3600))
			return r
		}(),
	}
	grants, inc := Consume(s, reqs)
	if !s.FranchiseDay[key].Equal(eur("1.00")) || s.PFCount[pro] != 1 || !s.PFYear.Equal(eur("3.00")) {
		t.Fatal("Consume modified its state")
	}
	if got := grants[2].Amount; !got.Equal(eur("1.00")) {
		t.Errorf("third request = %s, want 1.00 (daily cap 4.00 with 3.00 used)", got)
	}
	n := s.Apply(inc)
	if !n.FranchiseDay[key].Equal(eur("4.00")) || n.PFCount[pro] != 2 || !n.PFYear.Equal(eur("5.00")) || !n.FranchiseYear.Equal(eur("4.00")) || n.Year != 2025 {
		t.Errorf("applied state = %+v", n)
	}
	if !s.FranchiseDay[key].Equal(eur("1.00")) || s.PFCount[pro] != 1 {
		t.Error("Apply modified its receiver's maps")
	}
}

func TestForYear(t *testing.T) {
	t.Parallel()
	key := DayKey{CareDate: day("2025-12-30"), Kind: KindTransport}
	s := State{Year: 2025, PFYear: eur("50.00"), FranchiseYear: eur("50.00"), FranchiseDay: map[DayKey]decimal.Decimal{key: eur("8.00")}}
	if got := s.ForYear(2025); !reflect.DeepEqual(got, s) {
		t.Error("ForYear of the same year changed the state")
	}
	n := s.ForYear(2026)
	if n.Year != 2026 || !n.PFYear.IsZero() || !n.FranchiseYear.IsZero() || !n.FranchiseDay[key].Equal(eur("8.00")) {
		t.Errorf("ForYear(2026) = %+v, want annual counters reset, daily kept", n)
	}
}

// checkSequence consumes random requests in batches and checks the caps.
func checkSequence(t *testing.T, seed uint64, n int) {
	rng := rand.New(rand.NewPCG(seed, ^seed))
	units := []string{"0.00", "0.50", "1.00", "2.00", "4.00"}
	caps := []string{"2.00", "4.00", "8.00"}
	var s State
	amountCap := seed%2 == 0 // the 2024 rule: an amount cap besides the count
	days := []time.Time{day("2025-01-01"), day("2025-01-02"), day("2025-01-03")}
	for b := 0; b < n; b++ {
		reqs := make([]Request, 1+rng.IntN(8))
		for i := range reqs {
			r := Request{Line: i, CareDate: days[rng.IntN(len(days))], Units: rng.IntN(7) - 1,
				UnitAmount: eur(units[rng.IntN(len(units))]), LineLimit: decimal.NewFromInt(int64(rng.IntN(3000))).Shift(-2),
				AnnualCap: eur("50.00")}
			if rng.IntN(2) == 0 {
				r.Deduction, r.Professional, r.DailyCount = DeductionPF, []string{"A", "B"}[rng.IntN(2)], 4
				r.AnnualCount, r.HasAnnualCap = 25, amountCap
			} else {
				r.Deduction, r.Kind = DeductionFranchise, Kind(rng.IntN(4))
				if r.Kind != KindMedicament {
					r.HasDailyCap, r.DailyCap = true, eur(caps[int(r.Kind)-1])
				}
			}
			reqs[i] = r
		}
		grants, inc := Consume(s, reqs)
		sumPF, sumFR := decimal.Zero, decimal.Zero
		for i, g := range grants {
			r := reqs[i]
			if g.Amount.Sign() < 0 || g.Units < 0 {
				t.Fatalf("negative grant %+v", g)
			}
			bound := r.LineLimit            // a franchise: the line's AMO
			if r.Deduction == DeductionPF { // a PF: one act's AMO per participation
				bound = r.LineLimit.Mul(decimal.NewFromInt(int64(g.Units)))
			}
			if g.Amount.GreaterThan(bound) && r.LineLimit.Sign() >= 0 {
				t.Fatalf("grant %s above the AMO limit %s", g.Amount, bound)
			}
			if g.Amount.GreaterThan(g.Requested) && g.Requested.Sign() >= 0 || (g.Requested.Sign() <= 0 && !g.Amount.IsZero()) {
				t.Fatalf("grant %s above request %s", g.Amount, g.Requested)
			}
			if g.Units > max(r.Units, 0) {
				t.Fatalf("grant units %d above requested %d", g.Units, r.Units)
			}
			if g.Deduction == DeductionPF {
				sumPF = sumPF.Add(g.Amount)
			} else {
				sumFR = sumFR.Add(g.Amount)
			}
		}
		if !sumPF.Equal(inc.PFYear) || !sumFR.Equal(inc.FranchiseYear) {
			t.Fatalf("increments %s/%s differ from grants %s/%s", inc.PFYear, inc.FranchiseYear, sumPF, sumFR)
		}
		s = s.Apply(inc)
		if (amountCap && s.PFYear.GreaterThan(eur("50.00"))) || s.FranchiseYear.GreaterThan(eur("50.00")) || s.PFYearCount > 25 {
			t.Fatalf("annual cap exceeded: PF %s (%d participations), franchise %s", s.PFYear, s.PFYearCount, s.FranchiseYear)
		}
		for k, v := range s.FranchiseDay {
			if k.Kind != KindMedicament && v.GreaterThan(eur(caps[int(k.Kind)-1])) {
				t.Fatalf("daily cap exceeded for %v: %s", k, v)
			}
		}
		for k, c := range s.PFCount {
			if c > 4 {
				t.Fatalf("daily count exceeded for %v: %d", k, c)
			}
		}
	}
}

func TestConsumeProperties(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < 200; seed++ {
		checkSequence(t, seed, 30)
	}
}

// FuzzConsume checks that for any sequence of requests the caps are never
// exceeded, grants never exceed requests and are never negative.
func FuzzConsume(f *testing.F) {
	f.Add(uint64(1), uint8(10))
	f.Add(uint64(99), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		checkSequence(t, seed, int(n))
	})
}
