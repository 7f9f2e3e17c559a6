// Package payment computes the payment deadline of a guaranteed tiers-payant
// claim and the late-payment penalty the paying organism owes the
// professional (CSS art. L161-36-3, D161-13-3, D161-13-4 and D161-13-6;
// docs/rules.md#due-date, docs/rules.md#late-penalty,
// docs/rules.md#fraud-regime).
//
// Working days are counted with a calendar.Calendar: the receipt day is
// day 0 and the payment's working-day index decides the penalty. Every legal
// number (the 7-day deadline, the flat amount and its window, the rate, the
// floor, the fraud-regime deadline and duration) comes from the dated
// parameter table of internal/legal, selected by the claim's receipt date
// (P-PAY-1: "invoices transmitted from 1 Jul 2016"), or by the notification
// date for the duration of a fraud regime (P-PAY-7); docs/rules.md#parameters
// lists them.
//
// The package is pure: no clock, no I/O. Dates are civil days; callers
// convert instants to Europe/Paris first (docs/rules.md#calendar), and the
// time of day is ignored.
package payment

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/money"
)

// Ids of the legal parameters this package reads (docs/rules.md#parameters).
const (
	// ParamDeadline is the payment deadline in working days (D161-13-3).
	ParamDeadline = "P-PAY-1"
	// ParamFlatAmount is the flat penalty per invoice (D161-13-4).
	ParamFlatAmount = "P-PAY-2"
	// ParamFlatDays is the number of working days after the deadline during
	// which the penalty is the flat amount (D161-13-4: days 8 and 9).
	ParamFlatDays = "P-PAY-2-DAYS"
	// ParamRate is the proportional penalty, a fraction of the invoice's AMO
	// amount (D161-13-4).
	ParamRate = "P-PAY-3"
	// ParamFloor is the floor of the proportional penalty (0.00:
	// docs/rules.md#late-penalty).
	ParamFloor = "P-PAY-3-FLOOR"
	// ParamFraudDeadline is the longest deadline a fraud regime may set, in
	// working days (L161-36-3; D161-13-6).
	ParamFraudDeadline = "P-PAY-6"
	// ParamFraudDuration is the longest duration of a fraud regime, in months
	// (L161-36-3; D161-13-6).
	ParamFraudDuration = "P-PAY-7"
	// ParamFraudMaintenance is the longest duration of a maintenance of the
	// regime, in months (D161-13-6 2°).
	ParamFraudMaintenance = "P-PAY-7-MAINTENANCE"
	// ParamFraudRenewals is how many times a maintenance may be renewed
	// (D161-13-6 2°: "renouvelable une fois").
	ParamFraudRenewals = "P-PAY-7-RENEWALS"
)

// FraudRegimeKind is the kind of a fraud measure (D161-13-6): each has its
// own maximum length.
type FraudRegimeKind int

// Fraud regime kinds.
const (
	FraudRegimeUnspecified FraudRegimeKind = iota
	// FraudRegimeInitial: the first measure, at most P-PAY-7 (3) months.
	FraudRegimeInitial
	// FraudRegimeMaintenance: the measure maintained by a reasoned decision
	// at its end, at most P-PAY-7-MAINTENANCE (6) months, renewable
	// P-PAY-7-RENEWALS (1) time.
	FraudRegimeMaintenance
	// FraudRegimeJudicial: maintained as long as the judicial investigation
	// after the organism's complaint lasts; no maximum length.
	FraudRegimeJudicial
)

// String returns the kind's name.
func (k FraudRegimeKind) String() string {
	switch k {
	case FraudRegimeInitial:
		return "initial"
	case FraudRegimeMaintenance:
		return "maintenance"
	case FraudRegimeJudicial:
		return "judicial"
	}
	return "unspecified"
}

// Rules of an Assessment.
const (
	// RuleOnTime: paid by the due date, no penalty (D161-13-3).
	RuleOnTime = "ON_TIME"
	// RuleLateFlat: paid during the flat window after the due date (D161-13-4).
	RuleLateFlat = "LATE_FLAT"
	// RuleLateProportional: paid after the flat window (D161-13-4).
	RuleLateProportional = "LATE_PROPORTIONAL"
)

