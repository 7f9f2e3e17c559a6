package metrics

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

const (
	payerAMO     = "amo"
	payerAMC     = "amc"
	payerPatient = "patient"

	capAMCCeiling = "amc_line_ceiling"

	timelyWithin        = "within_deadline"
	timelyLate          = "late"
	timelyNotGuaranteed = "not_guaranteed"

	otherCode = "OTHER"
)

var statuses = []string{"accepted", "partial", "rejected", "unspecified"}

var guarantees = []string{"guaranteed", "not_guaranteed", "unspecified"}

func statusLabel(s tpv1.DecisionStatus) string {
	switch s {
	case tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED:
		return "accepted"
	case tpv1.DecisionStatus_DECISION_STATUS_PARTIAL:
		return "partial"
	case tpv1.DecisionStatus_DECISION_STATUS_REJECTED:
		return "rejected"
	}
	return "unspecified"
}

func guaranteeLabel(g tpv1.Guarantee) string {
	switch g {
	case tpv1.Guarantee_GUARANTEE_GUARANTEED:
		return "guaranteed"
	case tpv1.Guarantee_GUARANTEE_NOT_GUARANTEED:
		return "not_guaranteed"
	}
	return "unspecified"
}

// reasonCodes are the stable reason codes of common.proto's Reason (and the
// engine's other claim-level codes); any other code counts as OTHER so that a
// code can never carry data into a label.
var reasonCodes = setOf(
	"CARD_IN_OPPOSITION", "CREATION_BOUNDED", "DIRECT_DEBIT_REQUIRED", "TIME_BARRED", "RIGHTS_CLOSED",
	"RIGHTS_CLOSED_TO_RECOVER", "BENEFICIARY_UNKNOWN", "GENERIC_REFUSED", "GENERIC_BASE_LIMIT", "TFR_BASE",
	"ALD_NOT_RECOGNISED", "HORS_PARCOURS", "HEAVY_ACT_FLAT", "HEAVY_ACT_IMAGING", "EXEMPT_MATERNITY",
	"EXEMPT_AME", "EXEMPT_CSS", "EXEMPT_HOSPITAL_STAY", "EXEMPT_MINOR", "EXEMPT_TERRORISM",
	"EXEMPT_WAR_PENSION", "AME_NOT_COVERED", "PF_LIMITED_TO_AMO", "PF_DAILY_COUNT_CAP", "PF_ANNUAL_CAP",
	"FRANCHISE_LIMITED_TO_AMO", "FRANCHISE_DAILY_CAP", "FRANCHISE_ANNUAL_CAP", "FEE_PACK_REJECTED",
	"FEE_COMPLEX_NOT_MET", "EXONERATION_NOT_APPLICABLE", "EXONERATION_KEEPS_TM", "AMC_NOT_DELEGATED",
	"OUT_OF_TIERS_PAYANT", "NOT_GUARANTEED", "INSURANCE_NATURE_NOT_SUPPORTED",
)

// capByReason maps the reasons that show a cap or limit reached to the cap's
// label.
var capByReason = map[string]string{
	"PF_DAILY_COUNT_CAP":       "pf_daily_count",
	"PF_ANNUAL_CAP":            "pf_annual",
	"PF_LIMITED_TO_AMO":        "pf_limited_to_amo",
	"FRANCHISE_DAILY_CAP":      "franchise_daily",
	"FRANCHISE_ANNUAL_CAP":     "franchise_annual",
	"FRANCHISE_LIMITED_TO_AMO": "franchise_limited_to_amo",
	"GENERIC_BASE_LIMIT":       "generic_base_limit",
	"TFR_BASE":                 "tfr_base",
}

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// ReasonLabel is the label a reason code is counted under.
func ReasonLabel(code string) string {
	if reasonCodes[code] {
		return code
	}
	return otherCode
}

