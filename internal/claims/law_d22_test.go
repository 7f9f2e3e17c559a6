package claims

import (
	"errors"
	"strings"
	"testing"
)

// Lines of the real invoices of issue 15 (RULEBOOK 0.6 D22, D23, D26, D27).
func fee(care, price, pack string) Line {
	l := line(CategoryDispensingFee, care, price, 1)
	l.AttachedTo = pack
	return l
}

func device(care, price, rate string) Line {
	l := line(CategoryMedicalDevice, care, price, 1)
	l.ProductRate = eur(rate)
	return l
}

func named(id string, l Line) Line { l.ID = id; return l }

func specialty(code string, l Line) Line { l.SpecialtyCode = code; return l }

func dentist(lines ...Line) Claim {
	c := claim(lines...)
	c.Professional.Profession = ProfessionDentist
	return c
}

func nurseRound(lines ...Line) Claim {
	c := claim(lines...)
	c.Professional.Profession = ProfessionNurse
	return c
}

// TestRealInvoicesD22 prices whole invoices to the cent; each is computed by
// hand in its comment (rounding: half away from zero, at the cent, per line).
// Care and receipt on 2025-06-10: medicine franchise 1.00 per pack (P-FR-1),
// auxiliary franchise 1.00 per act with a daily cap of 4.00 (P-FR-2, P-FR-4).
func TestRealInvoicesD22(t *testing.T) {
	t.Parallel()
	const day = "2025-06-10"
	aldRights := adult()
	aldRights.ALD = []Period{{From: d("2020-01-01")}}
	ame := Rights{BirthDate: d("1985-06-15"), AME: []Period{{From: d("2024-01-01")}}, Organism: "CPAM-75"}
	ame.Debt = adult().Debt
	five := func(same bool) []Line {
		var ls []Line
		for i, code := range []string{"60001", "60002", "60003", "60004", "60005"} {
			if same && i == 4 {
				code = "60004" // a second pack of the fourth specialty
			}
			ls = append(ls, specialty(code, named("M"+code+string(rune('a'+i)), med(day, "5.00", "0.65"))))
		}
		complex := line(CategoryDispensingFee, day, "1.02", 1)
		complex.FeeKind = FeeKindComplexPrescription
		return append(ls, named("FEE", complex))
	}
	runExamples(t, []exampleCase{
		// L1 pack 12.15 × 65 % = 7.8975 → 7.90, TM 4.25, franchise 1.00.
		// L2 its fee 1.02 × 65 % (follows L1) = 0.663 → 0.66, TM 0.36.
		// L3 pack 2.00 × 30 % = 0.60, TM 1.40; franchise limited by pack + fee
		//    AMO = 0.60 + 0.31 = 0.91 (D160-9 a), not 0.60.
		// L4 its fee 1.02 × 30 % = 0.306 → 0.31, TM 0.71.
		// L5 device 15.00 × 60 % = 9.00, TM 6.00, no franchise.
		// L6 prescription fee 0.51 × 60 % (P-TM-FEE) = 0.306 → 0.31, TM 0.20.
		// Base 31.70, AMO 18.78, TM 12.92, franchise 1.91 (debt), paid 18.78.
		{name: "D22 pharmacy invoice of 6 lines: two packs with their fees, a device, a prescription fee",
			in: input(pharmacy(named("L1", med(day, "12.15", "0.65")), fee(day, "1.02", "L1"),
				named("L3", med(day, "2.00", "0.30")), fee(day, "1.02", "L3"),
				device(day, "15.00", "0.60"), line(CategoryDispensingFee, day, "0.51", 1)), adult(), day),
			want: want{status: StatusAccepted, guarantee: GuaranteeGuaranteed, base: "31.70", amo: "18.78", tm: "12.92", pf: "0.00",
				fr: "1.91", pro: "18.78", debt: "1.91", share: "12.92",
				lineAMO: []string{"7.90", "0.66", "0.60", "0.31", "9.00", "0.31"},
				lineTM:  []string{"4.25", "0.36", "1.40", "0.71", "6.00", "0.20"},
				lineFR:  []string{"1.00", "0.00", "0.91", "0.00", "0.00", "0.00"},
				linePF:  []string{"0", "0", "0", "0", "0", "0"}}},
		// Pack 0.50 × 65 % = 0.325 → 0.33 alone; with its fee 0.66 the
		// franchise limit is 0.99: franchise 0.99 (it would be 0.33).
		{name: "D22 a cheap pack's franchise is limited by the pack and its fee together (D160-9 a)",
			in:   input(pharmacy(named("P", med(day, "0.50", "0.65")), fee(day, "1.02", "P")), adult(), day),
			want: want{amo: "0.99", fr: "0.99", lineFR: []string{"0.99", "0.00"}, reasons: []string{ReasonFranchiseLimitedToAMO}}},
		// Five packs of five specialties, 5.00 × 65 % = 3.25 each (16.25),
		// franchise 1.00 each; the complex-prescription fee 1.02 at 100 %.
		// AMO 17.27, franchise 5.00.
		{name: "D22 complex prescription: five different specialties, the fee at 100 % (R160-7)",
			in:   input(pharmacy(five(false)...), adult(), day),
			want: want{base: "26.02", amo: "17.27", fr: "5.00", lineAMO: []string{"3.25", "3.25", "3.25", "3.25", "3.25", "1.02"}, noReasons: []string{ReasonFeeComplexNotMet}}},
		// Two packs of one specialty: 4 different, fewer than 5: the fee at
		// 60 %, 1.02 × 0.60 = 0.612 → 0.61. AMO 16.25 + 0.61 = 16.86.
		{name: "D22 complex prescription with a specialty twice: four different, ordinary fee rate",
			in:   input(pharmacy(five(true)...), adult(), day),
			want: want{amo: "16.86", lineAMO: []string{"3.25", "3.25", "3.25", "3.25", "3.25", "0.61"}, reasons: []string{ReasonFeeComplexNotMet}}},
		// ALD pack at 100 %: 12.15, its fee follows at 100 %: 1.02. No
		// franchise exemption for ALD: 1.00.
		{name: "D22 an ALD pack's fee follows the pack at 100 %",
			in: input(pharmacy(named("A", with(med(day, "12.15", "0.65"), func(l *Line) { l.ALDRelated = true })), fee(day, "1.02", "A")),
				aldRights, day),
			want: want{amo: "13.17", tm: "0.00", fr: "1.00", lineAMO: []string{"12.15", "1.02"}}},
		// A costly irreplaceable medicine at 100 % (R160-8): 250.00; the
		// prescription fee 0.51 at 100 % too. AMO 250.51, franchise 1.00.
		{name: "D22 a prescription fee with a medicine at 100 % is at 100 % (R160-8)",
			in:   input(pharmacy(med(day, "250.00", "1.00"), line(CategoryDispensingFee, day, "0.51", 1)), adult(), day),
			want: want{amo: "250.51", tm: "0.00", fr: "1.00"}},
		// AME: the 65 % pack at 100 % (AMO 8.00, no franchise) and its fee at
		// 100 % (1.02); the 15 % pack is outside the basket, and its fee with
		// it. AMO 9.02, franchise 0.
		{name: "D22 an AME patient's pharmacy invoice: 15 % pack and its fee refused, the rest at 100 % without franchise",
			in: input(pharmacy(named("A", med(day, "8.00", "0.65")), fee(day, "1.02", "A"),
				named("B", med(day, "4.00", "0.15")), fee(day, "1.02", "B")), ame, day),
			want: want{status: StatusPartial, amo: "9.02", fr: "0.00", lineAMO: []string{"8.00", "1.02", "0.00", "0.00"},
				reasons: []string{ReasonAMENotCovered, ReasonFeePackRejected, ReasonExemptAME}}},
		// D23: a wheelchair at 100 %: 500.00, no PF, no franchise.
		{name: "D23 a device at 100 % (wheelchair): no PF, no franchise",
			in:   input(pharmacy(device(day, "500.00", "1.00")), adult(), day),
			want: want{amo: "500.00", tm: "0.00", pf: "0.00", fr: "0.00"}},
		// D23 before 2011-05-02: 65 %. 10.00 → 6.50 (received within the
		// time bar is impossible so long ago: checked on the rate alone in
		// TestDeviceRatesD23).
		// D26: a listed dental act 30.00 at 70 % = 21.00 by a dentist; an
		// unlisted one 30.00 at 60 % = 18.00. Dental care bears no PF.
		{name: "D26 a dental act of the arrêté's list stays at 70 %, an unlisted one at 60 %",
			in: input(dentist(with(line(CategoryDentist, day, "30.00", 1), func(l *Line) { l.ActFamily = ActFamilyDentalListed }),
				line(CategoryDentist, day, "30.00", 1)), adult(), day),
			want: want{amo: "39.00", lineAMO: []string{"21.00", "18.00"}, pf: "0.00", fr: "0.00"}},
		// D26: before 2023-10-15 a listed act takes P-TM-5's 70 %, as every
		// dental act: 21.00.
		{name: "D26 a listed dental act on 2023-10-14: P-TM-5",
			in:   input(dentist(with(line(CategoryDentist, "2023-10-14", "30.00", 1), func(l *Line) { l.ActFamily = ActFamilyDentalListed })), adult(), "2023-10-20"),
			want: want{amo: "21.00"}},
		// D26: M'T dents exam 30.00 on 2025-03-31 at 100 % = 30.00.
		{name: "D26 M'T dents exam on 2025-03-31: 100 %",
			in:   input(dentist(with(line(CategoryDentist, "2025-03-31", "30.00", 1), func(l *Line) { l.ActFamily = ActFamilyDentalPrevention })), adult(), "2025-03-31"),
			want: want{amo: "30.00", tm: "0.00"}},
		// D26: the same on 2025-04-01: the ordinary 60 %, 18.00.
		{name: "D26 M'T dents exam on 2025-04-01: the ordinary dental rate",
			in:   input(dentist(with(line(CategoryDentist, "2025-04-01", "30.00", 1), func(l *Line) { l.ActFamily = ActFamilyDentalPrevention })), adult(), "2025-04-01"),
			want: want{amo: "18.00", tm: "12.00"}},
		// D27: a nurse's round: one act 6.30 × 60 % = 3.78 (franchise 1.00),
		// a travel allowance IFD 2.75 × 60 % = 1.65 and a night majoration
		// 9.15 × 60 % = 5.49, complements without franchise. AMO 10.92.
		{name: "D27 a nurse's round with a travel allowance and a night majoration",
			in: input(nurseRound(line(CategoryAuxiliary, day, "6.30", 1),
				with(line(CategoryAuxiliary, day, "2.75", 1), func(l *Line) { l.Kind = LineKindComplement }),
				with(line(CategoryAuxiliary, day, "9.15", 1), func(l *Line) { l.Kind = LineKindComplement })), adult(), day),
			want: want{base: "18.20", amo: "10.92", tm: "7.28", fr: "1.00", lineFR: []string{"1.00", "0.00", "0.00"}}},
	})
}

