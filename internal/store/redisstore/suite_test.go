package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// runID makes this run's claim ids unique on a Redis shared with earlier runs
// (CI runs the suite twice on one server).
var runID = strconv.FormatInt(time.Now().UnixNano(), 36)

// adminCtx is the context of a national administrator: these tests are about
// the store, the access rules have their own tests.
func adminCtx() context.Context { return access.With(context.Background(), access.Open) }

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// target is one Redis the store suite runs against.
type target struct {
	name string
	rdb  redis.UniversalClient
}

func opts(addrs ...string) *redis.UniversalOptions {
	return &redis.UniversalOptions{Addrs: addrs, DisableIdentity: true, MaxRetries: 1,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}}
}

// targets: a real redis-server always; a 3-master Cluster when
// TIERSPAYANT_TEST_CLUSTER names one (make test-cluster); the embedded
// in-process store that `make run` uses, which must behave the same.
func targets(t testing.TB) []target {
	t.Helper()
	srv := redistest.Shared(t)
	single := redis.NewUniversalClient(opts(srv.Addr))
	t.Cleanup(func() { single.Close() })
	out := []target{{"redis", single}}
	if addrs := os.Getenv("TIERSPAYANT_TEST_CLUSTER"); addrs != "" {
		o := opts(strings.Split(addrs, ",")...)
		o.IsClusterMode = true
		c := redis.NewUniversalClient(o)
		t.Cleanup(func() { c.Close() })
		out = append(out, target{"cluster", c})
	}
	m := miniredis.RunT(t)
	e := redis.NewUniversalClient(opts(m.Addr()))
	t.Cleanup(func() { e.Close() })
	out = append(out, target{"embedded", e})
	return out
}

var table = func() *legal.Table {
	t, err := legal.Load()
	if err != nil {
		panic(err)
	}
	return t
}()

var paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return l
}()

// now: Tue 11 Mar 2025 10:00 Paris.
var now = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)

func newService(t *testing.T, rdb redis.UniversalClient) (*service.Service, *redisstore.Store) {
	t.Helper()
	return newServiceClock(t, rdb, func() time.Time { return now })
}

// newServiceClock is newService with the given clock.
func newServiceClock(t *testing.T, rdb redis.UniversalClient, clock func() time.Time) (*service.Service, *redisstore.Store) {
	t.Helper()
	k := testKeyer
	st := redisstore.New(rdb, k)
	if err := st.LoadScripts(adminCtx()); err != nil {
		t.Fatal(err)
	}
	return service.New(service.Deps{Params: table, Ledger: st, Archive: st, Bens: st.Registry(), Digest: k.Digest,
		Payments: st, Fraud: st.Fraud(), Organisms: st.Organisms(), Trail: st.Trail(),
		Clock: clock, Zone: paris}), st
}

// testKeyer is the keyer of newService; refOf gives a NIR's reference.
var testKeyer = redisstore.NewKeyer([]byte("a test secret of at least 32 characters"))

