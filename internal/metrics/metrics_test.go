package metrics

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

func TestCents(t *testing.T) {
	for in, want := range map[string]float64{"21.00": 2100, "0.01": 1, "1234.5": 123450, " 3 ": 300, "0": 0} {
		if got, ok := cents(in); !ok || got != want {
			t.Errorf("cents(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "-1.00"} {
		if _, ok := cents(in); ok {
			t.Errorf("cents(%q) accepted", in)
		}
	}
}

// Codes, commands and gRPC codes outside the fixed sets never become labels.
func TestLabelsBounded(t *testing.T) {
	if ReasonLabel("PF_ANNUAL_CAP") != "PF_ANNUAL_CAP" || ReasonLabel("185057800608491") != otherCode || ReasonLabel("pf_annual_cap") != otherCode {
		t.Error("reason labels")
	}
	if commandLabel("EVALSHA") != "evalsha" || commandLabel("185057800608491") != "other" {
		t.Error("command labels")
	}
	if codeLabel(5) != "NotFound" || codeLabel(99) != "Unknown" || codeLabel(-1) != "Unknown" {
		t.Error("code labels")
	}
}

func TestLimitLabel(t *testing.T) {
	refusal := func(desc string) error {
		st, _ := status.New(codes.ResourceExhausted, "x").WithDetails(&errdetails.QuotaFailure{
			Violations: []*errdetails.QuotaFailure_Violation{{Subject: "client", Description: desc}}})
		return st.Err()
	}
	for desc, want := range map[string]string{"calls per second": "calls_per_second", "streams open on the server": "streams_server",
		"streams open per client": "streams_per_client", "something else": "other"} {
		if got := limitLabel(refusal(desc)); got != want {
			t.Errorf("%q: %s, want %s", desc, got, want)
		}
	}
	if limitLabel(errors.New("plain")) != "other" {
		t.Error("plain error")
	}
}

func TestObserveDecision(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	d := &tpv1.Decision{
		ClaimId: "C-185057800608491", Status: tpv1.DecisionStatus_DECISION_STATUS_PARTIAL, Guarantee: tpv1.Guarantee_GUARANTEE_GUARANTEED,
		Reasons:  []*tpv1.Reason{{Code: "PF_ANNUAL_CAP"}, {Code: "CARD_IN_OPPOSITION"}, {Code: "SOMETHING_NEW_185057800608491"}},
		Totals:   &tpv1.DecisionTotals{Amo: "21.00", AmcPayableToProfessional: "6.30", PatientShareAfterAmc: "0.70", PatientShare: "7.00"},
		AmcLines: []*tpv1.AmcLine{{Payer: "MUTUELLE-X", CeilingApplied: true}},
	}
	m.observeResponse(&tpv1.AdjudicateResponse{Decision: d})
	d.Replayed = true
	m.observeResponse(&tpv1.AdjudicateStreamResponse{ClaimId: "C", Outcome: &tpv1.AdjudicateStreamResponse_Decision{Decision: d}})
	m.observeResponse(&tpv1.CheckOppositionResponse{Opposed: true})
	m.observeResponse(&tpv1.RecordPaymentResponse{RecordedNow: true, Tracking: &tpv1.PaymentTracking{DueDate: "2025-03-19", Penalty: "0.00"}})
	m.observeResponse(&tpv1.RecordPaymentResponse{RecordedNow: false, Tracking: &tpv1.PaymentTracking{DueDate: "2025-03-19", Penalty: "1.00"}})
	for series, want := range map[string]float64{
		`tierspayant_decisions_total{guarantee="guaranteed",replayed="false",status="partial"}`: 1,
		`tierspayant_decisions_total{guarantee="guaranteed",replayed="true",status="partial"}`:  1,
		`tierspayant_decision_reasons_total{code="PF_ANNUAL_CAP"}`:                              1,
		`tierspayant_decision_reasons_total{code="OTHER"}`:                                      1,
		`tierspayant_caps_reached_total{cap="pf_annual"}`:                                       1,
		`tierspayant_caps_reached_total{cap="amc_line_ceiling"}`:                                1,
		`tierspayant_amounts_cents_total{payer="amo"}`:                                          2100,
		`tierspayant_amounts_cents_total{payer="amc"}`:                                          630,
		`tierspayant_amounts_cents_total{payer="patient"}`:                                      70,
		`tierspayant_opposition_hits_total{source="claim"}`:                                     1,
		`tierspayant_opposition_hits_total{source="check"}`:                                     1,
		`tierspayant_payments_recorded_total{timeliness="within_deadline"}`:                     1,
		`tierspayant_payments_recorded_total{timeliness="late"}`:                                0,
		`tierspayant_late_penalties_cents_total`:                                                0,
	} {
		if got := value(t, reg, series); got != want {
			t.Errorf("%s: %v, want %v", series, got, want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if s := mf.String(); strings.Contains(s, "185057800608491") || strings.Contains(s, "MUTUELLE") {
			t.Errorf("identifier in %s", s)
		}
	}
}

// value is the value of one counter or gauge series, written as in the
// exposition (labels sorted); -1 when absent.
func value(t *testing.T, reg *prometheus.Registry, series string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"=\""+l.GetValue()+"\"")
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			if name == series {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func TestRedisFailed(t *testing.T) {
	if failed(nil) || failed(redis.Nil) || failed(redis.TxFailedErr) || !failed(errors.New("dial tcp: refused")) {
		t.Error("failed")
	}
}

// BenchmarkObserveAdjudicate is the interceptor's cost on one Adjudicate
// response with three reasons and an AMC line.
func BenchmarkObserveAdjudicate(b *testing.B) {
	m := New(prometheus.NewRegistry())
	resp := &tpv1.AdjudicateResponse{Decision: &tpv1.Decision{
		Status: tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED, Guarantee: tpv1.Guarantee_GUARANTEE_GUARANTEED,
		Reasons:  []*tpv1.Reason{{Code: "PF_ANNUAL_CAP"}, {Code: "HORS_PARCOURS"}, {Code: "TFR_BASE"}},
		Totals:   &tpv1.DecisionTotals{Amo: "21.00", AmcPayableToProfessional: "6.30", PatientShareAfterAmc: "0.70"},
		AmcLines: []*tpv1.AmcLine{{CeilingApplied: true}},
	}}
	b.ReportAllocs()
	for b.Loop() {
		m.observeResponse(resp)
	}
}
