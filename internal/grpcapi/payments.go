package grpcapi

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/payment"
	"github.com/tierspayant/tierspayant/internal/service"
)

// PaymentServer implements tierspayant.v1.PaymentService.
type PaymentServer struct {
	tpv1.UnimplementedPaymentServiceServer
	svc *service.Service
}

var _ tpv1.PaymentServiceServer = (*PaymentServer)(nil)

// NewPaymentServer returns the PaymentService on svc.
func NewPaymentServer(svc *service.Service) *PaymentServer { return &PaymentServer{svc: svc} }

func trackingToProto(t service.Tracking) *tpv1.PaymentTracking {
	out := &tpv1.PaymentTracking{
		State: tpv1.PaymentState(t.State), ReceivedAt: timestamppb.New(t.ReceivedAt), DueDate: date(t.Meta.DueDate),
		Penalty: "0.00", Calendar: t.Meta.Calendar().Name(),
	}
	if t.Meta.Fraud != nil {
		out.FraudRegimeRef = t.Meta.Fraud.DecisionRef
	}
	if p := t.Payment; p != nil {
		out.PaidAt, out.PaidAmount, out.PaymentReference = timestamppb.New(p.PaidAt), money(p.Amount), p.Reference
		out.PaidOnWorkingDay, out.Penalty, out.PenaltyHalfYear, out.PenaltyRule = int32(p.WorkingDay), money(p.Penalty), p.HalfYear, p.Rule
	}
	return out
}

// RecordPayment records a claim's payment and computes its penalty.
func (s *PaymentServer) RecordPayment(ctx context.Context, req *tpv1.RecordPaymentRequest) (*tpv1.RecordPaymentResponse, error) {
	d := &decoder{}
	if req.GetClaimId() == "" {
		d.bad("claim_id", "required")
	}
	d.text("payment_reference", req.GetPaymentReference(), maxShortText, true)
	switch {
	case req.GetPaidAt() == nil || req.GetPaidAt().CheckValid() != nil:
		d.bad("paid_at", "required: the value date of the transfer")
	case req.GetPaidAt().AsTime().Before(minDate) || !req.GetPaidAt().AsTime().Before(maxDate.AddDate(0, 0, 1)):
		// 9999-12-31 would sort after every real payment in the reports.
		d.bad("paid_at", "outside the dates the service supports, "+minDate.Format(time.DateOnly)+" to "+maxDate.Format(time.DateOnly))
	}
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	t, now, err := s.svc.RecordPayment(ctx, req.GetClaimId(), req.GetPaymentReference(), req.GetPaidAt().AsTime())
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.RecordPaymentResponse{Tracking: trackingToProto(t), RecordedNow: now}, nil
}

// ListProfessionalClaims lists a professional's claims and their payment state.
func (s *PaymentServer) ListProfessionalClaims(ctx context.Context, req *tpv1.ListProfessionalClaimsRequest) (*tpv1.ListProfessionalClaimsResponse, error) {
	d := &decoder{}
	if req.GetProfessionalId() == "" {
		d.bad("professional_id", "required")
	}
	offset, size := listPage(d, req.GetState(), req.GetPageSize(), req.GetPageToken())
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	list, next, err := s.svc.ProfessionalClaims(ctx, req.GetProfessionalId(), service.TrackingState(req.GetState()), offset, size)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListProfessionalClaimsResponse{NextPageToken: nextToken(next)}
	for _, t := range list {
		out.Claims = append(out.Claims, &tpv1.ProfessionalClaim{ClaimId: t.ClaimID, PayableToProfessional: money(t.Meta.Payable), Tracking: trackingToProto(t)})
	}
	return out, nil
}

// ListOrganismClaims lists the claims an organism pays in one quarter.
func (s *PaymentServer) ListOrganismClaims(ctx context.Context, req *tpv1.ListOrganismClaimsRequest) (*tpv1.ListOrganismClaimsResponse, error) {
	d := &decoder{}
	if req.GetOrganismCode() == "" {
		d.bad("organism_code", "required")
	}
	q, qerr := service.ParseQuarter(req.GetQuarter())
	if qerr != nil {
		d.bad("quarter", "a quarter YYYYQn, such as 2026Q3")
	}
	offset, size := listPage(d, req.GetState(), req.GetPageSize(), req.GetPageToken())
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	list, next, err := s.svc.OrganismClaims(ctx, req.GetOrganismCode(), q, service.TrackingState(req.GetState()), offset, size)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListOrganismClaimsResponse{NextPageToken: nextToken(next)}
	for _, t := range list {
		out.Claims = append(out.Claims, &tpv1.OrganismClaim{ClaimId: t.ClaimID, ProfessionalId: t.Meta.Professional,
			Profession: tpv1.Profession(t.Meta.Profession), PayableToProfessional: money(t.Meta.Payable), Tracking: trackingToProto(t)})
	}
	return out, nil
}

