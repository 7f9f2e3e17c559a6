package claims

import (
	"errors"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

func TestCheckRights(t *testing.T) {
	e := newEngine(t)
	open := []Period{{From: d("2020-01-01")}}
	adult := Rights{BirthDate: d("1975-01-20"), Open: open, Organism: "CPAM75"}
	with := func(f func(r *Rights)) Rights {
		r := adult
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name     string
		q        RightsQuery
		state    RightsState
		rate     string // "" when none
		tp       TiersPayantAvailability
		exo      []string
		reason   string // a reason code the answer must carry
		regional string
	}{
		{name: "physician, open rights", q: RightsQuery{Rights: adult, Known: true, Category: CategoryPhysician},
			state: RightsOpen, rate: "0.70", tp: TiersPayantPossible},
		{name: "auxiliary", q: RightsQuery{Rights: adult, Known: true, Category: CategoryAuxiliary},
			state: RightsOpen, rate: "0.60", tp: TiersPayantPossible},
		{name: "ALD-related care with an ALD", q: RightsQuery{Known: true, Category: CategoryPhysician, ALDRelated: true,
			Rights: with(func(r *Rights) { r.ALD = open })}, state: RightsOpen, rate: "1.00", tp: TiersPayantPossible, exo: []string{"ALD"}},
		{name: "ALD-related care without an ALD", q: RightsQuery{Rights: adult, Known: true, Category: CategoryPhysician, ALDRelated: true},
			state: RightsOpen, rate: "0.70", tp: TiersPayantPossible, reason: ReasonALDNotRecognised},
		{name: "CSS: no PF", q: RightsQuery{Known: true, Category: CategoryPhysician, Rights: with(func(r *Rights) { r.CSS = open })},
			state: RightsOpen, rate: "0.70", tp: TiersPayantPossible, exo: []string{ReasonExemptCSS}},
		{name: "maternity period", q: RightsQuery{Known: true, Category: CategoryPhysician,
			Rights: with(func(r *Rights) { r.Pregnancies = []Pregnancy{{ExpectedDelivery: d("2025-09-01")}} })},
			state: RightsOpen, rate: "1.00", tp: TiersPayantPossible, exo: []string{"MATERNITY_PERIOD", ReasonExemptMaternity}},
		{name: "régime local", q: RightsQuery{Known: true, Category: CategoryPhysician, Rights: with(func(r *Rights) { r.RegimeLocal = open })},
			state: RightsOpen, rate: "0.70", tp: TiersPayantPossible, exo: []string{"REGIME_LOCAL"}, regional: "0.90"},
		{name: "minor: no franchise", q: RightsQuery{Known: true, Category: CategoryAuxiliary, Rights: with(func(r *Rights) { r.BirthDate = d("2015-01-01") })},
			state: RightsOpen, rate: "0.60", tp: TiersPayantPossible, exo: []string{ReasonExemptMinor}},
		{name: "opposed identifier", q: RightsQuery{Rights: adult, Known: true, Opposed: true, Category: CategoryPhysician},
			state: RightsOpen, rate: "0.70", tp: TiersPayantNotPossible, reason: ReasonCardInOpposition},
		{name: "closed rights, ADRi", q: RightsQuery{Known: true, Category: CategoryPhysician, Rights: with(func(r *Rights) { r.Open = []Period{{From: d("2020-01-01"), To: d("2024-12-31")}} })},
			state: RightsClosed, tp: TiersPayantNotPossible, reason: ReasonRightsClosed},
		{name: "closed rights, card: guaranteed, to recover", q: RightsQuery{Known: true, Category: CategoryPhysician, Identification: IdentificationVitaleCard,
			Rights: with(func(r *Rights) { r.Open = nil })}, state: RightsClosed, rate: "0.70", tp: TiersPayantPossible, reason: ReasonRightsClosedToRecover},
		{name: "unknown beneficiary: cannot tell", q: RightsQuery{Category: CategoryPhysician, Identification: IdentificationVitaleCard},
			state: RightsUnknown, tp: TiersPayantCannotTell},
		{name: "medicine at its rate", q: RightsQuery{Rights: adult, Known: true, Category: CategoryMedicine, ProductRate: decimal.New(65, -2)},
			state: RightsOpen, rate: "0.65", tp: TiersPayantPossible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.NIR, q.CareDate, q.ReceivedAt = validNIR, d("2025-07-10"), d("2025-07-15")
			a, err := e.CheckRights(q)
			if err != nil {
				t.Fatal(err)
			}
			if a.State != tc.state || a.TiersPayant != tc.tp {
				t.Errorf("state %v, tiers payant %v; want %v, %v (reasons %+v)", a.State, a.TiersPayant, tc.state, tc.tp, a.Reasons)
			}
			got := ""
			if a.HasRate {
				got = a.Rate.StringFixed(2)
				if a.RateTrace.Article == "" || a.RateTrace.Rule == "" {
					t.Errorf("rate without its rule: %+v", a.RateTrace)
				}
			}
			if got != tc.rate {
				t.Errorf("rate %q, want %q", got, tc.rate)
			}
			for _, x := range tc.exo {
				if !slices.Contains(a.Exonerations, x) {
					t.Errorf("exonerations %v, want %s", a.Exonerations, x)
				}
			}
			if len(tc.exo) == 0 && len(a.Exonerations) > 0 {
				t.Errorf("exonerations %v, want none", a.Exonerations)
			}
			if tc.reason != "" && !slices.ContainsFunc(a.Reasons, func(r Reason) bool { return r.Code == tc.reason && r.Line == -1 }) {
				t.Errorf("reasons %+v, want %s", a.Reasons, tc.reason)
			}
			if a.RegimeLocalRate != tc.regional {
				t.Errorf("régime local rate %q, want %q", a.RegimeLocalRate, tc.regional)
			}
		})
	}
	_, err := e.CheckRights(RightsQuery{Rights: adult, Known: true, NIR: validNIR, Category: CategoryMedicine, ProductRate: decimal.New(42, -2),
		CareDate: d("2025-07-10"), ReceivedAt: d("2025-07-15")})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "product_rate" {
		t.Errorf("a rate the table refuses: %v", err)
	}
}
