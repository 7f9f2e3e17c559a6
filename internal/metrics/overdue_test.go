package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// overdueSeries gathers the overdue gauge: organism label → value.
func overdueSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == Namespace+"_overdue_guaranteed_claims" {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestOverdueSeries: an organism no longer counted loses its series, and
// beyond MaxOverdueOrganisms the rest are summed under other.
func TestOverdueSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.overdue.set(map[string]int64{"A": 3, "B": 0}, time.Unix(100, 0))
	if got := overdueSeries(t, reg); len(got) != 2 || got["A"] != 3 || got["B"] != 0 {
		t.Fatalf("first count: %v", got)
	}
	m.overdue.set(map[string]int64{"B": 2}, time.Unix(130, 0))
	if got := overdueSeries(t, reg); len(got) != 1 || got["B"] != 2 {
		t.Fatalf("after A went: %v", got)
	}
	many := map[string]int64{}
	for i := range MaxOverdueOrganisms + 3 {
		many[fmt.Sprintf("ORG%04d", i)] = 1
	}
	m.overdue.set(many, time.Unix(160, 0))
	got := overdueSeries(t, reg)
	if len(got) != MaxOverdueOrganisms+1 || got["other"] != 3 || got["ORG0000"] != 1 {
		t.Fatalf("beyond the bound: %d series, other %v", len(got), got["other"])
	}
}
