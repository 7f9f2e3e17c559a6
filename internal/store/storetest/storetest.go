// Package storetest is the conformance suite of the store's ports
// (internal/store): what the service relies on of any backend, checked
// through the ports alone, without knowing how a backend lays out its data.
// Every backend runs it: redisstore on a real redis-server, on a 3-master
// Redis Cluster (make test-cluster) and on the embedded in-process store of
// `make run` (redisstore's conformance_test.go).
//
// A backend may be shared with other tests: the suite makes its own
// beneficiaries, professionals, organisms and claim ids, unique per run.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/payment"
	"github.com/tierspayant/tierspayant/internal/store"
)

// Backend is one store under test, each port of it.
type Backend struct {
	Ledger    store.ClaimLedger
	Archive   store.ClaimArchive
	Payments  store.PaymentLedger
	Bens      store.Beneficiaries
	Fraud     store.FraudRegistry
	Organisms store.OrganismRegistry
	Trail     store.Trail
	Due       store.DueIndex
}

// Run runs the suite, each case on a backend from open.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, Backend, *fixture)
	}{
		{"CommitReplayReuse", testCommitReplayReuse},
		{"ReserveRelease", testReserveRelease},
		{"ConcurrentCaps", testConcurrentCaps},
		{"CancelGivesBack", testCancelGivesBack},
		{"PaymentOnce", testPaymentOnce},
		{"Unknown", testUnknown},
		{"Beneficiaries", testBeneficiaries},
		{"Listings", testListings},
		{"DueIndex", testDueIndex},
		{"Trail", testTrail},
		{"FraudAndOrganisms", testFraudAndOrganisms},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.f(t, open(t), newFixture())
		})
	}
}

// fixture names what one case makes, unique per run.
type fixture struct {
	run string
	n   int
}

func newFixture() *fixture {
	return &fixture{run: strconv.FormatUint(rand.Uint64()%1e12, 36)}
}

// id is a fresh identifier with a prefix.
func (f *fixture) id(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%s-%d", prefix, f.run, f.n)
}

// nir is a fresh valid NIR (13 digits and their key).
func (f *fixture) nir() string {
	f.n++
	body := fmt.Sprintf("1850575%06d", (rand.Uint64()+uint64(f.n))%1000000)
	v, _ := strconv.ParseInt(body, 10, 64)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

var (
	careDay = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	receipt = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func eur(cents int64) decimal.Decimal { return decimal.New(cents, -2) }

// franchiseReq asks for units medicine franchises of 1 € under a 50 € annual
// cap.
func franchiseReq(line, units int) store.CapRequest {
	return store.CapRequest{Request: franchise.Request{Line: line, CareDate: careDay, Deduction: franchise.DeductionFranchise,
		Kind: franchise.KindMedicament, Units: units, UnitAmount: eur(100), LineLimit: eur(100000), AnnualCap: eur(5000)}, Debt: true}
}

// pfReq asks for one participation of 2 € of professional pro, four a day
// and 50 a year (2025's rules: a count cap, no amount cap).
func pfReq(line int, pro string) store.CapRequest {
	return store.CapRequest{Request: franchise.Request{Line: line, CareDate: careDay, Deduction: franchise.DeductionPF,
		Professional: pro, Units: 1, UnitAmount: eur(200), LineLimit: eur(100000), DailyCount: 4, AnnualCount: 50}, Debt: true}
}

// claim reserves id for beneficiary nir as the service does (Read with
// Reserve) and returns the commit request, with the beneficiary's
// reference the backend gave. Its Meta is an encoded store.ClaimMeta, as
// the service writes it (a backend may read it back, to reconcile).
func claim(t *testing.T, b Backend, id, nir, digest, pro string, reqs ...store.CapRequest) store.CommitRequest {
	t.Helper()
	snap, err := b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: digest, NIR: nir,
		Professional: pro, Year: 2025, CreatedAt: receipt})
	if err != nil {
		t.Fatal(err)
	}
	if snap.PriorDigest != "" && snap.PriorDigest != digest {
		t.Fatalf("claim %s: reserved before with %q", id, snap.PriorDigest)
	}
	meta, err := json.Marshal(store.ClaimMeta{Professional: pro, Payable: eur(1000)})
	if err != nil {
		t.Fatal(err)
	}
	return store.CommitRequest{ClaimID: id, BeneficiaryRef: snap.BeneficiaryRef, Digest: digest, Blob: []byte("blob of " + id),
		ReceivedAt: receipt, Year: 2025, Requests: reqs, Meta: meta, Professional: pro}
}