// observeDecision counts one decision returned to a caller.
func (m *Metrics) observeDecision(d *tpv1.Decision) {
	if d == nil {
		return
	}
	replayed := "false"
	if d.GetReplayed() {
		replayed = "true"
	}
	m.decisions.WithLabelValues(statusLabel(d.GetStatus()), guaranteeLabel(d.GetGuarantee()), replayed).Inc()
	if d.GetReplayed() {
		// Its reasons and amounts were counted when it was first decided.
		return
	}
	for _, r := range d.GetReasons() {
		code := ReasonLabel(r.GetCode())
		m.reasons.WithLabelValues(code).Inc()
		if c, ok := capByReason[code]; ok {
			m.caps.WithLabelValues(c).Inc()
		}
		if code == "CARD_IN_OPPOSITION" {
			m.oppHits.WithLabelValues("claim").Inc()
		}
	}
	for _, l := range d.GetAmcLines() {
		if l.GetCeilingApplied() {
			m.caps.WithLabelValues(capAMCCeiling).Inc()
		}
	}
	t := d.GetTotals()
	if c, ok := cents(t.GetAmo()); ok {
		m.amounts.WithLabelValues(payerAMO).Add(c)
	}
	if c, ok := cents(t.GetAmcPayableToProfessional()); ok {
		m.amounts.WithLabelValues(payerAMC).Add(c)
	}
	patient := t.GetPatientShareAfterAmc()
	if patient == "" {
		patient = t.GetPatientShare()
	}
	if c, ok := cents(patient); ok {
		m.amounts.WithLabelValues(payerPatient).Add(c)
	}
}

func (m *Metrics) observePayment(r *tpv1.RecordPaymentResponse) {
	if !r.GetRecordedNow() {
		return
	}
	tr := r.GetTracking()
	penalty, _ := cents(tr.GetPenalty())
	switch {
	case tr.GetDueDate() == "":
		m.payments.WithLabelValues(timelyNotGuaranteed).Inc()
	case penalty > 0:
		m.payments.WithLabelValues(timelyLate).Inc()
	default:
		m.payments.WithLabelValues(timelyWithin).Inc()
	}
	if penalty > 0 {
		m.penalties.Add(penalty)
	}
}

// observeResponse inspects one unary response or stream message sent.
func (m *Metrics) observeResponse(resp any) {
	switch r := resp.(type) {
	case *tpv1.AdjudicateResponse:
		m.observeDecision(r.GetDecision())
	case *tpv1.AdjudicateStreamResponse:
		if e := r.GetError(); e != nil {
			m.streamErrors.WithLabelValues(codeLabel(e.GetCode())).Inc()
		} else {
			m.observeDecision(r.GetDecision())
		}
	case *tpv1.CheckOppositionResponse:
		if r.GetOpposed() {
			m.oppChecks.WithLabelValues("opposed").Inc()
			m.oppHits.WithLabelValues("check").Inc()
		} else {
			m.oppChecks.WithLabelValues("not_opposed").Inc()
		}
	case *tpv1.RecordPaymentResponse:
		m.observePayment(r)
	}
}

// limitLabel names the limit a RESOURCE_EXHAUSTED refusal reports in its
// QuotaFailure (internal/grpcapi/limits.go).
func limitLabel(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return "other"
	}
	for _, d := range st.Details() {
		qf, ok := d.(*errdetails.QuotaFailure)
		if !ok {
			continue
		}
		for _, v := range qf.GetViolations() {
			switch v.GetDescription() {
			case "calls per second":
				return "calls_per_second"
			case "streams open on the server":
				return "streams_server"
			case "streams open per client":
				return "streams_per_client"
			}
		}
	}
	return "other"
}

func (m *Metrics) observeError(method string, err error) {
	if err != nil && status.Code(err) == codes.ResourceExhausted {
		m.refusals.WithLabelValues(method, limitLabel(err)).Inc()
	}
}

// UnaryServerInterceptor counts the domain outcome of unary calls. Put it
// outside the rate limiter so that it sees the refusals.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			m.observeError(info.FullMethod, err)
			return resp, err
		}
		m.observeResponse(resp)
		return resp, nil
	}
}

// StreamServerInterceptor counts the streams open and the domain outcome of
// every message a stream sends.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		g := m.streamsOpen.WithLabelValues(info.FullMethod)
		g.Inc()
		defer g.Dec()
		err := h(srv, &observedStream{ServerStream: ss, m: m})
		m.observeError(info.FullMethod, err)
		return err
	}
}

type observedStream struct {
	grpc.ServerStream
	m *Metrics
}

func (s *observedStream) SendMsg(msg any) error {
	if err := s.ServerStream.SendMsg(msg); err != nil {
		return err
	}
	s.m.observeResponse(msg)
	return nil
}

// streamingMethods are the service's streaming methods, whose streams_open
// series exist from the start.
var streamingMethods = []string{
	tpv1.ClaimService_AdjudicateStream_FullMethodName,
	tpv1.OppositionService_ImportOppositions_FullMethodName,
	tpv1.OppositionService_WatchOppositions_FullMethodName,
}

// codeLabel is a gRPC code's name; a number outside the 17 codes is Unknown.
func codeLabel(c int32) string {
	if c < 0 || c > int32(codes.Unauthenticated) {
		return codes.Unknown.String()
	}
	return codes.Code(c).String()
}
