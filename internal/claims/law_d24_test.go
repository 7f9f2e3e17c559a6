package claims

import "testing"

func exo(x Exoneration, l Line) Line { l.Exoneration = x; return l }

// TestExonerationsD24 covers RULEBOOK 0.6 D24 (L160-14, R160-10, R160-17 I,
// R160-18): the line grounds and the beneficiary statuses remove the ticket
// modérateur only, never the PF or the franchise; the 30 % and 15 %
// medicines and their fees keep their rate; a ground whose condition fails
// is priced at the ordinary rate with a reason. Amounts by hand in each
// comment (care 2025-06-10: franchise 1.00 per pack or act, PF 2.00).
func TestExonerationsD24(t *testing.T) {
	t.Parallel()
	const day = "2025-06-10"
	status := func(birth string, k StatusKind, from string) Rights {
		r := rights(birth)
		r.Statuses = []StatusPeriod{{Kind: k, Period: Period{From: d(from)}}}
		return r
	}
	invalid := status("1970-02-01", StatusInvalidityPension, "2020-01-01")
	nurse := func(ls ...Line) Claim { c := claim(ls...); c.Professional.Profession = ProfessionNurse; return c }
	runExamples(t, []exampleCase{
		// 65 % pack 10.00 → 100 %: AMO 10.00, TM 0, franchise 1.00 still
		// due; its fee 1.02 at 100 % too. AMO 11.02.
		{name: "D24 invalidity pensioner: a 65 % pack and its fee at 100 %, the franchise still due",
			in:   input(pharmacy(named("P", med(day, "10.00", "0.65")), fee(day, "1.02", "P")), invalid, day),
			want: want{amo: "11.02", tm: "0.00", fr: "1.00", noReasons: []string{ReasonExonerationKeepsTM}}},
		// R160-18: a 15 % pack keeps 15 %: 10.00 → 1.50, franchise 1.00;
		// its fee 1.02 × 15 % = 0.153 → 0.15. AMO 1.65.
		{name: "D24 invalidity pensioner: a 15 % medicine and its fee keep their rate (R160-18)",
			in:   input(pharmacy(named("P", med(day, "10.00", "0.15")), fee(day, "1.02", "P")), invalid, day),
			want: want{amo: "1.65", fr: "1.00", lineAMO: []string{"1.50", "0.15"}, reasons: []string{ReasonExonerationKeepsTM}}},
		// GP 30.00 → 100 %: AMO 30.00, PF 2.00 due.
		{name: "D24 invalidity pensioner's consultation at 100 %, the PF still due",
			in:   input(claim(gp(day, "30.00")), invalid, day),
			want: want{amo: "30.00", tm: "0.00", pf: "2.00"}},
		{name: "D24 a status outside its period: ordinary rate",
			in:   input(claim(gp(day, "30.00")), status("1970-02-01", StatusInvalidityPension, "2025-07-01"), day),
			want: want{amo: "21.00"}},
		{name: "D24 an AT/MP rentier's family member: 100 % (L160-14 14°)",
			in:   input(claim(gp(day, "30.00")), status("2010-02-01", StatusATRentierDependant, "2020-01-01"), day),
			want: want{amo: "30.00"}},
		// Reversion with invalidity: only from 2026-01-01, from 55.
		{name: "D24 reversion pensioner with an invalidity on 2025-12-31: not yet in R160-10",
			in:   input(claim(gp("2025-12-31", "30.00")), status("1965-02-01", StatusReversionInvalidity, "2025-01-01"), "2025-12-31"),
			want: want{amo: "21.00"}},
		{name: "D24 reversion pensioner with an invalidity, aged 60, on 2026-01-02: 100 %",
			in:   input(claim(gp("2026-01-02", "30.00")), status("1965-02-01", StatusReversionInvalidity, "2025-01-01"), "2026-01-02"),
			want: want{amo: "30.00"}},
		{name: "D24 reversion pensioner with an invalidity aged 54: ordinary rate",
			in:   input(claim(gp("2026-01-02", "30.00")), status("1971-06-01", StatusReversionInvalidity, "2025-01-01"), "2026-01-02"),
			want: want{amo: "21.00"}},
		// Vaccine 12.00 at 65 % → 100 %: 12.00, franchise 1.00; the
		// injection 4.50 by a nurse keeps 60 %: 2.70, franchise 1.00.
		{name: "D24 a vaccine's exoneration covers the vaccine",
			in:   input(pharmacy(exo(ExonerationVaccine, med(day, "12.00", "0.65"))), adult(), day),
			want: want{amo: "12.00", fr: "1.00"}},
		{name: "D24 … not its injection",
			in:   input(nurse(exo(ExonerationVaccine, line(CategoryAuxiliary, day, "4.50", 1))), adult(), day),
			want: want{amo: "2.70", fr: "1.00", reasons: []string{ReasonExonerationNotApplies}}},
		// Contraception: 25 on the care date → 100 %; 26 → ordinary.
		{name: "D24 contraception at 25: 100 %",
			in:   input(pharmacy(exo(ExonerationContraception, med(day, "10.00", "0.65"))), rights("2000-06-11"), day),
			want: want{amo: "10.00", fr: "1.00"}},
		{name: "D24 contraception on the 26th birthday: ordinary rate",
			in:   input(pharmacy(exo(ExonerationContraception, med(day, "10.00", "0.65"))), rights("1999-06-10"), day),
			want: want{amo: "6.50", reasons: []string{ReasonExonerationNotApplies}}},
		// Infertility: a 65 % pack at 100 %; a 30 % pack keeps 30 %
		// (R160-18 covers R160-17 I): 10.00 + 3.00 = 13.00.
		{name: "D24 infertility: 65 % at 100 %, 30 % kept",
			in: input(pharmacy(exo(ExonerationInfertility, med(day, "10.00", "0.65")), exo(ExonerationInfertility, med(day, "10.00", "0.30"))),
				adult(), day),
			want: want{amo: "13.00", fr: "2.00", lineAMO: []string{"10.00", "3.00"}, reasons: []string{ReasonExonerationKeepsTM}}},
		{name: "D24 IVG consultation at 100 %, PF due",
			in:   input(claim(exo(ExonerationIVG, gp(day, "30.00"))), adult(), day),
			want: want{amo: "30.00", pf: "2.00"}},
		{name: "D24 EXONERATION_ALD is ald_related",
			in: input(claim(exo(ExonerationALD, gp(day, "30.00"))), func() Rights {
				r := adult()
				r.ALD = []Period{{From: d("2020-01-01")}}
				return r
			}(), day),
			want: want{amo: "30.00", pf: "2.00"}},
		{name: "D24 EXONERATION_ALD without an ALD: ALD_NOT_RECOGNISED",
			in:   input(claim(exo(ExonerationALD, gp(day, "30.00"))), adult(), day),
			want: want{amo: "21.00", reasons: []string{ReasonALDNotRecognised}}},
		{name: "D24 EXONERATION_MATERNITY is maternity_exam: no PF",
			in:   input(claim(exo(ExonerationMaternity, gp(day, "30.00"))), adult(), day),
			want: want{amo: "30.00", pf: "0.00", reasons: []string{ReasonExemptMaternity}}},
	})
}
