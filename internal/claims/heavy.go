package claims

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/money"
)

// Heavy acts (CSS art. R160-16; docs/rules.md#heavy-act).
//
// A session is the acts of one professional for one patient on one care
// date: within a claim, the lines of a care date (a claim has one
// professional and one patient). Its acts' tariffs are added up to reach
// P-TM-11-TARIFF (and their coefficients to reach P-TM-11-COEF when every
// act has one); an act at either threshold on its own makes the session
// heavy too. A heavy session owes one participation of at most P-TM-11 in
// all: each of its lines below 100 % keeps the smaller of its proportional
// ticket modérateur and what is left of the flat amount, in line order, so
// the session's total is min(Σ proportional TM, P-TM-11) whatever the order
// and nothing changes when the proportional total is already lower.
//
// An imaging act at either threshold on its own (R160-16 II 1°: no
// cumulation) owes no participation at all and stays out of the session; an
// imaging act below them is an ordinary act of its session. Biology,
// anatomo-cyto-pathology and dental prostheses (R160-16 IV), complements,
// medicines, transports and pharmacist services are never part of one.

// heavyLine is what the session pass decided for one line.
type heavyLine struct {
	session int         // index in pricer.sessions, −1 when none
	imaging bool        // imaging act at the threshold: no participation
	param   legal.Value // the threshold met (imaging) or the flat amount (session)
}

// heavySession is a heavy session: the flat amount and what is left of it.
type heavySession struct {
	flat      legal.Value
	remaining decimal.Decimal
}

// heavyEligible reports whether a line is an act R160-16 can reduce.
func heavyEligible(l *Line) bool {
	switch l.Category {
	case CategoryPhysician, CategoryMidwife, CategoryDentist, CategoryAuxiliary:
	default:
		return false // biology (IV), medicines, transports, pharmacist services
	}
	if l.Kind == LineKindComplement {
		return false
	}
	return l.ActFamily != ActFamilyPathology && l.ActFamily != ActFamilyDentalProsthesis
}

// heavySessions groups the claim's eligible lines by care date and decides
// which sessions are heavy and which imaging acts owe nothing. It runs before
// the lines are priced; rejected lines keep their place in the sum (their
// tariff was billed in the session) but never take a share of the flat.
func (p *pricer) heavySessions() error {
	lines := p.in.Claim.Lines
	p.heavy = p.heavy[:0]
	type acc struct {
		tariff, coef decimal.Decimal
		allCoef, one bool               // every act has a coefficient; one act reaches a threshold alone
		threshold    [2]decimal.Decimal // P-TM-11-TARIFF, P-TM-11-COEF
		flat         legal.Value
		members      []int
	}
	var byDate map[time.Time]*acc
	for i := range lines {
		p.heavy = append(p.heavy, heavyLine{session: -1})
		l := &lines[i]
		if !heavyEligible(l) {
			continue
		}
		care := calendar.Day(l.CareDate)
		tariff, ok, err := p.e.table.Lookup(pHeavyTariff, care)
		if err != nil {
			return err
		}
		if !ok {
			continue // the rule did not exist yet (before 2006-09-01)
		}
		coef, err := p.e.table.At(pHeavyCoef, care)
		if err != nil {
			return err
		}
		byTariff := !l.UnitPrice.LessThan(tariff.Decimal)
		byCoef := l.Coefficient.Sign() > 0 && !l.Coefficient.LessThan(coef.Decimal)
		if l.ActFamily == ActFamilyImaging && (byTariff || byCoef) {
			p.heavy[i].imaging = true
			p.heavy[i].param = tariff
			if !byTariff {
				p.heavy[i].param = coef
			}
			continue
		}
		if byDate == nil {
			byDate = make(map[time.Time]*acc)
		}
		a := byDate[care]
		if a == nil {
			flat, err := p.e.table.At(pHeavyFlat, care)
			if err != nil {
				return err
			}
			a = &acc{tariff: decimal.Zero, coef: decimal.Zero, allCoef: true, flat: flat,
				threshold: [2]decimal.Decimal{tariff.Decimal, coef.Decimal}}
			byDate[care] = a
		}
		qty := decimal.NewFromInt(int64(l.Quantity))
		a.tariff = a.tariff.Add(l.UnitPrice.Mul(qty))
		if l.Coefficient.Sign() > 0 {
			a.coef = a.coef.Add(l.Coefficient.Mul(qty))
		} else {
			a.allCoef = false
		}
		a.one = a.one || byTariff || byCoef
		a.members = append(a.members, i)
	}
	p.sessions = p.sessions[:0]
	// Sessions are numbered in the order of their first line, so that the
	// result does not depend on the map's order.
	for i := range lines {
		a := byDate[calendar.Day(lines[i].CareDate)]
		if a == nil || a.members[0] != i {
			continue
		}
		heavy := a.one || !a.tariff.LessThan(a.threshold[0]) || (a.allCoef && !a.coef.LessThan(a.threshold[1]))
		if !heavy {
			continue
		}
		for _, m := range a.members {
			p.heavy[m].session = len(p.sessions)
			p.heavy[m].param = a.flat
		}
		p.sessions = append(p.sessions, heavySession{flat: a.flat, remaining: a.flat.Decimal})
	}
	return nil
}

// heavyTM applies the session pass to line i priced at rate: it returns the
// line's ticket modérateur and true when R160-16 decides it, after taking
// the line's share of its session's flat amount.
func (p *pricer) heavyTM(i int, base, rate decimal.Decimal) (decimal.Decimal, bool) {
	if !rate.LessThan(p.e.full) || i >= len(p.heavy) {
		return decimal.Zero, false // at 100 % there is no participation to reduce
	}
	h := p.heavy[i]
	if h.imaging {
		return decimal.Zero, true
	}
	if h.session < 0 {
		return decimal.Zero, false
	}
	s := &p.sessions[h.session]
	prop := base.Sub(money.Cents(base.Mul(rate)))
	tm := decimal.Min(prop, s.remaining)
	s.remaining = s.remaining.Sub(tm)
	return tm, true
}
