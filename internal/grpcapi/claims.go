package grpcapi

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/claims/explain"
	"github.com/tierspayant/tierspayant/internal/service"
)

// ClaimServer implements tierspayant.v1.ClaimService.
type ClaimServer struct {
	tpv1.UnimplementedClaimServiceServer
	svc *service.Service
	// MaxStreamClaims bounds the claims of one AdjudicateStream call.
	maxStream int
}

var _ tpv1.ClaimServiceServer = (*ClaimServer)(nil)

// NewClaimServer returns the ClaimService on svc.
func NewClaimServer(svc *service.Service, maxStreamClaims int) *ClaimServer {
	return &ClaimServer{svc: svc, maxStream: maxStreamClaims}
}

// Adjudicate prices and commits a claim.
func (s *ClaimServer) Adjudicate(ctx context.Context, req *tpv1.AdjudicateRequest) (*tpv1.AdjudicateResponse, error) {
	d, err := s.adjudicate(ctx, req.GetClaim())
	if err != nil {
		return nil, err
	}
	return &tpv1.AdjudicateResponse{Decision: d}, nil
}

func (s *ClaimServer) adjudicate(ctx context.Context, p *tpv1.Claim) (*tpv1.Decision, error) {
	c, err := decodeClaim(p, s.svc.Today)
	if err != nil {
		return nil, toStatus(err)
	}
	r, err := s.svc.Adjudicate(ctx, c)
	if err != nil {
		return nil, toStatus(inClaim(err))
	}
	return decisionFor(ctx, r, r.Replayed), nil
}

func decisionFor(ctx context.Context, r service.Result, replayed bool) *tpv1.Decision {
	d := decisionToProto(r.Decision, r.ReceivedAt, replayed)
	lang := languageOf(ctx)
	for _, rs := range d.Reasons {
		rs.Explanation = explain.Text(rs.GetCode(), lang)
	}
	d.DueDate = date(r.Meta.DueDate)
	amc := decimal.Zero
	for _, l := range r.Meta.AMC {
		amc = amc.Add(l.Amount)
		d.AmcLines = append(d.AmcLines, &tpv1.AmcLine{LineId: l.LineID, Payer: l.Payer, ContractId: l.ContractID,
			Rate: l.Rate.String(), Amount: money(l.Amount), CeilingApplied: l.CeilingApplied})
	}
	d.Totals.AmcPayableToProfessional = money(amc)
	d.Totals.PatientShareAfterAmc = money(r.Decision.Totals.PatientShare.Sub(amc))
	return d
}

// Simulate prices a claim without committing anything.
func (s *ClaimServer) Simulate(ctx context.Context, req *tpv1.SimulateRequest) (*tpv1.SimulateResponse, error) {
	c, err := decodeClaim(req.GetClaim(), s.svc.Today)
	if err != nil {
		return nil, toStatus(err)
	}
	r, err := s.svc.Simulate(ctx, c)
	if err != nil {
		return nil, toStatus(inClaim(err))
	}
	out := &tpv1.SimulateResponse{Decision: decisionFor(ctx, r, false)}
	if r.Counters != nil {
		out.Counters = countersToProto(*r.Counters)
	}
	return out, nil
}

// GetClaim returns a stored decision.
func (s *ClaimServer) GetClaim(ctx context.Context, req *tpv1.GetClaimRequest) (*tpv1.GetClaimResponse, error) {
	if req.GetClaimId() == "" {
		return nil, invalidField("claim_id", "required")
	}
	r, err := s.svc.GetClaim(ctx, req.GetClaimId())
	if err != nil {
		return nil, toStatus(err)
	}
	t, err := s.svc.Tracking(ctx, req.GetClaimId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.GetClaimResponse{Decision: decisionFor(ctx, r, false), Tracking: trackingToProto(t), Cancelled: r.Cancelled}, nil
}

// CancelClaim reverses a committed claim once.
func (s *ClaimServer) CancelClaim(ctx context.Context, req *tpv1.CancelClaimRequest) (*tpv1.CancelClaimResponse, error) {
	if req.GetClaimId() == "" {
		return nil, invalidField("claim_id", "required")
	}
	c, err := s.svc.CancelClaim(ctx, req.GetClaimId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.CancelClaimResponse{
		CancelledNow: c.Now, ParticipationForfaitaireRestored: money(c.PFRestored),
		FranchiseRestored: money(c.FRRestored), CancelledAt: timestamppb.New(c.CancelledAt),
	}, nil
}

// AdjudicateStream adjudicates a batch: one answer per claim, matched by
// claim id. A claim's error is carried in its answer as the google.rpc.Status
// the unary call would have returned (code, message and details); the stream
// goes on.
func (s *ClaimServer) AdjudicateStream(stream tpv1.ClaimService_AdjudicateStreamServer) error {
	n := 0
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		n++
		if s.maxStream > 0 && n > s.maxStream {
			return invalidField("claim", "too many claims on one stream: open a new stream")
		}
		resp := &tpv1.AdjudicateStreamResponse{ClaimId: req.GetClaim().GetClaimId()}
		if d, err := s.adjudicate(stream.Context(), req.GetClaim()); err != nil {
			resp.Outcome = &tpv1.AdjudicateStreamResponse_Error{Error: status.Convert(err).Proto()}
		} else {
			resp.Outcome = &tpv1.AdjudicateStreamResponse_Decision{Decision: d}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// inClaim prefixes the engine's field paths ("lines[0].quantity") with the
// request's ("claim.lines[0].quantity").
func inClaim(err error) error {
	var ve *claims.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &claims.ValidationError{Fields: make([]claims.FieldViolation, len(ve.Fields))}
	for i, f := range ve.Fields {
		if !strings.HasPrefix(f.Field, "claim.") {
			f.Field = "claim." + f.Field
		}
		out.Fields[i] = f
	}
	return out
}
