package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/opposition"
)

// fakeList is an opposition list whose Import fails from the failAt-th call
// on (0: never); it counts the items of each call.
type fakeList struct {
	OppositionList
	calls   []int
	failAt  int
	version uint64
}

var errWrite = errors.New("store unavailable: write refused")

func (f *fakeList) Import(_ context.Context, items []OppositionItem, _ time.Time, _ opposition.Actor) (int, uint64, error) {
	f.calls = append(f.calls, len(items))
	if f.failAt > 0 && len(f.calls) >= f.failAt {
		return 0, f.version, errWrite
	}
	f.version += uint64(len(items))
	return len(items), f.version, nil
}

// fakeTrail keeps the events appended.
type fakeTrail struct {
	Trail
	events []Event
}

func (f *fakeTrail) Append(_ context.Context, e Event) error {
	f.events = append(f.events, e)
	return nil
}

func items(n int) []OppositionItem {
	out := make([]OppositionItem, n)
	for i := range out {
		out[i] = OppositionItem{Identifier: "ID" + strconv.Itoa(i), Reason: opposition.ReasonLoss, Effective: day("2025-01-01")}
	}
	return out
}

// An import is written in batches of OppositionImportBatch and audited once;
// a failure after a stored batch says how many were stored, a failure of
// the first batch is the store's error as it is.
func TestImportOppositionsBatches(t *testing.T) {
	admin := access.With(context.Background(), access.Principal{ID: "ops", Role: access.RoleAdmin})
	clock := func() time.Time { return day("2025-03-10") }

	list, trail := &fakeList{}, &fakeTrail{}
	s := New(Deps{Oppositions: list, Trail: trail, Clock: clock})
	n := 2*OppositionImportBatch + 5
	added, v, err := s.ImportOppositions(admin, items(n))
	if err != nil || added != n || v != uint64(n) {
		t.Fatalf("import: %d %d %v", added, v, err)
	}
	if len(list.calls) != 3 || list.calls[0] != OppositionImportBatch || list.calls[2] != 5 {
		t.Errorf("batches %v", list.calls)
	}
	if len(trail.events) != 1 || trail.events[0].Op != "opposition.import" || trail.events[0].Subject != "national" ||
		!strings.Contains(trail.events[0].Details, strconv.Itoa(n)+" entries added") || trail.events[0].By != "ops" {
		t.Errorf("audit %+v", trail.events)
	}

	list = &fakeList{failAt: 2}
	s = New(Deps{Oppositions: list, Trail: &fakeTrail{}, Clock: clock})
	added, _, err = s.ImportOppositions(admin, items(n))
	var partial *PartialImportError
	if !errors.As(err, &partial) || !errors.Is(err, errWrite) || partial.Stored != OppositionImportBatch || partial.Total != n || added != OppositionImportBatch {
		t.Fatalf("second batch refused: %d %v", added, err)
	}
	if !strings.Contains(partial.Advice(), "replay the whole file") {
		t.Errorf("advice %q", partial.Advice())
	}

	list = &fakeList{failAt: 1}
	s = New(Deps{Oppositions: list, Trail: &fakeTrail{}, Clock: clock})
	if _, _, err = s.ImportOppositions(admin, items(3)); !errors.Is(err, errWrite) || errors.As(err, &partial) {
		t.Fatalf("first batch refused: %v", err)
	}

	// A professional may not import.
	pro := access.With(context.Background(), access.Principal{ID: "p", Role: access.RoleProfessional, Professional: "10000000009"})
	if _, _, err := s.ImportOppositions(pro, items(1)); err == nil {
		t.Fatal("a professional imported oppositions")
	}
}
