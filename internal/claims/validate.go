package claims

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Product limits of the claim format. They are limits of the service, not
// legal numbers, and bound what a single request may carry.
const (
	// MaxLines is the maximum number of lines in one claim.
	MaxLines = 99
	// MaxIDLength is the maximum length, in characters, of a claim id or a
	// line id.
	MaxIDLength = 64
	// MaxQuantity is the maximum quantity of one line.
	MaxQuantity = 999
)

// maxAmount is the largest amount (unit price, billed amount, generic price)
// or coefficient a line may carry: a plausibility bound, not a legal number.
const maxAmount = 100000

// earliestCareYear: the oldest care date accepted: a plausibility bound (the
// general scheme dates from 1945), not a legal number.
const earliestCareYear = 1945

// FieldViolation is one problem of a claim: the field path, in the proto's
// snake_case names (e.g. "lines[3].care_date"), and what is wrong with it. The
// description never contains the field's value.
type FieldViolation struct {
	Field       string
	Description string
}

// ValidationError lists every problem of a malformed claim.
type ValidationError struct {
	Fields []FieldViolation
}

// Error names the fields in error, never their values (a NIR is personal
// data).
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid claim: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Description)
	}
	return b.String()
}

// Validate checks the form of a claim received at receivedAt and returns a
// *ValidationError listing all its problems, or nil. It checks what does not
// depend on the legal table; Engine.Price also checks each medicine's product
// rate against the rates allowed on its care date (P-TM-7).
func Validate(c Claim, receivedAt time.Time) error {
	if v := validate(c, receivedAt); len(v) > 0 {
		return &ValidationError{Fields: v}
	}
	return nil
}

func validate(c Claim, receivedAt time.Time) []FieldViolation {
	var vs []FieldViolation
	add := func(field, desc string) { vs = append(vs, FieldViolation{Field: field, Description: desc}) }

	switch n := utf8.RuneCountInString(c.ID); {
	case strings.TrimSpace(c.ID) == "":
		add("claim_id", "required")
	case n > MaxIDLength:
		add("claim_id", fmt.Sprintf("at most %d characters", MaxIDLength))
	}
	if c.CreatedAt.IsZero() {
		add("created_at", "required")
	}
	if strings.TrimSpace(c.Professional.ID) == "" {
		add("professional.id", "required")
	}
	if c.Professional.Profession <= ProfessionUnspecified || c.Professional.Profession > ProfessionTransporter {
		add("professional.profession", "unknown or unspecified profession")
	}
	if c.Identification.Kind <= IdentificationUnspecified || c.Identification.Kind > IdentificationNone {
		add("identification.kind", "unknown or unspecified identification kind")
	} else if c.Identification.Kind != IdentificationNone && strings.TrimSpace(c.Identification.Value) == "" {
		add("identification.value", "required unless the identification kind is NONE")
	}
	if !ValidNIR(c.NIR) {
		add("nir", "not a valid NIR (13 characters and a 2-digit key)")
	}
	if c.Nature <= NatureUnspecified || c.Nature > NatureATMP {
		add("nature", "unknown or unspecified insurance nature")
	}
	if c.Mode <= ModeUnspecified || c.Mode > ModeAMOAndAMC {
		add("mode", "unknown or unspecified tiers-payant mode")
	}
	switch {
	case len(c.Lines) == 0:
		add("lines", "at least one line is required")
	case len(c.Lines) > MaxLines:
		add("lines", fmt.Sprintf("at most %d lines", MaxLines))
	}
	receiptDay := civil(receivedAt)          // in receivedAt's own location, as Engine.Price
	maxAmt := decimal.New(maxAmount*100, -2) // same exponent as cents: compared without rescaling
	one := decimal.NewFromInt(1)
	earliest := time.Date(earliestCareYear, time.January, 1, 0, 0, 0, 0, time.UTC)
	seen := make(map[string]bool, len(c.Lines))
	for i, l := range c.Lines {
		p := "lines[" + strconv.Itoa(i) + "]."
		switch {
		case strings.TrimSpace(l.ID) == "":
			add(p+"line_id", "required")
		case utf8.RuneCountInString(l.ID) > MaxIDLength:
			add(p+"line_id", fmt.Sprintf("at most %d characters", MaxIDLength))
		case seen[l.ID]:
			add(p+"line_id", "duplicate line id")
		}
		seen[l.ID] = true
		if l.Category <= CategoryUnspecified || l.Category > CategoryPharmacistService {
			add(p+"category", "unknown or unspecified category")
		}
		switch care := civil(l.CareDate); {
		case l.CareDate.IsZero():
			add(p+"care_date", "required")
		case care.After(receiptDay):
			add(p+"care_date", "after the receipt date")
		case care.Before(earliest):
			add(p+"care_date", "before 1945-01-01")
		}
		checkAmount(p, "unit_price", l.UnitPrice, maxAmt, add)
		checkAmount(p, "billed_amount", l.BilledAmount, maxAmt, add)
		checkAmount(p, "highest_generic_price", l.HighestGenericPrice, maxAmt, add)
		checkAmount(p, "coefficient", l.Coefficient, maxAmt, add)
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			add(p+"quantity", fmt.Sprintf("must be between 1 and %d", MaxQuantity))
		}
		if l.Category == CategoryMedicine {
			if l.ProductRate.Sign() <= 0 || l.ProductRate.GreaterThan(one) || !cents(l.ProductRate) {
				add(p+"product_rate", "required for a medicine: a fraction in (0, 1] with at most 2 decimals")
			}
		} else if !l.ProductRate.IsZero() {
			add(p+"product_rate", "only medicine lines carry a product rate")
		}
	}
	return vs
}

func checkAmount(prefix, name string, d, maxAmt decimal.Decimal, add func(string, string)) {
	switch {
	case d.Sign() < 0:
		add(prefix+name, "must not be negative")
	case !cents(d):
		add(prefix+name, "at most 2 decimals")
	case d.GreaterThan(maxAmt):
		add(prefix+name, fmt.Sprintf("must not exceed %d", maxAmount))
	}
}

// cents reports whether d has at most 2 decimals.
func cents(d decimal.Decimal) bool {
	return d.Exponent() >= -2 || d.Equal(d.Round(2))
}

// ValidNIR reports whether s is a well-formed NIR (docs/rules.md#identifiers):
// 13 characters (sex digit, year, month, département — "2A" or "2B" allowed
// in positions 6–7 only —, commune, order number) followed by a 2-digit key
// equal to 97 − (body mod 97), where for the key the Corsican départements 2A
// and 2B read as 19 and 18.
//
// TODO(legal): the first digit may be 1 to 8 here, while a NIR starts with 1
// or 2 (7 or 8 for a temporary number); the month and département fields are
// not checked.
func ValidNIR(s string) bool {
	if len(s) != 15 || s[0] < '1' || s[0] > '8' {
		return false
	}
	var digits [13]byte
	copy(digits[:], s[:13])
	if digits[5] == '2' && (digits[6] == 'A' || digits[6] == 'B') {
		digits[5] = '1'
		digits[6] = '9' - (digits[6] - 'A') // 2A -> 19, 2B -> 18
	}
	var body int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
		body = body*10 + int64(c-'0')
	}
	if s[13] < '0' || s[13] > '9' || s[14] < '0' || s[14] > '9' {
		return false
	}
	key := int64(s[13]-'0')*10 + int64(s[14]-'0')
	return key == 97-body%97
}
