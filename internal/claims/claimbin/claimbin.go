// Package claimbin is the compact binary form of a priced claim
// (claims.Priced), the record the store keeps for every committed claim and
// reads back for a replay, GetClaim, a cancellation and the reports. It
// replaces the JSON form of development builds (about 6 kB for three lines) with a
// form a fraction of that size, mostly by naming the engine's repeated
// strings (rules, articles, parameter ids, reason codes) by their index in a
// dictionary compiled into the binary (dictionary.txt, append-only: an index
// once released never changes meaning). A string not in the dictionary is
// written in full, so any Priced round-trips exactly.
//
//	magic 0xB7, version 1
//	decision   claim id, status, guarantee, proof, organism, adjudicated on,
//	           debt balance, reasons, lines, totals, traces
//	requests   the deductions to consume (franchise.Request)
//	sources    the parameters behind each request
//	debt       the beneficiary's debt before the claim
//
// Integers are varints; a string is a dictionary reference (uvarint n > 0:
// entry n − 1) or 0 and the string with its length; an amount is its
// coefficient (varint) and exponent (varint), or, for a coefficient beyond
// int64, a marker and its text; an instant is 0 for the zero time, else 1 and
// Unix seconds then nanoseconds. No released version stored any other form.
package claimbin

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
)

const (
	magic   = 0xB7
	version = 1
)

//go:embed dictionary.txt
var dictionaryText string

// dict is the dictionary, read once from the embedded file; it is never
// written after.
var dict = func() struct {
	words []string
	index map[string]int
} {
	var d struct {
		words []string
		index map[string]int
	}
	d.index = map[string]int{}
	for _, w := range strings.Split(strings.TrimSuffix(dictionaryText, "\n"), "\n") {
		if _, dup := d.index[w]; !dup {
			d.index[w] = len(d.words)
		}
		d.words = append(d.words, w)
	}
	return d
}()

// ErrMalformed: the bytes are not a record of this format.
var ErrMalformed = errors.New("claimbin: malformed record")

// Encode appends the binary form of p to b.
func Encode(b []byte, p claims.Priced) []byte {
	e := encoder{b: append(b, magic, version)}
	d := &p.Decision
	e.str(d.ClaimID)
	e.uint(uint64(d.Status))
	e.uint(uint64(d.Guarantee))
	e.uint(uint64(d.Proof))
	e.str(d.Organism)
	e.time(d.AdjudicatedOn)
	e.dec(d.DebtBalance)
	e.uint(uint64(len(d.Reasons)))
	for _, r := range d.Reasons {
		e.str(r.Code)
		e.int(int64(r.Line))
		e.str(r.Article)
		e.str(r.Message)
	}
	e.uint(uint64(len(d.Lines)))
	for _, l := range d.Lines {
		e.str(l.LineID)
		e.uint(uint64(l.Status))
		e.bools(l.TiersPayant, l.HeavyActFlat)
		for _, v := range lineAmounts(&l) {
			e.dec(*v)
		}
	}
	for _, v := range totalAmounts(&d.Totals) {
		e.dec(*v)
	}
	e.uint(uint64(len(d.Trace)))
	for _, t := range d.Trace {
		e.int(int64(t.Line))
		e.str(t.Amount)
		e.dec(t.Value)
		e.str(t.Rule)
		e.str(t.Article)
		e.str(t.ParameterID)
		e.str(t.Parameter)
	}
	e.uint(uint64(len(p.Requests)))
	for _, r := range p.Requests {
		e.int(int64(r.Line))
		e.uint(uint64(r.Deduction))
		e.uint(uint64(r.Kind))
		e.time(r.CareDate)
		e.str(r.Professional)
		e.int(int64(r.Units))
		e.dec(r.UnitAmount)
		e.dec(r.LineLimit)
		e.bools(r.HasDailyCap, r.HasAnnualCap)
		e.dec(r.DailyCap)
		e.int(int64(r.DailyCount))
		e.int(int64(r.AnnualCount))
		e.dec(r.AnnualCap)
	}
	e.uint(uint64(len(p.Sources)))
	for _, s := range p.Sources {
		e.str(s.Article)
		for _, v := range []claims.ParamValue{s.Unit, s.Daily, s.Annual, s.AnnualAmount} {
			e.str(v.ID)
			e.str(v.Value)
		}
		e.str(s.LineLimit)
		e.int(int64(s.FeeLine))
	}
	e.dec(p.Debt)
	return e.b
}

