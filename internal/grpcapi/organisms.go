package grpcapi

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/service"
)

// OrganismServer implements tierspayant.v1.OrganismService.
type OrganismServer struct {
	tpv1.UnimplementedOrganismServiceServer
	svc *service.Service
}

var _ tpv1.OrganismServiceServer = (*OrganismServer)(nil)

// NewOrganismServer returns the OrganismService on svc.
func NewOrganismServer(svc *service.Service) *OrganismServer { return &OrganismServer{svc: svc} }

// maxOrganismCode bounds an organism code; maxDelayTarget a convention's
// delay target (the legal deadline is 7 working days, D161-13-3; a
// target is at most a fraud regime's 30).
const (
	maxOrganismCode = 32
	maxDelayTarget  = 30
)

func organismFromProto(p *tpv1.Organism) (organism.Organism, error) {
	d := &decoder{}
	o := organism.Organism{Code: p.GetCode(), Name: p.GetName(), Departement: p.GetDepartement()}
	d.text("organism.code", o.Code, maxOrganismCode, true)
	d.text("organism.name", o.Name, maxLongText, false)
	d.text("organism.departement", o.Departement, 3, false)
	d.count("organism.conventions", len(p.GetConventions()), maxListEntries)
	o.Kind = organism.Kind(d.enum("organism.kind", int32(p.GetKind()), int32(tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE)))
	for i, c := range p.GetConventions() {
		f := fmt.Sprintf("organism.conventions[%d].", i)
		cv := organism.Convention{
			ID: c.GetId(), COGRef: c.GetCogRef(), Scopes: c.GetScopes(), Departements: c.GetDepartements(),
			DelayTargetWorkingDays: int(c.GetDelayTargetWorkingDays()),
			ValidFrom:              d.date(f+"valid_from", c.GetValidFrom(), true),
			ValidTo:                d.date(f+"valid_to", c.GetValidTo(), true),
		}
		if !cv.ValidTo.IsZero() && cv.ValidTo.Before(cv.ValidFrom) {
			d.bad(f+"valid_to", "before valid_from")
		}
		d.text(f+"id", cv.ID, maxShortText, false)
		d.text(f+"cog_ref", cv.COGRef, maxShortText, false)
		if n := c.GetDelayTargetWorkingDays(); n < 0 || n > maxDelayTarget {
			d.bad(f+"delay_target_working_days", fmt.Sprintf("between 0 and %d working days", maxDelayTarget))
		}
		d.count(f+"scopes", len(c.GetScopes()), maxListEntries)
		for j, sc := range c.GetScopes() {
			d.text(fmt.Sprintf("%sscopes[%d]", f, j), sc, maxShortText, true)
		}
		d.count(f+"departements", len(c.GetDepartements()), 128)
		for j, dep := range c.GetDepartements() {
			d.text(fmt.Sprintf("%sdepartements[%d]", f, j), dep, 3, true)
		}
		d.count(f+"operations", len(c.GetOperations()), maxListEntries)
		d.count(f+"remises", len(c.GetRemises()), maxListEntries)
		d.count(f+"amc_delegations", len(c.GetAmcDelegations()), maxListEntries)
		for j, op := range c.GetOperations() {
			cv.Operations = append(cv.Operations, organism.Operation(d.enum(fmt.Sprintf("%soperations[%d]", f, j), int32(op), int32(tpv1.DelegatedOperation_DELEGATED_OPERATION_PAY_AMC))))
		}
		for j, r := range c.GetRemises() {
			rf := fmt.Sprintf("%sremises[%d].", f, j)
			amt, _ := d.money(rf+"amount_per_beneficiary", r.GetAmountPerBeneficiary(), true)
			cv.Remises = append(cv.Remises, organism.RemiseRule{From: d.date(rf+"start", r.GetStart(), true), AmountPerBeneficiary: amt})
		}
		for j, a := range c.GetAmcDelegations() {
			af := fmt.Sprintf("%samc_delegations[%d].", f, j)
			ceiling, _ := d.money(af+"ceiling", a.GetCeiling(), false)
			d.text(af+"contract_id", a.GetContractId(), maxShortText, true)
			cv.AMC = append(cv.AMC, organism.AMCDelegation{ContractID: a.GetContractId(), Rate: d.rate(af+"rate", a.GetRate()), Ceiling: ceiling})
		}
		o.Conventions = append(o.Conventions, cv)
	}
	return o, d.err()
}

