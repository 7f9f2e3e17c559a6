package service

import (
	"fmt"
	"slices"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
)

// An operator sees and changes a beneficiary only over the periods its
// organism manages (or managed) it (docs/rules.md#access):
//
//   - reading, the dated facts (rights, CSS, AME, ALD, pregnancies by their
//     expected delivery) are clipped to those periods, the attachments are its
//     own, and the undated facts (médecin traitant, AMC contract, direct-debit
//     authorisation, outstanding debt) are shown only to the organism managing the beneficiary
//     today;
//   - writing, what it sends is read within those periods only: the record
//     keeps every other organism's periods as they were, and the undated facts
//     change only for today's manager;
//   - the attachments themselves (who manages when) change only by an
//     administrator: a transfer is never one tenant's alone. An operator may
//     register a new beneficiary attached to its own organism only.

// errTransfer is the denial of an operator's change of attachments.
var errTransfer = fmt.Errorf("%w: the attachments of a registered beneficiary change only by an administrator (a transfer between organisms)", access.ErrDenied)

// day span [from, until) in days, until zero meaning open-ended.
type span struct{ from, until time.Time }

func spanOf(p claims.Period) span {
	s := span{from: p.From}
	if !p.To.IsZero() {
		s.until = p.To.AddDate(0, 0, 1)
	}
	return s
}

func (s span) period() claims.Period {
	p := claims.Period{From: s.from}
	if !s.until.IsZero() {
		p.To = s.until.AddDate(0, 0, -1)
	}
	return p
}

// before reports whether a ends at or before b (open ends last).
func endsBefore(a, b time.Time) bool {
	switch {
	case a.IsZero():
		return false
	case b.IsZero():
		return true
	}
	return a.Before(b)
}

func minEnd(a, b time.Time) time.Time {
	if endsBefore(a, b) {
		return a
	}
	return b
}

