package claims

import (
	"errors"
	"testing"
)

// TestMedicineBaseD18 covers RULEBOOK 0.6 D18′ (L162-16 II, III, IV and V;
// L162-16-7; docs/rules.md#generic): a TFR group's base is its TFR and a
// refusal keeps it under tiers payant; a generic group's base is limited to
// its highest generic price two years after the first generic price (one
// year for groups published from 2026-09-01) whether or not the generic was
// refused, unless non-substitution is justified; a biosimilar group the same
// from 2026-09-01 with the law's two years; a refusal takes the line out of
// tiers payant only in a generic group whose generic is cheaper.
func TestMedicineBaseD18(t *testing.T) {
	t.Parallel()
	group := func(published string, bio bool, tfr string) func(*Line) {
		return func(l *Line) {
			l.GenericGroup = GenericGroup{Published: d(published), Biosimilar: bio}
			if tfr != "" {
				l.GenericGroup.TFR = eur(tfr)
			}
			l.HighestGenericPrice = eur("10.00")
		}
	}
	refused := func(l *Line) { l.GenericRefused = true }
	pack := func(care string, fs ...func(*Line)) Claim {
		l := med(care, "12.15", "0.65")
		for _, f := range fs {
			f(&l)
		}
		return pharmacy(l)
	}
	day := func(s string) string { return s } // care and receipt on the same day
	limited := want{base: "10.00", amo: "6.50", reasons: []string{ReasonGenericBaseLimit}, noReasons: []string{ReasonGenericRefused}}
	full := want{base: "12.15", amo: "7.90", noReasons: []string{ReasonGenericBaseLimit, ReasonGenericRefused, ReasonTFRBase}}
	runExamples(t, []exampleCase{
		{name: "D18′ TFR group: the base is the TFR 10.00 (L162-16 II)",
			in:   input(pack("2025-04-14", group("2015-01-01", false, "10.00")), adult(), "2025-04-14"),
			want: want{base: "10.00", amo: "6.50", guarantee: GuaranteeGuaranteed, reasons: []string{ReasonTFRBase}, noReasons: []string{ReasonGenericBaseLimit}}},
		{name: "D18′ TFR group, generic refused: the TFR base, and the line stays under tiers payant",
			in:   input(pack("2025-04-14", group("2015-01-01", false, "10.00"), refused), adult(), "2025-04-14"),
			want: want{base: "10.00", amo: "6.50", pro: "6.50", reasons: []string{ReasonTFRBase}, noReasons: []string{ReasonGenericRefused}}},
		{name: "D18′ TFR above the unit price: the unit price stays the base",
			in:   input(pack("2025-04-14", group("2015-01-01", false, "13.00")), adult(), "2025-04-14"),
			want: want{base: "12.15", noReasons: []string{ReasonTFRBase}}},
		{name: "D18′ generic group published 2023-03-01, care the day before the second anniversary: no limit",
			in:   input(pack(day("2025-02-28"), group("2023-03-01", false, "")), adult(), "2025-02-28"),
			want: full},
		{name: "D18′ the same group on its second anniversary: limited to 10.00 without any refusal (L162-16 III)",
			in:   input(pack("2025-03-01", group("2023-03-01", false, "")), adult(), "2025-03-03"),
			want: limited},
		{name: "D18′ limited and refused: the limit and the line out of tiers payant (L162-16-7)",
			in:   input(pack("2025-04-14", group("2015-01-01", false, ""), refused), adult(), "2025-04-14"),
			want: want{base: "10.00", amo: "6.50", pro: "0.00", reasons: []string{ReasonGenericBaseLimit, ReasonGenericRefused}}},
		{name: "D18′ group published 2026-09-01: one year, limited on 2027-09-01",
			in:   input(pack("2027-09-01", group("2026-09-01", false, "")), adult(), "2027-09-01"),
			want: limited},
		{name: "D18′ group published 2026-09-01: not yet on 2027-08-31",
			in:   input(pack("2027-08-31", group("2026-09-01", false, "")), adult(), "2027-08-31"),
			want: full},
		{name: "D18′ group published 2026-08-31 keeps two years: not limited on 2027-09-01",
			in:   input(pack("2027-09-01", group("2026-08-31", false, "")), adult(), "2027-09-01"),
			want: full},
		{name: "D18′ group published 2026-08-31: limited on 2028-08-31",
			in:   input(pack("2028-08-31", group("2026-08-31", false, "")), adult(), "2028-08-31"),
			want: limited},
		{name: "D18′ justified non-substitution (MTE): no limit, the line stays under tiers payant (L162-16 IV)",
			in: input(pack("2025-04-14", group("2015-01-01", false, ""), func(l *Line) { l.NonSubstitution = NonSubstitutionMTE }),
				adult(), "2025-04-14"),
			want: want{base: "12.15", pro: "7.90", noReasons: []string{ReasonGenericBaseLimit, ReasonGenericRefused}}},
		{name: "D18′ generic not cheaper than the originator: no limit, a refusal stays under tiers payant",
			in: input(pack("2025-04-14", group("2015-01-01", false, ""), refused, func(l *Line) { l.HighestGenericPrice = eur("12.15") }),
				adult(), "2025-04-14"),
			want: want{base: "12.15", pro: "7.90", noReasons: []string{ReasonGenericBaseLimit, ReasonGenericRefused}}},
		{name: "D18′ biosimilar group before 2026-09-01: no limit",
			in:   input(pack("2026-08-31", group("2020-01-01", true, "")), adult(), "2026-08-31"),
			want: full},
		{name: "D18′ biosimilar group from 2026-09-01, first biosimilar price 2020: limited (L162-16 V)",
			in:   input(pack("2026-09-01", group("2020-01-01", true, "")), adult(), "2026-09-01"),
			want: limited},
		{name: "D18′ biosimilar published 2025-10-01: two years (the law), not the rulebook's one, so no limit on 2026-10-01",
			in:   input(pack("2026-10-01", group("2025-10-01", true, "")), adult(), "2026-10-01"),
			want: full},
		{name: "D18′ biosimilar published 2025-10-01: limited on 2027-10-01",
			in:   input(pack("2027-10-01", group("2025-10-01", true, "")), adult(), "2027-10-01"),
			want: limited},
		{name: "D18′ biosimilar refused: L162-16-7 concerns generics, the line stays under tiers payant",
			in:   input(pack("2027-10-01", group("2025-10-01", true, ""), refused), adult(), "2027-10-01"),
			want: want{base: "10.00", pro: "6.50", noReasons: []string{ReasonGenericRefused}}},
		{name: "D18′ care before 2020-01-01: no limit of L162-16 III; a refusal still leaves tiers payant",
			in:   input(pack("2019-12-31", group("2015-01-01", false, ""), refused), adult(), "2019-12-31"),
			want: want{base: "12.15", pro: "0.00", reasons: []string{ReasonGenericRefused}, noReasons: []string{ReasonGenericBaseLimit}}},
		{name: "D18′ no group described (first API): the limit only with a refusal",
			in:   input(pack("2025-04-14", func(l *Line) { l.HighestGenericPrice = eur("10.00") }), adult(), "2025-04-14"),
			want: full},
		{name: "D18′ no group described, refused: limited to 10.00 and out of tiers payant (Example 3)",
			in:   input(pack("2025-04-14", func(l *Line) { l.HighestGenericPrice = eur("10.00") }, refused), adult(), "2025-04-14"),
			want: want{base: "10.00", amo: "6.50", pro: "0.00", reasons: []string{ReasonGenericBaseLimit, ReasonGenericRefused}}},
	})
}

// TestMedicineValidationD18: a refusal and a justified non-substitution
// contradict each other, and a TFR is an amount.
func TestMedicineValidationD18(t *testing.T) {
	t.Parallel()
	l := med("2025-04-14", "12.15", "0.65")
	l.GenericRefused = true
	l.NonSubstitution = NonSubstitutionCIF
	l.GenericGroup = GenericGroup{Published: d("2015-01-01"), TFR: eur("-1.00")}
	err := Validate(pharmacy(l), receivedOn("2025-04-14"))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a ValidationError", err)
	}
	for _, field := range []string{"lines[0].generic_refused", "lines[0].generic_group.tfr"} {
		found := false
		for _, f := range ve.Fields {
			found = found || f.Field == field
		}
		if !found {
			t.Errorf("no violation on %s in %+v", field, ve.Fields)
		}
	}
}
