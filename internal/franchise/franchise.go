// Package franchise holds the cap arithmetic of the two flat deductions of
// CSS art. L160-13: the participation forfaitaire (II: doctors' acts and
// biology) and the franchise médicale (III: medicines, auxiliaries' acts,
// transports, pharmacist services).
//
// It is pure: Consume takes the counters of one beneficiary as they stand and
// the deductions a claim asks for, in claim order (docs/rules.md#order), and
// returns what each request is granted and the counter increments, without
// touching its input. The amounts and caps come from the caller (looked up in
// internal/legal); this package holds no legal number. The Redis store
// mirrors the same arithmetic in integer cents, so the semantics are
// deliberately simple (docs/rules.md#pf, docs/rules.md#franchise):
//
//   - franchise: want = min(Units × UnitAmount, LineLimit); with a daily cap,
//     want = min(want, DailyCap − day counter); want = min(want, AnnualCap −
//     year counter); floor at 0. The day and year counters grow by want.
//   - participation forfaitaire: units = Units, limited to DailyCount − the
//     professional's count for the care date when DailyCount > 0, then to
//     AnnualCount − the year's count when AnnualCount > 0 (floor 0); amount =
//     min(units × min(UnitAmount, LineLimit), AnnualCap − year counter when
//     HasAnnualCap), floor 0 (LineLimit is one act's AMO amount); no amount means no unit. The day count and the
//     year count grow by units (a reduced participation counts one), the year
//     amount by amount.
package franchise

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
)

// Kind is a franchise category (CSS art. L160-13 III 1° to 4°).
type Kind int

// Franchise categories.
const (
	KindMedicament           Kind = iota // medicine pack (III 1°)
	KindActeParamedical                  // act of an auxiliaire médical (III 2°)
	KindTransport                        // transport leg, emergency transport excluded (III 3°)
	KindPrestationPharmacien             // pharmacist service listed by arrêté (III 4°)
)

// String returns the category name.
func (k Kind) String() string {
	switch k {
	case KindMedicament:
		return "medicament"
	case KindActeParamedical:
		return "acte_paramedical"
	case KindTransport:
		return "transport"
	case KindPrestationPharmacien:
		return "prestation_pharmacien"
	}
	return "unknown"
}

// Deduction says which flat deduction a request is for.
type Deduction int

// Deductions.
const (
	DeductionPF        Deduction = iota // participation forfaitaire (L160-13 II)
	DeductionFranchise                  // franchise médicale (L160-13 III)
)

// String returns the deduction name.
func (d Deduction) String() string {
	if d == DeductionPF {
		return "participation_forfaitaire"
	}
	return "franchise"
}

// DayKey keys the franchise daily counters: per beneficiary (implicit: a State
// is one beneficiary's), per care date, per category (L160-13 III, last
// paragraphs). CareDate is a calendar date at 00:00 UTC.
type DayKey struct {
	CareDate time.Time
	Kind     Kind
}

// ProDayKey keys the count of participations forfaitaires for one
// professional on one care date (L160-13 II, third paragraph). CareDate is a
// calendar date at 00:00 UTC.
type ProDayKey struct {
	Professional string
	CareDate     time.Time
}

// State holds the counters of one beneficiary as they stand. Map keys carry
// care dates normalised to 00:00 UTC, as Consume and Apply produce them.
type State struct {
	Year          int             // adjudication year of the annual counters (docs/rules.md#dates)
	PFYear        decimal.Decimal // participation forfaitaire consumed this year
	PFYearCount   int             // participations deducted this year (D160-6 caps their number)
	FranchiseYear decimal.Decimal // franchise consumed this year, all categories
	FranchiseDay  map[DayKey]decimal.Decimal
	PFCount       map[ProDayKey]int
}

// ForYear returns the state to use for a claim adjudicated in year: s itself
// when its annual counters are for that year, otherwise s with its annual
// counters reset to zero (annual caps are counted per calendar year of the
// reimbursement date, docs/rules.md#dates). Daily counters are keyed by care
// date and kept.
func (s State) ForYear(year int) State {
	if s.Year == year {
		return s
	}
	return State{Year: year, FranchiseDay: s.FranchiseDay, PFCount: s.PFCount}
}

