package claims

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/money"
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

// Limits are the plausibility bounds of one claim's amounts: limits of the
// service, configurable (ADJ_MAX_LINE_AMOUNT, ADJ_MAX_CLAIM_AMOUNT), not legal
// numbers (docs/rules.md#identifiers).
type Limits struct {
	// MaxLineAmount bounds a line's base (unit price × quantity) and its
	// billed amount.
	MaxLineAmount decimal.Decimal
	// MaxClaimAmount bounds the sum over the lines of the larger of base and
	// billed amount.
	MaxClaimAmount decimal.Decimal
	// Professions refuses a line whose category the claim's profession does
	// not bill (Bills).
	Professions bool
}

// DefaultLimits: the profession check, 50 000 € a line (the dearest pack a pharmacy dispenses is
// below), 100 000 € a claim.
func DefaultLimits() Limits {
	return Limits{MaxLineAmount: decimal.NewFromInt(50000), MaxClaimAmount: decimal.NewFromInt(100000), Professions: true}
}

// bills lists the categories each profession may bill
// (docs/rules.md#identifiers): a physician also dispenses medicines as a
// propharmacien (Code de la santé publique L4211-3) and, as a stomatologist,
// performs dental acts.
var bills = map[Profession][]Category{
	ProfessionPhysician:       {CategoryPhysician, CategoryDentist, CategoryMedicine, CategoryDispensingFee},
	ProfessionPharmacist:      {CategoryMedicine, CategoryPharmacistService, CategoryDispensingFee, CategoryMedicalDevice},
	ProfessionNurse:           {CategoryAuxiliary},
	ProfessionPhysiotherapist: {CategoryAuxiliary},
	ProfessionOtherAuxiliary:  {CategoryAuxiliary},
	ProfessionDentist:         {CategoryDentist},
	ProfessionMidwife:         {CategoryMidwife},
	ProfessionLaboratory:      {CategoryBiology},
	ProfessionTransporter:     {CategoryTransport, CategoryEmergencyTransport},
}

// Bills reports whether a professional of profession p may bill a line of
// category c.
func Bills(p Profession, c Category) bool {
	for _, x := range bills[p] {
		if x == c {
			return true
		}
	}
	return false
}

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
	return DefaultLimits().Validate(c, receivedAt)
}

// Validate is the package's Validate with these amount bounds.
func (lim Limits) Validate(c Claim, receivedAt time.Time) error {
	if v := lim.validate(c, receivedAt); len(v) > 0 {
		return &ValidationError{Fields: v}
	}
	return nil
}

