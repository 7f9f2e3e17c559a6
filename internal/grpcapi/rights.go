package grpcapi

import (
	"context"
	"slices"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/service"
)

// GetCounters returns a beneficiary's PF and franchise counters.
func (s *BeneficiaryServer) GetCounters(ctx context.Context, req *tpv1.GetCountersRequest) (*tpv1.GetCountersResponse, error) {
	d := &decoder{}
	q := service.CountersQuery{NIR: req.GetNir(), Year: int(req.GetYear()),
		CareDate: d.date("care_date", req.GetCareDate(), false), Professional: req.GetProfessionalId()}
	if q.Professional != "" && !professionalRE.MatchString(q.Professional) {
		d.bad("professional_id", "1 to 20 letters or digits")
	}
	if err := withDomain(d, s.svc.CountersProblems(q)); err != nil {
		return nil, toStatus(err)
	}
	ref, v, err := s.svc.GetCounters(ctx, q)
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.GetCountersResponse{Counters: countersToProto(v), BeneficiaryRef: ref}, nil
}

// CheckRights answers a rights check without billing.
func (s *BeneficiaryServer) CheckRights(ctx context.Context, req *tpv1.CheckRightsRequest) (*tpv1.CheckRightsResponse, error) {
	d := &decoder{}
	q := service.RightsCheck{NIR: req.GetNir(), CareDate: d.date("care_date", req.GetCareDate(), true),
		Category:   claims.Category(d.enum("category", int32(req.GetCategory()), int32(tpv1.Category_CATEGORY_MEDICAL_DEVICE))),
		ALDRelated: req.GetAldRelated(), ProductRate: d.rate("product_rate", req.GetProductRate()),
		Nature: claims.InsuranceNature(d.optionalEnum("nature", int32(req.GetNature()), int32(tpv1.InsuranceNature_INSURANCE_NATURE_AT_MP)))}
	q.Identification.Kind = claims.IdentificationKind(d.optionalEnum("identification.kind", int32(req.GetIdentification().GetKind()),
		int32(tpv1.IdentificationKind_IDENTIFICATION_KIND_NONE)))
	if v := req.GetIdentification().GetValue(); v != "" && !identifierRE.MatchString(v) {
		d.bad("identification.value", "1 to 64 letters, digits, '_' or '-'")
	} else {
		q.Identification.Value = v
	}
	if err := withDomain(d, s.svc.RightsCheckProblems(q)); err != nil {
		return nil, toStatus(err)
	}
	a, err := s.svc.CheckRights(ctx, q)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.CheckRightsResponse{Rights: tpv1.RightsState(a.State), TiersPayant: tpv1.TiersPayantAvailability(a.TiersPayant),
		Opposed: a.Opposed, Exonerations: a.Exonerations, RegimeLocalRate: a.RegimeLocalRate,
		Guarantee: tpv1.Guarantee(a.Guarantee), ManagingOrganism: a.Organism}
	if a.HasRate {
		t := a.RateTrace
		out.Rate = a.Rate.StringFixed(2)
		out.RateTrace = &tpv1.Trace{Amount: t.Amount, Value: t.Value.StringFixed(2), Rule: t.Rule, Article: t.Article,
			ParameterId: t.ParameterID, ParameterValue: t.Parameter}
	}
	lang := languageOf(ctx)
	for _, r := range a.Reasons {
		out.Reasons = append(out.Reasons, reasonToProto(r, "", lang))
	}
	return out, nil
}

// withDomain returns the decoder's violations and the domain's on the
// fields the decoder did not name (a field that failed to decode was
// checked as its zero value), so that one BadRequest names every problem.
func withDomain(d *decoder, domain []claims.FieldViolation) error {
	for _, v := range domain {
		if !slices.ContainsFunc(d.fields, func(f claims.FieldViolation) bool { return f.Field == v.Field }) {
			d.fields = append(d.fields, v)
		}
	}
	return d.err()
}

var franchiseKinds = map[franchise.Kind]tpv1.FranchiseKind{
	franchise.KindActeParamedical:      tpv1.FranchiseKind_FRANCHISE_KIND_AUXILIARY_ACT,
	franchise.KindTransport:            tpv1.FranchiseKind_FRANCHISE_KIND_TRANSPORT,
	franchise.KindPrestationPharmacien: tpv1.FranchiseKind_FRANCHISE_KIND_PHARMACIST_SERVICE,
}

func annualToProto(a claims.AnnualView) *tpv1.AnnualCounter {
	out := &tpv1.AnnualCounter{Used: money(a.Used), CountUsed: int32(a.CountUsed), CountCap: int32(a.CountCap),
		CountLeft: int32(a.CountLeft), ParameterIds: a.ParamIDs}
	if a.HasCap {
		out.Cap, out.Left = money(a.Cap), money(a.Left)
	}
	return out
}

func countersToProto(v claims.CounterView) *tpv1.Counters {
	out := &tpv1.Counters{Year: int32(v.Year), ParticipationForfaitaire: annualToProto(v.PF),
		Franchise: annualToProto(v.Franchise), OutstandingDebt: money(v.Debt)}
	for _, dv := range v.Daily {
		p := &tpv1.DailyCounters{CareDate: date(dv.CareDate), ProfessionalId: dv.Professional,
			Participations: int32(dv.PFCount), ParticipationsCap: int32(dv.PFCountCap), ParticipationsLeft: int32(dv.PFCountLeft)}
		for _, f := range dv.Franchise {
			pf := &tpv1.DailyFranchise{Kind: franchiseKinds[f.Kind], Used: money(f.Used)}
			if f.HasCap {
				pf.Cap, pf.Left = money(f.Cap), money(f.Left)
			}
			p.Franchise = append(p.Franchise, pf)
		}
		out.Daily = append(out.Daily, p)
	}
	return out
}
