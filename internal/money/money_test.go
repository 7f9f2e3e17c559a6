package money

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestCents(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.005", "1.01"}, {"1.004", "1"}, {"-1.005", "-1.01"}, {"2.675", "2.68"},
		{"0.125", "0.13"}, {"0.115", "0.12"}, {"10", "10"}, {"-0.004", "0"},
	} {
		if got := Cents(decimal.RequireFromString(tc.in)); !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("Cents(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestIsCents(t *testing.T) {
	for in, want := range map[string]bool{"1": true, "1.2": true, "1.23": true, "1.230": true, "1.234": false, "-0.001": false} {
		if got := IsCents(decimal.RequireFromString(in)); got != want {
			t.Errorf("IsCents(%s) = %v, want %v", in, got, want)
		}
	}
}