func (lim Limits) validate(c Claim, receivedAt time.Time) []FieldViolation {
	var vs []FieldViolation
	add := func(field, desc string) { vs = append(vs, FieldViolation{Field: field, Description: desc}) }

	switch n := utf8.RuneCountInString(c.ID); {
	case strings.TrimSpace(c.ID) == "":
		add("claim_id", "required")
	case n > MaxIDLength:
		add("claim_id", fmt.Sprintf("at most %d characters", MaxIDLength))
	case strings.ContainsFunc(c.ID, unicode.IsControl):
		add("claim_id", "must not contain control characters")
	}
	if c.CreatedAt.IsZero() {
		add("created_at", "required")
	}
	switch k := c.Professional.IDKind; {
	case strings.TrimSpace(c.Professional.ID) == "":
		add("professional.id", "required")
	case k < ProfessionalIDUnspecified || k > ProfessionalIDFINESS:
		add("professional.id_kind", "unknown identifier kind")
	default:
		if desc := professionalIDProblem(k, c.Professional.ID); desc != "" {
			add("professional.id", desc)
		}
	}
	if c.Professional.Profession <= ProfessionUnspecified || c.Professional.Profession > ProfessionTransporter {
		add("professional.profession", "unknown or unspecified profession")
	}
	if c.Identification.Kind <= IdentificationUnspecified || c.Identification.Kind > IdentificationNone {
		add("identification.kind", "unknown or unspecified identification kind")
	} else if c.Identification.Kind != IdentificationNone && strings.TrimSpace(c.Identification.Value) == "" {
		add("identification.value", "required unless the identification kind is NONE")
	}
	if desc := nirProblem(c.NIR); desc != "" {
		add("nir", desc)
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
	receiptDay := calendar.Day(receivedAt)   // in receivedAt's own location, as Engine.Price
	maxAmt := decimal.New(maxAmount*100, -2) // same exponent as cents: compared without rescaling
	one := decimal.NewFromInt(1)
	earliest := time.Date(earliestCareYear, time.January, 1, 0, 0, 0, 0, time.UTC)
	seen := make(map[string]bool, len(c.Lines))
	total := decimal.Zero
	for i, l := range c.Lines {
		p := "lines[" + strconv.Itoa(i) + "]."
		switch {
		case strings.TrimSpace(l.ID) == "":
			add(p+"line_id", "required")
		case utf8.RuneCountInString(l.ID) > MaxIDLength:
			add(p+"line_id", fmt.Sprintf("at most %d characters", MaxIDLength))
		case seen[l.ID]:
			add(p+"line_id", "duplicate line id")
		case strings.ContainsFunc(l.ID, unicode.IsControl):
			add(p+"line_id", "must not contain control characters")
		}
		seen[l.ID] = true
		switch {
		case l.Category <= CategoryUnspecified || l.Category > CategoryMedicalDevice:
			add(p+"category", "unknown or unspecified category")
		case lim.Professions && c.Professional.Profession > ProfessionUnspecified && c.Professional.Profession <= ProfessionTransporter &&
			!Bills(c.Professional.Profession, l.Category):
			add(p+"category", "not a category the claim's profession bills")
		}
		if strings.ContainsFunc(l.Code, unicode.IsControl) {
			add(p+"code", "must not contain control characters")
		}
		switch care := calendar.Day(l.CareDate); {
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
		} else if l.UnitPrice.LessThanOrEqual(maxAmt) {
			base := l.Base()
			if lim.MaxLineAmount.Sign() > 0 && base.GreaterThan(lim.MaxLineAmount) {
				add(p+"unit_price", "unit price × quantity exceeds the per-line limit of "+lim.MaxLineAmount.StringFixed(2))
			}
			if lim.MaxLineAmount.Sign() > 0 && l.BilledAmount.GreaterThan(lim.MaxLineAmount) {
				add(p+"billed_amount", "exceeds the per-line limit of "+lim.MaxLineAmount.StringFixed(2))
			}
			total = total.Add(decimal.Max(base, l.BilledAmount))
		}
		if l.Category == CategoryMedicine {
			if l.ProductRate.Sign() <= 0 || l.ProductRate.GreaterThan(one) || !money.IsCents(l.ProductRate) {
				add(p+"product_rate", "required for a medicine: a fraction in (0, 1] with at most 2 decimals")
			}
			if l.GenericRefused && l.NonSubstitution != NonSubstitutionNone {
				// A justified non-substitution is not a refusal (L162-16-7).
				add(p+"generic_refused", "a refused generic and a non-substitutable justification exclude each other")
			}
			checkAmount(p, "generic_group.tfr", l.GenericGroup.TFR, maxAmt, add)
		} else if l.Category == CategoryMedicalDevice {
			if l.ProductRate.Sign() <= 0 || l.ProductRate.GreaterThan(one) || !money.IsCents(l.ProductRate) {
				add(p+"product_rate", "required for a medical device: a fraction in (0, 1] with at most 2 decimals")
			}
		} else if !l.ProductRate.IsZero() {
			add(p+"product_rate", "only medicine and medical-device lines carry a product rate")
		}
		for _, f := range []struct{ name, v string }{{"attached_to", l.AttachedTo}, {"prescription_id", l.PrescriptionID}, {"specialty_code", l.SpecialtyCode}} {
			switch {
			case utf8.RuneCountInString(f.v) > MaxIDLength:
				add(p+f.name, fmt.Sprintf("at most %d characters", MaxIDLength))
			case strings.ContainsFunc(f.v, unicode.IsControl):
				add(p+f.name, "must not contain control characters")
			}
		}
		if l.FeeKind < FeeKindUnspecified || l.FeeKind > FeeKindComplexPrescription {
			add(p+"fee_kind", "unknown fee kind")
		}
		if l.Category != CategoryDispensingFee {
			if l.AttachedTo != "" {
				add(p+"attached_to", "only a dispensing fee is attached to a pack")
			}
			if l.FeeKind != FeeKindUnspecified {
				add(p+"fee_kind", "only on a dispensing fee")
			}
		} else if l.AttachedTo != "" && l.FeeKind == FeeKindComplexPrescription {
			add(p+"fee_kind", "the complex-prescription fee is a prescription's, not a pack's: no attached_to")
		}
		if l.SpecialtyCode != "" && l.Category != CategoryMedicine {
			add(p+"specialty_code", "only on a medicine line")
		}
	}
	// A fee's pack is a medicine line of the same claim, with at most one
	// fee of its own (docs/rules.md#dispensing-fee).
	index := make(map[string]int, len(c.Lines))
	for i, l := range c.Lines {
		if _, dup := index[l.ID]; !dup {
			index[l.ID] = i
		}
	}
	fees := map[string]bool{}
	for i, l := range c.Lines {
		if l.Category != CategoryDispensingFee || l.AttachedTo == "" {
			continue
		}
		field := "lines[" + strconv.Itoa(i) + "].attached_to"
		j, ok := index[l.AttachedTo]
		switch {
		case !ok:
			add(field, "names no line of the claim")
		case c.Lines[j].Category != CategoryMedicine:
			add(field, "names a line that is not a medicine pack")
		case fees[l.AttachedTo]:
			add(field, "that pack already has its fee")
		}
		fees[l.AttachedTo] = true
	}
	if lim.MaxClaimAmount.Sign() > 0 && total.GreaterThan(lim.MaxClaimAmount) {
		add("lines", "the lines' amounts add up to more than the per-claim limit of "+lim.MaxClaimAmount.StringFixed(2))
	}
	return vs
}

func checkAmount(prefix, name string, d, maxAmt decimal.Decimal, add func(string, string)) {
	switch {
	case d.Sign() < 0:
		add(prefix+name, "must not be negative")
	case !money.IsCents(d):
		add(prefix+name, "at most 2 decimals")
	case d.GreaterThan(maxAmt):
		add(prefix+name, fmt.Sprintf("must not exceed %d", maxAmount))
	}
}

// ValidNIR reports whether s is a well-formed NIR (docs/rules.md#identifiers):
// 15 characters, the 13 of the number and a 2-digit key. The number is a sex
// digit 1 or 2 (7 or 8 for a temporary number), the year of birth, a birth
// month 01–12 or a conventional month 20–99, the département of birth 01–99
// or, for Corsica, "2A" or "2B" (positions 6–7 only), then digits for the
// commune and the order number. The key equals 97 − (number mod 97), the
// Corsican départements 2A and 2B reading as 19 and 18.
func ValidNIR(s string) bool {
	return nirProblem(s) == ""
}

// nirProblem describes, without the value, what makes s an invalid NIR, or
// returns "" for a valid one (ValidNIR).
func nirProblem(s string) string {
	const shape = "not a valid NIR: 13 characters and a 2-digit key"
	if len(s) != 15 {
		return shape
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
			return shape
		}
		body = body*10 + int64(c-'0')
	}
	if s[13] < '0' || s[13] > '9' || s[14] < '0' || s[14] > '9' {
		return shape
	}
	switch s[0] {
	case '1', '2', '7', '8':
	default:
		return "not a valid NIR: the first digit is 1 or 2 (7 or 8 for a temporary number)"
	}
	if month := int(s[3]-'0')*10 + int(s[4]-'0'); month < 1 || (month > 12 && month < 20) {
		return "not a valid NIR: the birth month is 01 to 12, or 20 to 99"
	}
	if s[5] == '0' && s[6] == '0' {
		return "not a valid NIR: the département of birth is 01 to 99, 2A or 2B"
	}
	if key := int64(s[13]-'0')*10 + int64(s[14]-'0'); key != 97-body%97 {
		return "not a valid NIR: the key does not match the number"
	}
	return ""
}

