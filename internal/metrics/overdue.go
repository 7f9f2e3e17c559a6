package metrics

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OverdueCounter counts, per organism, the guaranteed claims unpaid and not
// cancelled past their due date (service.Service.OverdueGuaranteed): the
// metrics package knows nothing of how.
type OverdueCounter interface {
	OverdueGuaranteed(ctx context.Context) (map[string]int64, error)
}

// MaxOverdueOrganisms bounds the organism label: beyond that many organisms
// (by code order), the rest are summed under organism="other".
const MaxOverdueOrganisms = 500

// overdue is the gauge of overdue guaranteed claims. Its organism label takes
// the codes of the registered organisms only (an administrator's
// UpsertOrganism, never a caller's input), at most MaxOverdueOrganisms of
// them (docs/metrics.md#no-personal-data-in-labels).
type overdue struct {
	claims  *prometheus.GaugeVec
	updated prometheus.Gauge
	mu      sync.Mutex
	shown   map[string]bool
}

func newOverdue(reg prometheus.Registerer) *overdue {
	o := &overdue{
		claims: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "overdue_guaranteed_claims",
			Help: "Guaranteed claims (CSS art. L161-36-3) neither paid nor cancelled whose due date (art. D161-13-3) has passed, by paying organism (registered organisms' codes; other beyond the bound)."},
			[]string{"organism"}),
		updated: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "overdue_guaranteed_claims_updated_timestamp_seconds",
			Help: "Unix time of the last successful count of tierspayant_overdue_guaranteed_claims (0 before the first)."}),
		shown: map[string]bool{},
	}
	reg.MustRegister(o.claims, o.updated)
	return o
}

// set replaces the gauge's series with counts: organisms no longer counted
// lose their series.
func (o *overdue) set(counts map[string]int64, at time.Time) {
	codes := make([]string, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	values := map[string]float64{}
	for i, c := range codes {
		label := c
		if i >= MaxOverdueOrganisms || c == "" {
			label = "other"
		}
		values[label] += float64(counts[c])
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for l := range o.shown {
		if _, ok := values[l]; !ok {
			o.claims.DeleteLabelValues(l)
			delete(o.shown, l)
		}
	}
	for l, v := range values {
		o.claims.WithLabelValues(l).Set(v)
		o.shown[l] = true
	}
	o.updated.Set(float64(at.UnixMilli()) / 1000)
}

// UpdateOverdue counts once and sets tierspayant_overdue_guaranteed_claims;
// on an error the gauge keeps its last values (the timestamp says how old).
func (m *Metrics) UpdateOverdue(ctx context.Context, src OverdueCounter) error {
	counts, err := src.OverdueGuaranteed(ctx)
	if err != nil {
		return err
	}
	m.overdue.set(counts, time.Now())
	return nil
}

// WatchOverdue updates the overdue gauge now and then every interval until
// ctx ends, each count bounded by timeout; failures are logged.
func (m *Metrics) WatchOverdue(ctx context.Context, src OverdueCounter, interval, timeout time.Duration, log *slog.Logger) {
	update := func() {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := m.UpdateOverdue(cctx, src); err != nil && ctx.Err() == nil {
			log.Warn("could not count the overdue guaranteed claims", "error", err.Error())
		}
	}
	update()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			update()
		}
	}
}
