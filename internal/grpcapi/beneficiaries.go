package grpcapi

import (
	"context"
	"fmt"
	"time"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/service"
)

// BeneficiaryServer implements tierspayant.v1.BeneficiaryService.
type BeneficiaryServer struct {
	tpv1.UnimplementedBeneficiaryServiceServer
	svc *service.Service
}

var _ tpv1.BeneficiaryServiceServer = (*BeneficiaryServer)(nil)

// NewBeneficiaryServer returns the BeneficiaryService on svc.
func NewBeneficiaryServer(svc *service.Service) *BeneficiaryServer {
	return &BeneficiaryServer{svc: svc}
}

func (d *decoder) periods(field string, ps []*tpv1.DatePeriod) []claims.Period {
	d.count(field, len(ps), maxListEntries)
	var out []claims.Period
	for i, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, i)
		start := d.date(f+".start", p.GetStart(), true)
		end := d.date(f+".end", p.GetEnd(), false)
		if !end.IsZero() && end.Before(start) {
			d.bad(f+".end", "before start")
		}
		out = append(out, claims.Period{From: start, To: end})
	}
	return out
}

func periodsToProto(ps []claims.Period) []*tpv1.DatePeriod {
	var out []*tpv1.DatePeriod
	for _, p := range ps {
		out = append(out, &tpv1.DatePeriod{Start: date(p.From), End: date(p.To)})
	}
	return out
}

// beneficiaryFromProto decodes a beneficiary registered on the Paris date
// today (a birth date after it is refused).
func beneficiaryFromProto(p *tpv1.Beneficiary, today time.Time) (service.Beneficiary, error) {
	d := &decoder{}
	const f = "beneficiary."
	b := service.Beneficiary{HasMedecinTraitant: p.GetHasMedecinTraitant(),
		AMCContract: d.text(f+"amc_contract_id", p.GetAmcContractId(), maxShortText, false)}
	b.Rights.BirthDate = d.date(f+"birth_date", p.GetBirthDate(), true)
	if b.Rights.BirthDate.After(today) {
		d.bad(f+"birth_date", "after today")
	}
	d.count(f+"pregnancies", len(p.GetPregnancies()), maxListEntries)
	d.count(f+"organisms", len(p.GetOrganisms()), maxListEntries)
	b.Rights.Open = d.periods(f+"rights", p.GetRights())
	b.Rights.CSS = d.periods(f+"css", p.GetCss())
	b.Rights.AME = d.periods(f+"ame", p.GetAme())
	b.Rights.ALD = d.periods(f+"ald", p.GetAld())
	b.Rights.DirectDebitAuthorised = p.GetDirectDebitAuthorised()
	d.count(f+"statuses", len(p.GetStatuses()), maxListEntries)
	for i, st := range p.GetStatuses() {
		sf := fmt.Sprintf("%sstatuses[%d]", f, i)
		k := claims.StatusKind(d.enum(sf+".kind", int32(st.GetKind()), int32(tpv1.StatusKind_STATUS_KIND_REVERSION_INVALIDITY)))
		ps := d.periods(sf+".period", []*tpv1.DatePeriod{st.GetPeriod()})
		b.Rights.Statuses = append(b.Rights.Statuses, claims.StatusPeriod{Kind: k, Period: ps[0]})
	}
	b.Rights.RegimeLocal = d.periods(f+"regime_local", p.GetRegimeLocal())
	for i, pg := range p.GetPregnancies() {
		pf := fmt.Sprintf("%spregnancies[%d].", f, i)
		b.Rights.Pregnancies = append(b.Rights.Pregnancies, claims.Pregnancy{
			ExpectedDelivery: d.date(pf+"expected_delivery_date", pg.GetExpectedDeliveryDate(), true),
			ActualDelivery:   d.date(pf+"actual_delivery_date", pg.GetActualDeliveryDate(), false),
		})
	}
	for i, a := range p.GetOrganisms() {
		af := fmt.Sprintf("%sorganisms[%d]", f, i)
		d.text(af+".organism_code", a.GetOrganismCode(), maxOrganismCode, true)
		ps := d.periods(af+".period", []*tpv1.DatePeriod{a.GetPeriod()})
		b.Attachments = append(b.Attachments, service.Attachment{Organism: a.GetOrganismCode(), Period: ps[0]})
	}
	return b, d.err()
}

// UpsertBeneficiary registers or replaces a beneficiary's rights.
func (s *BeneficiaryServer) UpsertBeneficiary(ctx context.Context, req *tpv1.UpsertBeneficiaryRequest) (*tpv1.UpsertBeneficiaryResponse, error) {
	b, err := beneficiaryFromProto(req.GetBeneficiary(), s.svc.Today())
	if err != nil {
		return nil, toStatus(err)
	}
	ref, err := s.svc.UpsertBeneficiary(ctx, req.GetBeneficiary().GetNir(), b)
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.UpsertBeneficiaryResponse{BeneficiaryRef: ref}, nil
}

// GetBeneficiary returns a beneficiary's rights and debt.
func (s *BeneficiaryServer) GetBeneficiary(ctx context.Context, req *tpv1.GetBeneficiaryRequest) (*tpv1.GetBeneficiaryResponse, error) {
	ref, b, err := s.svc.GetBeneficiary(ctx, req.GetNir())
	if err != nil {
		return nil, toStatus(err)
	}
	r := b.Rights
	out := &tpv1.Beneficiary{
		Nir: req.GetNir(), BirthDate: date(r.BirthDate), Rights: periodsToProto(r.Open), Css: periodsToProto(r.CSS),
		Ame: periodsToProto(r.AME), Ald: periodsToProto(r.ALD), HasMedecinTraitant: b.HasMedecinTraitant,
		DirectDebitAuthorised: r.DirectDebitAuthorised, OutstandingDebt: money(r.Debt), AmcContractId: b.AMCContract,
	}
	out.RegimeLocal = periodsToProto(r.RegimeLocal)
	for _, st := range r.Statuses {
		out.Statuses = append(out.Statuses, &tpv1.BeneficiaryStatus{Kind: tpv1.StatusKind(st.Kind), Period: &tpv1.DatePeriod{Start: date(st.Period.From), End: date(st.Period.To)}})
	}
	for _, p := range r.Pregnancies {
		out.Pregnancies = append(out.Pregnancies, &tpv1.Pregnancy{ExpectedDeliveryDate: date(p.ExpectedDelivery), ActualDeliveryDate: date(p.ActualDelivery)})
	}
	for _, a := range b.Attachments {
		out.Organisms = append(out.Organisms, &tpv1.OrganismAttachment{OrganismCode: a.Organism, Period: &tpv1.DatePeriod{Start: date(a.Period.From), End: date(a.Period.To)}})
	}
	return &tpv1.GetBeneficiaryResponse{Beneficiary: out, BeneficiaryRef: ref}, nil
}
