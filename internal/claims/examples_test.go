package claims

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

// want lists the expected amounts of a decision; empty strings are not
// checked.
type want struct {
	status    Status
	guarantee Guarantee
	base      string
	amo, tm   string
	pf, fr    string
	pro       string // payable to the professional
	patient   string // payable to the patient
	debt      string // patient debt of the claim
	share     string // patient share
	lineAMO   []string
	lineTM    []string
	linePF    []string
	lineFR    []string
	reasons   []string
	noReasons []string
}

type exampleCase struct {
	name  string
	in    Input
	state franchise.State
	want  want
}

func runExamples(t *testing.T, cases []exampleCase) {
	t.Helper()
	e := newEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dec, _ := mustAdjudicate(t, e, tc.in, tc.state)
			w := tc.want
			if w.status != StatusUnspecified && dec.Status != w.status {
				t.Errorf("status = %v, want %v (reasons %+v)", dec.Status, w.status, dec.Reasons)
			}
			if w.guarantee != GuaranteeUnspecified && dec.Guarantee != w.guarantee {
				t.Errorf("guarantee = %v, want %v", dec.Guarantee, w.guarantee)
			}
			eqAmount(t, "base", dec.Totals.Base, w.base)
			eqAmount(t, "AMO", dec.Totals.AMO, w.amo)
			eqAmount(t, "ticket modérateur", dec.Totals.TicketModerateur, w.tm)
			eqAmount(t, "participation forfaitaire", dec.Totals.ParticipationForfaitaire, w.pf)
			eqAmount(t, "franchise", dec.Totals.Franchise, w.fr)
			eqAmount(t, "payable to professional", dec.Totals.PayableToProfessional, w.pro)
			eqAmount(t, "payable to patient", dec.Totals.PayableToPatient, w.patient)
			eqAmount(t, "patient debt", dec.Totals.PatientDebt, w.debt)
			eqAmount(t, "patient share", dec.Totals.PatientShare, w.share)
			checkLines(t, "AMO", dec, w.lineAMO, func(l LineDecision) decimal.Decimal { return l.AMO })
			checkLines(t, "ticket modérateur", dec, w.lineTM, func(l LineDecision) decimal.Decimal { return l.TicketModerateur })
			checkLines(t, "PF", dec, w.linePF, func(l LineDecision) decimal.Decimal { return l.ParticipationForfaitaire })
			checkLines(t, "franchise", dec, w.lineFR, func(l LineDecision) decimal.Decimal { return l.Franchise })
			for _, code := range w.reasons {
				if !hasReason(dec, code) {
					t.Errorf("reason %s missing from %+v", code, dec.Reasons)
				}
			}
			for _, code := range w.noReasons {
				if hasReason(dec, code) {
					t.Errorf("unexpected reason %s in %+v", code, dec.Reasons)
				}
			}
		})
	}
}

func checkLines(t *testing.T, what string, dec Decision, want []string, get func(LineDecision) decimal.Decimal) {
	t.Helper()
	if want == nil {
		return
	}
	if len(want) != len(dec.Lines) {
		t.Fatalf("%d lines, want %d", len(dec.Lines), len(want))
	}
	for i, w := range want {
		eqAmount(t, what+" of line "+dec.Lines[i].LineID, get(dec.Lines[i]), w)
	}
}

func pharmacy(lines ...Line) Claim {
	c := claim(lines...)
	c.Professional.Profession = ProfessionPharmacist
	return c
}

// TestWorkedExamples runs the ten worked examples of docs/rules.md#examples
// with their variants, to the cent.
func TestWorkedExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, workedExampleCases())
}

