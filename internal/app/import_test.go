package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// Issue 14, point 8: an import with a bad entry anywhere stores nothing, and
// its error names every bad entry.
func TestImportStoresNothingWhenAnEntryIsBad(t *testing.T) {
	_, conn := start(t, redistest.Shared(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oc := tpv1.NewOppositionServiceClient(conn)
	prefix := fmt.Sprint("IMP-", time.Now().UnixNano(), "-")
	imp, err := oc.ImportOppositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	for i := range 5001 {
		o := &tpv1.Opposition{Identifier: fmt.Sprint(prefix, i), Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS, EffectiveAt: at}
		if i == 5000 {
			o.Identifier = "bad identifier"
		}
		if err := imp.Send(&tpv1.ImportOppositionsRequest{Opposition: o}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = imp.CloseAndRecv()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "entry 5000") ||
		!strings.Contains(status.Convert(err).Message(), "nothing was stored") {
		t.Fatalf("import with entry 5000 bad: %v", err)
	}
	for _, i := range []int{0, 4095, 4999} {
		chk, err := oc.CheckOpposition(ctx, &tpv1.CheckOppositionRequest{Identifier: fmt.Sprint(prefix, i), At: timestamppb.New(clock)})
		if err != nil {
			t.Fatal(err)
		}
		if chk.GetOpposed() {
			t.Fatalf("entry %d is in force after a refused import", i)
		}
	}
	// The same file without the bad entry goes in whole.
	imp, err = oc.ImportOppositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		if err := imp.Send(&tpv1.ImportOppositionsRequest{Opposition: &tpv1.Opposition{Identifier: fmt.Sprint(prefix, i),
			Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS, EffectiveAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := imp.CloseAndRecv()
	if err != nil || r.GetImported() != 5000 {
		t.Fatalf("clean import: %v %v", r, err)
	}
}
