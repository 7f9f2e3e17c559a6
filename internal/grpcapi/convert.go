package grpcapi

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
)

// decoder collects every field problem of a request.
type decoder struct {
	fields []claims.FieldViolation
}

func (d *decoder) bad(field, desc string) {
	d.fields = append(d.fields, claims.FieldViolation{Field: field, Description: desc})
}

func (d *decoder) err() error {
	if len(d.fields) == 0 {
		return nil
	}
	return &claims.ValidationError{Fields: d.fields}
}

var amountRE = regexp.MustCompile(`^[0-9]{1,7}(\.[0-9]{1,2})?$`)

// Identifiers that end up in Redis key names and script fields: a safe
// alphabet, so that none can break a hash tag or a field separator.
var (
	claimIDRE      = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,64}$`)
	professionalRE = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)
	identifierRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)
var rateRE = regexp.MustCompile(`^[0-9](\.[0-9]{1,4})?$`)

// money parses a euro amount: digits, at most two decimals. Empty gives
// (zero, false) when optional.
func (d *decoder) money(field, s string, required bool) (decimal.Decimal, bool) {
	if s == "" {
		if required {
			d.bad(field, "required: a decimal amount in euros such as \"30.00\"")
		}
		return decimal.Decimal{}, false
	}
	if !amountRE.MatchString(s) {
		d.bad(field, "must be a non-negative decimal amount in euros with at most two decimals, such as \"30.00\"")
		return decimal.Decimal{}, false
	}
	v, err := decimal.NewFromString(s)
	if err != nil {
		d.bad(field, "not a decimal amount")
		return decimal.Decimal{}, false
	}
	return v, true
}

func (d *decoder) rate(field, s string) decimal.Decimal {
	if s == "" {
		return decimal.Decimal{}
	}
	if !rateRE.MatchString(s) {
		d.bad(field, "must be a fraction such as \"0.65\"")
		return decimal.Decimal{}
	}
	v, _ := decimal.NewFromString(s)
	if v.GreaterThan(decimal.NewFromInt(1)) {
		d.bad(field, "must be a fraction between 0 and 1")
		return decimal.Decimal{}
	}
	return v
}

func (d *decoder) date(field, s string, required bool) time.Time {
	if s == "" {
		if required {
			d.bad(field, "required: a date YYYY-MM-DD")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		d.bad(field, "must be a date YYYY-MM-DD")
		return time.Time{}
	}
	if t.Before(minDate) || t.After(maxDate) {
		// 0001-01-01 would read as "no date" (an open-ended period), 9999-12-31
		// as "never".
		d.bad(field, "outside the dates the service supports, "+minDate.Format(time.DateOnly)+" to "+maxDate.Format(time.DateOnly))
		return time.Time{}
	}
	return t
}

// The range of every calendar date and instant of a request: plausibility
// bounds of the service (docs/rules.md#identifiers), not legal numbers.
var (
	minDate = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(2099, time.December, 31, 0, 0, 0, 0, time.UTC)
)

// Bounds on the repeated and free-text fields of the registry and
// organism requests (issue 14: one call must not write thousands of keys or
// a record every claim then reads).
const (
	maxListEntries = 64  // periods of each kind, pregnancies, attachments, conventions and their lists
	maxShortText   = 64  // identifiers, references, contract ids
	maxLongText    = 200 // names
)

// text checks a free-text field: at most max characters, no control
// character (NUL, newlines…), required when asked.
func (d *decoder) text(field, s string, max int, required bool) string {
	switch {
	case s == "" && required:
		d.bad(field, "required")
	case utf8.RuneCountInString(s) > max:
		d.bad(field, fmt.Sprintf("at most %d characters", max))
	case strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s):
		d.bad(field, "must not contain control characters")
	}
	return s
}

// count checks the length of a repeated field.
func (d *decoder) count(field string, n, max int) {
	if n > max {
		d.bad(field, fmt.Sprintf("at most %d entries", max))
	}
}

func (d *decoder) enum(field string, v, max int32) int {
	if v <= 0 || v > max {
		d.bad(field, "required: one of the documented values")
		return 0
	}
	return int(v)
}

// optionalEnum decodes an enum whose zero value is a documented default:
// 0 through max are accepted, anything else is refused.
func (d *decoder) optionalEnum(field string, v, max int32) int {
	if v < 0 || v > max {
		d.bad(field, "one of the documented values")
		return 0
	}
	return int(v)
}

// decodeClaim decodes the claim of Adjudicate, Simulate and AdjudicateStream.
// A claim that decodes is validated by the service, after its permission
// check. One that does not is also validated here (claims.Validate, received
// on the date today gives) as far as it could be decoded, so that a single
// BadRequest names every problem of the request: a malformed amount and an
// invalid NIR key alike.
func decodeClaim(p *tpv1.Claim, today func() time.Time) (claims.Claim, error) {
	c, err := claimFromProto(p)
	var ve *claims.ValidationError
	if err == nil || p == nil || !errors.As(err, &ve) {
		return c, err
	}
	return c, mergeViolations(ve.Fields, claims.Validate(c, today()))
}

// mergeViolations adds to the decoder's violations the domain's, prefixed
// with "claim.", on the fields the decoder did not already name: a field that
// failed to decode was validated as its zero value, and its domain violation
// would only repeat the decoder's. Nor is a product rate reported on a line
// whose category failed to decode: the domain took that line for a
// non-medicine. The list is ordered claim-level problems first, then line by
// line, each group in the decoder's then the domain's order.
func mergeViolations(decoded []claims.FieldViolation, domain error) error {
	named := make(map[string]bool, len(decoded))
	for _, v := range decoded {
		named[v.Field] = true
	}
	out := slices.Clone(decoded)
	var dv *claims.ValidationError
	if errors.As(inClaim(domain), &dv) {
		for _, v := range dv.Fields {
			if named[v.Field] {
				continue
			}
			if line, ok := strings.CutSuffix(v.Field, ".product_rate"); ok && named[line+".category"] {
				continue
			}
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b claims.FieldViolation) int { return lineOf(a.Field) - lineOf(b.Field) })
	return &claims.ValidationError{Fields: out}
}

// lineOf is the line index of a field path "claim.lines[i]…", -1 for any
// other field.
func lineOf(field string) int {
	rest, ok := strings.CutPrefix(field, "claim.lines[")
	if !ok {
		return -1
	}
	n, _, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(n)
	if !ok || err != nil {
		return -1
	}
	return i
}

// claimFromProto decodes a claim and checks what only the wire format says
// (syntax of amounts, dates and identifiers, enum values); the rules of a
// claim's form are claims.Validate's.
func claimFromProto(p *tpv1.Claim) (claims.Claim, error) {
	d := &decoder{}
	if p == nil {
		d.bad("claim", "required")
		return claims.Claim{}, d.err()
	}
	c := claims.Claim{ID: p.GetClaimId(), NIR: p.GetNir()}
	if c.ID != "" && !claimIDRE.MatchString(c.ID) {
		d.bad("claim.claim_id", "1 to 64 characters among letters, digits and . _ : / -")
	}
	if id := p.GetProfessional().GetId(); id == "" {
		d.bad("claim.professional.id", "required: the RPPS, ADELI or FINESS identifier")
	} else if !professionalRE.MatchString(id) {
		d.bad("claim.professional.id", "an RPPS, ADELI or FINESS identifier: 1 to 20 letters or digits")
	}
	if v := p.GetIdentification().GetValue(); v != "" && !identifierRE.MatchString(v) {
		d.bad("claim.identification.value", "1 to 64 characters among letters, digits, - and _")
	}
	if p.GetCreatedAt() == nil {
		d.bad("claim.created_at", "required: the creation time declared by the software")
	} else if err := p.GetCreatedAt().CheckValid(); err != nil {
		d.bad("claim.created_at", "not a valid timestamp")
	} else {
		c.CreatedAt = p.GetCreatedAt().AsTime()
	}
	pro := p.GetProfessional()
	c.Professional = claims.Professional{ID: pro.GetId(), Departement: pro.GetDepartement()}
	c.Professional.Specialty = claims.Specialty(d.optionalEnum("claim.professional.specialty", int32(pro.GetSpecialty()), int32(tpv1.Specialty_SPECIALTY_OTHER)))
	c.Professional.Profession = claims.Profession(d.enum("claim.professional.profession", int32(pro.GetProfession()), int32(tpv1.Profession_PROFESSION_TRANSPORTER)))
	if pro.GetIdKind() != tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_UNSPECIFIED {
		c.Professional.IDKind = claims.ProfessionalIDKind(d.enum("claim.professional.id_kind", int32(pro.GetIdKind()), int32(tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_FINESS)))
	}
	c.Identification = claims.Identification{Value: p.GetIdentification().GetValue()}
	c.Identification.Kind = claims.IdentificationKind(d.enum("claim.identification.kind", int32(p.GetIdentification().GetKind()), int32(tpv1.IdentificationKind_IDENTIFICATION_KIND_NONE)))
	c.Nature = claims.InsuranceNature(d.enum("claim.nature", int32(p.GetNature()), int32(tpv1.InsuranceNature_INSURANCE_NATURE_AT_MP)))
	c.Mode = claims.TiersPayantMode(d.enum("claim.mode", int32(p.GetMode()), int32(tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_AMC)))
	for i, pl := range p.GetLines() {
		f := func(name string) string { return fmt.Sprintf("claim.lines[%d].%s", i, name) }
		l := claims.Line{
			ID: pl.GetLineId(), Code: pl.GetCode(), Quantity: int(pl.GetQuantity()),
			ALDRelated: pl.GetAldRelated(), MaternityExam: pl.GetMaternityExam(), Emergency: pl.GetEmergency(),
			DuringHospitalStay: pl.GetDuringHospitalStay(), GenericRefused: pl.GetGenericRefused(),
		}
		l.Category = claims.Category(d.enum(f("category"), int32(pl.GetCategory()), int32(tpv1.Category_CATEGORY_MEDICAL_DEVICE)))
		l.CareDate = d.date(f("care_date"), pl.GetCareDate(), true)
		l.UnitPrice, _ = d.money(f("unit_price"), pl.GetUnitPrice(), true)
		if v, ok := d.money(f("billed_amount"), pl.GetBilledAmount(), false); ok {
			l.BilledAmount = v
		} else if pl.GetBilledAmount() == "" {
			l.BilledAmount = l.Base()
		}
		if pl.GetCoefficient() != "" {
			if v, err := decimal.NewFromString(pl.GetCoefficient()); err != nil || v.IsNegative() || v.Exponent() < -2 {
				d.bad(f("coefficient"), "must be a non-negative decimal with at most two decimals")
			} else {
				l.Coefficient = v
			}
		}
		l.ProductRate = d.rate(f("product_rate"), pl.GetProductRate())
		l.HighestGenericPrice, _ = d.money(f("highest_generic_price"), pl.GetHighestGenericPrice(), false)
		switch pc := pl.GetParcours(); {
		case pc < 0 || pc > tpv1.Parcours_PARCOURS_EXCEPTION:
			d.bad(f("parcours"), "one of the documented values")
		case pc == tpv1.Parcours_PARCOURS_UNSPECIFIED && pl.GetCategory() == tpv1.Category_CATEGORY_PHYSICIAN:
			// The only lines whose rate it changes (L162-5-3): unset, it
			// would be read as respected.
			d.bad(f("parcours"), "required on a physician line: PARCOURS_RESPECTED, PARCOURS_HORS or PARCOURS_EXCEPTION")
		}
		l.Parcours = claims.Parcours(pl.GetParcours())
		l.Kind = claims.LineKind(d.optionalEnum(f("kind"), int32(pl.GetKind()), int32(tpv1.LineKind_LINE_KIND_COMPLEMENT)))
		l.ActFamily = claims.ActFamily(d.optionalEnum(f("act_family"), int32(pl.GetActFamily()), int32(tpv1.ActFamily_ACT_FAMILY_DENTAL_PREVENTION)))
		l.Exoneration = claims.Exoneration(d.optionalEnum(f("exoneration"), int32(pl.GetExoneration()), int32(tpv1.Exoneration_EXONERATION_VACCINE)))
		l.ParcoursException = claims.ParcoursExceptionReason(d.optionalEnum(f("parcours_exception"), int32(pl.GetParcoursException()), int32(tpv1.ParcoursException_PARCOURS_EXCEPTION_OTHER)))
		if l.ParcoursException != claims.ExceptionUnspecified && pl.GetParcours() != tpv1.Parcours_PARCOURS_EXCEPTION {
			d.bad(f("parcours_exception"), "only with parcours PARCOURS_EXCEPTION")
		}
		l.NonSubstitution = claims.NonSubstitution(d.optionalEnum(f("non_substitution"), int32(pl.GetNonSubstitution()), int32(tpv1.NonSubstitution_NON_SUBSTITUTION_CIF)))
		l.AttachedTo, l.PrescriptionID, l.SpecialtyCode = pl.GetAttachedTo(), pl.GetPrescriptionId(), pl.GetSpecialtyCode()
		l.FeeKind = claims.FeeKind(d.optionalEnum(f("fee_kind"), int32(pl.GetFeeKind()), int32(tpv1.FeeKind_FEE_KIND_COMPLEX_PRESCRIPTION)))
		if g := pl.GetGenericGroup(); g != nil {
			l.GenericGroup.Published = d.date(f("generic_group.published"), g.GetPublished(), true)
			l.GenericGroup.Biosimilar = g.GetBiosimilar()
			l.GenericGroup.TFR, _ = d.money(f("generic_group.tfr"), g.GetTfr(), false)
		}
		if pl.GetCategory() != tpv1.Category_CATEGORY_MEDICINE {
			if l.NonSubstitution != claims.NonSubstitutionNone {
				d.bad(f("non_substitution"), "medicine lines only")
			}
			if pl.GetGenericGroup() != nil {
				d.bad(f("generic_group"), "medicine lines only")
			}
		}
		c.Lines = append(c.Lines, l)
	}
	return c, d.err()
}

// money writes an amount with two decimals, as StringFixed(2) does. Amounts
// of the decision are already whole cents: they are written from an int64 of
// cents, without StringFixed's detour through big.Int text; anything else
// (more decimals, very large) takes StringFixed.
func money(v decimal.Decimal) string {
	exp := v.Exponent()
	if exp < -2 || exp > 0 || v.NumDigits() > 15 {
		return v.StringFixed(2)
	}
	cents := v.CoefficientInt64()
	for ; exp > -2; exp-- {
		cents *= 10
	}
	var buf [24]byte
	out := buf[:0]
	if cents < 0 {
		out = append(out, '-')
		cents = -cents
	}
	out = strconv.AppendInt(out, cents/100, 10)
	return string(append(out, '.', byte('0'+cents%100/10), byte('0'+cents%10)))
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// lineID is the client's id of the decision's line i, "" for the whole claim
// (the engine's index -1).
func lineID(d claims.Decision, i int) string {
	if i < 0 || i >= len(d.Lines) {
		return ""
	}
	return d.Lines[i].LineID
}

func decisionToProto(d claims.Decision, receivedAt time.Time, replayed bool) *tpv1.Decision {
	out := &tpv1.Decision{
		ClaimId: d.ClaimID, Status: tpv1.DecisionStatus(d.Status), Guarantee: tpv1.Guarantee(d.Guarantee),
		DebtBalance: money(d.DebtBalance), ManagingOrganism: d.Organism,
		ReceivedAt: timestamppb.New(receivedAt), AdjudicationDate: date(d.AdjudicatedOn), Replayed: replayed,
		Totals: &tpv1.DecisionTotals{
			Base: money(d.Totals.Base), Amo: money(d.Totals.AMO), TicketModerateur: money(d.Totals.TicketModerateur),
			ParticipationForfaitaire: money(d.Totals.ParticipationForfaitaire), Franchise: money(d.Totals.Franchise),
			Excess: money(d.Totals.Excess), PayableToProfessional: money(d.Totals.PayableToProfessional),
			PayableToPatient: money(d.Totals.PayableToPatient), PatientShare: money(d.Totals.PatientShare),
			PatientDebt: money(d.Totals.PatientDebt), AmountToRecover: money(d.Totals.AmountToRecover),
			HorsParcoursMajoration: money(d.Totals.HorsParcoursMajoration), RegimeLocal: money(d.Totals.RegimeLocal),
		},
		Proof: tpv1.IdentificationKind(d.Proof),
	}
	for _, r := range d.Reasons {
		out.Reasons = append(out.Reasons, &tpv1.Reason{Code: r.Code, LineId: lineID(d, r.Line), Article: r.Article, Message: r.Message})
	}
	for _, l := range d.Lines {
		out.Lines = append(out.Lines, &tpv1.LineDecision{
			LineId: l.LineID, Status: tpv1.DecisionStatus(l.Status), TiersPayant: l.TiersPayant,
			Base: money(l.Base), Rate: l.Rate.StringFixed(2), Amo: money(l.AMO), TicketModerateur: money(l.TicketModerateur),
			HeavyActFlat: l.HeavyActFlat, ParticipationForfaitaire: money(l.ParticipationForfaitaire),
			Franchise: money(l.Franchise), Excess: money(l.Excess), PayableToProfessional: money(l.PayableToProfessional),
			PayableToPatient: money(l.PayableToPatient), PatientShare: money(l.PatientShare), PatientDebt: money(l.PatientDebt),
			AmountToRecover: money(l.AmountToRecover), HorsParcoursMajoration: money(l.HorsParcoursMajoration), RegimeLocal: money(l.RegimeLocal),
		})
	}
	for _, t := range d.Trace {
		out.Trace = append(out.Trace, &tpv1.Trace{
			LineId: lineID(d, t.Line), Amount: t.Amount, Value: t.Value.StringFixed(2), Rule: t.Rule,
			Article: t.Article, ParameterId: t.ParameterID, ParameterValue: t.Parameter,
		})
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