func laterStart(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// intersect returns the parts of ps inside ws.
func intersect(ps []claims.Period, ws []span) []claims.Period {
	var out []claims.Period
	for _, p := range ps {
		a := spanOf(p)
		for _, w := range ws {
			s := span{from: laterStart(a.from, w.from), until: minEnd(a.until, w.until)}
			if s.until.IsZero() || s.from.Before(s.until) {
				out = append(out, s.period())
			}
		}
	}
	return normalise(out)
}

// complement returns the days outside ws (ws normalised).
func complement(ws []span) []span {
	var out []span
	var from time.Time // zero: the beginning of time
	for _, w := range ws {
		if from.Before(w.from) {
			out = append(out, span{from: from, until: w.from})
		}
		if w.until.IsZero() {
			return out
		}
		from = w.until
	}
	return append(out, span{from: from})
}

// normalise sorts periods and merges those that overlap or touch.
func normalise(ps []claims.Period) []claims.Period {
	if len(ps) == 0 {
		return nil
	}
	ss := make([]span, len(ps))
	for i, p := range ps {
		ss[i] = spanOf(p)
	}
	ss = mergeSpans(ss)
	out := make([]claims.Period, len(ss))
	for i, s := range ss {
		out[i] = s.period()
	}
	return out
}

func mergeSpans(ss []span) []span {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b span) int { return a.from.Compare(b.from) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && (out[n-1].until.IsZero() || !out[n-1].until.Before(s.from)) {
			if endsBefore(out[n-1].until, s.until) {
				out[n-1].until = s.until
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// managedSpans returns the periods org manages b, merged.
func managedSpans(b Beneficiary, org string) []span {
	var ss []span
	for _, a := range b.Attachments {
		if a.Organism == org {
			ss = append(ss, spanOf(a.Period))
		}
	}
	return mergeSpans(ss)
}

func inSpans(ws []span, day time.Time) bool {
	for _, w := range ws {
		if w.period().Contains(day) {
			return true
		}
	}
	return false
}

func pregnanciesIn(ps []claims.Pregnancy, ws []span, inside bool) []claims.Pregnancy {
	var out []claims.Pregnancy
	for _, p := range ps {
		if inSpans(ws, p.ExpectedDelivery) == inside {
			out = append(out, p)
		}
	}
	return out
}

// operatorView is what org's operator reads of b on today.
func operatorView(b Beneficiary, org string, today time.Time) Beneficiary {
	ws := managedSpans(b, org)
	v := Beneficiary{Rights: claims.Rights{
		BirthDate:   b.Rights.BirthDate,
		Open:        intersect(b.Rights.Open, ws),
		CSS:         intersect(b.Rights.CSS, ws),
		AME:         intersect(b.Rights.AME, ws),
		ALD:         intersect(b.Rights.ALD, ws),
		Pregnancies: pregnanciesIn(b.Rights.Pregnancies, ws, true),
		RegimeLocal: intersect(b.Rights.RegimeLocal, ws),
	}}
	for _, k := range statusKinds(b.Rights.Statuses, nil) {
		v.Rights.Statuses = append(v.Rights.Statuses, withKind(k, intersect(statusPeriods(b.Rights.Statuses, k), ws))...)
	}
	for _, a := range b.Attachments {
		if a.Organism == org {
			v.Attachments = append(v.Attachments, a)
		}
	}
	if b.OrganismOn(today) == org {
		v.HasMedecinTraitant, v.AMCContract = b.HasMedecinTraitant, b.AMCContract
		v.Rights.DirectDebitAuthorised, v.Rights.Debt = b.Rights.DirectDebitAuthorised, b.Rights.Debt
	}
	return v
}

// operatorWrite returns the record org's operator writes when it sends b for
// a beneficiary registered as old, or errTransfer when it would change an
// attachment.
func operatorWrite(old, b Beneficiary, org string, today time.Time) (Beneficiary, error) {
	var own []Attachment
	for _, a := range old.Attachments {
		if a.Organism == org {
			own = append(own, a)
		}
	}
	if !slices.Equal(b.Attachments, own) && !slices.Equal(b.Attachments, old.Attachments) {
		return Beneficiary{}, errTransfer
	}
	ws := managedSpans(old, org)
	out := complement(ws)
	merge := func(was, sent []claims.Period) []claims.Period {
		return normalise(append(intersect(was, out), intersect(sent, ws)...))
	}
	nb := old
	nb.Rights.Open = merge(old.Rights.Open, b.Rights.Open)
	nb.Rights.CSS = merge(old.Rights.CSS, b.Rights.CSS)
	nb.Rights.AME = merge(old.Rights.AME, b.Rights.AME)
	nb.Rights.ALD = merge(old.Rights.ALD, b.Rights.ALD)
	nb.Rights.RegimeLocal = merge(old.Rights.RegimeLocal, b.Rights.RegimeLocal)
	nb.Rights.Statuses = nil
	for _, k := range statusKinds(old.Rights.Statuses, b.Rights.Statuses) {
		nb.Rights.Statuses = append(nb.Rights.Statuses, withKind(k, merge(statusPeriods(old.Rights.Statuses, k), statusPeriods(b.Rights.Statuses, k)))...)
	}
	nb.Rights.Pregnancies = append(pregnanciesIn(old.Rights.Pregnancies, ws, false), pregnanciesIn(b.Rights.Pregnancies, ws, true)...)
	slices.SortFunc(nb.Rights.Pregnancies, func(a, b claims.Pregnancy) int { return a.ExpectedDelivery.Compare(b.ExpectedDelivery) })
	if old.OrganismOn(today) == org {
		nb.Rights.BirthDate = b.Rights.BirthDate
		nb.HasMedecinTraitant, nb.AMCContract = b.HasMedecinTraitant, b.AMCContract
		nb.Rights.DirectDebitAuthorised = b.Rights.DirectDebitAuthorised
	}
	return nb, nil
}

// operatorCreates checks a new beneficiary registered by org's operator:
// attached to org only.
func operatorCreates(b Beneficiary, org string) error {
	if len(b.Attachments) == 0 {
		return access.ErrDenied
	}
	for _, a := range b.Attachments {
		if a.Organism != org {
			return fmt.Errorf("%w: an operator registers a beneficiary attached to its own organism only", access.ErrDenied)
		}
	}
	return nil
}

// statusKinds lists the status kinds of a and b, in first-seen order.
func statusKinds(a, b []claims.StatusPeriod) []claims.StatusKind {
	var out []claims.StatusKind
	seen := map[claims.StatusKind]bool{}
	for _, st := range append(append([]claims.StatusPeriod(nil), a...), b...) {
		if !seen[st.Kind] {
			seen[st.Kind] = true
			out = append(out, st.Kind)
		}
	}
	return out
}

// statusPeriods are the periods of one status kind.
func statusPeriods(sts []claims.StatusPeriod, k claims.StatusKind) []claims.Period {
	var out []claims.Period
	for _, st := range sts {
		if st.Kind == k {
			out = append(out, st.Period)
		}
	}
	return out
}

func withKind(k claims.StatusKind, ps []claims.Period) []claims.StatusPeriod {
	out := make([]claims.StatusPeriod, 0, len(ps))
	for _, p := range ps {
		out = append(out, claims.StatusPeriod{Kind: k, Period: p})
	}
	return out
}
