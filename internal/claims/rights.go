package claims

import (
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/franchise"
)

// RightsState says whether rights are open on a care date
// (docs/rules.md#rights-check).
type RightsState int

// Rights states (the proto's RightsState).
const (
	RightsUnspecified RightsState = iota
	RightsOpen                    // PUMa or AME rights open on the care date
	RightsClosed                  // registered, no open rights on the care date
	RightsUnknown                 // cannot tell: the registry does not know the beneficiary
)

// TiersPayantAvailability says whether a claim could be paid under tiers
// payant.
type TiersPayantAvailability int

// Availabilities (the proto's TiersPayantAvailability).
const (
	TiersPayantUnspecified TiersPayantAvailability = iota
	TiersPayantPossible
	TiersPayantNotPossible
	TiersPayantCannotTell // the registry does not know the beneficiary
)

// RightsQuery is what a rights check without billing asks
// (docs/rules.md#rights-check): a claim of one category on a care date.
type RightsQuery struct {
	Rights  Rights // Organism and Debt filled by the caller
	Known   bool   // the registry knows the beneficiary
	Opposed bool   // the identifier is on the opposition list now
	// Identification is the proof the professional would use;
	// IdentificationUnspecified: IdentificationADRi.
	Identification IdentificationKind
	NIR            string
	CareDate       time.Time
	Category       Category
	ProductRate    decimal.Decimal // medicines and medical devices
	ALDRelated     bool
	Nature         InsuranceNature // NatureUnspecified: maladie
	// ReceivedAt is the date of the check, as Input.ReceivedAt.
	ReceivedAt time.Time
}

// RightsAnswer is what the engine would decide of such a claim.
type RightsAnswer struct {
	State           RightsState
	HasRate         bool
	Rate            decimal.Decimal
	RateTrace       Trace
	RegimeLocalRate string // the régime local's global rate, when it adds to Rate
	Exonerations    []string
	Opposed         bool
	TiersPayant     TiersPayantAvailability
	Reasons         []Reason
	Guarantee       Guarantee
	Organism        string
}

// probeID names the one line of the claim a rights check prices.
const probeID = "rights-check"

// probeUnitPrice is the tariff of the line a rights check prices: an amount
// well below every heavy-act threshold, so that the rate is the line's own;
// not a legal number, never shown.
var probeUnitPrice = decimal.New(1000, -2)

// CheckRights prices, through Price and Finish, the one-line claim a
// professional would send for q (one act of the category, in the ordinary
// course of care: a physician's in the parcours de soins, no line
// exoneration but ald_related) with no counters consumed, and reads the
// answer off its decision: the engine's own rate, exemption and tiers-payant
// rules, not a copy of them. It changes nothing. A malformed query (a
// medicine's rate the table refuses) is a *ValidationError on the query's
// own field names.
func (e *Engine) CheckRights(q RightsQuery) (RightsAnswer, error) {
	care := calendar.Day(q.CareDate)
	kind := q.Identification
	if kind == IdentificationUnspecified {
		kind = IdentificationADRi
	}
	nature := q.Nature
	if nature == NatureUnspecified {
		nature = NatureMaladie
	}
	line := Line{ID: probeID, Code: probeID, Category: q.Category, CareDate: care, UnitPrice: probeUnitPrice,
		Quantity: 1, BilledAmount: probeUnitPrice, ALDRelated: q.ALDRelated}
	switch q.Category {
	case CategoryPhysician:
		line.Parcours = ParcoursRespected
	case CategoryMedicine, CategoryMedicalDevice:
		line.ProductRate = q.ProductRate
	}
	c := Claim{ID: probeID, CreatedAt: q.ReceivedAt, NIR: q.NIR,
		Professional:   Professional{ID: probeID, Profession: professionBilling(q.Category)},
		Identification: Identification{Kind: kind, Value: probeID},
		Nature:         nature, Mode: ModeAMOOnly, Lines: []Line{line}}
	priced, err := e.Price(Input{Claim: c, Rights: q.Rights, Opposed: q.Opposed, ReceivedAt: q.ReceivedAt, BeneficiaryUnknown: !q.Known})
	if err != nil {
		return RightsAnswer{}, probeFields(err)
	}
	grants, _ := franchise.Consume(franchise.State{}, priced.Requests)
	d := e.Finish(priced, grants)
	ld := d.Lines[0]
	a := RightsAnswer{Guarantee: d.Guarantee, Organism: d.Organism, Reasons: d.Reasons, Opposed: q.Opposed}
	switch {
	case !q.Known:
		a.State, a.TiersPayant = RightsUnknown, TiersPayantCannotTell
	case anyContains(q.Rights.Open, care) || anyContains(q.Rights.AME, care):
		a.State = RightsOpen
	default:
		a.State = RightsClosed
	}
	if a.TiersPayant == TiersPayantUnspecified {
		a.TiersPayant = TiersPayantNotPossible
		if ld.Status == StatusAccepted && ld.TiersPayant {
			a.TiersPayant = TiersPayantPossible
		}
	}
	seen := map[string]bool{}
	exonerated := func(name string) {
		if !seen[name] {
			seen[name] = true
			a.Exonerations = append(a.Exonerations, name)
		}
	}
	for _, t := range d.Trace {
		switch {
		case t.Amount == AmountRate && ld.Base.Sign() > 0 && q.Known:
			a.HasRate, a.Rate, a.RateTrace = true, ld.Rate, t
			a.RateTrace.Line = -1
			if rateExonerates(t.Rule) {
				exonerated(t.Rule)
			}
		case t.Amount == AmountRegimeLocal && t.Value.Sign() > 0:
			a.RegimeLocalRate = t.Parameter
			exonerated("REGIME_LOCAL")
		}
	}
	for _, r := range d.Reasons {
		if strings.HasPrefix(r.Code, "EXEMPT_") {
			exonerated(r.Code)
		}
	}
	for i := range a.Reasons {
		a.Reasons[i].Line = -1 // the probe's line is no line of the caller's
	}
	return a, nil
}

// rateExonerates reports whether a rate rule removes the ticket modérateur
// for the beneficiary's situation rather than being the category's rate.
func rateExonerates(rule string) bool {
	switch rule {
	case "MATERNITY_PERIOD", "MATERNITY_EXAM", "AME", "ALD":
		return true
	}
	return strings.HasPrefix(rule, "EXEMPT_")
}

// professionBilling is the first profession that bills category c: the
// probe's professional.
func professionBilling(c Category) Profession {
	for p := ProfessionPhysician; p <= ProfessionTransporter; p++ {
		if Bills(p, c) {
			return p
		}
	}
	return ProfessionPhysician
}

// probeFields renames the probe line's fields ("lines[0].product_rate") to
// the query's ("product_rate").
func probeFields(err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &ValidationError{}
	for _, f := range ve.Fields {
		f.Field = strings.TrimPrefix(f.Field, "lines[0].")
		out.Fields = append(out.Fields, f)
	}
	return out
}