// counters are the beneficiary's counters of 2025 as Read sees them.
func counters(t *testing.T, b Backend, nir, pro string) franchise.State {
	t.Helper()
	snap, err := b.Ledger.Read(ctx(t), store.ReadRequest{NIR: nir, Year: 2025,
		DayKeys: []franchise.DayKey{{CareDate: careDay, Kind: franchise.KindMedicament}},
		ProDays: []franchise.ProDayKey{{Professional: pro, CareDate: careDay}}})
	if err != nil {
		t.Fatal(err)
	}
	return snap.Counters
}

// granted sums a commit's grants: the units (a franchise's when an amount
// was granted, franchise.Grant) and the amounts.
func granted(c store.Committed) (units int, amount decimal.Decimal) {
	for _, g := range c.Grants {
		units += g.Units
		amount = amount.Add(g.Amount)
	}
	return units, amount
}

// A commit grants and records; the same id and content again is a replay
// with the same grants and nothing counted twice; the same id with other
// content is refused.
func testCommitReplayReuse(t *testing.T, b Backend, f *fixture) {
	nir, pro, id := f.nir(), f.id("pro"), f.id("claim")
	req := claim(t, b, id, nir, "digest-1", pro, franchiseReq(0, 3), pfReq(1, pro))
	first, err := b.Ledger.Commit(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || len(first.Grants) != 2 || first.Grants[0].Units != 3 || !first.Grants[0].Amount.Equal(eur(300)) ||
		first.Grants[1].Units != 1 || !first.Grants[1].Amount.Equal(eur(200)) {
		t.Fatalf("first commit: %+v", first)
	}
	if !first.DebtBalance.Equal(eur(500)) {
		t.Errorf("debt after the claim %s, want 5.00", first.DebtBalance)
	}
	again, err := b.Ledger.Commit(ctx(t), claim(t, b, id, nir, "digest-1", pro, franchiseReq(0, 3), pfReq(1, pro)))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || fmt.Sprint(again.Grants) != fmt.Sprint(first.Grants) || string(again.Blob) != string(req.Blob) ||
		!again.DebtBalance.Equal(first.DebtBalance) {
		t.Fatalf("replay: %+v, want the first commit's %+v", again, first)
	}
	c := counters(t, b, nir, pro)
	if !c.FranchiseYear.Equal(eur(300)) || c.PFYearCount != 1 || !c.PFYear.Equal(eur(200)) {
		t.Errorf("after a commit and its replay: franchise %s, PF %s (%d): counted twice?", c.FranchiseYear, c.PFYear, c.PFYearCount)
	}
	other := req
	other.Digest = "digest-2"
	if _, err := b.Ledger.Commit(ctx(t), other); !errors.Is(err, store.ErrClaimIDReused) {
		t.Fatalf("same id, other content: %v, want ErrClaimIDReused", err)
	}
	got, err := b.Archive.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Blob) != string(req.Blob) || string(got.Meta) != string(req.Meta) || got.BeneficiaryRef != req.BeneficiaryRef ||
		!got.ReceivedAt.Equal(receipt) || got.Cancelled || fmt.Sprint(got.Grants) != fmt.Sprint(first.Grants) {
		t.Errorf("Get: %+v", got)
	}
}

