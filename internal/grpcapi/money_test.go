package grpcapi

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/opposition"
)

// money must write exactly what StringFixed(2) writes, on its fast path and
// off it.
func TestMoneyMatchesStringFixed(t *testing.T) {
	cases := []string{"0", "0.00", "-0.00", "1", "-1", "0.5", "-0.5", "0.05", "-0.05", "12.3", "12.34", "-12.34",
		"100", "1e3", "2.5e1", "0.001", "0.005", "-0.005", "1.995", "-1.995", "123456789012.34", "9999999999999.99",
		"99999999999999.99", "-99999999999999.99", "1234567890123456789.12", "0.10", "7.60", "-7.6"}
	for _, c := range cases {
		v := decimal.RequireFromString(c)
		if got, want := money(v), v.StringFixed(2); got != want {
			t.Errorf("money(%s) = %q, StringFixed(2) = %q", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		v := decimal.New(r.Int64N(2_000_000_000_000)-1_000_000_000_000, -int32(r.IntN(5)))
		if got, want := money(v), v.StringFixed(2); got != want {
			t.Fatalf("money(%s) = %q, StringFixed(2) = %q", v, got, want)
		}
	}
}

func BenchmarkMoney(b *testing.B) {
	v := decimal.New(12345, -2)
	for i := 0; i < b.N; i++ {
		_ = money(v)
	}
}

// The audit trail names an opposition's reason as the API does.
func TestOppositionReasonNames(t *testing.T) {
	for v, name := range tpv1.OppositionReason_name {
		if got := opposition.Reason(v).String(); got != name {
			t.Errorf("reason %d: %s, want the API's %s", v, got, name)
		}
	}
}
