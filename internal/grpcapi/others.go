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
func (s *ParameterServer) ListParameters(ctx context.Context, req *tpv1.ListParametersRequest) (*tpv1.ListParametersResponse, error) {
	d := &decoder{}
	day := d.date("at", req.GetAt(), false)
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	if day.IsZero() {
		day = s.svc.Today()
	}
	vals, err := s.svc.Params(ctx, day)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListParametersResponse{At: day.Format(time.DateOnly)}
	for _, v := range vals {
		out.Parameters = append(out.Parameters, s.parameterToProto(v))
	}
	return out, nil
}

func (s *ParameterServer) parameterToProto(v legal.Value) *tpv1.Parameter {
	ref := v.RefID + ": " + v.RefTitle
	if v.RefHref != "" {
		ref += " <" + v.RefHref + ">"
	}
	return &tpv1.Parameter{Id: v.ID, Description: s.svc.Describe(v.ID), Value: v.Text, Unit: v.Unit,
		Start: date(v.From), End: date(v.To), Reference: ref}
}
