// Package opposition holds the pure rules of the opposition list of
// electronic identifiers (CSS art. L161-31 I, second paragraph; L161-36-3;
// L162-16-3-1): an identifier blocked after theft, loss, malfunction or
// compromise defeats tiers payant for a claim created while the block was in
// force (docs/rules.md#opposition). It has no I/O: the store keeps the
// entries.
package opposition

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reason is why an identifier is opposed: theft, loss, malfunction or
// compromise (L161-31 I), or end of rights (older practice); see
// docs/rules.md#opposition.
type Reason int

// Reasons.
const (
	ReasonUnspecified Reason = iota
	ReasonTheft
	ReasonLoss
	ReasonMalfunction
	ReasonCompromise
	ReasonEndOfRights
)

// String is the reason's name as the API spells it (OppositionReason).
func (r Reason) String() string {
	names := [...]string{"UNSPECIFIED", "THEFT", "LOSS", "MALFUNCTION", "COMPROMISE", "END_OF_RIGHTS"}
	if r < 0 || int(r) >= len(names) {
		return "OPPOSITION_REASON_" + strconv.Itoa(int(r))
	}
	return "OPPOSITION_REASON_" + names[r]
}

// Period is one opposition of an identifier: in force from Effective until
// Lifted (excluded), or for good while Lifted is zero.
type Period struct {
	Reason    Reason
	Effective time.Time
	Lifted    time.Time
	// Owner is the organism whose operator entered the opposition; empty for
	// the national list (an administrator). Only the owner or an
	// administrator lifts it (docs/rules.md#opposition).
	Owner string
}

// Entry is the history of one identifier, oldest period first.
type Entry struct {
	Periods []Period
}

// ErrAlreadyOpposed is returned when an opposition is added to an identifier
// whose current opposition is not lifted.
var ErrAlreadyOpposed = errors.New("identifier already opposed")

// ErrNotOpposed is returned when lifting an identifier with no opposition in force.
var ErrNotOpposed = errors.New("identifier not opposed")

// ErrBadTime is returned when a lift precedes the opposition it ends.
var ErrBadTime = errors.New("lift time before the opposition's effective time")

// Latest is the entry's most recent period (the zero Period when it has
// none): what a change to the entry just recorded.
func (e Entry) Latest() Period {
	if len(e.Periods) == 0 {
		return Period{}
	}
	return e.Periods[len(e.Periods)-1]
}

// OpposedAt reports whether the identifier counts as opposed for a claim
// created at t: an opposition took effect at or before t and was not lifted
// by then (docs/rules.md#opposition). It returns the deciding period.
func (e Entry) OpposedAt(t time.Time) (Period, bool) {
	for i := len(e.Periods) - 1; i >= 0; i-- {
		p := e.Periods[i]
		if !p.Effective.After(t) && (p.Lifted.IsZero() || t.Before(p.Lifted)) {
			return p, true
		}
	}
	return Period{}, false
}

// Actor is who changes the list: the caller's id (for the record) and the
// organism its operator acts for, "" for an administrator (the national
// list).
type Actor struct {
	ID       string
	Organism string
}

// ErrNotOwner is returned when an organism lifts an opposition it did not
// enter.
var ErrNotOwner = errors.New("the opposition was entered by another organism or by the national list: only its owner or an administrator may lift it")

// Add returns the entry with a new opposition from effective, entered by
// owner ("" for the national list). An identifier whose last opposition is
// still in force cannot be opposed again.
func (e Entry) Add(r Reason, effective time.Time, owner string) (Entry, error) {
	if n := len(e.Periods); n > 0 && e.Periods[n-1].Lifted.IsZero() {
		return e, ErrAlreadyOpposed
	}
	out := Entry{Periods: append(append([]Period(nil), e.Periods...), Period{Reason: r, Effective: effective, Owner: owner})}
	return out, nil
}

// Lift returns the entry with its current opposition ended at t by org's
// operator, or by an administrator when org is ""; the history is kept.
func (e Entry) Lift(t time.Time, org string) (Entry, error) {
	n := len(e.Periods)
	if n == 0 || !e.Periods[n-1].Lifted.IsZero() {
		return e, ErrNotOpposed
	}
	if org != "" && e.Periods[n-1].Owner != org {
		return e, ErrNotOwner
	}
	if t.Before(e.Periods[n-1].Effective) {
		return e, ErrBadTime
	}
	out := Entry{Periods: append([]Period(nil), e.Periods...)}
	out.Periods[n-1].Lifted = t
	return out, nil
}

// Encode writes the entry compactly: periods separated by "|", each
// "effective.reason[.lifted]" with instants as base-36 Unix milliseconds; a
// period with an owner adds ".owner" after its lifted field (empty while in
// force), the owner query-escaped.
func (e Entry) Encode() string {
	var b strings.Builder
	for i, p := range e.Periods {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(strconv.FormatInt(p.Effective.UnixMilli(), 36))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(int(p.Reason)))
		if !p.Lifted.IsZero() || p.Owner != "" {
			b.WriteByte('.')
		}
		if !p.Lifted.IsZero() {
			b.WriteString(strconv.FormatInt(p.Lifted.UnixMilli(), 36))
		}
		if p.Owner != "" {
			b.WriteByte('.')
			b.WriteString(url.QueryEscape(p.Owner))
		}
	}
	return b.String()
}

// Decode reads what Encode wrote. The empty string is an empty entry.
func Decode(s string) (Entry, error) {
	if s == "" {
		return Entry{}, nil
	}
	var e Entry
	for _, ps := range strings.Split(s, "|") {
		f := strings.SplitN(ps, ".", 4)
		if len(f) < 2 {
			return Entry{}, fmt.Errorf("bad opposition period %q", ps)
		}
		eff, err := strconv.ParseInt(f[0], 36, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("bad opposition period %q", ps)
		}
		r, err := strconv.Atoi(f[1])
		if err != nil || r < 1 || r > int(ReasonEndOfRights) {
			return Entry{}, fmt.Errorf("bad opposition reason in %q", ps)
		}
		p := Period{Reason: Reason(r), Effective: time.UnixMilli(eff).UTC()}
		if len(f) >= 3 && f[2] != "" {
			l, err := strconv.ParseInt(f[2], 36, 64)
			if err != nil {
				return Entry{}, fmt.Errorf("bad opposition period %q", ps)
			}
			p.Lifted = time.UnixMilli(l).UTC()
		}
		if len(f) == 4 {
			if p.Owner, err = url.QueryUnescape(f[3]); err != nil || p.Owner == "" {
				return Entry{}, fmt.Errorf("bad opposition owner in %q", ps)
			}
		}
		e.Periods = append(e.Periods, p)
	}
	return e, nil
}
