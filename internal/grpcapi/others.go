package grpcapi

import (
	"context"
	"time"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/service"
)

// ParameterServer implements tierspayant.v1.ParameterService.
type ParameterServer struct {
	tpv1.UnimplementedParameterServiceServer
	svc *service.Service
}

var _ tpv1.ParameterServiceServer = (*ParameterServer)(nil)

// NewParameterServer returns the ParameterService on svc.
func NewParameterServer(svc *service.Service) *ParameterServer { return &ParameterServer{svc: svc} }

// ListParameters lists the legal parameters in force on a date.
func (s *ParameterServer) ListParameters(_ context.Context, req *tpv1.ListParametersRequest) (*tpv1.ListParametersResponse, error) {
	d := &decoder{}
	day := d.date("at", req.GetAt(), false)
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	if day.IsZero() {
		day = s.svc.Today()
	}
	out := &tpv1.ListParametersResponse{At: day.Format(time.DateOnly)}
	for _, v := range s.svc.Params(day) {
		out.Parameters = append(out.Parameters, s.parameterToProto(v))
	}
	return out, nil
}

// PaymentServer answers tierspayant.v1.PaymentService until the payments
// work delivers it.
type PaymentServer struct {
	tpv1.UnimplementedPaymentServiceServer
}

var _ tpv1.PaymentServiceServer = PaymentServer{}

// RecordPayment is delivered by the payments work.
func (PaymentServer) RecordPayment(context.Context, *tpv1.RecordPaymentRequest) (*tpv1.RecordPaymentResponse, error) {
	return nil, unimplemented("payments (guarantee, deadlines and penalties)")
}

// ListProfessionalClaims is delivered by the payments work.
func (PaymentServer) ListProfessionalClaims(context.Context, *tpv1.ListProfessionalClaimsRequest) (*tpv1.ListProfessionalClaimsResponse, error) {
	return nil, unimplemented("payments (payment tracking)")
}

// GetDelayReport is delivered by the payments work.
func (PaymentServer) GetDelayReport(context.Context, *tpv1.GetDelayReportRequest) (*tpv1.GetDelayReportResponse, error) {
	return nil, unimplemented("payments (quarterly delay report)")
}

// OrganismServer answers tierspayant.v1.OrganismService until the organisms
// work delivers it.
type OrganismServer struct {
	tpv1.UnimplementedOrganismServiceServer
}

var _ tpv1.OrganismServiceServer = OrganismServer{}

// UpsertOrganism is delivered by the organisms work.
func (OrganismServer) UpsertOrganism(context.Context, *tpv1.UpsertOrganismRequest) (*tpv1.UpsertOrganismResponse, error) {
	return nil, unimplemented("organisms (délégataires and conventions)")
}

// GetOrganism is delivered by the organisms work.
func (OrganismServer) GetOrganism(context.Context, *tpv1.GetOrganismRequest) (*tpv1.GetOrganismResponse, error) {
	return nil, unimplemented("organisms (délégataires and conventions)")
}

// ListOrganisms is delivered by the organisms work.
func (OrganismServer) ListOrganisms(context.Context, *tpv1.ListOrganismsRequest) (*tpv1.ListOrganismsResponse, error) {
	return nil, unimplemented("organisms (délégataires and conventions)")
}

func (s *ParameterServer) parameterToProto(v legal.Value) *tpv1.Parameter {
	ref := v.RefID + ": " + v.RefTitle
	if v.RefHref != "" {
		ref += " <" + v.RefHref + ">"
	}
	return &tpv1.Parameter{Id: v.ID, Description: s.svc.Describe(v.ID), Value: v.Text, Unit: v.Unit,
		From: date(v.From), To: date(v.To), Reference: ref}
}
