package claims

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/money"
)

// TestDateBoundaries covers the day before and the day of every key the
// engine depends on.
func TestDateBoundaries(t *testing.T) {
	t.Parallel()
	runExamples(t, dateBoundaryCases())
}

// dateBoundaryCases are the claims of TestDateBoundaries.
func dateBoundaryCases() []exampleCase {
	dental := func(care string) Line { return line(CategoryDentist, care, "50.00", 1) }
	heavy := func(care string) Line { return line(CategoryPhysician, care, "150.00", 1) }
	return []exampleCase{
		{name: "franchise per pack 0.50 on 2024-03-30 (day before décret 2024-114)",
			in: input(claim(med("2024-03-30", "10.00", "0.65")), adult(), "2024-04-02"), want: want{fr: "0.50"}},
		{name: "franchise per pack 1.00 on 2024-03-31 (reform day)",
			in: input(claim(med("2024-03-31", "10.00", "0.65")), adult(), "2024-04-02"), want: want{fr: "1.00"}},
		{name: "franchise per auxiliary act 0.50 on 2024-03-30",
			in: input(claim(line(CategoryAuxiliary, "2024-03-30", "18.00", 1)), adult(), "2024-04-02"), want: want{fr: "0.50"}},
		{name: "franchise per auxiliary act 1.00 on 2024-03-31",
			in: input(claim(line(CategoryAuxiliary, "2024-03-31", "18.00", 1)), adult(), "2024-04-02"), want: want{fr: "1.00"}},
		{name: "PF 1.00 on 2024-05-14",
			in: input(claim(gp("2024-05-14", "26.50")), adult(), "2024-05-16"), want: want{pf: "1.00", amo: "18.55"}},
		{name: "PF 2.00 on 2024-05-15",
			in: input(claim(gp("2024-05-15", "26.50")), adult(), "2024-05-16"), want: want{pf: "2.00", amo: "18.55"}},
		{name: "transport at 65 % on 2023-07-31",
			in: input(claim(line(CategoryTransport, "2023-07-31", "100.00", 1)), adult(), "2023-08-02"), want: want{amo: "65.00", fr: "2.00"}},
		{name: "transport at 55 % on 2023-08-01",
			in: input(claim(line(CategoryTransport, "2023-08-01", "100.00", 1)), adult(), "2023-08-02"), want: want{amo: "55.00"}},
		{name: "emergency transport on 2022-12-31: transport rate, no franchise",
			in: input(claim(line(CategoryEmergencyTransport, "2022-12-31", "100.00", 1)), adult(), "2023-01-03"), want: want{amo: "65.00", fr: "0.00"}},
		{name: "emergency transport on 2023-01-01: 100 %",
			in: input(claim(line(CategoryEmergencyTransport, "2023-01-01", "100.00", 1)), adult(), "2023-01-03"), want: want{amo: "100.00", fr: "0.00"}},
		{name: "ALD patient, SAMU emergency transport for the ALD on 2022-12-31 (before the 100 % rule): ALD 100 %, no franchise",
			in: input(claim(with(line(CategoryEmergencyTransport, "2022-12-31", "100.00", 1), func(l *Line) { l.ALDRelated = true })),
				func() Rights { r := adult(); r.ALD = []Period{{From: d("2020-01-01")}}; return r }(), "2023-01-03"),
			want: want{amo: "100.00", tm: "0.00", fr: "0.00"}},
		{name: "SAMU emergency transport marked ALD on 2022-12-31 without a recognised ALD: transport rate and a reason",
			in:   input(claim(with(line(CategoryEmergencyTransport, "2022-12-31", "100.00", 1), func(l *Line) { l.ALDRelated = true })), adult(), "2023-01-03"),
			want: want{amo: "65.00", fr: "0.00", reasons: []string{ReasonALDNotRecognised}}},
		{name: "dental care at 70 % on 2023-10-14",
			in: input(claim(dental("2023-10-14")), adult(), "2023-10-16"), want: want{amo: "35.00", tm: "15.00"}},
		{name: "dental care at 60 % on 2023-10-15",
			in: input(claim(dental("2023-10-15")), adult(), "2023-10-16"), want: want{amo: "30.00", tm: "20.00"}},
		{name: "heavy act 150 € on 2018-12-31: flat 18 € replaces the TM",
			in: input(claim(heavy("2018-12-31")), adult(), "2019-01-02"), want: want{amo: "132.00", tm: "18.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "heavy act 150 € on 2019-01-01: flat 24 €",
			in: input(claim(heavy("2019-01-01")), adult(), "2019-01-02"), want: want{amo: "126.00", tm: "24.00", reasons: []string{ReasonHeavyActFlat}}},
		{name: "heavy act by coefficient 60 (tariff 100 €), 2025",
			in:   input(claim(with(line(CategoryDentist, "2025-02-03", "100.00", 1), func(l *Line) { l.Coefficient = eur("60") })), adult(), "2025-02-04"),
			want: want{amo: "76.00", tm: "24.00"}},
		{name: "act at 119.99 €, coefficient 59.5: under both thresholds, ordinary TM",
			in:   input(claim(with(line(CategoryDentist, "2025-02-03", "119.99", 1), func(l *Line) { l.Coefficient = eur("59.5") })), adult(), "2025-02-04"),
			want: want{amo: "71.99", tm: "48.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "heavy act already at 100 % (ALD): no flat amount",
			in: input(claim(with(heavy("2025-02-03"), func(l *Line) { l.ALDRelated = true })),
				func() Rights { r := adult(); r.ALD = []Period{{From: d("2024-01-01")}}; return r }(), "2025-02-04"),
			want: want{amo: "150.00", tm: "0.00", pf: "2.00", noReasons: []string{ReasonHeavyActFlat}}},
		{name: "heavy-act threshold before 2011: 91 € was enough (P-TM-11)",
			in: input(claim(line(CategoryDentist, "2010-12-31", "95.00", 1)), adult(), "2011-01-03"), want: want{tm: "18.00", amo: "77.00"}},
		{name: "heavy-act threshold from 2011: 95 € is not a heavy act",
			in: input(claim(line(CategoryDentist, "2011-01-01", "95.00", 1)), adult(), "2011-01-03"), want: want{tm: "28.50", amo: "66.50"}},
		{name: "heavy act is never applied to a medicine",
			in: input(claim(med("2025-02-03", "150.00", "0.65")), adult(), "2025-02-04"), want: want{amo: "97.50", noReasons: []string{ReasonHeavyActFlat}}},
	}
}

// TestRules covers exemptions, statuses and guarantees not in the worked
// examples.
func TestRules(t *testing.T) {
	t.Parallel()
	runExamples(t, ruleCases())
}

// ruleCases are the claims of TestRules.
func ruleCases() []exampleCase {
	css := adult()
	css.CSS = []Period{{From: d("2025-01-01"), To: d("2025-12-31")}}
	ame := Rights{BirthDate: d("1980-01-01"), AME: []Period{{From: d("2025-01-01")}}}
	closed := adult()
	closed.Open = []Period{{From: d("2000-01-01"), To: d("2025-02-28")}}
	oppositionLater := input(claim(gp("2025-03-10", "30.00")), adult(), "2025-03-11")
	adri := claim(gp("2025-03-10", "30.00"))
	adri.Identification = Identification{Kind: IdentificationADRi, Value: "adri-1"}
	none := claim(gp("2025-03-10", "30.00"))
	none.Identification = Identification{Kind: IdentificationNone}
	maternite := claim(gp("2025-03-10", "30.00"), med("2025-03-10", "10.00", "0.65"))
	maternite.Nature = NatureMaternite
	fiveGP := claim(gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"))
	otherPro := claim(gp("2025-03-10", "30.00"))
	otherPro.Professional.ID = "10000000002"

	return []exampleCase{
		{name: "ALD flag without a recognised ALD: ordinary rate and a reason",
			in:   input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.ALDRelated = true })), adult(), "2025-03-11"),
			want: want{amo: "21.00", pf: "2.00", reasons: []string{ReasonALDNotRecognised}}},
		{name: "ALD expired before the care date: ordinary rate",
			in: input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.ALDRelated = true })),
				func() Rights { r := adult(); r.ALD = []Period{{From: d("2020-01-01"), To: d("2025-03-09")}}; return r }(), "2025-03-11"),
			want: want{amo: "21.00", reasons: []string{ReasonALDNotRecognised}}},
		{name: "CSS beneficiary: AMO unchanged, no PF, TM not in the patient share",
			in:   input(claim(gp("2025-03-10", "30.00")), css, "2025-03-11"),
			want: want{amo: "21.00", tm: "9.00", pf: "0.00", share: "0.00", debt: "0.00", reasons: []string{ReasonExemptCSS}}},
		{name: "CSS beneficiary: no franchise",
			in:   input(pharmacy(med("2025-03-10", "10.00", "0.65")), css, "2025-03-11"),
			want: want{amo: "6.50", fr: "0.00", share: "0.00"}},
		{name: "AME beneficiary without PUMa rights: 100 %, no PF",
			in:   input(claim(gp("2025-03-10", "30.00")), ame, "2025-03-11"),
			want: want{status: StatusAccepted, guarantee: GuaranteeGuaranteed, amo: "30.00", tm: "0.00", pf: "0.00", reasons: []string{ReasonExemptAME}}},
		{name: "physician act during a hospital stay: no PF",
			in:   input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{amo: "21.00", pf: "0.00", reasons: []string{ReasonExemptHospitalStay}}},
		{name: "medicine during a hospital stay: no franchise",
			in:   input(claim(with(med("2025-03-10", "10.00", "0.65"), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{fr: "0.00"}},
		{name: "auxiliary act during a hospital stay: no franchise (L160-13 III 2°)",
			in:   input(claim(with(line(CategoryAuxiliary, "2025-03-10", "18.00", 1), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{amo: "10.80", fr: "0.00", reasons: []string{ReasonExemptHospitalStay}}},
		{name: "transport marked during a hospital stay: franchise still due, L160-13 III 3° excepts emergency transport only",
			in:   input(claim(with(line(CategoryTransport, "2025-03-10", "50.00", 1), func(l *Line) { l.DuringHospitalStay = true })), adult(), "2025-03-11"),
			want: want{amo: "27.50", fr: "4.00", debt: "4.00", noReasons: []string{ReasonExemptHospitalStay}}},
		{name: "minor: no franchise on medicines either",
			in:   input(pharmacy(med("2025-03-10", "10.00", "0.65")), rights("2010-01-01"), "2025-03-11"),
			want: want{fr: "0.00", reasons: []string{ReasonExemptMinor}}},
		{name: "biology act: 60 % and PF due",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "20.00", 1)), adult(), "2025-03-11"),
			want: want{amo: "12.00", pf: "2.00"}},
		{name: "biology act below the PF: PF limited to the AMO amount",
			in:   input(claim(line(CategoryBiology, "2025-03-10", "1.50", 1)), adult(), "2025-03-11"),
			want: want{amo: "0.90", pf: "0.90", reasons: []string{ReasonPFLimitedToAMO}}},
		{name: "midwife act: 70 %, no PF",
			in:   input(claim(line(CategoryMidwife, "2025-03-10", "30.00", 1)), adult(), "2025-03-11"),
			want: want{amo: "21.00", pf: "0.00", fr: "0.00"}},
		{name: "five consultations with the same doctor the same day: four participations",
			in:   input(fiveGP, adult(), "2025-03-11"),
			want: want{pf: "8.00", linePF: []string{"2.00", "2.00", "2.00", "2.00", "0.00"}, reasons: []string{ReasonPFDailyCount}}},
		{name: "four participations already counted with this doctor today: none more",
			in: input(claim(gp("2025-03-10", "30.00")), adult(), "2025-03-11"),
			state: franchise.State{Year: 2025, PFCount: map[franchise.ProDayKey]int{
				{Professional: "10000000001", CareDate: d("2025-03-10")}: 4}},
			want: want{pf: "0.00", reasons: []string{ReasonPFDailyCount}}},
		{name: "four participations counted with another doctor today: PF due",
			in: input(otherPro, adult(), "2025-03-11"),
			state: franchise.State{Year: 2025, PFCount: map[franchise.ProDayKey]int{
				{Professional: "10000000001", CareDate: d("2025-03-10")}: 4}},
			want: want{pf: "2.00"}},
		{name: "three consultations on one line: one participation per act",
			in:   input(claim(line(CategoryPhysician, "2025-03-10", "30.00", 3)), adult(), "2025-03-11"),
			want: want{amo: "63.00", pf: "6.00", noReasons: []string{ReasonPFDailyCount}}},
		{name: "six consultations on one line with the same doctor the same day: four participations",
			// 6 × 18.00 = 108.00 stays below the heavy-act session threshold.
			in:   input(claim(line(CategoryPhysician, "2025-03-10", "18.00", 6)), adult(), "2025-03-11"),
			want: want{amo: "75.60", pf: "8.00", reasons: []string{ReasonPFDailyCount}}},
		{name: "same doctor on two care dates: the count of four restarts on the second date",
			in: input(claim(gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"), gp("2025-03-10", "30.00"),
				gp("2025-03-11", "30.00")), adult(), "2025-03-12"),
			want: want{pf: "10.00", linePF: []string{"2.00", "2.00", "2.00", "2.00", "2.00"}, noReasons: []string{ReasonPFDailyCount}}},
		{name: "five auxiliary acts on each of two care dates: one daily cap per care date",
			in:   input(claim(line(CategoryAuxiliary, "2025-03-10", "18.00", 5), line(CategoryAuxiliary, "2025-03-11", "18.00", 5)), adult(), "2025-03-12"),
			want: want{amo: "108.00", fr: "8.00", lineFR: []string{"4.00", "4.00"}, reasons: []string{ReasonFranchiseDailyCap}}},
		{name: "act at tariff 0.00: AMO 0.00, no participation consumed",
			in:   input(claim(gp("2025-03-10", "0.00")), adult(), "2025-03-11"),
			want: want{amo: "0.00", tm: "0.00", pf: "0.00", debt: "0.00", pro: "0.00"}},
		{name: "medicine pack with AMO 0.59 (0.90 at 65 %): franchise limited to the line's AMO",
			in:   input(pharmacy(med("2025-03-10", "0.90", "0.65")), adult(), "2025-03-11"),
			want: want{amo: "0.59", fr: "0.59", reasons: []string{ReasonFranchiseLimitedToAMO}}},
		{name: "claim billed to maternity insurance: all lines 100 %, no deductions",
			in:   input(maternite, adult(), "2025-03-11"),
			want: want{amo: "40.00", pf: "0.00", fr: "0.00"}},
		{name: "D7 rights closed on the care date, card not opposed: paid and guaranteed, to be recovered, nothing deducted",
			in:   input(claim(gp("2025-03-10", "30.00")), closed, "2025-03-11"),
			want: want{status: StatusAccepted, guarantee: GuaranteeGuaranteed, amo: "21.00", pro: "21.00", pf: "0.00", reasons: []string{ReasonRightsClosedToRecover}}},
		{name: "D7 rights closed on the care date, ADRi proof: line rejected, not guaranteed",
			in:   input(with2(claim(gp("2025-03-10", "30.00")), func(c *Claim) { c.Identification.Kind = IdentificationADRi }), closed, "2025-03-11"),
			want: want{status: StatusRejected, guarantee: GuaranteeNone, amo: "0.00", pro: "0.00", pf: "0.00", reasons: []string{ReasonRightsClosed}}},
		{name: "one line time-barred, one admissible: partial",
			in:   input(claim(gp("2023-01-10", "25.00"), gp("2025-03-10", "30.00")), adult(), "2025-05-15"),
			want: want{status: StatusPartial, amo: "21.00", pro: "21.00", pf: "2.00", reasons: []string{ReasonTimeBarred}}},
		{name: "not opposed card: guaranteed",
			in: oppositionLater, want: want{guarantee: GuaranteeGuaranteed, status: StatusAccepted}},
		{name: "D7 ADRi rights check: priced and paid, not guaranteed (D161-13-2 names only the card and the app)",
			in: input(adri, adult(), "2025-03-11"), want: want{guarantee: GuaranteeNone, status: StatusAccepted, pro: "21.00"}},
		{name: "no proof (FSE dégradée): not guaranteed, still priced and paid",
			in: input(none, adult(), "2025-03-11"), want: want{guarantee: GuaranteeNone, status: StatusAccepted, pro: "21.00"}},
		{name: "excess fee: outside the AMO part, paid by the patient",
			in:   input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) { l.BilledAmount = eur("50.00") })), adult(), "2025-03-11"),
			want: want{amo: "21.00", share: "29.00"}},
		{name: "existing debt: the new balance adds the claim's deductions",
			in:   input(claim(gp("2025-03-10", "30.00")), func() Rights { r := adult(); r.Debt = eur("12.50"); return r }(), "2025-03-11"),
			want: want{debt: "2.00"}},
	}
}