// Articles cited by an Assessment: the legal basis, then the rule of
// docs/rules.md.
const (
	articleDeadline = "CSS art. D161-13-3 (délai de paiement en jours ouvrés); docs/rules.md#due-date"
	articlePenalty  = "CSS art. D161-13-4 (pénalité de retard); docs/rules.md#late-penalty"
	articleFraud    = "CSS art. L161-36-3 al. 1; D161-13-6, décret n° 2023-1423 du 29 décembre 2023 (délai allongé, contrôle anti-fraude); docs/rules.md#fraud-regime"
)

var (
	// ErrPaidBeforeReceipt is returned when the payment date is before the
	// receipt date.
	ErrPaidBeforeReceipt = errors.New("payment date before receipt date")
	// ErrNegativeAMO is returned for a negative AMO amount.
	ErrNegativeAMO = errors.New("negative AMO amount")
	// ErrInvalidFraudRegime is wrapped by every problem FraudRegime.Validate
	// reports.
	ErrInvalidFraudRegime = errors.New("invalid fraud regime")
)

// Params are the payment parameters in force on a receipt date.
type Params struct {
	// Deadline is the normal deadline in working days after receipt (P-PAY-1).
	Deadline int
	// FlatAmount is the flat penalty per invoice (P-PAY-2).
	FlatAmount decimal.Decimal
	// FlatDays is the number of working days after the due date that carry
	// the flat penalty (P-PAY-2-DAYS).
	FlatDays int
	// Rate is the proportional penalty as a fraction of the AMO amount (P-PAY-3).
	Rate decimal.Decimal
	// Floor is the least proportional penalty (P-PAY-3-FLOOR).
	Floor decimal.Decimal
	// FraudDeadline is the longest deadline a fraud regime may set
	// (P-PAY-6); 0 when no value is in force on the receipt date.
	FraudDeadline int
	// Values are the table entries read, for a trace.
	Values []legal.Value
}

// ParamsAt reads the payment parameters in force on the receipt date. It
// wraps legal.ErrNoValueAt when a required one has no value then (before
// 1 Jul 2016); the fraud-regime deadline is optional (Params.FraudDeadline
// stays 0).
func ParamsAt(t *legal.Table, receipt time.Time) (Params, error) {
	receipt = calendar.Day(receipt)
	var p Params
	get := func(id string) (legal.Value, error) {
		v, err := t.At(id, receipt)
		if err != nil {
			return legal.Value{}, fmt.Errorf("payment parameter for receipt on %s: %w", receipt.Format(time.DateOnly), err)
		}
		p.Values = append(p.Values, v)
		return v, nil
	}
	var errs []error
	if v, err := get(ParamDeadline); err != nil {
		errs = append(errs, err)
	} else {
		p.Deadline = v.Int()
	}
	if v, err := get(ParamFlatAmount); err != nil {
		errs = append(errs, err)
	} else {
		p.FlatAmount = v.Decimal
	}
	if v, err := get(ParamFlatDays); err != nil {
		errs = append(errs, err)
	} else {
		p.FlatDays = v.Int()
	}
	if v, err := get(ParamRate); err != nil {
		errs = append(errs, err)
	} else {
		p.Rate = v.Decimal
	}
	if v, err := get(ParamFloor); err != nil {
		errs = append(errs, err)
	} else {
		p.Floor = v.Decimal
	}
	if len(errs) > 0 {
		return Params{}, errors.Join(errs...)
	}
	if v, err := t.At(ParamFraudDeadline, receipt); err == nil {
		p.FraudDeadline = v.Int()
		p.Values = append(p.Values, v)
	} else if !errors.Is(err, legal.ErrNoValueAt) {
		return Params{}, fmt.Errorf("payment parameter for receipt on %s: %w", receipt.Format(time.DateOnly), err)
	}
	return p, nil
}

// FraudRegime is an extended-deadline measure notified to a professional by
// the CPAM director so that claims can be checked before payment (CSS
// art. L161-36-3 al. 1; D161-13-6, décret n° 2023-1423 du 29 décembre 2023;
// docs/rules.md#fraud-regime). A renewal is a new FraudRegime starting on its
// own notification date.
//
// TODO(legal): D161-13-6 lets a reasoned decision maintain the measure for up
// to 6 months, renewable once, or for the length of a judicial investigation;
// Validate refuses anything longer than P-PAY-7 months.
type FraudRegime struct {
	// Start is the notification date, the first day of the measure.
	Start time.Time
	// End is the last day of the measure, inclusive.
	End time.Time
	// MaxWorkingDays is the payment deadline during the measure, in working
	// days after receipt; at most P-PAY-6.
	MaxWorkingDays int
	// DecisionRef identifies the director's decision, for the trace.
	DecisionRef string
	// Kind is the kind of measure. Regimes stored before kinds existed read
	// as FraudRegimeUnspecified and are treated as initial measures.
	Kind FraudRegimeKind `json:",omitempty"`
}