// listPage decodes a listing's state filter, page size (default 100, at
// most 1000) and page token (an offset).
func listPage(d *decoder, state tpv1.PaymentState, pageSize int32, token string) (offset, size int) {
	size = int(pageSize)
	switch {
	case size == 0:
		size = 100
	case size < 0 || size > 1000:
		d.bad("page_size", "between 1 and 1000")
	}
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 {
			d.bad("page_token", "not a token returned by this RPC")
		}
		offset = n
	}
	if state < 0 || state > tpv1.PaymentState_PAYMENT_STATE_CANCELLED {
		d.bad("state", "one of the documented values")
	}
	return offset, size
}

// nextToken is the page token of the next offset, empty at the end (-1).
func nextToken(next int) string {
	if next < 0 {
		return ""
	}
	return strconv.Itoa(next)
}

// GetDelayReport reports payment delays per organism, profession and quarter.
func (s *PaymentServer) GetDelayReport(ctx context.Context, req *tpv1.GetDelayReportRequest) (*tpv1.GetDelayReportResponse, error) {
	q, err := organismQuarter(req.GetOrganismCode(), req.GetQuarter())
	if err != nil {
		return nil, err
	}
	rows, err := s.svc.DelayReport(ctx, req.GetOrganismCode(), q)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.GetDelayReportResponse{OrganismCode: req.GetOrganismCode(), Quarter: q.String()}
	for _, r := range rows {
		out.Rows = append(out.Rows, &tpv1.DelayReportRow{
			Profession: tpv1.Profession(r.Profession), Claims: int64(r.Claims), PaidWithinDeadline: r.PaidWithinDeadline.StringFixed(4),
			MedianDelayWorkingDays: r.MedianDelay, P90DelayWorkingDays: r.P90, PenaltiesDue: money(r.PenaltiesDue),
			OverdueUnpaid: int64(r.OverdueUnpaid),
		})
	}
	return out, nil
}

func regimeToProto(pro string, r payment.FraudRegime) *tpv1.FraudRegime {
	kind := tpv1.FraudRegimeKind(r.Kind)
	if r.Kind == payment.FraudRegimeUnspecified { // stored before kinds existed: an initial measure
		kind = tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_INITIAL
	}
	return &tpv1.FraudRegime{ProfessionalId: pro, Start: date(r.Start), End: date(r.End), MaxWorkingDays: int32(r.MaxWorkingDays),
		DecisionRef: r.DecisionRef, Kind: kind}
}

// SetFraudRegime records a professional's extended deadline.
func (s *PaymentServer) SetFraudRegime(ctx context.Context, req *tpv1.SetFraudRegimeRequest) (*tpv1.SetFraudRegimeResponse, error) {
	d := &decoder{}
	r := req.GetRegime()
	if r.GetProfessionalId() == "" {
		d.bad("regime.professional_id", "required")
	}
	fr := payment.FraudRegime{
		Start: d.date("regime.start", r.GetStart(), true), End: d.date("regime.end", r.GetEnd(), true),
		MaxWorkingDays: int(r.GetMaxWorkingDays()), DecisionRef: r.GetDecisionRef(),
	}
	switch k := r.GetKind(); k {
	case tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_INITIAL, tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_MAINTENANCE, tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_JUDICIAL:
		fr.Kind = payment.FraudRegimeKind(k)
	default:
		d.bad("regime.kind", "required: FRAUD_REGIME_KIND_INITIAL, _MAINTENANCE or _JUDICIAL")
	}
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	rs, err := s.svc.SetFraudRegime(ctx, r.GetProfessionalId(), fr)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.SetFraudRegimeResponse{}
	for _, x := range rs {
		out.Regimes = append(out.Regimes, regimeToProto(r.GetProfessionalId(), x))
	}
	return out, nil
}

// ListFraudRegimes lists a professional's regimes.
func (s *PaymentServer) ListFraudRegimes(ctx context.Context, req *tpv1.ListFraudRegimesRequest) (*tpv1.ListFraudRegimesResponse, error) {
	if req.GetProfessionalId() == "" {
		return nil, invalidField("professional_id", "required")
	}
	rs, err := s.svc.FraudRegimes(ctx, req.GetProfessionalId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListFraudRegimesResponse{}
	for _, x := range rs {
		out.Regimes = append(out.Regimes, regimeToProto(req.GetProfessionalId(), x))
	}
	return out, nil
}

// organismQuarter checks the organism code and quarter of a report request.
func organismQuarter(org, quarter string) (service.Quarter, error) {
	d := &decoder{}
	if org == "" {
		d.bad("organism_code", "required")
	}
	q, err := service.ParseQuarter(quarter)
	if err != nil {
		d.bad("quarter", "a quarter YYYYQn, such as 2026Q3")
	}
	return q, toStatus(d.err())
}