func organismToProto(o organism.Organism) *tpv1.Organism {
	out := &tpv1.Organism{Code: o.Code, Name: o.Name, Kind: tpv1.OrganismKind(o.Kind), Departement: o.Departement}
	for _, c := range o.Conventions {
		pc := &tpv1.Convention{Id: c.ID, ValidFrom: date(c.ValidFrom), ValidTo: date(c.ValidTo), CogRef: c.COGRef,
			Scopes: c.Scopes, Departements: c.Departements, DelayTargetWorkingDays: int32(c.DelayTargetWorkingDays)}
		for _, op := range c.Operations {
			pc.Operations = append(pc.Operations, tpv1.DelegatedOperation(op))
		}
		for _, r := range c.Remises {
			pc.Remises = append(pc.Remises, &tpv1.RemiseRule{Start: date(r.From), AmountPerBeneficiary: money(r.AmountPerBeneficiary)})
		}
		for _, a := range c.AMC {
			ceiling := ""
			if !a.Ceiling.Equal(decimal.Zero) {
				ceiling = money(a.Ceiling)
			}
			pc.AmcDelegations = append(pc.AmcDelegations, &tpv1.AmcDelegation{ContractId: a.ContractID, Rate: a.Rate.String(), Ceiling: ceiling})
		}
		out.Conventions = append(out.Conventions, pc)
	}
	return out
}

// UpsertOrganism records an organism and its conventions.
func (s *OrganismServer) UpsertOrganism(ctx context.Context, req *tpv1.UpsertOrganismRequest) (*tpv1.UpsertOrganismResponse, error) {
	o, err := organismFromProto(req.GetOrganism())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.svc.UpsertOrganism(ctx, o); err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.UpsertOrganismResponse{Organism: organismToProto(o)}, nil
}

// GetOrganism returns an organism.
func (s *OrganismServer) GetOrganism(ctx context.Context, req *tpv1.GetOrganismRequest) (*tpv1.GetOrganismResponse, error) {
	if req.GetCode() == "" {
		return nil, invalidField("code", "required")
	}
	o, err := s.svc.Organism(ctx, req.GetCode())
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.GetOrganismResponse{Organism: organismToProto(o)}, nil
}

// ListOrganisms lists the organisms.
func (s *OrganismServer) ListOrganisms(ctx context.Context, _ *tpv1.ListOrganismsRequest) (*tpv1.ListOrganismsResponse, error) {
	list, err := s.svc.Organisms(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListOrganismsResponse{}
	for _, o := range list {
		out.Organisms = append(out.Organisms, organismToProto(o))
	}
	return out, nil
}

// GetRemisesReport computes an organism's remises de gestion for a year.
func (s *OrganismServer) GetRemisesReport(ctx context.Context, req *tpv1.GetRemisesReportRequest) (*tpv1.GetRemisesReportResponse, error) {
	d := &decoder{}
	if req.GetOrganismCode() == "" {
		d.bad("organism_code", "required")
	}
	if req.GetYear() < 2000 || req.GetYear() > 2100 {
		d.bad("year", "a calendar year such as 2026")
	}
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	r, err := s.svc.RemisesReport(ctx, req.GetOrganismCode(), int(req.GetYear()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.GetRemisesReportResponse{OrganismCode: req.GetOrganismCode(), Year: req.GetYear(), Beneficiaries: int64(r.Beneficiaries),
		BeneficiaryYears: r.BeneficiaryYears.StringFixed(4), Amount: money(r.Amount)}, nil
}

// GetConventionIndicators compares the delay target with a quarter's delays.
func (s *OrganismServer) GetConventionIndicators(ctx context.Context, req *tpv1.GetConventionIndicatorsRequest) (*tpv1.GetConventionIndicatorsResponse, error) {
	q, err := organismQuarter(req.GetOrganismCode(), req.GetQuarter())
	if err != nil {
		return nil, err
	}
	ind, err := s.svc.ConventionIndicators(ctx, req.GetOrganismCode(), q)
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.GetConventionIndicatorsResponse{OrganismCode: req.GetOrganismCode(), Quarter: q.String(), ConventionId: ind.ConventionID,
		DelayTargetWorkingDays: int32(ind.DelayTarget), Claims: int64(ind.Claims), PaidWithinTarget: ind.PaidWithinTarget.StringFixed(4),
		MedianDelayWorkingDays: ind.Median, P90DelayWorkingDays: ind.P90, TargetMet: ind.TargetMet}, nil
}