// ActiveOn reports whether the measure covers the day (Start and End
// included). A regime applies to a claim when it is active on the claim's
// receipt date.
func (r FraudRegime) ActiveOn(day time.Time) bool {
	day = calendar.Day(day)
	return !day.Before(calendar.Day(r.Start)) && !day.After(calendar.Day(r.End))
}

// Validate checks the measure against the parameters in force on its
// notification date: L161-36-3 and D161-13-6 allow a deadline of at most
// P-PAY-6 working days, for at most P-PAY-7 months for an initial measure
// and P-PAY-7-MAINTENANCE months for a maintenance; a judicial maintenance
// has no maximum length (a regime of unspecified kind, stored before kinds
// existed, is an initial one). It also requires both dates, End not
// before Start, a positive deadline and a decision reference. Problems wrap
// ErrInvalidFraudRegime; a missing parameter wraps legal.ErrNoValueAt.
func (r FraudRegime) Validate(t *legal.Table) error {
	if r.Start.IsZero() || r.End.IsZero() {
		return fmt.Errorf("%w: start and end dates are required", ErrInvalidFraudRegime)
	}
	start, end := calendar.Day(r.Start), calendar.Day(r.End)
	notified := start.Format(time.DateOnly)
	durationID := ""
	switch r.Kind {
	case FraudRegimeInitial, FraudRegimeUnspecified: // unspecified: stored before kinds existed
		durationID = ParamFraudDuration
	case FraudRegimeMaintenance:
		durationID = ParamFraudMaintenance
	case FraudRegimeJudicial:
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidFraudRegime, int(r.Kind))
	}
	var months legal.Value
	if durationID != "" {
		var err error
		if months, err = t.At(durationID, start); err != nil {
			return fmt.Errorf("fraud regime notified on %s: %w", notified, err)
		}
	}
	maxDays, err := t.At(ParamFraudDeadline, start)
	if err != nil {
		return fmt.Errorf("fraud regime notified on %s: %w", notified, err)
	}
	var errs []error
	if end.Before(start) {
		errs = append(errs, fmt.Errorf("%w: end %s before start %s", ErrInvalidFraudRegime, end.Format(time.DateOnly), notified))
	}
	if durationID != "" {
		if last := lastDayOfMeasure(start, months.Int()); end.After(last) {
			errs = append(errs, fmt.Errorf("%w: a %s measure lasts at most %d months (%s, last allowed day %s)",
				ErrInvalidFraudRegime, r.Kind, months.Int(), durationID, last.Format(time.DateOnly)))
		}
	}
	if r.MaxWorkingDays <= 0 || r.MaxWorkingDays > maxDays.Int() {
		errs = append(errs, fmt.Errorf("%w: deadline of %d working days outside 1..%d (%s)",
			ErrInvalidFraudRegime, r.MaxWorkingDays, maxDays.Int(), ParamFraudDeadline))
	}
	if r.DecisionRef == "" {
		errs = append(errs, fmt.Errorf("%w: decision reference is required", ErrInvalidFraudRegime))
	}
	return errors.Join(errs...)
}

