// Package metrics exports the adjudicator's domain metrics: decisions,
// reasons, amounts, caps, opposition checks, payments recorded, Redis command
// latency, streams open, limit refusals, readiness and build information
// and the guaranteed claims overdue now (docs/metrics.md).
//
// Every label takes its values from a fixed set written here (an enum's
// names, a list of reason codes, a list of Redis commands, the registered
// gRPC methods), except the organism label of the overdue gauge, which takes
// the codes of the organisms an administrator registered (overdue.go): no
// claim id, NIR, professional or beneficiary ever becomes a label or a
// value. The gRPC interceptors read the response
// messages only, so neither the service nor the engine knows about metrics.
package metrics

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"
	"google.golang.org/grpc/codes"
)

// Namespace prefixes every metric of this package.
const Namespace = "tierspayant"

// Metrics holds the domain collectors; build one per registry with New.
type Metrics struct {
	decisions     *prometheus.CounterVec
	reasons       *prometheus.CounterVec
	amounts       *prometheus.CounterVec
	caps          *prometheus.CounterVec
	streamErrors  *prometheus.CounterVec
	oppChecks     *prometheus.CounterVec
	oppHits       *prometheus.CounterVec
	payments      *prometheus.CounterVec
	penalties     prometheus.Counter
	redisDuration *prometheus.HistogramVec
	redisErrors   *prometheus.CounterVec
	streamsOpen   *prometheus.GaugeVec
	refusals      *prometheus.CounterVec
	ready         prometheus.Gauge
	buildInfo     *prometheus.GaugeVec
	overdue       *overdue // overdue.go
}

// New builds the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "decisions_total",
			Help: "Decisions returned by Adjudicate and AdjudicateStream, by status, guarantee and whether the decision was a replay."},
			[]string{"status", "guarantee", "replayed"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "decision_reasons_total",
			Help: "Reasons carried by new (not replayed) decisions, by stable code; codes outside the documented list count as OTHER."},
			[]string{"code"}),
		amounts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "amounts_cents_total",
			Help: "Amounts of new decisions in euro cents, by payer: amo (AMO amount), amc (AMC part paid to the professional), patient (what the patient pays at the counter after the AMC part)."},
			[]string{"payer"}),
		caps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "caps_reached_total",
			Help: "Caps and limits reached by new decisions, by kind (one per reason or AMC line that shows it)."},
			[]string{"cap"}),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "stream_claim_errors_total",
			Help: "Claims of an AdjudicateStream batch answered with an error instead of a decision, by gRPC code."},
			[]string{"grpc_code"}),
		oppChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "opposition_checks_total",
			Help: "CheckOpposition answers, by result (opposed, not_opposed)."},
			[]string{"result"}),
		oppHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "opposition_hits_total",
			Help: "Identifiers found in opposition, by where: check (CheckOpposition) or claim (a new decision with CARD_IN_OPPOSITION)."},
			[]string{"source"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "payments_recorded_total",
			Help: "Payments newly recorded by RecordPayment, by timeliness: within_deadline, late (a late-payment penalty is due) or not_guaranteed (no due date)."},
			[]string{"timeliness"}),
		penalties: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "late_penalties_cents_total",
			Help: "Late-payment penalties of the payments newly recorded, in euro cents."}),
		redisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "redis_command_duration_seconds",
			Help:    "Duration of Redis commands and pipelines sent by the service, by command (pipeline for a pipeline or transaction).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}},
			[]string{"command"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "redis_command_errors_total",
			Help: "Redis commands and pipelines that failed (a nil reply is not a failure), by command."},
			[]string{"command"}),
		streamsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "streams_open",
			Help: "gRPC streams open now, by method."},
			[]string{"grpc_method"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "limit_refusals_total",
			Help: "Calls and streams refused with RESOURCE_EXHAUSTED, by limit: calls_per_second (rate limit), streams_server, streams_per_client, other."},
			[]string{"grpc_method", "limit"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "ready",
			Help: "1 when the service reports itself ready (state store answering, HMAC key checked), 0 otherwise; updated every readiness check."}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
			Help: "Always 1; its labels name the build: module version, VCS revision and Go version."},
			[]string{"version", "revision", "goversion"}),
	}
	reg.MustRegister(m.decisions, m.reasons, m.amounts, m.caps, m.streamErrors, m.oppChecks, m.oppHits,
		m.payments, m.penalties, m.redisDuration, m.redisErrors, m.streamsOpen, m.refusals, m.ready, m.buildInfo)
	m.buildInfo.WithLabelValues(buildLabels()).Set(1)
	m.overdue = newOverdue(reg)
	m.initialize()
	return m
}

// initialize creates the series of the fixed label values at zero, so that
// rate() and the alert rules see them before the first event.
func (m *Metrics) initialize() {
	for _, s := range statuses {
		for _, g := range guarantees {
			for _, r := range []string{"false", "true"} {
				m.decisions.WithLabelValues(s, g, r)
			}
		}
	}
	for _, p := range []string{payerAMO, payerAMC, payerPatient} {
		m.amounts.WithLabelValues(p)
	}
	for c := range reasonCodes {
		m.reasons.WithLabelValues(c)
	}
	m.reasons.WithLabelValues(otherCode)
	for _, c := range []codes.Code{codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.PermissionDenied, codes.ResourceExhausted, codes.Unavailable, codes.Internal} {
		m.streamErrors.WithLabelValues(c.String())
	}
	for _, c := range capByReason {
		m.caps.WithLabelValues(c)
	}
	m.caps.WithLabelValues(capAMCCeiling)
	for _, r := range []string{"opposed", "not_opposed"} {
		m.oppChecks.WithLabelValues(r)
	}
	for _, s := range []string{"check", "claim"} {
		m.oppHits.WithLabelValues(s)
	}
	for _, s := range streamingMethods {
		m.streamsOpen.WithLabelValues(s)
	}
	for _, t := range []string{timelyWithin, timelyLate, timelyNotGuaranteed} {
		m.payments.WithLabelValues(t)
	}
}

// SetReady records the outcome of a readiness check.
func (m *Metrics) SetReady(ready bool) {
	if ready {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

// buildLabels reads the version, VCS revision and Go version the binary was
// built with; "unknown" when the build did not record them.
func buildLabels() (version, revision, goversion string) {
	version, revision, goversion = "unknown", "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		goversion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.modified" && s.Value == "true" && revision != "unknown" {
			revision += "-dirty"
		}
	}
	return
}

// cents converts a decimal euro string ("12.34") to whole cents; false for an
// empty, malformed or negative amount.
func cents(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.IsNegative() {
		return 0, false
	}
	return float64(d.Shift(2).Round(0).IntPart()), true
}