// Decode reads a record.
func Decode(raw []byte) (claims.Priced, error) {
	var p claims.Priced
	if len(raw) < 2 || raw[0] != magic || raw[1] != version {
		return claims.Priced{}, ErrMalformed
	}
	r := decoder{b: raw, pos: 2}
	d := &p.Decision
	d.ClaimID = r.str()
	d.Status = claims.Status(r.uint())
	d.Guarantee = claims.Guarantee(r.uint())
	d.Proof = claims.IdentificationKind(r.uint())
	d.Organism = r.str()
	d.AdjudicatedOn = r.time()
	d.DebtBalance = r.dec()
	if n := r.count(); n > 0 {
		d.Reasons = make([]claims.Reason, n)
		for i := range d.Reasons {
			d.Reasons[i] = claims.Reason{Code: r.str(), Line: int(r.int()), Article: r.str(), Message: r.str()}
		}
	}
	if n := r.count(); n > 0 {
		d.Lines = make([]claims.LineDecision, n)
		for i := range d.Lines {
			l := &d.Lines[i]
			l.LineID = r.str()
			l.Status = claims.Status(r.uint())
			f := r.bools(2)
			l.TiersPayant, l.HeavyActFlat = f[0], f[1]
			for _, v := range lineAmounts(l) {
				*v = r.dec()
			}
		}
	}
	for _, v := range totalAmounts(&d.Totals) {
		*v = r.dec()
	}
	if n := r.count(); n > 0 {
		d.Trace = make([]claims.Trace, n)
		for i := range d.Trace {
			d.Trace[i] = claims.Trace{Line: int(r.int()), Amount: r.str(), Value: r.dec(), Rule: r.str(), Article: r.str(),
				ParameterID: r.str(), Parameter: r.str()}
		}
	}
	if n := r.count(); n > 0 {
		p.Requests = make([]franchise.Request, n)
		for i := range p.Requests {
			q := &p.Requests[i]
			q.Line = int(r.int())
			q.Deduction = franchise.Deduction(r.uint())
			q.Kind = franchise.Kind(r.uint())
			q.CareDate = r.time()
			q.Professional = r.str()
			q.Units = int(r.int())
			q.UnitAmount = r.dec()
			q.LineLimit = r.dec()
			f := r.bools(2)
			q.HasDailyCap, q.HasAnnualCap = f[0], f[1]
			q.DailyCap = r.dec()
			q.DailyCount = int(r.int())
			q.AnnualCount = int(r.int())
			q.AnnualCap = r.dec()
		}
	}
	if n := r.count(); n > 0 {
		p.Sources = make([]claims.DeductionSource, n)
		for i := range p.Sources {
			s := &p.Sources[i]
			s.Article = r.str()
			for _, v := range []*claims.ParamValue{&s.Unit, &s.Daily, &s.Annual, &s.AnnualAmount} {
				v.ID, v.Value = r.str(), r.str()
			}
			s.LineLimit = r.str()
			s.FeeLine = int(r.int())
		}
	}
	p.Debt = r.dec()
	if r.bad || r.pos != len(raw) {
		return claims.Priced{}, ErrMalformed
	}
	return p, nil
}

// lineAmounts are a line's amounts in their order in the record: a field
// added to LineDecision is added at the end (TestEveryFieldRoundTrips).
func lineAmounts(l *claims.LineDecision) []*decimal.Decimal {
	return []*decimal.Decimal{&l.Base, &l.Rate, &l.AMO, &l.TicketModerateur, &l.ParticipationForfaitaire, &l.Franchise, &l.Excess,
		&l.PayableToProfessional, &l.PayableToPatient, &l.PatientShare, &l.PatientDebt, &l.AmountToRecover,
		&l.HorsParcoursMajoration, &l.RegimeLocal}
}

func totalAmounts(t *claims.Totals) []*decimal.Decimal {
	return []*decimal.Decimal{&t.Base, &t.AMO, &t.TicketModerateur, &t.ParticipationForfaitaire, &t.Franchise, &t.Excess,
		&t.PayableToProfessional, &t.PayableToPatient, &t.PatientShare, &t.PatientDebt, &t.AmountToRecover,
		&t.HorsParcoursMajoration, &t.RegimeLocal}
}

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	if i, ok := dict.index[s]; ok {
		e.uint(uint64(i) + 1)
		return
	}
	e.uint(0)
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bools(vs ...bool) {
	var f byte
	for i, v := range vs {
		if v {
			f |= 1 << i
		}
	}
	e.b = append(e.b, f)
}

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// dec writes the coefficient and the exponent; a zero-value Decimal and an
// explicit zero are both written as 0 × 10^0.
func (e *encoder) dec(d decimal.Decimal) {
	c := d.Coefficient()
	if c.IsInt64() {
		e.b = append(e.b, 0)
		e.int(c.Int64())
		e.int(int64(d.Exponent()))
		return
	}
	e.b = append(e.b, 1)
	s := c.String()
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
	e.int(int64(d.Exponent()))
}

type decoder struct {
	b   []byte
	pos int
	bad bool
}

func (d *decoder) byte() byte {
	if d.pos >= len(d.b) {
		d.bad = true
		return 0
	}
	c := d.b[d.pos]
	d.pos++
	return c
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b[min(d.pos, len(d.b)):])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b[min(d.pos, len(d.b)):])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.pos += n
	return v
}

// count is a list length, bounded by the bytes left (every element takes at
// least one).
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)-min(d.pos, len(d.b))) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.count()
	if d.bad {
		return nil
	}
	s := d.b[d.pos : d.pos+n]
	d.pos += n
	return s
}

func (d *decoder) str() string {
	ref := d.uint()
	if d.bad {
		return ""
	}
	if ref == 0 {
		return string(d.raw())
	}
	if ref > uint64(len(dict.words)) {
		d.bad = true
		return ""
	}
	return dict.words[ref-1]
}

func (d *decoder) bools(n int) []bool {
	f := d.byte()
	out := make([]bool, n)
	for i := range out {
		out[i] = f&(1<<i) != 0
	}
	if f>>n != 0 {
		d.bad = true
	}
	return out
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.int()
		ns := d.uint()
		if ns >= 1e9 {
			d.bad = true
			return time.Time{}
		}
		return time.Unix(sec, int64(ns)).UTC()
	}
	d.bad = true
	return time.Time{}
}

func (d *decoder) dec() decimal.Decimal {
	switch d.byte() {
	case 0:
		c := d.int()
		exp := d.int()
		if exp < -64 || exp > 64 {
			d.bad = true
			return decimal.Decimal{}
		}
		return decimal.New(c, int32(exp))
	case 1:
		s := d.raw()
		exp := d.int()
		c, ok := new(big.Int).SetString(string(s), 10)
		if !ok || exp < -64 || exp > 64 {
			d.bad = true
			return decimal.Decimal{}
		}
		return decimal.NewFromBigInt(c, int32(exp))
	}
	d.bad = true
	return decimal.Decimal{}
}
