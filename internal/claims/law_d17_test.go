package claims

import "testing"

// TestHeavyActSessionsD17 covers RULEBOOK 0.6 D17′ (R160-16;
// docs/rules.md#heavy-act): the participation is reduced to min(proportional
// TM, P-TM-11) once per session (the claim's lines of one care date), the
// session's tariffs added up to reach P-TM-11-TARIFF; biology,
// anatomo-cyto-pathology, dental prostheses and complements stay
// proportional; an imaging act at the threshold on its own owes nothing and
// is not added to the others.
func TestHeavyActSessionsD17(t *testing.T) {
	t.Parallel()
	fam := func(l Line, f ActFamily) Line { return with(l, func(l *Line) { l.ActFamily = f }) }
	coef := func(l Line, c string) Line { return with(l, func(l *Line) { l.Coefficient = eur(c) }) }
	act := func(care, price string) Line { return line(CategoryPhysician, care, price, 1) }
	ald := adult()
	ald.ALD = []Period{{From: d("2020-01-01")}}
	runExamples(t, []exampleCase{
		{name: "D17′ one act at 150.00: min(45.00, 24.00)",
			in:   input(claim(act("2025-03-10", "150.00")), adult(), "2025-03-11"),
			want: want{amo: "126.00", tm: "24.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ one act at exactly 120.00 (threshold reached): min(36.00, 24.00)",
			in:   input(claim(act("2025-03-10", "120.00")), adult(), "2025-03-11"),
			want: want{amo: "96.00", tm: "24.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ coefficient 60 on a 30.00 act: the proportional 12.00 is lower than the flat, it stays",
			in:   input(claim(coef(line(CategoryDentist, "2025-03-10", "30.00", 1), "60")), adult(), "2025-03-11"),
			want: want{amo: "18.00", tm: "12.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ two acts of one session, 80.00 + 50.00 = 130.00: one 24.00 for the session, first line first",
			in:   input(claim(act("2025-03-10", "80.00"), act("2025-03-10", "50.00")), adult(), "2025-03-11"),
			want: want{amo: "106.00", tm: "24.00", lineTM: []string{"24.00", "0.00"}, reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ the same session in the other order: the same 24.00 in all",
			in:   input(claim(act("2025-03-10", "50.00"), act("2025-03-10", "80.00")), adult(), "2025-03-11"),
			want: want{amo: "106.00", tm: "24.00", lineTM: []string{"15.00", "9.00"}}},
		{name: "D17′ two acts adding up to 119.99: below the threshold, proportional",
			in:   input(claim(act("2025-03-10", "60.00"), act("2025-03-10", "59.99")), adult(), "2025-03-11"),
			want: want{amo: "83.99", tm: "36.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ the same acts on two care dates are two sessions: proportional",
			in:   input(claim(act("2025-03-10", "80.00"), act("2025-03-11", "50.00")), adult(), "2025-03-12"),
			want: want{amo: "91.00", tm: "39.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ one line of two acts at 70.00: the quantity adds up, 24.00 once",
			in:   input(claim(line(CategoryPhysician, "2025-03-10", "70.00", 2)), adult(), "2025-03-11"),
			want: want{amo: "116.00", tm: "24.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ coefficients add up when every act has one: 30 + 30 on 10.00 acts",
			in:   input(claim(coef(line(CategoryAuxiliary, "2025-03-10", "10.00", 1), "30"), coef(line(CategoryAuxiliary, "2025-03-10", "10.00", 1), "30")), adult(), "2025-03-11"),
			want: want{tm: "8.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ a coefficient 30 act with an act without one: no coefficient sum",
			in:   input(claim(coef(line(CategoryAuxiliary, "2025-03-10", "10.00", 1), "30"), coef(line(CategoryAuxiliary, "2025-03-10", "10.00", 1), "30"), line(CategoryAuxiliary, "2025-03-10", "10.00", 1)), adult(), "2025-03-11"),
			want: want{tm: "12.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ biology at 150.00 stays proportional (R160-16 IV)",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "150.00", 1)), adult(), "2025-03-11"),
			want: want{amo: "90.00", tm: "60.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ anatomo-cyto-pathology at 150.00 stays proportional",
			in:   input(claim(fam(act("2025-03-10", "150.00"), ActFamilyPathology)), adult(), "2025-03-11"),
			want: want{amo: "105.00", tm: "45.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ a dental prosthesis at 150.00 stays proportional and is not added to the session",
			in:   input(claim(fam(line(CategoryDentist, "2025-03-10", "150.00", 1), ActFamilyDentalProsthesis), line(CategoryDentist, "2025-03-10", "30.00", 1)), adult(), "2025-03-11"),
			want: want{amo: "108.00", tm: "72.00", lineTM: []string{"60.00", "12.00"}, noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ imaging at 150.00: no participation at all",
			in:   input(claim(fam(act("2025-03-10", "150.00"), ActFamilyImaging)), adult(), "2025-03-11"),
			want: want{amo: "150.00", tm: "0.00", pf: "2.00", reasons: []string{ReasonHeavyActImaging}, noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ imaging at the threshold is not added: the consultation of the session keeps its 9.00",
			in:   input(claim(fam(act("2025-03-10", "150.00"), ActFamilyImaging), act("2025-03-10", "30.00")), adult(), "2025-03-11"),
			want: want{amo: "171.00", tm: "9.00", lineTM: []string{"0.00", "9.00"}, noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ imaging below the threshold is an ordinary act of its session: 100.00 + 50.00 reach it",
			in:   input(claim(fam(act("2025-03-10", "100.00"), ActFamilyImaging), act("2025-03-10", "50.00")), adult(), "2025-03-11"),
			want: want{amo: "126.00", tm: "24.00", lineTM: []string{"24.00", "0.00"}, reasons: []string{ReasonHeavyActFlat}, noReasons: []string{ReasonHeavyActImaging}}},
		{name: "D17′ a complement is not part of the session: it keeps its proportional TM",
			in:   input(claim(act("2025-03-10", "150.00"), with(act("2025-03-10", "20.00"), func(l *Line) { l.Kind = LineKindComplement })), adult(), "2025-03-11"),
			want: want{tm: "30.00", lineTM: []string{"24.00", "6.00"}}},
		{name: "D17′ an ALD act at 100 % counts towards the threshold but takes no share",
			in:   input(claim(with(act("2025-03-10", "100.00"), func(l *Line) { l.ALDRelated = true }), act("2025-03-10", "50.00")), ald, "2025-03-11"),
			want: want{tm: "15.00", lineTM: []string{"0.00", "15.00"}, reasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ before 2006-09-01 there is no heavy-act rule",
			in:   input(claim(act("2006-08-31", "150.00")), adult(), "2006-09-04"),
			want: want{tm: "45.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "D17′ transports are never heavy acts",
			in:   input(claim(line(CategoryTransport, "2025-03-10", "150.00", 1)), adult(), "2025-03-11"),
			want: want{amo: "82.50", noReasons: []string{ReasonHeavyActFlat}}},
	})
}