// A reservation shows its digest to a second Read of the same id; released,
// the id is free again.
func testReserveRelease(t *testing.T, b Backend, f *fixture) {
	nir, id := f.nir(), f.id("claim")
	if _, err := b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: "d1", NIR: nir, Year: 2025}); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: "d2", NIR: nir, Year: 2025})
	if err != nil || snap.PriorDigest != "d1" {
		t.Fatalf("second reservation: prior %q, %v; want d1", snap.PriorDigest, err)
	}
	b.Ledger.Release(ctx(t), id, "d2") // not the holder: nothing freed
	if snap, _ = b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: "d3", NIR: nir, Year: 2025}); snap.PriorDigest != "d1" {
		t.Fatalf("released by another digest: prior %q", snap.PriorDigest)
	}
	b.Ledger.Release(ctx(t), id, "d1")
	if snap, _ = b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: "d4", NIR: nir, Year: 2025}); snap.PriorDigest != "" {
		t.Fatalf("after release: prior %q, want a free id", snap.PriorDigest)
	}
	// Another beneficiary's reservation of the same id is never taken for
	// this one's.
	if snap, _ = b.Ledger.Read(ctx(t), store.ReadRequest{ClaimID: id, Reserve: true, Digest: "d4", NIR: f.nir(), Year: 2025}); snap.PriorDigest == "" || snap.PriorDigest == "d4" {
		t.Fatalf("another beneficiary, same id and digest: prior %q", snap.PriorDigest)
	}
}

// Claims committed at the same instant never push a cap past its limit:
// 20 claims of 5 franchises against a 50 € cap grant exactly 50 €, and 12
// participations of one professional on one day exactly its 4.
func testConcurrentCaps(t *testing.T, b Backend, f *fixture) {
	nir, pro := f.nir(), f.id("pro")
	reqs := make([]store.CommitRequest, 20)
	for i := range reqs {
		rs := []store.CapRequest{franchiseReq(0, 5)}
		if i < 12 {
			rs = append(rs, pfReq(1, pro))
		}
		reqs[i] = claim(t, b, f.id("claim"), nir, "d", pro, rs...)
	}
	results := make([]store.Committed, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.Ledger.Commit(ctx(t), reqs[i])
		}()
	}
	wg.Wait()
	var frUnits, pfUnits int
	var fr decimal.Decimal
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		frUnits += r.Grants[0].Units
		fr = fr.Add(r.Grants[0].Amount)
		if len(r.Grants) > 1 {
			pfUnits += r.Grants[1].Units
		}
	}
	if !fr.Equal(eur(5000)) || frUnits != 50 || pfUnits != 4 {
		t.Fatalf("granted franchise %s (%d units), %d participations; want exactly 50.00 (10 claims of 5), 50 and 4", fr, frUnits, pfUnits)
	}
	c := counters(t, b, nir, pro)
	if !c.FranchiseYear.Equal(eur(5000)) || c.PFCount[franchise.ProDayKey{Professional: pro, CareDate: careDay}] != 4 {
		t.Errorf("counters: franchise %s, PF of the day %v", c.FranchiseYear, c.PFCount)
	}
}

