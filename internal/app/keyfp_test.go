package app_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestHMACKeyMismatch (issue 14.9): a service started with another
// ADJ_HMAC_SECRET than the one its Redis was written with refuses to start;
// one that could not check at startup (Redis down) refuses every call and
// reports not ready once the store answers with another fingerprint.
func TestHMACKeyMismatch(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	_, conn, _ := startLogged(t, srv.Addr, nil) // key "hhhh…": records its fingerprint
	if _, err := tpv1.NewParameterServiceClient(conn).ListParameters(context.Background(), &tpv1.ListParametersRequest{}); err != nil {
		t.Fatalf("the first key serves: %v", err)
	}
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Auth = "127.0.0.1:0", "127.0.0.1:0", "open"
	cfg.RedisAddrs, cfg.HMACSecret = []string{srv.Addr}, strings.Repeat("x", 40)
	a, err := app.Start(context.Background(), cfg, logging.New(io.Discard, "error"))
	if !errors.Is(err, redisstore.ErrKeyMismatch) || !strings.Contains(err.Error(), "docs/OPERATIONS.md#hmac-key") {
		if a != nil {
			a.Shutdown()
		}
		t.Fatalf("second key: %v, want a refusal naming the key documentation", err)
	}

	// Redis down at startup: the service starts, then meets a store written
	// with another key.
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down := "127.0.0.1:" + itoa(port)
	_, conn2, logs := startLogged(t, down, func(c *config.Config) { c.HMACSecret = strings.Repeat("y", 40) })
	late, err := redistest.StartOn(port, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Stop()
	if err := late.Client(t).Set(context.Background(), "meta:key-fingerprint", "written-with-another-key", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = tpv1.NewParameterServiceClient(conn2).ListParameters(context.Background(), &tpv1.ListParametersRequest{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "HMAC key") {
		t.Errorf("a call with a refused key: %v", err)
	}
	hc := healthpb.NewHealthClient(conn2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: app.ReadinessService})
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING && time.Since(deadline) > -4*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness with a refused key: %v %v", r.GetStatus(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "HMAC KEY MISMATCH") {
		t.Errorf("no loud log of the mismatch:\n%s", logs.String())
	}
}
