package legal

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
)

// ErrNoValueAt is returned when a series has no value on the requested day:
// the day is before its first effective date, after a "value: null", or after
// the explicit end of its last value. Like Catala's date assertions, the
// lookup never guesses.
var ErrNoValueAt = errors.New("no legal parameter value in force")

// ErrUnknownParameter is returned when a series id is not in the table.
var ErrUnknownParameter = errors.New("unknown legal parameter")

// Units of a series.
const (
	UnitEUR         = "EUR"          // an amount in euros
	UnitRate        = "rate"         // a fraction: 0.70 is 70 %
	UnitRateSet     = "rate_set"     // a set of allowed fractions
	UnitCount       = "count"        // a number of acts or participations
	UnitYears       = "years"        // a duration or an age in years
	UnitMonths      = "months"       // a duration in months
	UnitDays        = "days"         // a duration in calendar days
	UnitWorkingDays = "working_days" // a duration in jours ouvrés
	UnitCoefficient = "coefficient"  // a nomenclature coefficient
)

// Dates that select a series' value (selected_by).
const (
	SelectedByCareDate         = "care_date"         // date des soins (docs/rules.md#dates)
	SelectedByAdjudicationDate = "adjudication_date" // reimbursement date: annual counters (docs/rules.md#dates)
	SelectedByReceiptDate      = "receipt_date"      // date the claim was received
	SelectedByPaymentDate      = "payment_date"      // date the professional was paid
	SelectedByNotificationDate = "notification_date" // date a measure was notified
	SelectedByPublicationDate  = "publication_date"  // date a generic group's first generic price was published
)

// Reference is a legal source: a title and a Légifrance link. ID, when set,
// names the parameter id or sub-id of the dated value the source supports
// (e.g. "P-PF-1c", docs/rules.md#parameters).
type Reference struct {
	ID    string
	Title string
	Href  string
}

// Step is one dated value of a series.
type Step struct {
	From time.Time // effective date, 00:00 UTC
	// To is the last day of validity: the explicit "to" date of the file, or
	// the day before the next step; zero when open-ended.
	To time.Time
	// Repealed is true for "value: null": no value from From.
	Repealed bool
	// Text is the value exactly as written in the file ("0.50"); for a set,
	// the members joined by ", ".
	Text       string
	Decimal    decimal.Decimal   // the value (zero for a set or when repealed)
	Set        []decimal.Decimal // members, for unit rate_set
	Confidence string            // H, M, L or M-H (the series' mark unless overridden)
	References []Reference
	explicitTo bool
}

// Series is one legal parameter over time.
type Series struct {
	ID          string
	Description string
	Unit        string
	SelectedBy  string
	Confidence  string
	LegalBasis  []Reference
	Steps       []Step // strictly increasing From
}

// Value is a parameter value in force on a day, with what a trace needs to
// cite it.
type Value struct {
	ID         string            // series id, e.g. "P-PF-1"
	Decimal    decimal.Decimal   // the value (unused for a set)
	Set        []decimal.Decimal // members, for unit rate_set
	Text       string            // the value as written in the table
	Unit       string
	SelectedBy string
	From       time.Time // first day of the step
	To         time.Time // last day of the step, zero when open-ended
	RefID      string    // parameter id of the step (its first reference's id, else the series id)
	RefTitle   string    // title of the step's first reference
	RefHref    string    // link of the step's first reference
	Confidence string
}

// Int returns the value's integer part, for counts, ages and durations.
func (v Value) Int() int {
	return int(v.Decimal.IntPart())
}

// Contains reports whether d is one of the members of a rate_set value.
func (v Value) Contains(d decimal.Decimal) bool {
	for _, m := range v.Set {
		if m.Equal(d) {
			return true
		}
	}
	return false
}

// At returns the series' value in force on day (its calendar date; the time
// of day is ignored). It wraps ErrNoValueAt when there is none.
func (s *Series) At(day time.Time) (Value, error) {
	v, ok := s.Lookup(day)
	if !ok {
		return Value{}, fmt.Errorf("%s on %s: %w", s.ID, calendar.Day(day).Format(time.DateOnly), ErrNoValueAt)
	}
	return v, nil
}

// Lookup is At for optional parameters: ok is false when the series has no
// value on day (where At would return ErrNoValueAt).
func (s *Series) Lookup(day time.Time) (Value, bool) {
	day = calendar.Day(day)
	i := sort.Search(len(s.Steps), func(i int) bool { return s.Steps[i].From.After(day) }) - 1
	if i < 0 || s.Steps[i].Repealed || (!s.Steps[i].To.IsZero() && day.After(s.Steps[i].To)) {
		return Value{}, false
	}
	st := &s.Steps[i]
	v := Value{
		ID:         s.ID,
		Decimal:    st.Decimal,
		Set:        st.Set,
		Text:       st.Text,
		Unit:       s.Unit,
		SelectedBy: s.SelectedBy,
		From:       st.From,
		To:         st.To,
		RefID:      s.ID,
		Confidence: st.Confidence,
	}
	if len(st.References) > 0 {
		r := st.References[0]
		if r.ID != "" {
			v.RefID = r.ID
		}
		v.RefTitle, v.RefHref = r.Title, r.Href
	}
	return v, true
}

// Table is the validated set of series. It is immutable once loaded.
type Table struct {
	series map[string]*Series
	ids    []string // sorted
}

// IDs lists the series ids in lexical order.
func (t *Table) IDs() []string {
	return append([]string(nil), t.ids...)
}

// Series returns the series with the given id.
func (t *Table) Series(id string) (*Series, bool) {
	s, ok := t.series[id]
	return s, ok
}

// At returns the value of series id in force on day. It wraps
// ErrUnknownParameter for an unknown id and ErrNoValueAt when the series has
// no value on that day.
func (t *Table) At(id string, day time.Time) (Value, error) {
	s, ok := t.series[id]
	if !ok {
		return Value{}, fmt.Errorf("%s: %w", id, ErrUnknownParameter)
	}
	return s.At(day)
}

// Lookup returns the value of series id on day, with ok false when the series
// has no value that day. It is meant for parameters whose absence is a legal
// situation (a rule not yet in force, a threshold not set); it wraps
// ErrUnknownParameter for an unknown id.
func (t *Table) Lookup(id string, day time.Time) (v Value, ok bool, err error) {
	s, found := t.series[id]
	if !found {
		return Value{}, false, fmt.Errorf("%s: %w", id, ErrUnknownParameter)
	}
	v, ok = s.Lookup(day)
	return v, ok, nil
}

// InForce lists every parameter that has a value on day, sorted by id. It
// serves the operator command "adjudicator params --at YYYY-MM-DD".
func (t *Table) InForce(day time.Time) []Value {
	out := make([]Value, 0, len(t.ids))
	for _, id := range t.ids {
		if v, ok := t.series[id].Lookup(day); ok {
			out = append(out, v)
		}
	}
	return out
}

func joinSet(set []string) string {
	return strings.Join(set, ", ")
}
