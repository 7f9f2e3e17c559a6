package claims

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/money"
)

// Parameters of the medicine base (docs/rules.md#generic).
const (
	pGenericLimit    = "P-MED-GENERIC-LIMIT"
	pGenericDelay    = "P-MED-GENERIC-DELAY"
	pBiosimilarLimit = "P-MED-BIOSIMILAR-LIMIT"
)

// medicineBase is what L162-16 and L162-16-7 decide for a medicine line: its
// base when a limit applies, and whether a refused substitution takes it out
// of tiers payant.
type medicineBase struct {
	limited bool // base below unit price × quantity
	base    decimal.Decimal
	rule    string
	article string
	paramID string
	param   string
	reason  string // GENERIC_BASE_LIMIT or TFR_BASE
	message string
	// refusalOutOfTP is L162-16-7: a refused generic without a justified
	// non-substitution leaves tiers payant, except in TFR groups and groups
	// whose generics are not cheaper than the originator.
	refusalOutOfTP bool
}

// medicine applies CSS art. L162-16 II, III, IV and V and L162-16-7 to a
// medicine line (docs/rules.md#generic):
//
//   - a TFR group's base is its tarif forfaitaire de responsabilité (II), and
//     III does not apply to it;
//   - in a generic group, the base is limited to the group's highest generic
//     price once P-MED-GENERIC-LIMIT years (P-MED-GENERIC-DELAY for groups
//     published from its first date) have run from the first generic price,
//     unless the prescriber justified non-substitution (IV);
//   - in a biosimilar group, the same with the highest biosimilar price once
//     P-MED-BIOSIMILAR-LIMIT years have run (V);
//   - a line that describes no group (no publication date) keeps the rule of
//     the first API: the base is limited to the highest generic price when
//     the generic was refused, the delay being the sender's to judge.
func (p *pricer) medicine(l *Line, care time.Time) (medicineBase, error) {
	g := l.GenericGroup
	qty := decimal.NewFromInt(int64(l.Quantity))
	justified := l.NonSubstitution != NonSubstitutionNone
	highest := l.HighestGenericPrice
	cheaper := highest.Sign() > 0 && highest.LessThan(l.UnitPrice)
	m := medicineBase{refusalOutOfTP: l.GenericRefused && !justified}
	limit := func(rule, article, paramID, param, msg string) {
		m.limited, m.base = true, money.Cents(highest.Mul(qty))
		m.rule, m.article, m.paramID, m.param = rule, article, paramID, param
		m.reason, m.message = ReasonGenericBaseLimit, msg
	}
	if g.TFR.Sign() > 0 {
		m.refusalOutOfTP = false
		if g.TFR.LessThan(l.UnitPrice) {
			m.limited, m.base = true, money.Cents(g.TFR.Mul(qty))
			m.rule, m.article, m.param = "TFR_BASE", citeTFR, g.TFR.StringFixed(2)
			m.reason, m.message = ReasonTFRBase, "base limited to the group's tarif forfaitaire de responsabilité "+g.TFR.StringFixed(2)
		}
		return m, nil
	}
	if g.Biosimilar {
		// L162-16-7 concerns generic groups only.
		m.refusalOutOfTP = false
	} else if highest.Sign() > 0 && !cheaper {
		m.refusalOutOfTP = false // no generic cheaper than the originator
	}
	if g.Published.IsZero() {
		if l.GenericRefused && cheaper {
			limit("GENERIC_PRICE_LIMIT", citeGenericLimit, "", highest.StringFixed(2),
				"base limited to the group's highest generic price "+highest.StringFixed(2))
		}
		return m, nil
	}
	if justified || !cheaper {
		return m, nil
	}
	published := calendar.Day(g.Published)
	id, article, rule := pGenericLimit, citeGenericLimit, "GENERIC_PRICE_LIMIT"
	if g.Biosimilar {
		id, article, rule = pBiosimilarLimit, citeBiosimilar, "BIOSIMILAR_PRICE_LIMIT"
	}
	delay, ok, err := p.e.table.Lookup(id, care)
	if err != nil || !ok {
		return m, err // no limit on the care date
	}
	if !g.Biosimilar {
		d, ok, err := p.e.table.Lookup(pGenericDelay, published)
		if err != nil {
			return m, err
		}
		if ok {
			delay = d
		}
	}
	from := anniversary(published, delay.Int())
	if care.Before(from) {
		return m, nil
	}
	limit(rule, article, delay.RefID, highest.StringFixed(2)+" from "+from.Format(time.DateOnly),
		"base limited to the group's highest price "+highest.StringFixed(2)+" ("+delay.Text+" years after the first price, from "+from.Format(time.DateOnly)+")")
	return m, nil
}
