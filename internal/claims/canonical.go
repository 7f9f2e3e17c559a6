package claims

import (
	"encoding/binary"
	"time"

	"github.com/shopspring/decimal"
)

// AppendCanonical appends the claim's canonical encoding: the bytes whose
// keyed hash tells a retry of the claim from a different claim under the same
// id (docs/rules.md#claim-id-reuse). Two claims encode alike exactly when they say the same thing:
// every field is written in a fixed order, amounts by value ("12.5" and
// "12.50" alike) and instants by the instant they name, whatever their zone.
//
// Each field is written as its kind's encoding: integers and bools as
// varints, strings with their length, instants as Unix nanoseconds (the zero
// time apart), amounts as a normalised coefficient and exponent. A field added
// to Claim, Line or their parts must be added here:
// TestCanonicalCoversEveryField fails until it is.
func (c Claim) AppendCanonical(b []byte) []byte {
	b = append(b, 1) // encoding version
	b = appendString(b, c.ID)
	b = appendInstant(b, c.CreatedAt)
	b = appendString(b, c.Professional.ID)
	b = binary.AppendVarint(b, int64(c.Professional.Profession))
	b = appendString(b, c.Professional.Departement)
	b = binary.AppendVarint(b, int64(c.Identification.Kind))
	b = appendString(b, c.Identification.Value)
	b = appendString(b, c.NIR)
	b = binary.AppendVarint(b, int64(c.Nature))
	b = binary.AppendVarint(b, int64(c.Mode))
	b = binary.AppendUvarint(b, uint64(len(c.Lines)))
	for _, l := range c.Lines {
		b = appendString(b, l.ID)
		b = appendString(b, l.Code)
		b = binary.AppendVarint(b, int64(l.Category))
		b = appendInstant(b, l.CareDate)
		b = appendAmount(b, l.UnitPrice)
		b = binary.AppendVarint(b, int64(l.Quantity))
		b = appendAmount(b, l.BilledAmount)
		b = appendAmount(b, l.Coefficient)
		b = appendAmount(b, l.ProductRate)
		b = appendFlags(b, l.ALDRelated, l.MaternityExam, l.Emergency, l.DuringHospitalStay, l.GenericRefused)
		b = binary.AppendVarint(b, int64(l.Parcours))
		b = appendAmount(b, l.HighestGenericPrice)
	}
	if c.Professional.IDKind != ProfessionalIDUnspecified {
		// Written last and only when set, so that a claim without a kind
		// keeps the encoding (and digest) it had before the field existed.
		b = binary.AppendVarint(b, int64(c.Professional.IDKind))
	}
	if c.hasIssue13Fields() {
		// The fields added with issue 13, written after a marker and only
		// when one of them is set, for the same reason.
		b = append(b, 0xfe)
		b = binary.AppendVarint(b, int64(c.Professional.Specialty))
		for _, l := range c.Lines {
			b = binary.AppendVarint(b, int64(l.Kind))
			b = binary.AppendVarint(b, int64(l.ActFamily))
			b = binary.AppendVarint(b, int64(l.Exoneration))
			b = binary.AppendVarint(b, int64(l.ParcoursException))
			b = binary.AppendVarint(b, int64(l.NonSubstitution))
			b = appendInstant(b, l.GenericGroup.Published)
			b = appendFlags(b, l.GenericGroup.Biosimilar)
			b = appendAmount(b, l.GenericGroup.TFR)
		}
	}
	if c.hasIssue15Fields() {
		// The fields added with issue 15, behind their own marker, likewise.
		b = append(b, 0xfd)
		for _, l := range c.Lines {
			b = appendString(b, l.AttachedTo)
			b = binary.AppendVarint(b, int64(l.FeeKind))
			b = appendString(b, l.PrescriptionID)
			b = appendString(b, l.SpecialtyCode)
		}
	}
	return b
}

// hasIssue15Fields reports whether any field written behind the 0xfd marker
// is set.
func (c Claim) hasIssue15Fields() bool {
	for _, l := range c.Lines {
		if l.AttachedTo != "" || l.FeeKind != FeeKindUnspecified || l.PrescriptionID != "" || l.SpecialtyCode != "" {
			return true
		}
	}
	return false
}

// hasIssue13Fields reports whether any field written behind the 0xfe marker
// is set.
func (c Claim) hasIssue13Fields() bool {
	if c.Professional.Specialty != SpecialtyUnspecified {
		return true
	}
	for _, l := range c.Lines {
		if l.Kind != LineKindUnspecified || l.ActFamily != ActFamilyNone || l.Exoneration != ExonerationNone ||
			l.ParcoursException != ExceptionUnspecified || l.NonSubstitution != NonSubstitutionNone ||
			!l.GenericGroup.Published.IsZero() || l.GenericGroup.Biosimilar || !l.GenericGroup.TFR.IsZero() {
			return true
		}
	}
	return false
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendInstant(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixNano())
}

func appendFlags(b []byte, flags ...bool) []byte {
	var v uint64
	for i, f := range flags {
		if f {
			v |= 1 << i
		}
	}
	return binary.AppendUvarint(b, v)
}

// appendAmount writes an amount by value: the coefficient without trailing
// zeros and its exponent, so that 12.5, 12.50 and 1250e-2 encode alike. An
// amount too long for an int64 coefficient is written as its decimal text
// behind a marker of its own.
func appendAmount(b []byte, d decimal.Decimal) []byte {
	if d.NumDigits() > 18 {
		return appendString(append(b, 2), d.String())
	}
	coef, exp := d.CoefficientInt64(), d.Exponent()
	if coef == 0 {
		exp = 0
	}
	for coef != 0 && coef%10 == 0 {
		coef /= 10
		exp++
	}
	return binary.AppendVarint(binary.AppendVarint(append(b, 1), coef), int64(exp))
}