func refOf(nir string) string { return testKeyer.Ref(nir) }

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// nirFor returns a valid NIR for a test beneficiary number.
func nirFor(n int) string {
	body := fmt.Sprintf("1850575%06d", n%1000000)
	v, _ := strconv.ParseInt(body, 10, 64)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

func register(t *testing.T, svc *service.Service, nir string) {
	t.Helper()
	_, err := svc.UpsertBeneficiary(adminCtx(), nir, service.Beneficiary{
		Rights:      claims.Rights{BirthDate: day("1985-05-20"), Open: []claims.Period{{From: day("2020-01-01")}}},
		Attachments: []service.Attachment{{Organism: "CPAM-STORE-TEST", Period: claims.Period{From: day("2020-01-01")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func baseClaim(id, nir, pro string, prof claims.Profession) claims.Claim {
	return claims.Claim{
		ID: id, CreatedAt: now.Add(-time.Hour), NIR: nir, Nature: claims.NatureMaladie, Mode: claims.ModeAMOOnly,
		Professional:   claims.Professional{ID: pro, Profession: prof, Departement: "75"},
		Identification: claims.Identification{Kind: claims.IdentificationVitaleCard, Value: "C" + nir},
	}
}

func gp(id, nir, pro string) claims.Claim {
	c := baseClaim(id, nir, pro, claims.ProfessionPhysician)
	c.Lines = []claims.Line{{ID: "1", Code: "G", Category: claims.CategoryPhysician, CareDate: day("2025-03-10"),
		UnitPrice: eur("30.00"), Quantity: 1, BilledAmount: eur("30.00"), Parcours: claims.ParcoursRespected}}
	return c
}

func pharmacy(id, nir, pro string, packs int) claims.Claim {
	c := baseClaim(id, nir, pro, claims.ProfessionPharmacist)
	c.Lines = []claims.Line{{ID: "1", Code: "3400930000000", Category: claims.CategoryMedicine, CareDate: day("2025-03-10"),
		UnitPrice: eur("10.00"), Quantity: packs, BilledAmount: eur("10.00").Mul(decimal.NewFromInt(int64(packs))), ProductRate: eur("0.65")}}
	return c
}

func nurse(id, nir, pro string, acts int) claims.Claim {
	c := baseClaim(id, nir, pro, claims.ProfessionNurse)
	c.Lines = []claims.Line{{ID: "1", Code: "AMI", Category: claims.CategoryAuxiliary, CareDate: day("2025-03-10"),
		UnitPrice: eur("10.00"), Quantity: acts, BilledAmount: eur("10.00").Mul(decimal.NewFromInt(int64(acts)))}}
	return c
}

// counters returns the annual counters of adjudication year year ("pf",
// "fr") together with the daily counters of the care dates of that year
// ("fd:…", "pc:…"): two hashes, one map.
func counters(t testing.TB, rdb redis.UniversalClient, ref string, year int) map[string]int64 {
	t.Helper()
	out := annualCounters(t, rdb, ref, year)
	for k, v := range dailyCounters(t, rdb, ref, year) {
		out[k] = v
	}
	return out
}

// annualCounters reads the annual counters hash of an adjudication year.
func annualCounters(t testing.TB, rdb redis.UniversalClient, ref string, year int) map[string]int64 {
	t.Helper()
	return hashCounters(t, rdb, "cnt:{b:"+ref+"}:"+strconv.Itoa(year))
}

// dailyCounters reads the daily counters hash of a care year.
func dailyCounters(t testing.TB, rdb redis.UniversalClient, ref string, careYear int) map[string]int64 {
	t.Helper()
	return hashCounters(t, rdb, "cntd:{b:"+ref+"}:"+strconv.Itoa(careYear))
}

func hashCounters(t testing.TB, rdb redis.UniversalClient, key string) map[string]int64 {
	t.Helper()
	v, err := rdb.HGetAll(adminCtx(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for k, s := range v {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: counter %s=%q", key, k, s)
		}
		out[k] = n
	}
	return out
}

func TestStoreIdempotency(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := adminCtx()
			svc, _ := newService(t, tg.rdb)
			nir := nirFor(int(time.Now().UnixNano() % 900000))
			register(t, svc, nir)
			id := "P1-" + runID + "-" + t.Name()
			first, err := svc.Adjudicate(ctx, gp(id, nir, "P1"))
			if err != nil {
				t.Fatal(err)
			}
			ref := redisstore.NewKeyer([]byte("a test secret of at least 32 characters")).Ref(nir)
			before := counters(t, tg.rdb, ref, 2025)
			again, err := svc.Adjudicate(ctx, gp(id, nir, "P1"))
			if err != nil {
				t.Fatal(err)
			}
			if !again.Replayed || !again.Decision.Totals.ParticipationForfaitaire.Equal(first.Decision.Totals.ParticipationForfaitaire) ||
				!again.Decision.DebtBalance.Equal(first.Decision.DebtBalance) || len(again.Decision.Trace) != len(first.Decision.Trace) {
				t.Fatalf("replay differs: %+v vs %+v", again.Decision.Totals, first.Decision.Totals)
			}
			if after := counters(t, tg.rdb, ref, 2025); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a replay changed the counters: %v → %v", before, after)
			}
			other := gp(id, nir, "P1")
			other.Lines[0].UnitPrice = eur("25.00")
			if _, err := svc.Adjudicate(ctx, other); !errors.Is(err, service.ErrClaimIDReused) {
				t.Fatalf("same id, other content: %v", err)
			}
			// Same id for another beneficiary is another content too.
			nir2 := nirFor(int(time.Now().UnixNano()%900000) + 1)
			register(t, svc, nir2)
			if _, err := svc.Adjudicate(ctx, gp(id, nir2, "P1")); !errors.Is(err, service.ErrClaimIDReused) {
				t.Fatalf("same id, other beneficiary: %v", err)
			}
			// Cancel restores exactly what the claim consumed, once.
			c1, err := svc.CancelClaim(ctx, id)
			if err != nil || !c1.Now || !c1.PFRestored.Equal(eur("2.00")) {
				t.Fatalf("cancel: %+v %v", c1, err)
			}
			c2, err := svc.CancelClaim(ctx, id)
			if err != nil || c2.Now || !c2.CancelledAt.Equal(c1.CancelledAt) {
				t.Fatalf("second cancel: %+v %v", c2, err)
			}
			for k, v := range counters(t, tg.rdb, ref, 2025) {
				if v != 0 {
					t.Errorf("after cancel, counter %s = %d", k, v)
				}
			}
			got, err := svc.GetClaim(ctx, id)
			if err != nil || !got.Cancelled {
				t.Fatalf("get after cancel: %+v %v", got.Cancelled, err)
			}
			if _, err := svc.CancelClaim(ctx, "never-seen-"+id); !errors.Is(err, service.ErrNotFound) {
				t.Fatalf("cancel unknown: %v", err)
			}
		})
	}
}

// TestStoreConcurrentCaps: 200 claims of one beneficiary from 10
// professionals on 20 goroutines. The annual and daily caps hold exactly and
// the stored decisions add up to the counters.
func TestStoreConcurrentCaps(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := adminCtx()
			svc, _ := newService(t, tg.rdb)
			nir := nirFor(int(time.Now().UnixNano()%900000) + 7)
			register(t, svc, nir)
			const n, workers = 200, 20
			ids := make([]string, n)
			jobs := make(chan int)
			var wg sync.WaitGroup
			var failed atomic.Int32
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range jobs {
						pro := "PRO" + strconv.Itoa(i%10)
						id := fmt.Sprintf("%s-%s-%s-%03d", pro, runID, strings.ReplaceAll(t.Name(), "/", "-"), i)
						ids[i] = id
						var c claims.Claim
						switch i % 3 {
						case 0:
							c = gp(id, nir, pro)
						case 1:
							c = pharmacy(id, nir, pro, 2)
						default:
							c = nurse(id, nir, pro, 3)
						}
						if _, err := svc.Adjudicate(ctx, c); err != nil {
							failed.Add(1)
							t.Errorf("claim %d: %v", i, err)
						}
					}
				}()
			}
			for i := 0; i < n; i++ {
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			if failed.Load() > 0 {
				t.FailNow()
			}
			ref := redisstore.NewKeyer([]byte("a test secret of at least 32 characters")).Ref(nir)
			cnt := counters(t, tg.rdb, ref, 2025)
			// 67 GP claims from 10 professionals: at most 4 PF each per day → 40 × 2.00 > 50.00.
			if cnt["pf"] != 5000 || cnt["fr"] != 5000 {
				t.Errorf("annual caps: pf=%d fr=%d cents, want exactly 5000 each", cnt["pf"], cnt["fr"])
			}
			for k, v := range cnt {
				if strings.HasPrefix(k, "pc:") && v > 4 {
					t.Errorf("PF count %s = %d > 4", k, v)
				}
				if strings.HasPrefix(k, "fd:") && v > 400 {
					t.Errorf("daily franchise %s = %d cents > 4.00", k, v)
				}
			}
			var pf, fr, debt decimal.Decimal
			for _, id := range ids {
				r, err := svc.GetClaim(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				pf = pf.Add(r.Decision.Totals.ParticipationForfaitaire)
				fr = fr.Add(r.Decision.Totals.Franchise)
				debt = debt.Add(r.Decision.Totals.PatientDebt)
			}
			if !pf.Equal(eur("50.00")) || !fr.Equal(eur("50.00")) || !debt.Equal(eur("100.00")) {
				t.Errorf("sum of stored decisions: pf=%s fr=%s debt=%s", pf, fr, debt)
			}
			_, b, err := svc.GetBeneficiary(ctx, nir)
			if err != nil || !b.Rights.Debt.Equal(debt) {
				t.Errorf("beneficiary debt %s, decisions %s (%v)", b.Rights.Debt, debt, err)
			}
		})
	}
}

// countingHook counts the round trips the client makes: every command sent
// on its own and every pipeline.
type countingHook struct{ calls atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		// A new pooled connection's handshake (HELLO) is not a claim's round trip.
		if name := cmd.Name(); name != "hello" && name != "auth" {
			h.calls.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.calls.Add(1); return next(ctx, cmds) }
}

// TestStoreRoundTrips: at most 2 Redis round trips per adjudicated claim.
func TestStoreRoundTrips(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { rdb.Close() })
	svc, _ := newService(t, rdb)
	nir := nirFor(int(time.Now().UnixNano()%900000) + 11)
	register(t, svc, nir)
	// Warm-up: the service loads the organisms once; the server then
	// refreshes them in the background, off the claim path.
	if _, err := svc.Adjudicate(adminCtx(), gp("RT-warm-"+runID+t.Name(), nir, "PRO0")); err != nil {
		t.Fatal(err)
	}
	h := &countingHook{}
	rdb.AddHook(h)
	const claimsN = 30
	for i := 0; i < claimsN; i++ {
		var c claims.Claim
		id := fmt.Sprintf("RT-%s-%s-%d", runID, t.Name(), i)
		switch i % 3 {
		case 0:
			c = gp(id, nir, "PRO1")
		case 1:
			c = pharmacy(id, nir, "PH1", 3)
		default:
			c = nurse(id, nir, "N1", 2)
		}
		before := h.calls.Load()
		if _, err := svc.Adjudicate(adminCtx(), c); err != nil {
			t.Fatal(err)
		}
		if n := h.calls.Load() - before; n > 2 {
			t.Fatalf("claim %d took %d round trips, want at most 2", i, n)
		}
	}
	t.Logf("%d claims, %d round trips", claimsN, h.calls.Load())
}

