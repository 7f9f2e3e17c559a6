package claims

import (
	"testing"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

// TestPFD9 covers RULEBOOK 0.6 D9′ (docs/rules.md#pf-annual-cap,
// #pf-daily-count-cap, #pf-line-limit, #pf-scope): the annual cap is a number
// of participations, the daily count grew from 1 to 4 on 2007-08-03, the AMO
// limit applies per act, and neither complements nor sampling acts bear a PF.
func TestPFD9(t *testing.T) {
	t.Parallel()
	pro := "10000000001"
	gps := func(care string, n int) Claim {
		lines := make([]Line, n)
		for i := range lines {
			lines[i] = gp(care, "30.00")
		}
		return claim(lines...)
	}
	runExamples(t, []exampleCase{
		// Annual count (D160-6), counted in the adjudication year.
		{name: "D9′ annual count 2025: 24 counted, a claim of 2 consultations: the 25th only",
			in:    input(gps("2025-06-02", 2), adult(), "2025-06-03"),
			state: franchise.State{Year: 2025, PFYear: eur("48.00"), PFYearCount: 24},
			want:  want{pf: "2.00", linePF: []string{"2.00", "0.00"}, reasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ annual count 2025: reduced participations (1.00 € care of early 2024) count one each",
			in:    input(gps("2024-05-14", 1), adult(), "2025-01-15"),
			state: franchise.State{Year: 2025, PFYear: eur("25.00"), PFYearCount: 25},
			want:  want{pf: "0.00", reasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ annual count 2025: 25 participations of 1.00 € (25.00 €) still close the year",
			in:    input(gps("2025-06-02", 1), adult(), "2025-06-03"),
			state: franchise.State{Year: 2025, PFYear: eur("25.00"), PFYearCount: 25},
			want:  want{pf: "0.00", reasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ annual count 2025: 60.00 € below 25 participations is no cap",
			in:    input(gps("2025-06-02", 1), adult(), "2025-06-03"),
			state: franchise.State{Year: 2025, PFYear: eur("60.00"), PFYearCount: 20},
			want:  want{pf: "2.00", noReasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ 2024 amount cap: 30 participations and 49.50 €: the next reduced to 0.50",
			in:    input(gps("2024-06-03", 1), adult(), "2024-06-04"),
			state: franchise.State{Year: 2024, PFYear: eur("49.50"), PFYearCount: 30},
			want:  want{pf: "0.50", reasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ 2024 count cap: 50 participations of 1.00 €: none more though 50.00 € is just reached",
			in:    input(gps("2024-06-03", 1), adult(), "2024-06-04"),
			state: franchise.State{Year: 2024, PFYear: eur("50.00"), PFYearCount: 50},
			want:  want{pf: "0.00", reasons: []string{ReasonPFAnnualCap}}},
		{name: "D9′ year boundary: care of 2025-12-30 received 2026-01-02 counts in 2026, the 2025 count does not matter",
			in:    input(gps("2025-12-30", 1), adult(), "2026-01-02"),
			state: franchise.State{Year: 2025, PFYear: eur("50.00"), PFYearCount: 25},
			want:  want{pf: "2.00"}},
		// Daily count (D160-8): 1 from 2005-01-01, 4 from 2007-08-03.
		{name: "D9′ daily count 2007-08-02: two consultations the same day, one participation",
			in:   input(gps("2007-08-02", 2), adult(), "2007-08-03"),
			want: want{pf: "1.00", linePF: []string{"1.00", "0.00"}, reasons: []string{ReasonPFDailyCount}}},
		{name: "D9′ daily count 2007-08-03: two consultations the same day, two participations",
			in:   input(gps("2007-08-03", 2), adult(), "2007-08-04"),
			want: want{pf: "2.00", linePF: []string{"1.00", "1.00"}, noReasons: []string{ReasonPFDailyCount}}},
		{name: "D9′ daily count 2005-01-01: one already counted with this doctor, none more",
			in: input(gps("2005-01-01", 1), adult(), "2005-01-03"),
			state: franchise.State{Year: 2005, PFCount: map[franchise.ProDayKey]int{
				{Professional: pro, CareDate: d("2005-01-01")}: 1}},
			want: want{pf: "0.00", reasons: []string{ReasonPFDailyCount}}},
		// Per-act AMO limit.
		{name: "D9′ per-act AMO limit: 6 lab acts of AMO 0.90, 4 participations left: 4 × 0.90",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "1.50", 6)), adult(), "2025-03-11"),
			want: want{amo: "5.40", pf: "3.60", reasons: []string{ReasonPFLimitedToAMO, ReasonPFDailyCount}}},
		{name: "D9′ per-act AMO limit: 3 acts of AMO 3.00 each: 3 full participations",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "5.00", 3)), adult(), "2025-03-11"),
			want: want{amo: "9.00", pf: "6.00", noReasons: []string{ReasonPFLimitedToAMO}}},
		{name: "D9′ per-act AMO limit: a line AMO not divisible by its quantity is rounded down per act",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "1.11", 3)), adult(), "2025-03-11"),
			want: want{amo: "2.00", pf: "1.98", reasons: []string{ReasonPFLimitedToAMO}}},
		// Scope.
		{name: "D9′ no PF on a sampling act done for a biology exam (D160-8)",
			in: input(claim(
				with(line(CategoryBiology, "2025-03-10", "10.00", 1), func(l *Line) { l.ActFamily = ActFamilyBiologySampling }),
				line(CategoryBiology, "2025-03-10", "20.00", 1)), adult(), "2025-03-11"),
			want: want{pf: "2.00", linePF: []string{"0.00", "2.00"}}},
		{name: "D9′ (D27) no PF on a complement (night majoration)",
			in: input(claim(gp("2025-03-10", "30.00"),
				with(gp("2025-03-10", "35.00"), func(l *Line) { l.Kind = LineKindComplement })), adult(), "2025-03-11"),
			want: want{pf: "2.00", linePF: []string{"2.00", "0.00"}}},
		{name: "D9′ (D27) no franchise on an auxiliary's complement (travel allowance)",
			in: input(claim(line(CategoryAuxiliary, "2025-03-10", "10.00", 1),
				with(line(CategoryAuxiliary, "2025-03-10", "2.50", 1), func(l *Line) { l.Kind = LineKindComplement })), adult(), "2025-03-11"),
			want: want{fr: "1.00", lineFR: []string{"1.00", "0.00"}}},
	})
}
