package service

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
)

// RightsCheck is a rights check without billing (docs/rules.md#rights-check):
// the ADRi / FHIR CoverageEligibilityRequest equivalent.
type RightsCheck struct {
	NIR            string
	CareDate       time.Time
	Category       claims.Category
	Identification claims.Identification // the proof the professional would use
	ProductRate    decimal.Decimal       // medicines and medical devices
	ALDRelated     bool
	Nature         claims.InsuranceNature
}

// CheckRights answers what a claim of one category on a care date would
// meet: rights, the engine's rate and exonerations, the opposition list
// (judged now), and whether tiers payant is possible. It changes nothing and
// records nothing: the audit trail holds changes only
// (docs/OPERATIONS.md#audit-trail). Callers as GetCounters, the operator's
// organism being the one managing the beneficiary on the care date; a
// beneficiary the registry does not know answers "cannot tell" to a
// professional and an administrator.
func (s *Service) CheckRights(ctx context.Context, q RightsCheck) (claims.RightsAnswer, error) {
	now := s.clock().Truncate(time.Millisecond)
	today := s.civilDate(now)
	if vs := s.RightsCheckProblems(q); len(vs) > 0 {
		return claims.RightsAnswer{}, &claims.ValidationError{Fields: vs}
	}
	p, err := caller(ctx)
	if err != nil {
		return claims.RightsAnswer{}, err
	}
	rr := ReadRequest{NIR: q.NIR, Identifier: q.Identification.Value, CreatedAt: now, Year: today.Year()}
	if q.Identification.Kind == claims.IdentificationNone {
		rr.Identifier = ""
	}
	snap, err := s.snapshots.Read(ctx, rr)
	if err != nil {
		return claims.RightsAnswer{}, err
	}
	switch {
	case snap.Known:
		if err := s.mayReadBeneficiary(ctx, p, snap, q.CareDate); err != nil {
			return claims.RightsAnswer{}, err
		}
	case p.Role != access.RoleProfessional && p.Role != access.RoleAdmin:
		return claims.RightsAnswer{}, access.ErrDenied // an operator asks of its own beneficiaries only
	}
	rights := snap.Beneficiary.Rights
	rights.Organism = snap.Beneficiary.OrganismOn(q.CareDate)
	return s.engine.CheckRights(claims.RightsQuery{Rights: rights, Known: snap.Known, Opposed: snap.Opposed,
		Identification: q.Identification.Kind, NIR: q.NIR, CareDate: q.CareDate, Category: q.Category,
		ProductRate: q.ProductRate, ALDRelated: q.ALDRelated, Nature: q.Nature, ReceivedAt: today})
}

// RightsCheckProblems lists what is wrong with a rights check, on the
// request's field names.
func (s *Service) RightsCheckProblems(q RightsCheck) []claims.FieldViolation {
	var vs []claims.FieldViolation
	if !claims.ValidNIR(q.NIR) {
		vs = append(vs, claims.FieldViolation{Field: "nir", Description: "not a valid NIR (13 characters and a matching 2-digit key)"})
	}
	if q.CareDate.IsZero() {
		vs = append(vs, claims.FieldViolation{Field: "care_date", Description: "required: a date YYYY-MM-DD"})
	} else if q.CareDate.After(s.Today()) {
		vs = append(vs, claims.FieldViolation{Field: "care_date", Description: "after today"})
	}
	if q.Category <= claims.CategoryUnspecified || q.Category > claims.CategoryMedicalDevice {
		vs = append(vs, claims.FieldViolation{Field: "category", Description: "required: one of the documented values"})
	}
	if q.Nature == claims.NatureATMP {
		vs = append(vs, claims.FieldViolation{Field: "nature", Description: "AT/MP is not adjudicated by the service (docs/rules.md#insurance-nature)"})
	}
	if (q.Category == claims.CategoryMedicine || q.Category == claims.CategoryMedicalDevice) && q.ProductRate.Sign() <= 0 {
		vs = append(vs, claims.FieldViolation{Field: "product_rate", Description: "required for a medicine or a medical device: a fraction such as \"0.65\""})
	}
	if q.Identification.Kind != claims.IdentificationNone && q.Identification.Kind != claims.IdentificationUnspecified && q.Identification.Value == "" {
		vs = append(vs, claims.FieldViolation{Field: "identification.value", Description: "required unless the identification kind is NONE or not set"})
	}
	return vs
}