func TestDebtBalance(t *testing.T) {
	t.Parallel()
	r := adult()
	r.Debt = eur("12.50")
	dec, _ := mustAdjudicate(t, newEngine(t), input(claim(gp("2025-03-10", "30.00")), r, "2025-03-11"), franchise.State{})
	eqAmount(t, "debt balance", dec.DebtBalance, "14.50")
}

func TestATMPNotSupported(t *testing.T) {
	t.Parallel()
	c := claim(gp("2025-03-10", "30.00"))
	c.Nature = NatureATMP
	_, _, err := newEngine(t).Adjudicate(input(c, adult(), "2025-03-11"), franchise.State{})
	if !errors.Is(err, ErrNatureNotSupported) {
		t.Fatalf("err = %v, want ErrNatureNotSupported", err)
	}
}

func TestProductRateNotAllowed(t *testing.T) {
	t.Parallel()
	_, err := newEngine(t).Price(input(claim(gp("2025-03-10", "30.00"), med("2025-03-10", "10.00", "0.35")), adult(), "2025-03-11"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "lines[1].product_rate" {
		t.Fatalf("err = %v, want a violation on lines[1].product_rate", err)
	}
}

// D21: pharmacist services (L160-13 III 4°) at 70 % (R160-5 17°, TM 30 %),
// franchise 0.00 (D160-9 fixes no amount); they did not exist before
// 2021-09-01, where the rate has no value.
func TestPharmacistServiceRate(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	d, _, err := e.Adjudicate(input(claim(line(CategoryPharmacistService, "2025-03-10", "10.00", 1)), adult(), "2025-03-11"), franchise.State{})
	if err != nil {
		t.Fatal(err)
	}
	l := d.Lines[0]
	if !l.Rate.Equal(eur("0.70")) || !l.AMO.Equal(eur("7.00")) || !l.TicketModerateur.Equal(eur("3.00")) || !l.Franchise.IsZero() {
		t.Fatalf("D21 pharmacist service 10.00 in 2025: rate %s AMO %s TM %s franchise %s, want 0.70, 7.00, 3.00, 0.00", l.Rate, l.AMO, l.TicketModerateur, l.Franchise)
	}
	if _, err := e.Price(input(claim(line(CategoryPharmacistService, "2021-08-31", "10.00", 1)), adult(), "2021-09-02")); !errors.Is(err, legal.ErrNoValueAt) {
		t.Fatalf("D21 pharmacist service before 2021-09-01: err = %v, want legal.ErrNoValueAt", err)
	}
}

func TestOpposedClaimRequestsNothing(t *testing.T) {
	t.Parallel()
	in := input(pharmacy(med("2025-06-03", "15.00", "0.65"), med("2025-06-03", "8.40", "0.65")), adult(), "2025-06-04")
	in.Opposed = true
	p, err := newEngine(t).Price(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Requests) != 0 {
		t.Fatalf("opposed claim requests %d deductions, want none", len(p.Requests))
	}
	for _, l := range p.Decision.Lines {
		if l.Status != StatusRejected || l.TiersPayant || !l.PayableToProfessional.IsZero() {
			t.Errorf("line %s: status %v, TP %v, payable %s; want rejected, out of TP, 0", l.LineID, l.Status, l.TiersPayant, l.PayableToProfessional)
		}
	}
}

// withFile returns the real table files with one file replaced.
func withFile(t *testing.T, path, content string) *legal.Table {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(legal.Files(), ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := fs.ReadFile(legal.Files(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m[path]; !ok {
		t.Fatalf("%s is not a table file", path)
	}
	m[path] = &fstest.MapFile{Data: []byte(content)}
	tbl, err := legal.LoadFS(m)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// TestDirectDebitThreshold sets the direct-debit threshold
// (docs/rules.md#direct-debit, unset in the real table) and checks that tiers
// payant is refused above it without authorisation. It also gives the
// follow-up of docs/rules.md#ex-6: reimbursed to the patient, 15.21 less the
// franchise 2 × 1.00 = 13.21.
func TestDirectDebitThreshold(t *testing.T) {
	t.Parallel()
	tbl := withFile(t, "tiers_payant/seuil_prelevement.yaml", `id: P-TP-DEBT
description: test threshold
unit: EUR
selected_by: adjudication_date
confidence: L
legal_basis:
  - title: Code de la sécurité sociale, art. L161-36-4 2°
    href: https://www.legifrance.gouv.fr/search/all?query=L161-36-4
values:
  2016-01-28:
    value: "100.00"
    reference:
      - title: test value
        href: https://www.legifrance.gouv.fr/search/all?query=L161-36-4
`)
	e := NewEngine(tbl)
	packs := pharmacy(med("2025-06-03", "15.00", "0.65"), med("2025-06-03", "8.40", "0.65"))
	cases := []struct {
		name       string
		debt       string
		authorised bool
		status     Status
		pro, pat   string
		debtOut    string
	}{
		{"debt 100.00 at the threshold: tiers payant", "100.00", false, StatusAccepted, "15.21", "0.00", "2.00"},
		{"debt 100.01 above the threshold without authorisation: out of tiers payant (Ex. 6 follow-up 13.21)", "100.01", false, StatusRejected, "0.00", "13.21", "0.00"},
		{"debt above the threshold with authorisation: tiers payant", "150.00", true, StatusAccepted, "15.21", "0.00", "2.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := adult()
			r.Debt, r.DirectDebitAuthorised = eur(tc.debt), tc.authorised
			dec, _ := mustAdjudicate(t, e, input(packs, r, "2025-06-04"), franchise.State{})
			if dec.Status != tc.status {
				t.Errorf("status = %v, want %v", dec.Status, tc.status)
			}
			eqAmount(t, "AMO", dec.Totals.AMO, "15.21")
			eqAmount(t, "payable to professional", dec.Totals.PayableToProfessional, tc.pro)
			eqAmount(t, "payable to patient", dec.Totals.PayableToPatient, tc.pat)
			eqAmount(t, "patient debt", dec.Totals.PatientDebt, tc.debtOut)
			eqAmount(t, "franchise", dec.Totals.Franchise, "2.00")
			if got := hasReason(dec, ReasonDirectDebitRequired); got != (tc.status == StatusRejected) {
				t.Errorf("DIRECT_DEBIT_REQUIRED present = %v", got)
			}
		})
	}
}

// TestTraceCoversEveryAmount checks that each line decision amount has a
// trace entry, and that parameter-based entries name their parameter.
func TestTraceCoversEveryAmount(t *testing.T) {
	t.Parallel()
	c := claim(gp("2025-03-10", "30.00"), med("2025-03-10", "10.00", "0.65"), line(CategoryAuxiliary, "2025-03-10", "18.00", 5),
		line(CategoryTransport, "2025-03-10", "50.00", 2), line(CategoryEmergencyTransport, "2025-03-10", "50.00", 1), gp("2023-01-01", "25.00"))
	dec, _ := mustAdjudicate(t, newEngine(t), input(c, adult(), "2025-05-15"), franchise.State{})
	amounts := []string{AmountBase, AmountRate, AmountAMO, AmountTicketModerateur, AmountPF, AmountFranchise, AmountExcess,
		AmountPayableToProfessional, AmountPayableToPatient, AmountPatientShare, AmountPatientDebt}
	for i, l := range dec.Lines {
		seen := map[string]Trace{}
		for _, tr := range dec.Trace {
			if tr.Line == i {
				seen[tr.Amount] = tr
			}
		}
		for _, a := range amounts {
			tr, ok := seen[a]
			if !ok {
				t.Errorf("line %d: no trace for %s", i, a)
				continue
			}
			if tr.Rule == "" || tr.Article == "" {
				t.Errorf("line %d %s: trace without rule or article: %+v", i, a, tr)
			}
		}
		if l.Status == StatusRejected {
			if tr := seen[AmountBase]; tr.Rule != "TIME_BARRED" || tr.ParameterID != "P-LIM-1" {
				t.Errorf("time-barred line %d: base trace %+v, want rule TIME_BARRED and P-LIM-1", i, tr)
			}
			continue
		}
		if tr := seen[AmountRate]; tr.ParameterID == "" && tr.Rule != "ALD" {
			t.Errorf("line %d: rate trace names no parameter: %+v", i, tr)
		}
	}
	var fr Trace
	for _, tr := range dec.Trace {
		if tr.Line == 2 && tr.Amount == AmountFranchise {
			fr = tr
		}
	}
	if fr.Rule != ReasonFranchiseDailyCap || fr.ParameterID != "P-FR-4" || fr.Parameter != "4.00" || !fr.Value.Equal(eur("4.00")) {
		t.Errorf("auxiliary franchise trace = %+v, want the daily cap P-FR-4 4.00", fr)
	}
}

// TestPricedJSONRoundTrip checks that Priced survives the store: Finish on a
// decoded copy gives the same decision.
func TestPricedJSONRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	c := pharmacy(med("2025-04-14", "8.40", "0.65"), with(med("2025-04-14", "12.15", "0.65"), func(l *Line) { l.GenericRefused, l.HighestGenericPrice = true, eur("10.00") }),
		line(CategoryAuxiliary, "2025-04-14", "18.00", 5), gp("2025-04-14", "30.00"))
	p, err := e.Price(input(c, adult(), "2025-04-15"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Priced
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("Priced changed through JSON:\n%s\n%s", b, b2)
	}
	s := franchise.State{Year: 2025, FranchiseYear: eur("48.00")}
	g1, _ := franchise.Consume(s, p.Requests)
	g2, _ := franchise.Consume(s, back.Requests)
	d1, _ := json.Marshal(e.Finish(p, g1))
	d2, _ := json.Marshal(e.Finish(back, g2))
	if string(d1) != string(d2) {
		t.Fatalf("Finish differs after a JSON round trip:\n%s\n%s", d1, d2)
	}
}

// TestFinishDoesNotMutatePriced checks that Finish leaves its input alone, so
// that a replay finishes identically.
func TestFinishDoesNotMutatePriced(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	p, err := e.Price(input(claim(gp("2025-03-10", "30.00")), adult(), "2025-03-11"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(p)
	g, _ := franchise.Consume(franchise.State{}, p.Requests)
	first := e.Finish(p, g)
	after, _ := json.Marshal(p)
	if string(before) != string(after) {
		t.Fatal("Finish modified its Priced input")
	}
	if second := e.Finish(p, g); !reflect.DeepEqual(first, second) {
		t.Fatal("Finish is not deterministic")
	}
}

func TestRound(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"Ex3 pack B 7.8975 rounds up", "7.8975", "7.90"},
		{"Ex3 pack C 2.8405 rounds down", "2.8405", "2.84"},
		{"half cent rounds away from zero", "2.845", "2.85"},
		{"half cent of a cent", "0.005", "0.01"},
		{"negative half rounds away from zero", "-0.005", "-0.01"},
		{"negative below half", "-2.8449", "-2.84"},
		{"already rounded", "21.00", "21.00"},
		{"integer", "21", "21.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := money.Cents(eur(tc.in)); got.StringFixed(2) != tc.want {
				t.Errorf("money.Cents(%s) = %s, want %s", tc.in, got.StringFixed(2), tc.want)
			}
		})
	}
}

func TestAgeOn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, birth, day string
		want             int
	}{
		{"day before the 18th birthday", "2007-10-05", "2025-10-04", 17},
		{"18th birthday", "2007-10-05", "2025-10-05", 18},
		{"1 January test of R160-20: 17 on 2025-01-01", "2007-10-05", "2025-01-01", 17},
		{"born 29 February, 28 February of a common year", "2008-02-29", "2026-02-28", 17},
		{"born 29 February, 1 March of a common year", "2008-02-29", "2026-03-01", 18},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ageOn(d(tc.birth), d(tc.day)); got != tc.want {
				t.Errorf("ageOn = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTimeBarLimit(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, care, want string }{
		{"Ex9 care in Q1 2023: admissible through 2025-04-01", "2023-01-10", "2025-04-01"},
		{"last day of Q1", "2023-03-31", "2025-04-01"},
		{"first day of Q2", "2023-04-02", "2025-07-01"},
		{"Q4 care: next quarter starts the next year", "2023-12-31", "2026-01-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := timeBarLimit(d(tc.care), 2); !got.Equal(d(tc.want)) {
				t.Errorf("timeBarLimit(%s) = %s, want %s", tc.care, got.Format("2006-01-02"), tc.want)
			}
		})
	}
}

func TestMaternityPeriod(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, expected, actual, from, to string }{
		{"Ex10: expected 2025-08-20, delivered 2025-08-15", "2025-08-20", "2025-08-15", "2025-04-20", "2025-08-27"},
		{"no delivery recorded: expected + 12 days", "2025-08-20", "", "2025-04-20", "2025-09-01"},
		{"birth before the period: opens on the birth", "2025-08-20", "2025-04-01", "2025-04-01", "2025-04-13"},
		{"expected 30 June 2025: no 30 February, the period opens on 28 February", "2025-06-30", "", "2025-02-28", "2025-07-12"},
		{"expected 30 June 2024 (leap year): the period opens on 29 February", "2024-06-30", "", "2024-02-29", "2024-07-12"},
		{"expected 31 July 2025: the period opens on 31 March", "2025-07-31", "", "2025-03-31", "2025-08-12"},
		{"expected 31 January 2026: the period opens on 30 September 2025", "2026-01-31", "", "2025-09-30", "2026-02-12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pg := Pregnancy{ExpectedDelivery: d(tc.expected)}
			if tc.actual != "" {
				pg.ActualDelivery = d(tc.actual)
			}
			from, to := maternityPeriod(pg, 4, 12)
			if !from.Equal(d(tc.from)) || !to.Equal(d(tc.to)) {
				t.Errorf("period = %s/%s, want %s/%s", from.Format("2006-01-02"), to.Format("2006-01-02"), tc.from, tc.to)
			}
		})
	}
}

