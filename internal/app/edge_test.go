package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// records parses the JSON log; a line that is not JSON fails the test.
func records(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		out = append(out, m)
	}
	return out
}

func startLogged(t *testing.T, addr string, mutate func(*config.Config)) (*app.App, *grpc.ClientConn, *syncBuffer) {
	t.Helper()
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Auth, cfg.Clock = "127.0.0.1:0", "127.0.0.1:0", "open", clock
	cfg.RedisAddrs, cfg.HMACSecret = []string{addr}, strings.Repeat("h", 40)
	cfg.RedisTimeout = 300 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	var buf syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, logging.New(&buf, "info"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); a.Shutdown() })
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return a, conn, &buf
}

// TestErrorLoggedOnceWithCause: a call that fails on the server's side is
// logged once, at the edge, with its cause, the method, the claim id and the
// caller, never the NIR; go-redis's own messages come through the same JSON
// log.
func TestErrorLoggedOnceWithCause(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	_, conn, buf := startLogged(t, srv.Addr, nil)
	cc := tpv1.NewClaimServiceClient(conn)
	if _, err := cc.Simulate(context.Background(), &tpv1.SimulateRequest{Claim: gpClaim("EDGE-OK")}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim("EDGE-DOWN")})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("Redis down: %v, want UNAVAILABLE", err)
	}
	if strings.Contains(status.Convert(err).Message(), "127.0.0.1") || strings.Contains(status.Convert(err).Message(), "connect") {
		t.Errorf("the client sees the cause: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	log := buf.String()
	if strings.Contains(log, nir) {
		t.Fatal("the NIR is in the log")
	}
	var mentions []map[string]any
	for _, r := range records(t, log) {
		if strings.Contains(mustJSON(r), "EDGE-DOWN") {
			mentions = append(mentions, r)
		}
	}
	if len(mentions) != 1 {
		t.Fatalf("%d log lines name the failed claim, want 1:\n%s", len(mentions), log)
	}
	r := mentions[0]
	for k, want := range map[string]string{"claim_id": "EDGE-DOWN", "grpc.method": "Adjudicate", "grpc.code": "Unavailable", "caller": "open-mode", "role": "admin"} {
		if r[k] != want {
			t.Errorf("log field %s = %v, want %s (%v)", k, r[k], want, r)
		}
	}
	if c, _ := r["cause"].(string); c == "" {
		t.Errorf("no cause in the log line: %v", r)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// startClusterNode starts a one-node Redis Cluster that owns every slot.
func startClusterNode(t *testing.T, port int, dir string) *redistest.Server {
	t.Helper()
	srv, err := redistest.StartOn(port, dir, "--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes.conf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := srv.Client(t)
	ctx := context.Background()
	if err := rdb.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if info, _ := rdb.ClusterInfo(ctx).Result(); strings.Contains(info, "cluster_state:ok") {
			return srv
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("cluster_state never ok")
	return nil
}

// TestClusterNodeDetected: one seed address that is a Cluster node, without
// ADJ_REDIS_CLUSTER, gets the Cluster client; claims work and the startup log
// says so.
func TestClusterNodeDetected(t *testing.T) {
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := startClusterNode(t, port, t.TempDir())
	_, conn, buf := startLogged(t, srv.Addr, nil)
	if _, err := tpv1.NewClaimServiceClient(conn).Simulate(context.Background(), &tpv1.SimulateRequest{Claim: gpClaim("CLU-1")}); err != nil {
		t.Fatalf("simulate on the detected Cluster: %v", err)
	}
	log := buf.String()
	if !strings.Contains(log, "using the Cluster client") || !strings.Contains(log, `"store":"cluster"`) {
		t.Fatalf("startup log does not say the Cluster was detected:\n%s", log)
	}
}

// TestClusterNodeLateNeverReady: a node that was down at startup and comes
// back as a Cluster node keeps readiness NOT_SERVING (the single-node client
// would fail every call), with an error in the log.
func TestClusterNodeLateNeverReady(t *testing.T) {
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + itoa(port)
	_, conn, buf := startLogged(t, addr, nil)
	startClusterNode(t, port, t.TempDir())
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), "ADJ_REDIS_CLUSTER=true") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), "ADJ_REDIS_CLUSTER=true") {
		t.Fatalf("no error naming ADJ_REDIS_CLUSTER:\n%s", buf.String())
	}
	for i := 0; i < 5; i++ {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: app.ReadinessService})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("readiness %v %v, want NOT_SERVING", r.GetStatus(), err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
