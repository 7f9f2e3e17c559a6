package app_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// Issue 14, point 10: a stream is no way around the rate limit, the streams
// open at once are bounded per client, idle streams end, and full copies of
// the opposition list are rationed.

func TestStreamMessagesCountAgainstTheRateLimit(t *testing.T) {
	// A budget of 5 calls and almost no refill: the stream's opening takes
	// one, so at most 4 claims go through, where 2000 did before.
	_, conn := startWith(t, redistest.Shared(t).Addr, func(c *config.Config) {
		c.RateLimit, c.RateBurst = 0.001, 5
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := tpv1.NewClaimServiceClient(conn).AdjudicateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pro := rppsFor(uint64(time.Now().UnixNano()) + 17)
	go func() {
		for i := range 50 {
			c := gpClaim(pro + "-S" + strconv.Itoa(i))
			c.Professional.Id = pro
			if st.Send(&tpv1.AdjudicateStreamRequest{Claim: c}) != nil {
				return
			}
		}
		st.CloseSend()
	}()
	answered := 0
	for {
		_, err := st.Recv()
		if err != nil {
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("stream ended with %v after %d answers, want RESOURCE_EXHAUSTED", err, answered)
			}
			break
		}
		answered++
	}
	if answered > 4 {
		t.Fatalf("%d claims answered on a budget of 5 calls", answered)
	}
}

func TestStreamsPerClientAndIdleStreamsAreBounded(t *testing.T) {
	a, _ := startWith(t, redistest.Shared(t).Addr, func(c *config.Config) {
		c.MaxStreamsPerClient, c.StreamIdleTimeout = 3, 300*time.Millisecond
	})
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	var watches []healthpb.Health_WatchClient
	for i := range 3 {
		w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
		watches = append(watches, w)
	}
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a fourth unauthenticated watch from one client: %v, want RESOURCE_EXHAUSTED", err)
	}
	// Idle for 300 ms: the server ends each of the three, and their slots
	// come back.
	for i, w := range watches {
		if _, err := w.Recv(); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("idle watch %d: %v, want DEADLINE_EXCEEDED", i, err)
		}
	}
	w, err = hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	if err != nil {
		t.Fatalf("a watch after the idle ones ended: %v", err)
	}
}

func TestFullCopiesOfTheOppositionListAreRationed(t *testing.T) {
	a := startSecured(t, func(c *config.Config) { c.SnapshotInterval = time.Hour })
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	oc := tpv1.NewOppositionServiceClient(conn)
	ctx, cancel := context.WithTimeout(as("admin-token"), 20*time.Second)
	defer cancel()
	card := fmt.Sprint("SNAP-", time.Now().UnixNano())
	ao, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: card, Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS,
		EffectiveAt: timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	first := func(token string, after uint64) error {
		wctx, wcancel := context.WithTimeout(as(token), 5*time.Second)
		defer wcancel()
		w, err := oc.WatchOppositions(wctx, &tpv1.WatchOppositionsRequest{AfterVersion: after})
		if err != nil {
			return err
		}
		_, err = w.Recv()
		return err
	}
	if err := first("p1-token", 0); err != nil {
		t.Fatalf("the professional's first full copy: %v", err)
	}
	if err := first("p1-token", 0); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a second full copy within the interval: %v, want RESOURCE_EXHAUSTED", err)
	}
	// Watching from the version it holds is never rationed, nor is the
	// administrator.
	if _, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: card + "-2", Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS,
		EffectiveAt: timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))}); err != nil {
		t.Fatal(err)
	}
	if err := first("p1-token", ao.GetVersion()); err != nil {
		t.Fatalf("watch from a version: %v", err)
	}
	for range 2 {
		if err := first("admin-token", 0); err != nil {
			t.Fatalf("administrator's full copy: %v", err)
		}
	}
}
