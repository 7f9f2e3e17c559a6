package organism

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/money"
)

// LineShare is what the AMC part of one claim line is computed from.
type LineShare struct {
	LineID           string
	TiersPayant      bool
	TicketModerateur decimal.Decimal
	PatientShare     decimal.Decimal // what the patient pays at the counter before the AMC part
}

// AMCLine is the complementary amount the organism pays the professional for
// one line, as the holder of the AMC delegation (L161-36-2).
type AMCLine struct {
	LineID         string
	Payer          string
	ContractID     string
	Rate           decimal.Decimal
	Amount         decimal.Decimal
	CeilingApplied bool
}

// AMCLines returns the complementary part of a claim whose lines are given,
// for a beneficiary holding contract, on day: nil (and false) when the
// organism holds no delegation for that contract in a convention valid that
// day that delegates PAY_AMC. The part of a line is the contract's rate times
// the ticket modérateur the patient would pay there (never more than what the
// patient pays), limited by the ceiling, rounded to the cent half away from
// zero (docs/rules.md#rounding). Lines out of tiers payant get nothing
// (docs/rules.md#amc-part).
func (o Organism) AMCLines(contract string, day time.Time, lines []LineShare) ([]AMCLine, bool) {
	if contract == "" || o.Permits(OperationPayAMC, day) != nil {
		return nil, false
	}
	c, ok := o.ConventionOn(day)
	if !ok {
		return nil, false
	}
	var del *AMCDelegation
	for i := range c.AMC {
		if c.AMC[i].ContractID == contract {
			del = &c.AMC[i]
		}
	}
	if del == nil {
		return nil, false
	}
	out := make([]AMCLine, 0, len(lines))
	for _, l := range lines {
		if !l.TiersPayant {
			continue
		}
		tm := decimal.Min(l.TicketModerateur, l.PatientShare)
		amt := money.Cents(tm.Mul(del.Rate))
		line := AMCLine{LineID: l.LineID, Payer: o.Code, ContractID: contract, Rate: del.Rate, Amount: amt}
		if del.Ceiling.IsPositive() && amt.GreaterThan(del.Ceiling) {
			line.Amount, line.CeilingApplied = del.Ceiling, true
		}
		out = append(out, line)
	}
	return out, true
}

// Span is a period of days, both ends included; a zero To is open-ended.
type Span struct{ From, To time.Time }

// Remises is the remises de gestion of one year (R160-26 III 4°).
type Remises struct {
	Beneficiaries    int
	BeneficiaryYears decimal.Decimal // 4 decimals
	Amount           decimal.Decimal // cents
}

// RemisesFor computes the remises de gestion due to the organism for year:
// each beneficiary counts for the share of the year it was managed (days
// managed / days in the year), each day at the amount per beneficiary of the
// rule in force that day. spans holds, per beneficiary, its periods of
// attachment to the organism.
func (o Organism) RemisesFor(year int, spans [][]Span) Remises {
	first := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
	daysInYear := decimal.NewFromInt(int64(last.Sub(first).Hours()/24) + 1)
	rules := make([]RemiseRule, 0)
	for _, c := range o.Conventions {
		rules = append(rules, c.Remises...)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].From.Before(rules[j].From) })
	amountOn := func(from, to time.Time) decimal.Decimal { // Σ amount per day over [from, to]
		sum := decimal.Zero
		for i, r := range rules {
			segFrom, segTo := r.From, last
			if i+1 < len(rules) {
				segTo = rules[i+1].From.AddDate(0, 0, -1)
			}
			a, b := maxTime(from, segFrom), minTime(to, segTo)
			if !b.Before(a) {
				days := int64(b.Sub(a).Hours()/24) + 1
				sum = sum.Add(r.AmountPerBeneficiary.Mul(decimal.NewFromInt(days)))
			}
		}
		return sum
	}
	var out Remises
	days, amount := decimal.Zero, decimal.Zero
	for _, ps := range spans {
		counted := false
		for _, p := range ps {
			to := p.To
			if to.IsZero() || to.After(last) {
				to = last
			}
			from := maxTime(p.From, first)
			if to.Before(from) {
				continue
			}
			counted = true
			days = days.Add(decimal.NewFromInt(int64(to.Sub(from).Hours()/24) + 1))
			amount = amount.Add(amountOn(from, to))
		}
		if counted {
			out.Beneficiaries++
		}
	}
	out.BeneficiaryYears = days.DivRound(daysInYear, 4)
	out.Amount = money.Cents(amount.Div(daysInYear))
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
