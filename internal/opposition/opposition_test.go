package opposition

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestOwnedEntryRoundTrip: the owner survives Encode and Decode, dots and
// bars in a code included, beside the forms written before owners existed.
func TestOwnedEntryRoundTrip(t *testing.T) {
	eff := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, e := range []Entry{
		{Periods: []Period{{Reason: ReasonTheft, Effective: eff}}},
		{Periods: []Period{{Reason: ReasonTheft, Effective: eff, Owner: "MUT01"}}},
		{Periods: []Period{{Reason: ReasonLoss, Effective: eff, Lifted: eff.Add(time.Hour), Owner: "MUT.01|x%"}, {Reason: ReasonTheft, Effective: eff.Add(2 * time.Hour)}}},
		{Periods: []Period{{Reason: ReasonLoss, Effective: eff, Lifted: eff.Add(time.Hour)}, {Reason: ReasonTheft, Effective: eff.Add(2 * time.Hour), Owner: "CPAM75"}}},
	} {
		got, err := Decode(e.Encode())
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("%q: %+v, %v; want %+v", e.Encode(), got, err, e)
		}
	}
	if _, err := Decode("abc.1.."); err == nil {
		t.Error("an empty owner field decoded")
	}
}

// TestLiftByOwner (issue 14.2): the organism that entered an opposition, or
// an administrator, lifts it; another organism may not, even for the
// national list.
func TestLiftByOwner(t *testing.T) {
	eff := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	owned, _ := Entry{}.Add(ReasonTheft, eff, "MUT01")
	national, _ := Entry{}.Add(ReasonTheft, eff, "")
	cases := []struct {
		name string
		e    Entry
		org  string
		want error
	}{
		{"owner lifts", owned, "MUT01", nil},
		{"administrator lifts an organism's", owned, "", nil},
		{"another organism", owned, "MUT02", ErrNotOwner},
		{"an organism lifts the national list's", national, "MUT01", ErrNotOwner},
		{"administrator lifts the national list's", national, "", nil},
	}
	for _, tc := range cases {
		got, err := tc.e.Lift(eff.Add(time.Hour), tc.org)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err == nil && got.Periods[0].Lifted.IsZero() {
			t.Errorf("%s: not lifted", tc.name)
		}
		if err != nil && !reflect.DeepEqual(got, tc.e) {
			t.Errorf("%s: entry changed on refusal", tc.name)
		}
	}
	// Re-opposing after a lift belongs to the new entrant.
	lifted, _ := owned.Lift(eff.Add(time.Hour), "MUT01")
	again, err := lifted.Add(ReasonLoss, eff.Add(2*time.Hour), "MUT02")
	if err != nil || again.Periods[1].Owner != "MUT02" {
		t.Errorf("re-opposition: %+v %v", again, err)
	}
}