// Request is one deduction a claim line asks for.
type Request struct {
	Line         int // index of the claim line
	Deduction    Deduction
	Kind         Kind // franchise only
	CareDate     time.Time
	Professional string // participation forfaitaire only
	Units        int
	UnitAmount   decimal.Decimal
	// LineLimit bounds the deduction by the AMO amount: for a franchise, the
	// line's AMO amount bounds the line's franchise
	// (docs/rules.md#franchise-line-limit); for a participation forfaitaire,
	// the AMO amount of one act bounds each participation
	// (docs/rules.md#pf-line-limit).
	LineLimit decimal.Decimal
	// HasDailyCap and DailyCap: franchise cap per beneficiary, care date and
	// category (medicines have none).
	HasDailyCap bool
	DailyCap    decimal.Decimal
	// DailyCount is the maximum number of participations per professional and
	// care date; 0 means no limit.
	DailyCount int
	// AnnualCount is the maximum number of participations in the year
	// (D160-6); 0 means no count cap (franchise requests).
	AnnualCount int
	// AnnualCap is the annual cap in euros; for a participation forfaitaire
	// it applies only when HasAnnualCap (2024 only, besides the count).
	AnnualCap    decimal.Decimal
	HasAnnualCap bool
}

// Limit names a cap that reduced a grant.
type Limit int

// Limits.
const (
	LimitNone        Limit = iota
	LimitLineAMO           // the line's AMO amount
	LimitDailyCap          // franchise daily cap
	LimitDailyCount        // participations per professional per day
	LimitAnnualCap         // annual cap in euros
	LimitAnnualCount       // annual number of participations (D160-6)
)

// String returns the limit name.
func (l Limit) String() string {
	switch l {
	case LimitLineAMO:
		return "line_amo"
	case LimitDailyCap:
		return "daily_cap"
	case LimitDailyCount:
		return "daily_count"
	case LimitAnnualCap:
		return "annual_cap"
	case LimitAnnualCount:
		return "annual_count"
	}
	return "none"
}

// Grant is what one request obtained.
type Grant struct {
	Line      int
	Deduction Deduction
	Kind      Kind
	// Units counted: for the participation forfaitaire, the participations
	// counted against the daily count; for the franchise, the request's units
	// when an amount is granted, else 0.
	Units     int
	Amount    decimal.Decimal // deducted amount
	Requested decimal.Decimal // Units × UnitAmount as requested
	LimitedBy []Limit         // every cap that reduced the grant, in the order applied
}

// Increments are the counter changes of a sequence of grants.
type Increments struct {
	PFYear, FranchiseYear decimal.Decimal
	PFYearCount           int
	FranchiseDay          map[DayKey]decimal.Decimal
	PFCount               map[ProDayKey]int
}

// Consume grants reqs in order against s and the grants of earlier requests
// (docs/rules.md#order). It does not modify s.
func Consume(s State, reqs []Request) ([]Grant, Increments) {
	inc := Increments{}
	grants := make([]Grant, 0, len(reqs))
	for _, r := range reqs {
		var g Grant
		switch r.Deduction {
		case DeductionPF:
			g = consumePF(s, &inc, r)
		default:
			g = consumeFranchise(s, &inc, r)
		}
		grants = append(grants, g)
	}
	return grants, inc
}