// ProfessionalIDKind is the register a professional identifier belongs to;
// its values are those of the API's ProfessionalIdKind.
type ProfessionalIDKind int

// Professional identifier kinds.
const (
	// ProfessionalIDUnspecified: the register is not given; the identifier
	// is then not checked beyond being present.
	ProfessionalIDUnspecified ProfessionalIDKind = iota
	// ProfessionalIDRPPS: répertoire partagé des professionnels de santé,
	// 11 digits, the last a Luhn key.
	ProfessionalIDRPPS
	// ProfessionalIDADELI: ADELI register, 9 digits.
	ProfessionalIDADELI
	// ProfessionalIDFINESS: FINESS establishment number, 9 characters.
	ProfessionalIDFINESS
)

// ValidProfessionalID reports whether id has the form of an identifier of
// the given kind (docs/rules.md#identifiers): RPPS 11 digits whose last is
// the Luhn key of the first ten; ADELI 9 digits; FINESS 9 digits, or "2A" or
// "2B" followed by 7 digits. An identifier of unspecified kind is valid when
// it is not blank.
func ValidProfessionalID(kind ProfessionalIDKind, id string) bool {
	return professionalIDProblem(kind, id) == ""
}

// professionalIDProblem describes, without the value, what makes id invalid
// for its kind, or returns "" (ValidProfessionalID).
func professionalIDProblem(kind ProfessionalIDKind, id string) string {
	switch kind {
	case ProfessionalIDUnspecified:
		if strings.TrimSpace(id) == "" {
			return "required"
		}
	case ProfessionalIDRPPS:
		if len(id) != 11 || !allDigits(id) || !luhn(id) {
			return "not a valid RPPS number: 11 digits, the last a Luhn key"
		}
	case ProfessionalIDADELI:
		if len(id) != 9 || !allDigits(id) {
			return "not a valid ADELI number: 9 digits"
		}
	case ProfessionalIDFINESS:
		if len(id) != 9 || !allDigits(id) && !(id[0] == '2' && (id[1] == 'A' || id[1] == 'B') && allDigits(id[2:])) {
			return "not a valid FINESS number: 9 digits, or 2A or 2B and 7 digits"
		}
	default:
		return "unknown identifier kind"
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// luhn reports whether the digits of s end with their Luhn key: from the
// right, every second digit is doubled (9 subtracted above 9) and the sum of
// all is a multiple of 10.
func luhn(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		n := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}