func TestPriceTotalsAreSumsOfLines(t *testing.T) {
	t.Parallel()
	c := pharmacy(med("2025-04-14", "8.40", "0.65"), med("2025-04-14", "12.15", "0.65"), med("2025-04-14", "4.37", "0.30"))
	dec, _ := mustAdjudicate(t, newEngine(t), input(c, adult(), "2025-04-15"), franchise.State{})
	sum := decimal.Zero
	for _, l := range dec.Lines {
		sum = sum.Add(l.AMO)
	}
	if !sum.Equal(dec.Totals.AMO) {
		t.Errorf("AMO total %s != sum of lines %s", dec.Totals.AMO, sum)
	}
	if strings.Contains(dec.Totals.AMO.String(), ".") && len(strings.Split(dec.Totals.AMO.String(), ".")[1]) > 2 {
		t.Errorf("AMO total has more than 2 decimals: %s", dec.Totals.AMO)
	}
}

// TestTimeBarredBeforeTheMedicineRateTable: a medicine dispensed in 2010,
// before the first P-TM-7 set of allowed rates, received in 2025: the line is
// time-barred (L160-11, docs/rules.md#time-bar), not a missing legal
// parameter.
func TestTimeBarredBeforeTheMedicineRateTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		claim Claim
	}{
		{"medicine dispensed 2010-03-10, received 2025-03-11: time-barred", pharmacy(med("2010-03-10", "10.00", "0.65"))},
		{"medicine dispensed 2010-03-10 with a rate never allowed, received 2025-03-11: time-barred", pharmacy(med("2010-03-10", "10.00", "0.35"))},
		{"2010 medicine and a 2025 consultation on one claim: partial, the old line time-barred", claim(med("2010-03-10", "10.00", "0.65"), gp("2025-03-10", "30.00"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dec, _ := mustAdjudicate(t, newEngine(t), input(tc.claim, adult(), "2025-03-11"), franchise.State{})
			if dec.Lines[0].Status != StatusRejected || !hasReason(dec, ReasonTimeBarred) {
				t.Errorf("line 0 status %v, reasons %+v; want rejected TIME_BARRED", dec.Lines[0].Status, dec.Reasons)
			}
			eqAmount(t, "AMO of the time-barred line", dec.Lines[0].AMO, "0.00")
		})
	}
	// The same medicine not time-barred still needs the table: the lookup
	// error is reported, never a guessed rate.
	tbl := withFile(t, "prescription/delai.yaml", `id: P-LIM-1
description: test time bar of 30 years
unit: years
selected_by: receipt_date
confidence: H
legal_basis:
  - title: Code de la sécurité sociale, art. L160-11
    href: https://www.legifrance.gouv.fr/search/all?query=L160-11
values:
  2005-01-01:
    value: "30"
    reference:
      - title: test value
        href: https://www.legifrance.gouv.fr/search/all?query=L160-11
`)
	if _, err := NewEngine(tbl).Price(input(pharmacy(med("2010-03-10", "10.00", "0.65")), adult(), "2025-03-11")); !errors.Is(err, legal.ErrNoValueAt) {
		t.Errorf("medicine of 2010 not time-barred: err = %v, want legal.ErrNoValueAt (P-TM-7)", err)
	}
}

