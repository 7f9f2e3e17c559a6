package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestIndexesRepaired (issue 14.7): a claim whose commit script succeeded but
// whose index writes failed (here the professional's index key is of the
// wrong type) answers an error; its retry replays the decision and adds the
// missing entry, so the claim is listed. Entries lost later are found and
// added back by reconcile, whose next run finds nothing.
func TestIndexesRepaired(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	_, conn := start(t, srv.Addr)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, pc := tpv1.NewClaimServiceClient(conn), tpv1.NewPaymentServiceClient(conn)
	pro := rppsFor(uint64(time.Now().UnixNano()) + 23)
	c := gpClaim(pro + "-IDX1")
	c.Professional.Id = pro
	proKey := "pro:{p:" + pro + "}"
	if err := rdb.Set(ctx, proKey, "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c}); err == nil {
		t.Fatal("the index write failed: the call must not answer success")
	}
	if err := rdb.Del(ctx, proKey).Err(); err != nil {
		t.Fatal(err)
	}
	listed := func() bool {
		t.Helper()
		r, err := pc.ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: pro})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(r.GetClaims(), func(p *tpv1.ProfessionalClaim) bool { return p.GetClaimId() == c.GetClaimId() })
	}
	if listed() {
		t.Fatal("listed before the retry: the test did not break the index")
	}
	r, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c})
	if err != nil || !r.GetDecision().GetReplayed() {
		t.Fatalf("retry: %v (replayed %v)", err, r.GetDecision().GetReplayed())
	}
	if !listed() {
		t.Fatal("the replay did not add the missing index entry")
	}

	// Both entries lost: reconcile finds them and adds them back.
	reps, err := rdb.Keys(ctx, "rep:{r:*").Result()
	if err != nil || len(reps) != 1 {
		t.Fatalf("report indexes %v %v", reps, err)
	}
	rdb.ZRem(ctx, proKey, c.GetClaimId())
	rdb.ZRem(ctx, reps[0], c.GetClaimId())
	st := redisstore.New(rdb, redisstore.NewKeyer(nil))
	var found []string
	if _, err := st.Reconcile(ctx, 2000, func(d redisstore.Difference) { found = append(found, d.String()) }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || !strings.Contains(strings.Join(found, "\n"), "(repaired)") {
		t.Fatalf("reconcile found %q, want the two index entries repaired", found)
	}
	found = nil
	if _, err := st.Reconcile(ctx, 2000, func(d redisstore.Difference) { found = append(found, d.String()) }); err != nil || len(found) != 0 {
		t.Fatalf("second reconcile: %q %v", found, err)
	}
	if !listed() {
		t.Fatal("not listed after reconcile")
	}
}