// TestDeviceRatesD23: a device's rate is one of P-TM-10's on its care date.
func TestDeviceRatesD23(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	for _, tc := range []struct {
		care, rate string
		ok         bool
	}{
		{"2011-05-01", "0.65", true}, {"2011-05-01", "0.60", false},
		{"2011-05-02", "0.60", true}, {"2011-05-02", "0.65", false},
		{"2025-06-10", "1.00", true}, {"2025-06-10", "0.70", false},
	} {
		in := input(pharmacy(device(tc.care, "10.00", tc.rate)), adult(), tc.care)
		_, err := e.Price(in)
		var ve *ValidationError
		if tc.ok != (err == nil || !errors.As(err, &ve)) {
			t.Errorf("device at %s on %s: %v", tc.rate, tc.care, err)
		}
	}
}

// TestFeeValidationD22: a fee's pack is a medicine line of the claim, with
// one fee at most; the fee fields belong to fees.
func TestFeeValidationD22(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	const day = "2025-06-10"
	complex := line(CategoryDispensingFee, day, "1.02", 1)
	complex.FeeKind = FeeKindComplexPrescription
	complex.AttachedTo = "M"
	for _, tc := range []struct {
		name  string
		lines []Line
		field string
	}{
		{"attached to nothing", []Line{fee(day, "1.02", "nope")}, "lines[0].attached_to"},
		{"attached to a device", []Line{named("D", device(day, "5.00", "0.60")), fee(day, "1.02", "D")}, "lines[1].attached_to"},
		{"two fees for one pack", []Line{named("M", med(day, "5.00", "0.65")), fee(day, "1.02", "M"), fee(day, "1.02", "M")}, "lines[2].attached_to"},
		{"attached_to on a pack", []Line{named("M", med(day, "5.00", "0.65")), with(med(day, "5.00", "0.65"), func(l *Line) { l.AttachedTo = "M" })}, "lines[1].attached_to"},
		{"fee kind on a pack", []Line{with(med(day, "5.00", "0.65"), func(l *Line) { l.FeeKind = FeeKindComplexPrescription })}, "lines[0].fee_kind"},
		{"a complex fee attached to a pack", []Line{named("M", med(day, "5.00", "0.65")), complex}, "lines[1].fee_kind"},
		{"specialty code on a fee", []Line{with(fee(day, "1.02", ""), func(l *Line) { l.SpecialtyCode = "1" })}, "lines[0].specialty_code"},
		{"a device without its rate", []Line{line(CategoryMedicalDevice, day, "5.00", 1)}, "lines[0].product_rate"},
	} {
		_, err := e.Price(input(pharmacy(tc.lines...), adult(), day))
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Error(), tc.field) {
			t.Errorf("%s: %v, want a violation of %s", tc.name, err, tc.field)
		}
	}
}