// TestReceivedOnNewYearsDayInParis: the adjudication date is the calendar
// date of the receipt instant in its own location (docs/rules.md#dates). A
// claim received on 1 January 2026 at 00:30 in Paris (31 December 2025, 23:30
// UTC) uses the 2026 counters and caps.
func TestReceivedOnNewYearsDayInParis(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no Europe/Paris zone: %v", err)
	}
	e := newEngine(t)
	full2025 := franchise.State{Year: 2025, PFYear: eur("50.00"), PFYearCount: 25, FranchiseYear: eur("50.00")}
	cases := []struct {
		name     string
		care     string
		received time.Time
		pf       string
		year     int
	}{
		{"care 30 Dec 2025, received 1 Jan 2026 00:30 Paris: 2026 counters, PF 2.00", "2025-12-30", time.Date(2026, 1, 1, 0, 30, 0, 0, paris), "2.00", 2026},
		{"care 1 Jan 2026, received 1 Jan 2026 00:30 Paris: not after the receipt date", "2026-01-01", time.Date(2026, 1, 1, 0, 30, 0, 0, paris), "2.00", 2026},
		{"care 30 Dec 2025, received 31 Dec 2025 23:30 Paris: 2025 counters, cap reached", "2025-12-30", time.Date(2025, 12, 31, 23, 30, 0, 0, paris), "0.00", 2025},
		{"care 30 Dec 2025, received 1 Jan 2026 00:00 UTC (service form): 2026 counters", "2025-12-30", d("2026-01-01"), "2.00", 2026},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := input(claim(gp(tc.care, "30.00")), adult(), "2026-01-01")
			in.ReceivedAt = tc.received
			if err := Validate(in.Claim, in.ReceivedAt); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			dec, _ := mustAdjudicate(t, e, in, full2025)
			if dec.AdjudicatedOn.Year() != tc.year {
				t.Errorf("adjudicated on %s, want a date of %d", dec.AdjudicatedOn.Format(time.DateOnly), tc.year)
			}
			eqAmount(t, "participation forfaitaire", dec.Totals.ParticipationForfaitaire, tc.pf)
		})
	}
}

// with2 returns c changed by f.
func with2(c Claim, f func(*Claim)) Claim {
	f(&c)
	return c
}