func consumeFranchise(s State, inc *Increments, r Request) Grant {
	key := DayKey{CareDate: calendar.Day(r.CareDate), Kind: r.Kind}
	requested := r.UnitAmount.Mul(decimal.NewFromInt(int64(r.Units)))
	g := Grant{Line: r.Line, Deduction: DeductionFranchise, Kind: r.Kind, Requested: requested}
	want := requested
	want = limit(want, r.LineLimit, LimitLineAMO, &g)
	if r.HasDailyCap {
		used := s.FranchiseDay[key].Add(inc.FranchiseDay[key])
		want = limit(want, r.DailyCap.Sub(used), LimitDailyCap, &g)
	}
	want = limit(want, r.AnnualCap.Sub(s.FranchiseYear.Add(inc.FranchiseYear)), LimitAnnualCap, &g)
	if want.Sign() <= 0 {
		want = decimal.Zero
	} else {
		g.Units = r.Units
		if inc.FranchiseDay == nil {
			inc.FranchiseDay = map[DayKey]decimal.Decimal{}
		}
		inc.FranchiseDay[key] = inc.FranchiseDay[key].Add(want)
		inc.FranchiseYear = inc.FranchiseYear.Add(want)
	}
	g.Amount = want
	return g
}

func consumePF(s State, inc *Increments, r Request) Grant {
	key := ProDayKey{Professional: r.Professional, CareDate: calendar.Day(r.CareDate)}
	requested := r.UnitAmount.Mul(decimal.NewFromInt(int64(r.Units)))
	g := Grant{Line: r.Line, Deduction: DeductionPF, Kind: r.Kind, Requested: requested}
	units := max(r.Units, 0)
	if r.DailyCount > 0 {
		left := max(r.DailyCount-s.PFCount[key]-inc.PFCount[key], 0)
		if left < units {
			units = left
			g.LimitedBy = append(g.LimitedBy, LimitDailyCount)
		}
	}
	if r.AnnualCount > 0 {
		left := max(r.AnnualCount-s.PFYearCount-inc.PFYearCount, 0)
		if left < units {
			units = left
			g.LimitedBy = append(g.LimitedBy, LimitAnnualCount)
		}
	}
	// The AMO limit applies per act (docs/rules.md#pf-line-limit): each
	// participation is at most the AMO amount of one act.
	per := r.UnitAmount
	if units > 0 && r.LineLimit.LessThan(per) {
		per = r.LineLimit
		g.LimitedBy = append(g.LimitedBy, LimitLineAMO)
	}
	amount := per.Mul(decimal.NewFromInt(int64(units)))
	if r.HasAnnualCap {
		amount = limit(amount, r.AnnualCap.Sub(s.PFYear.Add(inc.PFYear)), LimitAnnualCap, &g)
	}
	if amount.Sign() <= 0 {
		amount, units = decimal.Zero, 0
	}
	if units > 0 {
		if inc.PFCount == nil {
			inc.PFCount = map[ProDayKey]int{}
		}
		inc.PFCount[key] += units
		inc.PFYearCount += units
		inc.PFYear = inc.PFYear.Add(amount)
	}
	g.Units, g.Amount = units, amount
	return g
}

// limit returns min(want, bound) and records l when bound reduced want.
func limit(want, bound decimal.Decimal, l Limit, g *Grant) decimal.Decimal {
	if bound.LessThan(want) {
		g.LimitedBy = append(g.LimitedBy, l)
		return bound
	}
	return want
}

// Apply returns s with inc added. It does not modify s: the maps are copied.
func (s State) Apply(inc Increments) State {
	out := State{
		Year:          s.Year,
		PFYear:        s.PFYear.Add(inc.PFYear),
		PFYearCount:   s.PFYearCount + inc.PFYearCount,
		FranchiseYear: s.FranchiseYear.Add(inc.FranchiseYear),
	}
	if len(s.FranchiseDay)+len(inc.FranchiseDay) > 0 {
		out.FranchiseDay = make(map[DayKey]decimal.Decimal, len(s.FranchiseDay)+len(inc.FranchiseDay))
		for k, v := range s.FranchiseDay {
			out.FranchiseDay[k] = v
		}
		for k, v := range inc.FranchiseDay {
			out.FranchiseDay[k] = out.FranchiseDay[k].Add(v)
		}
	}
	if len(s.PFCount)+len(inc.PFCount) > 0 {
		out.PFCount = make(map[ProDayKey]int, len(s.PFCount)+len(inc.PFCount))
		for k, v := range s.PFCount {
			out.PFCount[k] = v
		}
		for k, v := range inc.PFCount {
			out.PFCount[k] += v
		}
	}
	return out
}