// A cancellation gives back what the claim consumed, once; the room it
// frees is granted to the next claim.
func testCancelGivesBack(t *testing.T, b Backend, f *fixture) {
	nir, pro := f.nir(), f.id("pro")
	_, err := b.Ledger.Commit(ctx(t), claim(t, b, f.id("claim"), nir, "d", pro, franchiseReq(0, 48)))
	if err != nil {
		t.Fatal(err)
	}
	id := f.id("claim")
	if _, err := b.Ledger.Commit(ctx(t), claim(t, b, id, nir, "d", pro, franchiseReq(0, 2), pfReq(1, pro))); err != nil {
		t.Fatal(err)
	}
	at := receipt.Add(time.Hour)
	x, err := b.Archive.Cancel(ctx(t), id, at)
	if err != nil {
		t.Fatal(err)
	}
	if !x.Now || !x.FRRestored.Equal(eur(200)) || !x.PFRestored.Equal(eur(200)) || !x.CancelledAt.Equal(at) {
		t.Fatalf("cancel: %+v", x)
	}
	again, err := b.Archive.Cancel(ctx(t), id, at.Add(time.Hour))
	if err != nil || again.Now || !again.CancelledAt.Equal(at) {
		t.Fatalf("second cancel: %+v %v: want the first one's instant, nothing restored again", again, err)
	}
	c := counters(t, b, nir, pro)
	if !c.FranchiseYear.Equal(eur(4800)) || c.PFYearCount != 0 {
		t.Errorf("after cancel: franchise %s (want 48.00 of the first claim), PF count %d", c.FranchiseYear, c.PFYearCount)
	}
	got, err := b.Archive.Get(ctx(t), id)
	if err != nil || !got.Cancelled || !got.CancelledAt.Equal(at) {
		t.Errorf("Get after cancel: %+v %v", got, err)
	}
	next, err := b.Ledger.Commit(ctx(t), claim(t, b, f.id("claim"), nir, "d", pro, franchiseReq(0, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if _, amt := granted(next); !amt.Equal(eur(200)) || len(next.Grants[0].Limits) == 0 {
		t.Errorf("after the first claim's 48 and a cancelled 2: granted %s limited by %v, want 2.00 limited by the annual cap", amt, next.Grants[0].Limits)
	}
	if _, err := b.Archive.Cancel(ctx(t), f.id("unknown"), at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel of an unknown claim: %v", err)
	}
}

// A payment is stored once; a cancelled claim cannot be paid and a paid one
// cannot be cancelled.
func testPaymentOnce(t *testing.T, b Backend, f *fixture) {
	nir, pro := f.nir(), f.id("pro")
	paid, cancelled := f.id("claim"), f.id("claim")
	for _, id := range []string{paid, cancelled} {
		if _, err := b.Ledger.Commit(ctx(t), claim(t, b, id, nir, "d", pro, franchiseReq(0, 1))); err != nil {
			t.Fatal(err)
		}
	}
	stored, now, err := b.Payments.RecordPayment(ctx(t), paid, "VIR-1", []byte("payment one"))
	if err != nil || !now || string(stored) != "payment one" {
		t.Fatalf("first payment: %q %v %v", stored, now, err)
	}
	stored, now, err = b.Payments.RecordPayment(ctx(t), paid, "VIR-2", []byte("payment two"))
	if err != nil || now || string(stored) != "payment one" {
		t.Fatalf("second payment: %q %v %v; want the first one kept", stored, now, err)
	}
	if _, err := b.Archive.Cancel(ctx(t), paid, receipt.Add(time.Hour)); !errors.Is(err, store.ErrClaimPaid) {
		t.Errorf("cancel of a paid claim: %v, want ErrClaimPaid", err)
	}
	if _, err := b.Archive.Cancel(ctx(t), cancelled, receipt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Payments.RecordPayment(ctx(t), cancelled, "VIR-3", []byte("late")); !errors.Is(err, store.ErrClaimCancelled) {
		t.Errorf("payment of a cancelled claim: %v, want ErrClaimCancelled", err)
	}
	recs, err := b.Payments.Records(ctx(t), []string{paid, f.id("unknown"), cancelled})
	if err != nil || len(recs) != 3 {
		t.Fatalf("records: %v %v", recs, err)
	}
	if string(recs[0].Payment) != "payment one" || recs[1].Blob != nil || !recs[2].Cancelled {
		t.Errorf("records: paid %q, unknown blob %q, cancelled %v", recs[0].Payment, recs[1].Blob, recs[2].Cancelled)
	}
}

// Unknown claims and beneficiaries are ErrNotFound; an unregistered
// beneficiary reads as unknown with empty counters.
func testUnknown(t *testing.T, b Backend, f *fixture) {
	if _, err := b.Archive.Get(ctx(t), f.id("unknown")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get unknown claim: %v", err)
	}
	if _, _, err := b.Payments.RecordPayment(ctx(t), f.id("unknown"), "r", []byte("p")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("payment of an unknown claim: %v", err)
	}
	nir := f.nir()
	if _, _, err := b.Bens.Get(ctx(t), nir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get unknown beneficiary: %v", err)
	}
	snap, err := b.Ledger.Read(ctx(t), store.ReadRequest{NIR: nir, Year: 2025})
	if err != nil || snap.Known || !snap.Counters.FranchiseYear.IsZero() || snap.BeneficiaryRef == "" {
		t.Errorf("Read of an unknown beneficiary: %+v %v", snap, err)
	}
}

// Update creates, then sees what it stored; an error from f stores nothing;
// the reference never contains the NIR; ManagedBy lists by organism.
func testBeneficiaries(t *testing.T, b Backend, f *fixture) {
	nir, org := f.nir(), f.id("ORG")
	ben := store.Beneficiary{
		Rights:      claims.Rights{BirthDate: time.Date(1985, 5, 20, 0, 0, 0, 0, time.UTC), Open: []claims.Period{{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		Attachments: []store.Attachment{{Organism: org, Period: claims.Period{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		AMCContract: "C-1",
	}
	ref, err := b.Bens.Update(ctx(t), nir, func(old store.Beneficiary, existed bool) (store.Beneficiary, error) {
		if existed {
			t.Errorf("a new beneficiary reads as existing: %+v", old)
		}
		return ben, nil
	})
	if err != nil || ref == "" || slices.Contains([]string{nir, nir[:13]}, ref) {
		t.Fatalf("create: ref %q, %v", ref, err)
	}
	boom := errors.New("refused")
	if _, err := b.Bens.Update(ctx(t), nir, func(old store.Beneficiary, existed bool) (store.Beneficiary, error) {
		if !existed || old.AMCContract != "C-1" {
			t.Errorf("update sees %+v (existed %v)", old, existed)
		}
		old.AMCContract = "C-2"
		return old, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("update refused by f: %v", err)
	}
	gref, got, err := b.Bens.Get(ctx(t), nir)
	if err != nil || gref != ref || got.AMCContract != "C-1" || got.OrganismOn(careDay) != org || !got.Rights.BirthDate.Equal(ben.Rights.BirthDate) {
		t.Fatalf("get: %q %+v %v", gref, got, err)
	}
	managed, err := b.Bens.ManagedBy(ctx(t), org)
	if err != nil || len(managed) != 1 || managed[0].AMCContract != "C-1" {
		t.Errorf("managed by %s: %+v %v", org, managed, err)
	}
	snap, err := b.Ledger.Read(ctx(t), store.ReadRequest{NIR: nir, Year: 2025})
	if err != nil || !snap.Known || snap.BeneficiaryRef != ref {
		t.Errorf("Read of the registered beneficiary: known %v ref %q %v", snap.Known, snap.BeneficiaryRef, err)
	}
}

// A professional's claims are listed most recent first, an organism's
// quarter in receipt order, and Index adds a missing entry without
// duplicating one.
func testListings(t *testing.T, b Backend, f *fixture) {
	nir, pro, bucket := f.nir(), f.id("pro"), f.id("ORG")+"|2025Q1"
	var ids []string
	for i := range 3 {
		id := f.id("claim")
		req := claim(t, b, id, nir, "d", pro)
		req.ReceivedAt = receipt.Add(time.Duration(i) * time.Minute)
		req.ReportBucket = bucket
		if _, err := b.Ledger.Commit(ctx(t), req); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	mine, err := b.Payments.ClaimsOf(ctx(t), pro, 0, 10)
	if err != nil || fmt.Sprint(mine) != fmt.Sprint([]string{ids[2], ids[1], ids[0]}) {
		t.Fatalf("claims of the professional: %v %v", mine, err)
	}
	org, quarter, _ := cutBucket(bucket)
	page, err := b.Payments.ClaimsInPage(ctx(t), org, quarter, 1, 5)
	if err != nil || fmt.Sprint(page) != fmt.Sprint(ids[1:]) {
		t.Fatalf("organism's quarter from 1: %v %v", page, err)
	}
	all, err := b.Payments.ClaimsIn(ctx(t), org, quarter)
	if err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("organism's quarter: %v %v", all, err)
	}
	// A claim committed without its index entries, then indexed twice.
	late := f.id("claim")
	req := claim(t, b, late, nir, "d", pro)
	req.Professional = ""
	req.ReceivedAt = receipt.Add(time.Hour)
	if _, err := b.Ledger.Commit(ctx(t), req); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.Ledger.Index(ctx(t), store.IndexEntry{ClaimID: late, Professional: pro, ReportBucket: bucket, ReceivedAt: req.ReceivedAt}); err != nil {
			t.Fatal(err)
		}
	}
	if mine, _ = b.Payments.ClaimsOf(ctx(t), pro, 0, 10); fmt.Sprint(mine) != fmt.Sprint([]string{late, ids[2], ids[1], ids[0]}) {
		t.Errorf("after Index: %v", mine)
	}
}

func cutBucket(b string) (org, quarter string, ok bool) {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '|' {
			return b[:i], b[i+1:], true
		}
	}
	return b, "", false
}

// A guaranteed claim is listed by due date until settled.
func testDueIndex(t *testing.T, b Backend, f *fixture) {
	nir, org := f.nir(), f.id("ORG")
	due := []time.Time{time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC)}
	var ids []string
	for _, d := range due {
		id := f.id("claim")
		req := claim(t, b, id, nir, "d", "")
		req.DueOrganism, req.DueDate = org, d
		if _, err := b.Ledger.Commit(ctx(t), req); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	got, err := b.Due.DueBefore(ctx(t), org, time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC), 0, 10)
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]string{ids[1], ids[0]}) {
		t.Fatalf("due before the 21st: %v %v (want the earliest due first)", got, err)
	}
	if got, _ = b.Due.DueBefore(ctx(t), org, time.Date(2025, 3, 19, 0, 0, 0, 0, time.UTC), 0, 10); fmt.Sprint(got) != fmt.Sprint(ids[1:]) {
		t.Errorf("due before the 19th: %v", got)
	}
	if err := b.Due.SettleDue(ctx(t), org, ids[1]); err != nil {
		t.Fatal(err)
	}
	n, err := b.Due.CountDueBefore(ctx(t), []string{org, f.id("ORG")}, time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC))
	if err != nil || fmt.Sprint(n) != "[1 0]" {
		t.Errorf("count after settling one: %v %v", n, err)
	}
}

// The trail returns what was appended, filtered and paged; a bad cursor is
// ErrBadCursor.
func testTrail(t *testing.T, b Backend, f *fixture) {
	subject := f.id("subject")
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		if err := b.Trail.Append(ctx(t), store.Event{At: at.Add(time.Duration(i) * time.Millisecond), By: "tester", Role: "admin",
			Op: "organism.upsert", Subject: subject, Details: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := b.Trail.Events(ctx(t), store.EventQuery{Subject: subject, From: at.Add(-time.Minute), Limit: 2})
	if err != nil || len(page) != 2 || next == "" || page[0].Details != "0" || page[1].Details != "1" || page[0].By != "tester" {
		t.Fatalf("first page: %+v next %q %v", page, next, err)
	}
	rest, next, err := b.Trail.Events(ctx(t), store.EventQuery{Subject: subject, From: at.Add(-time.Minute), After: next, Limit: 2})
	if err != nil || len(rest) != 1 || rest[0].Details != "2" || next != "" {
		t.Fatalf("second page: %+v next %q %v", rest, next, err)
	}
	if _, _, err := b.Trail.Events(ctx(t), store.EventQuery{After: "not a cursor"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

// Fraud regimes and organisms read back as stored.
func testFraudAndOrganisms(t *testing.T, b Backend, f *fixture) {
	pro := f.id("pro")
	if rs, err := b.Fraud.Get(ctx(t), pro); err != nil || len(rs) != 0 {
		t.Fatalf("fraud regimes of a new professional: %v %v", rs, err)
	}
	regime := payment.FraudRegime{Start: careDay, End: careDay.AddDate(0, 6, 0), MaxWorkingDays: 30, DecisionRef: "DEC-1"}
	if err := b.Fraud.Set(ctx(t), pro, []payment.FraudRegime{regime}); err != nil {
		t.Fatal(err)
	}
	rs, err := b.Fraud.Get(ctx(t), pro)
	if err != nil || len(rs) != 1 || !rs[0].Start.Equal(regime.Start) || !rs[0].End.Equal(regime.End) ||
		rs[0].MaxWorkingDays != 30 || rs[0].DecisionRef != "DEC-1" {
		t.Fatalf("fraud regimes read back: %+v %v", rs, err)
	}
	code := f.id("ORG")
	if _, err := b.Organisms.Get(ctx(t), code); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown organism: %v", err)
	}
	o := organism.Organism{Code: code, Name: "Mutuelle " + code, Departement: "67"}
	if err := b.Organisms.Upsert(ctx(t), o); err != nil {
		t.Fatal(err)
	}
	got, err := b.Organisms.Get(ctx(t), code)
	if err != nil || got.Code != code || got.Name != o.Name || got.Departement != "67" {
		t.Fatalf("organism read back: %+v %v", got, err)
	}
	all, err := b.Organisms.List(ctx(t))
	if err != nil || !slices.ContainsFunc(all, func(x organism.Organism) bool { return x.Code == code }) {
		t.Errorf("organism %s missing from the list (%d listed): %v", code, len(all), err)
	}
}