// ValidateSequence checks a measure against the professional's other
// measures (D161-13-6): a maintenance or a judicial maintenance continues a
// measure, so it starts the day after one of them ends; a maintenance follows
// an initial measure or a maintenance, and the maintenances that follow one
// another after an initial measure are at most 1 + P-PAY-7-RENEWALS (a
// maintenance "renouvelable une fois"). A measure replacing one of the same
// start is checked against the others. Problems wrap ErrInvalidFraudRegime.
func (r FraudRegime) ValidateSequence(t *legal.Table, others []FraudRegime) error {
	if r.Kind != FraudRegimeMaintenance && r.Kind != FraudRegimeJudicial {
		return nil
	}
	start := calendar.Day(r.Start)
	byEnd := map[time.Time]FraudRegime{}
	for _, o := range others {
		if !calendar.Day(o.Start).Equal(start) {
			byEnd[calendar.Day(o.End)] = o
		}
	}
	prev, ok := byEnd[start.AddDate(0, 0, -1)]
	if !ok {
		return fmt.Errorf("%w: a %s measure continues another: no measure of this professional ends on %s",
			ErrInvalidFraudRegime, r.Kind, start.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if r.Kind == FraudRegimeJudicial {
		return nil
	}
	renewals, err := t.At(ParamFraudRenewals, start)
	if err != nil {
		return fmt.Errorf("fraud regime notified on %s: %w", start.Format(time.DateOnly), err)
	}
	chain := 1 // r itself
	for prev.Kind == FraudRegimeMaintenance {
		chain++
		var found bool
		if prev, found = byEnd[calendar.Day(prev.Start).AddDate(0, 0, -1)]; !found {
			break
		}
	}
	switch {
	case prev.Kind == FraudRegimeJudicial:
		return fmt.Errorf("%w: a maintenance follows an initial measure or a maintenance, not a judicial one", ErrInvalidFraudRegime)
	case chain > 1+renewals.Int():
		return fmt.Errorf("%w: a maintenance is renewable %d time(s) (%s): this would be maintenance number %d",
			ErrInvalidFraudRegime, renewals.Int(), ParamFraudRenewals, chain)
	}
	return nil
}

// lastDayOfMeasure returns the last day of a measure of the given number of
// months starting on start: the day before the same day-of-month that many
// months later (15 May + 3 months: through 14 Aug, docs/rules.md#ex-pay-d), or
// the last day of that month when it has no such day (30 Nov + 3 months:
// through the end of February).
//
// TODO(payment): ambiguity — the decree's way of counting months is not
// known; this follows docs/rules.md#ex-pay-d (start day included).
func lastDayOfMeasure(start time.Time, months int) time.Time {
	y, m, d := start.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	lastOfMonth := first.AddDate(0, 1, -1)
	if d > lastOfMonth.Day() {
		return lastOfMonth
	}
	return first.AddDate(0, 0, d-2)
}

// DueDate returns the last day on which the claim can be paid without
// penalty: the p.Deadline-th working day after receipt (CSS art. D161-13-3,
// P-PAY-1; receipt is day 0, docs/rules.md#due-date), or, while a fraud regime
// is active on the receipt date, its MaxWorkingDays-th working day
// (L161-36-3; P-PAY-6, docs/rules.md#fraud-regime).
// A regime never shortens the normal deadline, and its deadline is capped at
// p.FraudDeadline when that is set. p must be the parameters in force on
// receipt (ParamsAt).
func DueDate(p Params, receipt time.Time, cal calendar.Calendar, fraud *FraudRegime) time.Time {
	return cal.AddWorkingDays(receipt, deadlineDays(p, receipt, fraud))
}

// deadlineDays is the deadline, in working days after receipt, that applies
// to a claim received on receipt.
func deadlineDays(p Params, receipt time.Time, fraud *FraudRegime) int {
	n := p.Deadline
	if fraud == nil || !fraud.ActiveOn(receipt) {
		return n
	}
	m := fraud.MaxWorkingDays
	if p.FraudDeadline > 0 && m > p.FraudDeadline {
		m = p.FraudDeadline
	}
	return max(n, m)
}

// Assessment is the outcome of Penalty, with what an explanation needs.
type Assessment struct {
	// Amount is the penalty owed on top of the claim (L161-36-3 al. 2); zero
	// when paid on time.
	Amount decimal.Decimal
	// WorkingDay is the working-day index of the payment date, receipt = day 0
	// (a weekend or holiday payment carries the index of the working day
	// before it).
	WorkingDay int
	// DeadlineDays is the deadline applied, in working days after receipt.
	DeadlineDays int
	// DueDate is the last day without penalty.
	DueDate time.Time
	// HalfYear is the half-year during which the penalty is paid, "2025H2":
	// the one following the half-year of the payment date (D161-13-4,
	// docs/rules.md#late-penalty).
	// Empty when Amount is zero.
	HalfYear string
	// Rule is RuleOnTime, RuleLateFlat or RuleLateProportional.
	Rule string
	// Article cites the provisions applied.
	Article string
	// ParamIDs lists the legal parameters the result depends on.
	ParamIDs []string
	// Calendar names the working-day calendar used.
	Calendar string
	// FraudRegime is true when a fraud regime was active on the receipt date;
	// FraudDecisionRef then names its decision.
	FraudRegime      bool
	FraudDecisionRef string
}

// Penalty assesses the late-payment penalty of a guaranteed claim received on
// receipt, paid on paidOn, whose AMO amount is amo, under the paying
// organism's calendar (docs/rules.md#calendar). CSS art. D161-13-4 read
// literally (docs/rules.md#late-penalty): nothing up to the due date (working
// day 7); the flat amount P-PAY-2 on the P-PAY-2-DAYS working days after it
// (days 8 and 9); from the next working day (day 10), P-PAY-3 of the AMO
// amount, rounded to the cent half away from zero (docs/rules.md#rounding),
// and never less than the floor P-PAY-3-FLOOR (0.00, so no floor). Under a
// fraud regime active on the receipt date, the same scale runs from the
// extended due date (docs/rules.md#fraud-regime). Parameters are those in
// force on the receipt date; the regime is validated first.
//
// TODO(payment): ambiguity — with no floor, a small invoice can owe less on
// day 10 than on day 9 (docs/rules.md#ex-pay-e); CNAM may apply
// max(flat, rate). Setting P-PAY-3-FLOOR changes this without code.
func Penalty(t *legal.Table, receipt, paidOn time.Time, cal calendar.Calendar, amo decimal.Decimal, fraud *FraudRegime) (Assessment, error) {
	receipt, paidOn = calendar.Day(receipt), calendar.Day(paidOn)
	if amo.IsNegative() {
		return Assessment{}, fmt.Errorf("%w: %s", ErrNegativeAMO, amo.StringFixed(2))
	}
	if paidOn.Before(receipt) {
		return Assessment{}, fmt.Errorf("%w: paid %s, received %s", ErrPaidBeforeReceipt,
			paidOn.Format(time.DateOnly), receipt.Format(time.DateOnly))
	}
	p, err := ParamsAt(t, receipt)
	if err != nil {
		return Assessment{}, err
	}
	a := Assessment{
		Amount:   decimal.Zero,
		Calendar: cal.Name(),
		Rule:     RuleOnTime,
		Article:  articleDeadline,
		ParamIDs: []string{ParamDeadline},
	}
	if fraud != nil && fraud.ActiveOn(receipt) {
		if err := fraud.Validate(t); err != nil {
			return Assessment{}, err
		}
		if p.FraudDeadline == 0 {
			return Assessment{}, fmt.Errorf("fraud regime on receipt %s: %s: %w",
				receipt.Format(time.DateOnly), ParamFraudDeadline, legal.ErrNoValueAt)
		}
		a.FraudRegime, a.FraudDecisionRef = true, fraud.DecisionRef
		a.Article = articleFraud
		a.ParamIDs = append(a.ParamIDs, ParamFraudDeadline, ParamFraudDuration)
	}
	a.DeadlineDays = deadlineDays(p, receipt, fraud)
	a.DueDate = cal.AddWorkingDays(receipt, a.DeadlineDays)
	a.WorkingDay = cal.WorkingDaysBetween(receipt, paidOn)

	switch late := a.WorkingDay - a.DeadlineDays; {
	case late <= 0:
		return a, nil
	case late <= p.FlatDays:
		a.Rule = RuleLateFlat
		a.Amount = p.FlatAmount
		a.ParamIDs = append(a.ParamIDs, ParamFlatDays, ParamFlatAmount)
	default:
		a.Rule = RuleLateProportional
		a.Amount = decimal.Max(p.Floor, money.Cents(amo.Mul(p.Rate)))
		a.ParamIDs = append(a.ParamIDs, ParamFlatDays, ParamRate, ParamFloor)
	}
	a.Article += "; " + articlePenalty
	if a.Amount.IsPositive() {
		a.HalfYear = halfYearAfter(paidOn)
	}
	return a, nil
}

// halfYearAfter names the half-year following the one that contains day:
// D161-13-4 pays penalties in the half-year after the one for which they are
// due, read as the half-year of the late payment (docs/rules.md#late-penalty).
func halfYearAfter(day time.Time) string {
	if day.Month() <= time.June {
		return fmt.Sprintf("%dH2", day.Year())
	}
	return fmt.Sprintf("%dH1", day.Year()+1)
}