// workedExampleCases are the worked examples of docs/rules.md#examples (ex-1
// to ex-10) and their variants.
func workedExampleCases() []exampleCase {
	ald := adult()
	ald.ALD = []Period{{From: d("2020-01-01")}}
	pregnant := adult()
	pregnant.Pregnancies = []Pregnancy{{ExpectedDelivery: d("2025-08-20"), ActualDelivery: d("2025-08-15")}}
	physio := func(care string, qty int) Line { return line(CategoryAuxiliary, care, "18.00", qty) }
	ambulance := func(care string) Line { return line(CategoryTransport, care, "98.60", 2) }
	aldLine := func(l Line) Line { return with(l, func(l *Line) { l.ALDRelated = true }) }
	hors := func(l Line) Line { return with(l, func(l *Line) { l.Parcours = ParcoursHors }) }

	return []exampleCase{
		// Ex. 1
		{name: "Ex1 GP consultation 2025, adult with médecin traitant: AMO 21, TM 9, PF 2 to the debt",
			in: input(claim(gp("2025-03-10", "30.00")), rights("1985-01-01"), "2025-03-11"),
			want: want{status: StatusAccepted, guarantee: GuaranteeGuaranteed, base: "30.00", amo: "21.00", tm: "9.00", pf: "2.00",
				pro: "21.00", debt: "2.00", patient: "0.00", share: "9.00"}},
		// Ex. 2
		{name: "Ex2 GP consultation, child aged 10: PF exempt (under 18 on 1 January)",
			in:   input(claim(gp("2025-03-10", "30.00")), rights("2014-09-01"), "2025-03-11"),
			want: want{status: StatusAccepted, amo: "21.00", tm: "9.00", pf: "0.00", pro: "21.00", debt: "0.00", reasons: []string{ReasonExemptMinor}}},
		{name: "Ex2 variant child aged 4, G + MEG 35.00",
			in:   input(claim(gp("2025-03-10", "35.00")), rights("2020-06-01"), "2025-03-11"),
			want: want{amo: "24.50", tm: "10.50", pf: "0.00", pro: "24.50"}},
		{name: "Ex2 variant child aged 10 without médecin traitant: no majoration under 16",
			in:   input(claim(hors(gp("2025-03-10", "30.00"))), rights("2014-09-01"), "2025-03-11"),
			want: want{amo: "21.00", pf: "0.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "Ex2 variant born 2007-10-05, visit 2025-11-20: 18 on the care date, 17 on 1 January: PF 0",
			in:   input(claim(gp("2025-11-20", "30.00")), rights("2007-10-05"), "2025-11-21"),
			want: want{amo: "21.00", pf: "0.00"}},
		{name: "Ex2 variant born 2007-10-05, hors parcours on 2025-11-20: majoration applies from 16, PF still 0",
			in:   input(claim(hors(gp("2025-11-20", "30.00"))), rights("2007-10-05"), "2025-11-21"),
			want: want{amo: "9.00", tm: "21.00", pf: "0.00", reasons: []string{ReasonHorsParcours}}},
		// Ex. 3
		{name: "Ex3 pharmacy, ALD patient: 3 packs at 65 % and 1 ALD pack at 100 %, franchise 4 × 1.00",
			in: input(pharmacy(med("2025-04-14", "8.40", "0.65"), med("2025-04-14", "12.15", "0.65"), med("2025-04-14", "4.37", "0.65"),
				aldLine(med("2025-04-14", "46.20", "0.65"))), ald, "2025-04-15"),
			want: want{status: StatusAccepted, base: "71.12", amo: "62.40", tm: "8.72", fr: "4.00", pf: "0.00", pro: "62.40", debt: "4.00",
				lineAMO: []string{"5.46", "7.90", "2.84", "46.20"}, lineFR: []string{"1.00", "1.00", "1.00", "1.00"}}},
		{name: "Ex3 variant before 31 Mar 2024 (care 2024-03-30): franchise 4 × 0.50",
			in: input(pharmacy(med("2024-03-30", "8.40", "0.65"), med("2024-03-30", "12.15", "0.65"), med("2024-03-30", "4.37", "0.65"),
				aldLine(med("2024-03-30", "46.20", "0.65"))), ald, "2024-04-02"),
			want: want{amo: "62.40", fr: "2.00", pro: "62.40", debt: "2.00"}},
		{name: "Ex3 variant generic refused on pack B: out of tiers payant, base limited to the highest generic price",
			in: input(pharmacy(med("2025-04-14", "8.40", "0.65"),
				with(med("2025-04-14", "12.15", "0.65"), func(l *Line) { l.GenericRefused, l.HighestGenericPrice = true, eur("10.00") }),
				med("2025-04-14", "4.37", "0.65"), aldLine(med("2025-04-14", "46.20", "0.65"))), ald, "2025-04-15"),
			want: want{status: StatusPartial, base: "68.97", amo: "61.00", tm: "7.97", fr: "4.00", pro: "54.50", patient: "5.50", debt: "3.00",
				lineAMO: []string{"5.46", "6.50", "2.84", "46.20"}, reasons: []string{ReasonGenericRefused}}},
		// Ex. 4
		{name: "Ex4 four physiotherapy acts the same day 2025: franchise 4.00, the daily cap binds exactly",
			in:   input(claim(physio("2025-05-12", 4)), adult(), "2025-05-13"),
			want: want{amo: "43.20", tm: "28.80", fr: "4.00", pro: "43.20", debt: "4.00", noReasons: []string{ReasonFranchiseDailyCap}}},
		{name: "Ex4 four physiotherapy acts as four lines",
			in:   input(claim(physio("2025-05-12", 1), physio("2025-05-12", 1), physio("2025-05-12", 1), physio("2025-05-12", 1)), adult(), "2025-05-13"),
			want: want{amo: "43.20", tm: "28.80", fr: "4.00", lineFR: []string{"1.00", "1.00", "1.00", "1.00"}}},
		{name: "Ex4 variant five acts: franchise capped at the daily 4.00",
			in:   input(claim(physio("2025-05-12", 5)), adult(), "2025-05-13"),
			want: want{amo: "54.00", fr: "4.00", reasons: []string{ReasonFranchiseDailyCap}}},
		{name: "Ex4 variant four acts in 2023: 4 × 0.50 = daily cap 2.00",
			in:   input(claim(physio("2023-05-15", 4)), adult(), "2023-05-16"),
			want: want{amo: "43.20", fr: "2.00"}},
		{name: "Ex4 variant nurse act the same day after four physiotherapy acts: cap across all auxiliaries",
			in:   input(claim(physio("2025-05-12", 4), line(CategoryAuxiliary, "2025-05-12", "10.00", 1)), adult(), "2025-05-13"),
			want: want{amo: "49.20", fr: "4.00", lineFR: []string{"4.00", "0.00"}, reasons: []string{ReasonFranchiseDailyCap}}},
		// Ex. 5
		{name: "Ex5 round-trip ambulance 2025 at 55 %: AMO 108.46, franchise 2 × 4.00 = daily cap 8.00",
			in:   input(claim(ambulance("2025-06-02")), adult(), "2025-06-03"),
			want: want{base: "197.20", amo: "108.46", tm: "88.74", fr: "8.00", pro: "108.46", debt: "8.00"}},
		{name: "Ex5 variant 15 Jul 2023 at 65 %, old franchise 2 × 2.00",
			in:   input(claim(ambulance("2023-07-15")), adult(), "2023-07-17"),
			want: want{amo: "128.18", fr: "4.00"}},
		{name: "Ex5 variant ALD transport 2025: 100 %, franchise still 8.00",
			in:   input(claim(aldLine(ambulance("2025-06-02"))), ald, "2025-06-03"),
			want: want{amo: "197.20", tm: "0.00", fr: "8.00", pro: "197.20"}},
		{name: "Ex5 variant SAMU emergency transport 2025: 100 %, no franchise",
			in:   input(claim(line(CategoryEmergencyTransport, "2025-06-02", "98.60", 2)), adult(), "2025-06-03"),
			want: want{amo: "197.20", tm: "0.00", fr: "0.00", pro: "197.20", debt: "0.00"}},
		// Ex. 6
		{name: "Ex6 card on the opposition list: claim rejected, priced for information, nothing paid or consumed",
			in: func() Input {
				in := input(pharmacy(med("2025-06-03", "15.00", "0.65"), med("2025-06-03", "8.40", "0.65")), adult(), "2025-06-04")
				in.Opposed = true
				return in
			}(),
			want: want{status: StatusRejected, guarantee: GuaranteeNone, amo: "15.21", fr: "0.00", pro: "0.00", patient: "0.00", debt: "0.00",
				share: "23.40", lineAMO: []string{"9.75", "5.46"}, reasons: []string{ReasonCardInOpposition}}},
		// Ex. 7
		{name: "Ex7 hors parcours adult aged 35: 30 %, AMO 9.00, TM 21.00, PF 2.00",
			in:   input(claim(hors(gp("2025-03-10", "30.00"))), rights("1989-07-01"), "2025-03-11"),
			want: want{amo: "9.00", tm: "21.00", pf: "2.00", pro: "9.00", reasons: []string{ReasonHorsParcours}}},
		{name: "Ex7 contrast: same patient seen as an emergency, majoration waived",
			in:   input(claim(with(hors(gp("2025-03-10", "30.00")), func(l *Line) { l.Emergency = true })), rights("1989-07-01"), "2025-03-11"),
			want: want{amo: "21.00", pf: "2.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "Ex7 contrast: away from home (legal exception), majoration waived",
			in:   input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.Parcours = ParcoursException })), rights("1989-07-01"), "2025-03-11"),
			want: want{amo: "21.00", pf: "2.00"}},
		// Ex. 8
		// RULEBOOK 0.6 D9′ corrects Ex. 8: 49.00 EUR of PF in 2025 means at
		// least 25 participations, the 2025 count cap (D160-6).
		{name: "Ex8 (corrected, D9′) GP claim with 25 participations counted in 2025: PF 0.00, annual count reached",
			in:    input(claim(gp("2025-12-01", "30.00")), adult(), "2025-12-02"),
			state: franchise.State{Year: 2025, PFYear: eur("49.00"), PFYearCount: 25, FranchiseYear: eur("49.50")},
			want:  want{amo: "21.00", pf: "0.00", pro: "21.00", debt: "0.00", reasons: []string{ReasonPFAnnualCap}}},
		{name: "Ex8 D9′ 2025: 24 participations counted, the 25th deducted in full",
			in:    input(claim(gp("2025-12-01", "30.00")), adult(), "2025-12-02"),
			state: franchise.State{Year: 2025, PFYear: eur("47.00"), PFYearCount: 24},
			want:  want{amo: "21.00", pf: "2.00", pro: "21.00", debt: "2.00"}},
		{name: "Ex8 D9′ 2024: 48 participations, 49.00 EUR: PF reduced to the 50.00 EUR amount cap",
			in:    input(claim(gp("2024-12-01", "30.00")), adult(), "2024-12-02"),
			state: franchise.State{Year: 2024, PFYear: eur("49.00"), PFYearCount: 48},
			want:  want{amo: "21.00", pf: "1.00", pro: "21.00", debt: "1.00", reasons: []string{ReasonPFAnnualCap}}},
		{name: "Ex8 D9′ 2023: 49 participations, 49.00 EUR: the 50th at 1.00, no amount cap",
			in:    input(claim(gp("2023-12-01", "25.00")), adult(), "2023-12-02"),
			state: franchise.State{Year: 2023, PFYear: eur("49.00"), PFYearCount: 49},
			want:  want{amo: "17.50", pf: "1.00", pro: "17.50", debt: "1.00"}},
		{name: "Ex8 D9′ 2023: 50 participations counted: none more",
			in:    input(claim(gp("2023-12-01", "25.00")), adult(), "2023-12-02"),
			state: franchise.State{Year: 2023, PFYear: eur("50.00"), PFYearCount: 50},
			want:  want{amo: "17.50", pf: "0.00", pro: "17.50", reasons: []string{ReasonPFAnnualCap}}},
		{name: "Ex8 pharmacy claim with the franchise counter at 49.50: 0.50 then 0.00",
			in:    input(pharmacy(med("2025-12-01", "10.00", "0.65"), med("2025-12-01", "10.00", "0.65")), adult(), "2025-12-02"),
			state: franchise.State{Year: 2025, PFYear: eur("50.00"), PFYearCount: 25, FranchiseYear: eur("49.50")},
			want:  want{amo: "13.00", fr: "0.50", pro: "13.00", lineFR: []string{"0.50", "0.00"}, reasons: []string{ReasonFranchiseAnnualCap}}},
		{name: "Ex8 later GP claim in December 2025 with both caps reached: PF 0, professional paid in full",
			in:    input(claim(gp("2025-12-20", "30.00")), adult(), "2025-12-22"),
			state: franchise.State{Year: 2025, PFYear: eur("50.00"), PFYearCount: 25, FranchiseYear: eur("50.00")},
			want:  want{amo: "21.00", pf: "0.00", pro: "21.00"}},
		{name: "Ex8 consultation on 30 Dec 2025 reimbursed 6 Jan 2026: counted against the 2026 cap, PF 2.00",
			in:    input(claim(gp("2025-12-30", "30.00")), adult(), "2026-01-06"),
			state: franchise.State{Year: 2025, PFYear: eur("50.00"), FranchiseYear: eur("50.00")},
			want:  want{amo: "21.00", pf: "2.00", debt: "2.00"}},
		// Ex. 9
		{name: "Ex9 care 10 Jan 2023 received 15 May 2025: time-barred, nothing paid",
			in:   input(claim(gp("2023-01-10", "25.00")), adult(), "2025-05-15"),
			want: want{status: StatusRejected, amo: "0.00", pf: "0.00", pro: "0.00", reasons: []string{ReasonTimeBarred}}},
		{name: "Ex9 care 10 Jan 2023 received 31 Mar 2025: admissible",
			in:   input(claim(gp("2023-01-10", "25.00")), adult(), "2025-03-31"),
			want: want{status: StatusAccepted, amo: "17.50", pf: "1.00", noReasons: []string{ReasonTimeBarred}}},
		{name: "Ex9 care 10 Jan 2023 received 1 Apr 2025: last admissible day (CPC art. 641)",
			in:   input(claim(gp("2023-01-10", "25.00")), adult(), "2025-04-01"),
			want: want{status: StatusAccepted, amo: "17.50", pf: "1.00", noReasons: []string{ReasonTimeBarred}}},
		{name: "Ex9 care 10 Jan 2023 received 2 Apr 2025: time-barred",
			in:   input(claim(gp("2023-01-10", "25.00")), adult(), "2025-04-02"),
			want: want{status: StatusRejected, amo: "0.00", reasons: []string{ReasonTimeBarred}}},
		{name: "Ex9 contrast care 2 Apr 2023 received 15 May 2025: 2023 rate and PF of the care date",
			in:   input(claim(gp("2023-04-02", "25.00")), adult(), "2025-05-15"),
			want: want{status: StatusAccepted, amo: "17.50", tm: "7.50", pf: "1.00", pro: "17.50"}},
		{name: "Ex9 contrast care 2 Apr 2023 received 30 Jun 2025: admissible",
			in:   input(claim(gp("2023-04-02", "25.00")), adult(), "2025-06-30"),
			want: want{status: StatusAccepted, amo: "17.50"}},
		{name: "Ex9 contrast care 2 Apr 2023 received 1 Jul 2025: last admissible day",
			in:   input(claim(gp("2023-04-02", "25.00")), adult(), "2025-07-01"),
			want: want{status: StatusAccepted, amo: "17.50"}},
		{name: "Ex9 contrast care 2 Apr 2023 received 2 Jul 2025: time-barred",
			in:   input(claim(gp("2023-04-02", "25.00")), adult(), "2025-07-02"),
			want: want{status: StatusRejected, reasons: []string{ReasonTimeBarred}}},
		// Ex. 10
		{name: "Ex10 7th month, GP consultation 10 Jun 2025 inside the maternity period: 100 %, no PF",
			in:   input(claim(gp("2025-06-10", "30.00")), pregnant, "2025-06-11"),
			want: want{amo: "30.00", tm: "0.00", pf: "0.00", pro: "30.00", reasons: []string{ReasonExemptMaternity}}},
		{name: "Ex10 7th month, pharmacy the same day: 100 %, no franchise",
			in:   input(pharmacy(med("2025-06-10", "7.20", "0.65"), med("2025-06-10", "3.10", "0.65")), pregnant, "2025-06-11"),
			want: want{amo: "10.30", tm: "0.00", fr: "0.00", pro: "10.30"}},
		{name: "Ex10 contrast 10 Mar 2025 (4th month), ordinary GP visit: normal rules",
			in:   input(claim(gp("2025-03-10", "30.00")), pregnant, "2025-03-11"),
			want: want{amo: "21.00", tm: "9.00", pf: "2.00"}},
		{name: "Ex10 contrast 10 Mar 2025, compulsory prenatal examination: 100 %, no PF",
			in:   input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.MaternityExam = true })), pregnant, "2025-03-11"),
			want: want{amo: "30.00", tm: "0.00", pf: "0.00"}},
		{name: "Ex10 period boundary: 19 Apr 2025 is before the period (expected − 4 months)",
			in:   input(claim(gp("2025-04-19", "30.00")), pregnant, "2025-04-22"),
			want: want{amo: "21.00", pf: "2.00"}},
		{name: "Ex10 period boundary: 20 Apr 2025 starts the period",
			in:   input(claim(gp("2025-04-20", "30.00")), pregnant, "2025-04-22"),
			want: want{amo: "30.00", pf: "0.00"}},
		{name: "Ex10 period boundary: 27 Aug 2025 (actual delivery + 12 days) still inside",
			in:   input(claim(gp("2025-08-27", "30.00")), pregnant, "2025-08-28"),
			want: want{amo: "30.00", pf: "0.00"}},
		{name: "Ex10 period boundary: 28 Aug 2025 outside",
			in:   input(claim(gp("2025-08-28", "30.00")), pregnant, "2025-08-29"),
			want: want{amo: "21.00", pf: "2.00"}},
	}
}
