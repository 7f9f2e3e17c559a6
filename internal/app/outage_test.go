package app_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestRedisOutage: Redis stopped → calls answer UNAVAILABLE within their
// deadline with a retry hint, readiness NOT_SERVING, no decision given;
// Redis back → serving again without restarting the adjudicator.
func TestRedisOutage(t *testing.T) {
	dir := t.TempDir()
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := redistest.StartOn(port, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	_, conn := start(t, srv.Addr)
	hc := healthpb.NewHealthClient(conn)
	cc := tpv1.NewClaimServiceClient(conn)
	ready := func() healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: app.ReadinessService})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	waitFor := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for ready() != want {
			if time.Now().After(deadline) {
				t.Fatalf("readiness did not become %v", want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(healthpb.HealthCheckResponse_SERVING)

	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	began := time.Now()
	resp, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim("OUTAGE-1")})
	if status.Code(err) != codes.Unavailable || resp != nil {
		t.Fatalf("Redis down: got %v, %v; want UNAVAILABLE and no decision", resp, err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("UNAVAILABLE took %v", took)
	}
	hint := false
	for _, d := range status.Convert(err).Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			hint = true
		}
	}
	if !hint {
		t.Error("UNAVAILABLE without RetryInfo")
	}
	waitFor(healthpb.HealthCheckResponse_NOT_SERVING)

	srv2, err := redistest.StartOn(port, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Stop)
	waitFor(healthpb.HealthCheckResponse_SERVING)
	if _, err := cc.Adjudicate(context.Background(), &tpv1.AdjudicateRequest{Claim: gpClaim("OUTAGE-2")}); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
}
