package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// Issue 14, point 7: a Redis that answers PING but refuses writes — out of
// memory under noeviction, a read-only replica, a script running too long —
// makes every claim UNAVAILABLE with RetryInfo (never INTERNAL) and takes
// readiness down; readiness comes back with Redis.
func TestRedisRefusingWritesIsUnavailable(t *testing.T) {
	srv, err := redistest.Start("--maxmemory-policy", "noeviction", "--busy-reply-threshold", "100")
	if err != nil {
		t.Fatal(err) // make test installs redis-server
	}
	defer srv.Stop()
	a, conn := start(t, srv.Addr)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	cc := tpv1.NewClaimServiceClient(conn)
	ready := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: app.ReadinessService})
			if err == nil && r.GetStatus() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("readiness %v %v, want %v", r.GetStatus(), err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	pro := rppsFor(uint64(time.Now().UnixNano()) + 19)
	var sent []*tpv1.Claim
	unavailable := func(what string) {
		t.Helper()
		c := gpClaim(pro + "-F" + strconv.Itoa(len(sent)+1))
		c.Professional.Id = pro
		sent = append(sent, c)
		_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c})
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Fatalf("%s: %v, want UNAVAILABLE", what, err)
		}
		var retry bool
		for _, d := range st.Details() {
			_, ok := d.(*errdetails.RetryInfo)
			retry = retry || ok
		}
		if !retry {
			t.Errorf("%s: no RetryInfo", what)
		}
	}
	ready(healthpb.HealthCheckResponse_SERVING)

	// Out of memory: maxmemory below what is used.
	used, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, l := range strings.Split(used, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			bytes, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(bytes/2, 10))
	unavailable("out of memory")
	ready(healthpb.HealthCheckResponse_NOT_SERVING)
	rdb.ConfigSet(ctx, "maxmemory", "0")
	ready(healthpb.HealthCheckResponse_SERVING)

	// Read-only: a replica of a master that does not exist.
	if err := rdb.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	unavailable("read-only replica")
	ready(healthpb.HealthCheckResponse_NOT_SERVING)
	if err := rdb.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	ready(healthpb.HealthCheckResponse_SERVING)

	// Busy: a script that loops; every other command answers BUSY.
	busy := srv.Client(t)
	go busy.Eval(context.Background(), "while true do end", nil)
	time.Sleep(300 * time.Millisecond)
	unavailable("busy script")
	ready(healthpb.HealthCheckResponse_NOT_SERVING)
	if err := rdb.Do(ctx, "SCRIPT", "KILL").Err(); err != nil {
		t.Fatal(err)
	}
	ready(healthpb.HealthCheckResponse_SERVING)
	_ = a

	// The clients retry what was refused: every claim is committed once,
	// listed, and reconcile finds nothing to recount or to repair.
	for _, c := range sent {
		if _, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c}); err != nil {
			t.Fatalf("retry of %s: %v", c.GetClaimId(), err)
		}
	}
	list, err := tpv1.NewPaymentServiceClient(conn).ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: pro})
	if err != nil || len(list.GetClaims()) != len(sent) {
		t.Fatalf("listed %d claims of %d after the faults: %v", len(list.GetClaims()), len(sent), err)
	}
	var found []string
	st := redisstore.New(rdb, redisstore.NewKeyer(nil))
	stats, err := st.Reconcile(ctx, 2000, func(d redisstore.Difference) { found = append(found, d.String()) })
	if err != nil || len(found) != 0 {
		t.Fatalf("reconcile after the faults: %q, %v", found, err)
	}
	t.Logf("after the faults: %d claims retried and listed; reconcile: %+v", len(sent), stats)
}