// TestStoreUnavailable: Redis dies between the read and the commit. The call
// fails with ErrUnavailable, nothing is half-written, and the retry with the
// same claim id commits once.
func TestStoreUnavailable(t *testing.T) {
	dir := t.TempDir()
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	aof := []string{"--appendonly", "yes", "--appendfsync", "always"}
	srv, err := redistest.StartOn(port, dir, aof...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	o := opts(srv.Addr)
	o.ReadTimeout, o.WriteTimeout, o.DialTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	rdb := redis.NewUniversalClient(o)
	t.Cleanup(func() { rdb.Close() })
	svc, _ := newService(t, rdb)
	ctx := adminCtx()
	nir := nirFor(424242)
	register(t, svc, nir)
	if _, err := svc.Adjudicate(ctx, gp("U-1", nir, "P1")); err != nil {
		t.Fatal(err)
	}
	ref := redisstore.NewKeyer([]byte("a test secret of at least 32 characters")).Ref(nir)
	before := counters(t, rdb, ref, 2025)

	var armed atomic.Bool
	armed.Store(true)
	rdb.AddHook(killAfterRead{srv: srv, armed: &armed})
	start := time.Now()
	_, err = svc.Adjudicate(ctx, gp("U-2", nir, "P1"))
	if !errors.Is(err, service.ErrUnavailable) {
		t.Fatalf("Redis gone before the commit: got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to give up", d)
	}

	srv2, err := redistest.StartOn(port, dir, aof...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Stop)
	waitUp(t, rdb)
	if after := counters(t, rdb, ref, 2025); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("half-written: counters %v → %v", before, after)
	}
	if _, err := svc.GetClaim(ctx, "U-2"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("the failed claim must not be stored: %v", err)
	}
	r, err := svc.Adjudicate(ctx, gp("U-2", nir, "P1"))
	if err != nil || r.Replayed || !r.Decision.Totals.ParticipationForfaitaire.Equal(eur("2.00")) {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if got := counters(t, rdb, ref, 2025)["pf"]; got != before["pf"]+200 {
		t.Fatalf("retry counted pf %d → %d", before["pf"], got)
	}
}

func waitUp(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if rdb.Ping(adminCtx()).Err() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis did not come back")
}

// killAfterRead kills the server right after the claim's read pipeline.
type killAfterRead struct {
	srv   *redistest.Server
	armed *atomic.Bool
}

func (k killAfterRead) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (k killAfterRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (k killAfterRead) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if k.armed.CompareAndSwap(true, false) {
			k.srv.Kill()
		}
		return err
	}
}

