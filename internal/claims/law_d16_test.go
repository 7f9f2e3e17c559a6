package claims

import "testing"

// TestAMEBasketAndLineExonerationsD16 covers RULEBOOK 0.6 D16′
// (docs/rules.md#ame-basket, #line-exoneration, #hospital-stay): the AME
// does not cover 15 % medicines, spa cures or assisted procreation (line
// rejected AME_NOT_COVERED, AMO 0.00, nothing consumed); care related to
// terrorism or to a war pension bears no TM, PF or franchise; during a
// hospital stay only medicines and auxiliary acts lose their franchise.
func TestAMEBasketAndLineExonerationsD16(t *testing.T) {
	t.Parallel()
	ame := func(r Rights) Rights { r.AME = []Period{{From: d("2000-01-01")}}; return r }
	family := func(l Line, f ActFamily) Line { return with(l, func(l *Line) { l.ActFamily = f }) }
	exo := func(l Line, x Exoneration) Line { return with(l, func(l *Line) { l.Exoneration = x }) }
	runExamples(t, []exampleCase{
		{name: "D16′ AME: a 15 % medicine is not covered, the 65 % one is at 100 %",
			in:   input(pharmacy(med("2025-03-10", "10.00", "0.15"), med("2025-03-10", "10.00", "0.65")), ame(adult()), "2025-03-11"),
			want: want{amo: "10.00", fr: "0.00", lineAMO: []string{"0.00", "10.00"}, reasons: []string{ReasonAMENotCovered, ReasonExemptAME}}},
		{name: "D16′ AME: a spa cure is not covered",
			in:   input(claim(family(gp("2025-03-10", "30.00"), ActFamilySpaCure)), ame(adult()), "2025-03-11"),
			want: want{status: StatusRejected, amo: "0.00", pf: "0.00", reasons: []string{ReasonAMENotCovered}}},
		{name: "D16′ AME: assisted procreation is not covered",
			in:   input(claim(family(line(CategoryBiology, "2025-03-10", "40.00", 1), ActFamilyAssistedProcreation)), ame(adult()), "2025-03-11"),
			want: want{status: StatusRejected, amo: "0.00", reasons: []string{ReasonAMENotCovered}}},
		{name: "D16′ AME before the basket exclusions (2011-02-28): a 15 % medicine is covered",
			in:   input(pharmacy(med("2011-02-28", "10.00", "0.15")), ame(adult()), "2011-03-01"),
			want: want{amo: "10.00", noReasons: []string{ReasonAMENotCovered}}},
		{name: "D16′ not AME: a 15 % medicine is at 15 %",
			in:   input(pharmacy(med("2025-03-10", "10.00", "0.15")), adult(), "2025-03-11"),
			want: want{amo: "1.50", fr: "1.00", noReasons: []string{ReasonAMENotCovered}}},
		{name: "D16′ terrorism (L169-2): consultation at 100 %, no PF",
			in:   input(claim(exo(gp("2025-03-10", "30.00"), ExonerationTerrorism)), adult(), "2025-03-11"),
			want: want{amo: "30.00", tm: "0.00", pf: "0.00", reasons: []string{ReasonExemptTerrorism}}},
		{name: "D16′ war pension: medicine at 100 %, no franchise; the unrelated line keeps its own",
			in:   input(pharmacy(exo(med("2025-03-10", "10.00", "0.30"), ExonerationWarPension), med("2025-03-10", "10.00", "0.30")), adult(), "2025-03-11"),
			want: want{amo: "13.00", fr: "1.00", lineAMO: []string{"10.00", "3.00"}, lineFR: []string{"0.00", "1.00"}, reasons: []string{ReasonExemptWarPension}}},
		{name: "D16′ terrorism, hors parcours: no majoration",
			in:   input(claim(exo(with(gp("2025-03-10", "30.00"), func(l *Line) { l.Parcours = ParcoursHors }), ExonerationTerrorism)), adult(), "2025-03-11"),
			want: want{amo: "30.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D16′ hospital stay: auxiliary act, no franchise",
			in:   input(claim(with(line(CategoryAuxiliary, "2025-03-10", "10.00", 1), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{fr: "0.00", reasons: []string{ReasonExemptHospitalStay}}},
		{name: "D16′ hospital stay: pharmacist service keeps its franchise rule (0.00 by decree), no exemption reason",
			in:   input(pharmacy(with(line(CategoryPharmacistService, "2025-03-10", "10.00", 1), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{amo: "7.00", noReasons: []string{ReasonExemptHospitalStay}}},
	})
}