// TestStoreReconcile: after concurrent claims, retries and cancels, the claim
// records account for every counter and debt exactly; a tampered counter and
// a record lost after its counters were written are both reported.
func TestStoreReconcile(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rdb := redis.NewUniversalClient(opts(srv.Addr))
	defer rdb.Close()
	svc, st := newService(t, rdb)
	ctx := adminCtx()
	var wg sync.WaitGroup
	for b := 0; b < 5; b++ {
		nir := nirFor(880000 + b)
		register(t, svc, nir)
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("REC-%d-%d", b, i)
				var c claims.Claim
				switch i % 3 {
				case 0:
					c = gp(id, nir, "P"+strconv.Itoa(i%5))
				case 1:
					c = pharmacy(id, nir, "PH", 3)
				default:
					c = nurse(id, nir, "N", 2)
				}
				for try := 0; try < 2; try++ { // a retry is never counted twice
					if _, err := svc.Adjudicate(ctx, c); err != nil {
						t.Error(err)
					}
				}
				if i%7 == 0 {
					if _, err := svc.CancelClaim(ctx, id); err != nil {
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	var diffs []redisstore.Difference
	stats, err := st.Reconcile(ctx, 2025, func(d redisstore.Difference) { diffs = append(diffs, d) })
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 || stats.Beneficiaries != 5 || stats.Commits != 150 || stats.Cancels != 25 {
		t.Fatalf("clean run: %+v, differences %v", stats, diffs)
	}
	ref := redisstore.NewKeyer([]byte("a test secret of at least 32 characters")).Ref(nirFor(880000))
	rdb.HIncrBy(ctx, "cnt:{b:"+ref+"}:2025", "fr", 1)
	// A claim whose counters stayed without its record (a lost write): its
	// franchise is counted in the state and in no record.
	lost := redisstore.NewKeyer([]byte("a test secret of at least 32 characters")).Ref(nirFor(880001))
	if n := rdb.Del(ctx, "clm:{b:"+lost+"}:REC-1-1").Val(); n != 1 {
		t.Fatalf("deleted %d records", n)
	}
	diffs = nil
	if _, err := st.Reconcile(ctx, 2025, func(d redisstore.Difference) { diffs = append(diffs, d) }); err != nil {
		t.Fatal(err)
	}
	var tampered, lostFR bool
	for _, d := range diffs {
		switch {
		case d.BeneficiaryRef == ref && d.Field == "fr" && d.InState == d.FromAudit+1:
			tampered = true
		case d.BeneficiaryRef == lost && d.Field == "fr" && !d.Daily && d.InState > d.FromAudit:
			lostFR = true
		case d.BeneficiaryRef != ref && d.BeneficiaryRef != lost:
			t.Errorf("a difference on an untouched beneficiary: %v", d)
		}
	}
	if !tampered || !lostFR {
		t.Fatalf("want the tampered counter and the lost record's franchise, got %v", diffs)
	}
}

// lostAnswer lets the commit pipeline run, then reports a deadline, as when
// the client's deadline expires while the script is in flight.
type lostAnswer struct{ armed *atomic.Bool }

func (l lostAnswer) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (l lostAnswer) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (l lostAnswer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if len(cmds) > 0 && cmds[0].Name() == "evalsha" && l.armed.CompareAndSwap(true, false) {
			return context.DeadlineExceeded
		}
		return err
	}
}

// TestStoreCommitAnswerLost: the commit ran but its answer was lost (a
// deadline): the claim id must stay reserved, so the claim is readable by its
// id and a retry is answered with the stored decision (found by make chaos).
func TestStoreCommitAnswerLost(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { rdb.Close() })
	svc, _ := newService(t, rdb)
	nir := nirFor(int(time.Now().UnixNano()%900000) + 23)
	register(t, svc, nir)
	var armed atomic.Bool
	armed.Store(true)
	rdb.AddHook(lostAnswer{armed: &armed})
	id := "LOST-" + runID
	if _, err := svc.Adjudicate(adminCtx(), gp(id, nir, "P1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lost answer: %v", err)
	}
	got, err := svc.GetClaim(adminCtx(), id)
	if err != nil || !got.Decision.Totals.ParticipationForfaitaire.Equal(eur("2.00")) {
		t.Fatalf("the committed claim must stay readable by its id: %+v %v", got.Decision.Totals, err)
	}
	again, err := svc.Adjudicate(adminCtx(), gp(id, nir, "P1"))
	if err != nil || !again.Replayed {
		t.Fatalf("retry: replayed=%v %v", again.Replayed, err)
	}
	nir2 := nirFor(int(time.Now().UnixNano()%900000) + 29)
	register(t, svc, nir2)
	if _, err := svc.Adjudicate(adminCtx(), gp(id, nir2, "P1")); !errors.Is(err, service.ErrClaimIDReused) {
		t.Fatalf("the id must not be reusable by another beneficiary: %v", err)
	}
}

// TestStoreIndexRepair (issue 14.7): a committed claim missing from its
// professional's index is added back by its retry (the replay path) and by
// reconcile, on every target.
func TestStoreIndexRepair(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			svc, st := newService(t, tg.rdb)
			ctx := adminCtx()
			n := int(time.Now().UnixNano() % 900000)
			nir := nirFor(n + 31)
			register(t, svc, nir)
			pro := fmt.Sprintf("P-IDX-%d", n)
			id := pro + "-1"
			c := gp(id, nir, pro)
			if _, err := svc.Adjudicate(ctx, c); err != nil {
				t.Fatal(err)
			}
			key := "pro:{p:" + pro + "}"
			indexed := func() bool {
				_, err := tg.rdb.ZScore(context.Background(), key, id).Result()
				if err != nil && !errors.Is(err, redis.Nil) {
					t.Fatal(err)
				}
				return err == nil
			}
			if !indexed() {
				t.Fatal("not indexed after its commit")
			}
			tg.rdb.ZRem(context.Background(), key, id)
			r, err := svc.Adjudicate(ctx, c)
			if err != nil || !r.Replayed || !indexed() {
				t.Fatalf("retry: replayed %v, indexed %v, %v", r.Replayed, indexed(), err)
			}
			tg.rdb.ZRem(context.Background(), key, id)
			var mine []redisstore.Difference
			if _, err := st.Reconcile(context.Background(), 2025, func(d redisstore.Difference) {
				if strings.HasSuffix(d.Field, ":"+id) {
					mine = append(mine, d)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if len(mine) != 1 || mine[0].Field != "index:pro:"+id || !mine[0].Repaired || !indexed() {
				t.Fatalf("reconcile: %+v, indexed %v", mine, indexed())
			}
		})
	}
}

// commandCount counts the round trips a client makes (a pipeline is one).
type commandCount struct{ n *atomic.Int64 }

func (c commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// TestStoreListingBounded (issue 14.11): listing with a filter that matches
// nothing reads a bounded number of index entries per call, in a few round
// trips, and the pages' tokens walk the whole history.
func TestStoreListingBounded(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { rdb.Close() })
	var trips atomic.Int64
	rdb.AddHook(commandCount{&trips})
	st := redisstore.New(rdb, testKeyer)
	svc := service.New(service.Deps{Params: table, Ledger: st, Archive: st, Bens: st.Registry(), Digest: testKeyer.Digest,
		Payments: st, Fraud: st.Fraud(), Organisms: st.Organisms(), Clock: func() time.Time { return now }, Zone: paris, ListScan: 40})
	ctx := adminCtx()
	n := int(time.Now().UnixNano() % 900000)
	nir := nirFor(n + 41)
	register(t, svc, nir)
	pro := fmt.Sprintf("P-LIST-%d", n)
	const claimsN = 100
	for i := range claimsN {
		if _, err := svc.Adjudicate(ctx, gp(fmt.Sprintf("%s-%d", pro, i), nir, pro)); err != nil {
			t.Fatal(err)
		}
	}
	calls, offset := 0, 0
	for offset >= 0 {
		trips.Store(0)
		list, next, err := svc.ProfessionalClaims(ctx, pro, service.StatePaid, offset, 10)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if len(list) != 0 {
			t.Fatalf("no claim is paid, got %d", len(list))
		}
		if got := trips.Load(); got > 4 {
			t.Errorf("call %d: %d round trips for at most 40 entries", calls, got)
		}
		if next >= 0 && next-offset > 40 {
			t.Errorf("call %d read %d entries, bound 40", calls, next-offset)
		}
		offset = next
	}
	if calls != 3 { // 40, 40, then the last 20 and the end
		t.Errorf("%d calls to walk %d claims by 40", calls, claimsN)
	}
	all, next, err := svc.ProfessionalClaims(ctx, pro, service.StateUnspecified, 0, 1000)
	if err != nil || len(all) != 40 || next != 40 {
		t.Errorf("unfiltered page of 1000: %d claims, next %d, %v (the bound applies too)", len(all), next, err)
	}
}
