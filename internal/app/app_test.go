package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	if code != 0 {
		panic("tests failed")
	}
}

// clock: Tue 11 Mar 2025, 10:00 Paris, the day after the care of docs/rules.md#ex-1.
var clock = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)

// syncBuffer collects the server's logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	logs    = map[*testing.T]*syncBuffer{}
	secrets = map[*testing.T]string{}
)

func start(t *testing.T, redisAddr string) (*app.App, *grpc.ClientConn) {
	t.Helper()
	return startWith(t, redisAddr, nil)
}

// startWith is start with the configuration changed by mutate.
func startWith(t *testing.T, redisAddr string, mutate func(*config.Config)) (*app.App, *grpc.ClientConn) {
	t.Helper()
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Clock, cfg.Auth = "127.0.0.1:0", "127.0.0.1:0", clock, "open"
	if redisAddr != "" {
		cfg.RedisAddrs, cfg.RedisDB = []string{redisAddr}, redistest.DBFor(t, redisAddr)
		cfg.HMACSecret = strings.Repeat("k", 32) + t.Name() + strconv.FormatInt(time.Now().UnixNano(), 36)
		secrets[t] = cfg.HMACSecret
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	buf := &syncBuffer{}
	logs[t] = buf
	a, err := app.Start(ctx, cfg, logging.New(buf, "debug"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); a.Shutdown() })
	return a, conn
}

func TestEndToEndEmbedded(t *testing.T) {
	a, conn := start(t, "")
	if a.Embedded == nil {
		t.Fatal("no address given: the embedded store should be used")
	}
	scenario(t, a, conn, a.Embedded.Keys)
}

func TestEndToEndRedis(t *testing.T) {
	srv := redistest.Shared(t)
	db := srv.NewDB(t)
	a, conn := startWith(t, srv.Addr, func(c *config.Config) { c.RedisDB = db })
	if a.Embedded != nil {
		t.Fatal("a Redis address was given: the embedded store must not be used")
	}
	rdb := srv.ClientDB(t, db)
	scenario(t, a, conn, func() []string { return rdb.Keys(context.Background(), "*").Val() })
}

const nir = "185057800608491" // 1 85 05 78 006 084, key 91

// testPro and testOrg are the professional and organism of the end-to-end
// scenario, unique per run so that a Redis shared with other tests or earlier
// runs does not show their claims in the listings and reports.
var testPro, testOrg = "10000000009", "CPAM75"

func gpClaim(id string) *tpv1.Claim {
	return &tpv1.Claim{
		ClaimId:   id,
		CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
		Professional: &tpv1.Professional{Id: testPro, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS,
			Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"},
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: "CARD" + id},
		Nir:            nir,
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE,
		Mode:           tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
		Lines: []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: "2025-03-10",
			UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}},
	}
}

func scenario(t *testing.T, a *app.App, conn *grpc.ClientConn, redisKeys func() []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	suffix := strings.ReplaceAll(t.Name(), "/", "-") + "-" + nonce
	testPro, testOrg = rppsFor(uint64(time.Now().UnixNano())), "CPAM75-"+nonce

	// Health: liveness and readiness.
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", app.ReadinessService} {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", svc, r.GetStatus(), err)
		}
	}

	// Reflection lists every service (ghz and grpcurl need no proto files).
	rc, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	lr, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range lr.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"tierspayant.v1.ClaimService", "tierspayant.v1.OppositionService", "tierspayant.v1.BeneficiaryService",
		"tierspayant.v1.PaymentService", "tierspayant.v1.OrganismService", "tierspayant.v1.ParameterService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection: %s missing from %v", want, names)
		}
	}

	// Beneficiary registry.
	bc := tpv1.NewBeneficiaryServiceClient(conn)
	up, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
		Nir: nir, BirthDate: "1985-05-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
		Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: testOrg, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
		HasMedecinTraitant: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(up.GetBeneficiaryRef(), nir) || up.GetBeneficiaryRef() == "" {
		t.Fatalf("beneficiary ref %q must be an opaque hash", up.GetBeneficiaryRef())
	}
	gb, err := bc.GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: nir})
	if err != nil || gb.GetBeneficiary().GetBirthDate() != "1985-05-20" {
		t.Fatalf("get beneficiary: %v %v", gb, err)
	}

	// Parameters in force.
	pr, err := tpv1.NewParameterServiceClient(conn).ListParameters(ctx, &tpv1.ListParametersRequest{At: "2025-03-10"})
	if err != nil || len(pr.GetParameters()) == 0 {
		t.Fatalf("parameters: %v %v", pr, err)
	}

	cc := tpv1.NewClaimServiceClient(conn)
	id := testPro + "-" + suffix + "-1"

	// Simulate: docs/rules.md#ex-1, nothing consumed.
	sim, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: gpClaim(id)})
	if err != nil {
		t.Fatal(err)
	}
	checkEx1(t, "simulate", sim.GetDecision())
	if _, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("simulate must store nothing: GetClaim gave %v", err)
	}

	// Adjudicate, then the same claim again: replayed, identical, nothing counted twice.
	adj, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim(id)})
	if err != nil {
		t.Fatal(err)
	}
	checkEx1(t, "adjudicate", adj.GetDecision())
	if adj.GetDecision().GetReplayed() || adj.GetDecision().GetDebtBalance() != "2.00" {
		t.Fatalf("first adjudication: replayed=%v debt=%s", adj.GetDecision().GetReplayed(), adj.GetDecision().GetDebtBalance())
	}
	again, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim(id)})
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetDecision().GetReplayed() || again.GetDecision().GetDebtBalance() != "2.00" {
		t.Fatalf("retry: replayed=%v debt=%s", again.GetDecision().GetReplayed(), again.GetDecision().GetDebtBalance())
	}
	checkEx1(t, "retry", again.GetDecision())

	// Same id, other content.
	other := gpClaim(id)
	other.Lines[0].UnitPrice = "25.00"
	_, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: other})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("same id, other content: %v", err)
	}

	// GetClaim returns the stored decision.
	got, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: id})
	if err != nil {
		t.Fatal(err)
	}
	checkEx1(t, "get", got.GetDecision())
	if got.GetTracking().GetState() != tpv1.PaymentState_PAYMENT_STATE_RECEIVED {
		t.Errorf("tracking state %v", got.GetTracking().GetState())
	}

	// A second claim the same day consumes another PF: the debt grows.
	id2 := testPro + "-" + suffix + "-2"
	adj2, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim(id2)})
	if err != nil {
		t.Fatal(err)
	}
	if adj2.GetDecision().GetDebtBalance() != "4.00" {
		t.Fatalf("second claim: debt %s, want 4.00", adj2.GetDecision().GetDebtBalance())
	}

	// Cancel restores exactly what it consumed, once.
	cr, err := cc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: id2})
	if err != nil || !cr.GetCancelledNow() || cr.GetParticipationForfaitaireRestored() != "2.00" {
		t.Fatalf("cancel: %v %v", cr, err)
	}
	cr2, err := cc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: id2})
	if err != nil || cr2.GetCancelledNow() {
		t.Fatalf("second cancel must be a no-op: %v %v", cr2, err)
	}
	gb, err = bc.GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: nir})
	if err != nil || gb.GetBeneficiary().GetOutstandingDebt() != "2.00" {
		t.Fatalf("debt after cancel: %v %v", gb.GetBeneficiary().GetOutstandingDebt(), err)
	}

	// Opposition list: a card opposed before the claim's creation rejects it (D6, D7).
	oc := tpv1.NewOppositionServiceClient(conn)
	card := "CARD-" + suffix
	ao, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: card, Reason: tpv1.OppositionReason_OPPOSITION_REASON_THEFT,
		EffectiveAt: timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	chk, err := oc.CheckOpposition(ctx, &tpv1.CheckOppositionRequest{Identifier: card, At: timestamppb.New(time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC))})
	if err != nil || !chk.GetOpposed() {
		t.Fatalf("check: %v %v", chk, err)
	}
	chk, err = oc.CheckOpposition(ctx, &tpv1.CheckOppositionRequest{Identifier: card, At: timestamppb.New(time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC))})
	if err != nil || chk.GetOpposed() {
		t.Fatalf("check before effective: %v %v", chk, err)
	}
	opposed := gpClaim(testPro + "-" + suffix + "-3")
	opposed.Identification.Value = card
	od, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: opposed})
	if err != nil {
		t.Fatal(err)
	}
	if od.GetDecision().GetStatus() != tpv1.DecisionStatus_DECISION_STATUS_REJECTED || od.GetDecision().GetTotals().GetPayableToProfessional() != "0.00" {
		t.Fatalf("opposed card: %v payable %s", od.GetDecision().GetStatus(), od.GetDecision().GetTotals().GetPayableToProfessional())
	}
	if _, err := oc.LiftOpposition(ctx, &tpv1.LiftOppositionRequest{Identifier: card}); err != nil {
		t.Fatal(err)
	}

	// Bulk import and watch from the version before it.
	imp, err := oc.ImportOppositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := imp.Send(&tpv1.ImportOppositionsRequest{Opposition: &tpv1.Opposition{Identifier: card + "-I" + string(rune('a'+i)),
			Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS, EffectiveAt: timestamppb.New(clock)}}); err != nil {
			t.Fatal(err)
		}
	}
	ir, err := imp.CloseAndRecv()
	if err != nil || ir.GetImported() != 3 {
		t.Fatalf("import: %v %v", ir, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	w, err := oc.WatchOppositions(wctx, &tpv1.WatchOppositionsRequest{AfterVersion: ao.GetVersion()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 4 {
		ch, err := w.Recv()
		if err != nil {
			t.Fatalf("watch after %d changes: %v", len(seen), err)
		}
		if ch.GetVersion() <= ao.GetVersion() {
			t.Fatalf("watch sent version %d, not after %d", ch.GetVersion(), ao.GetVersion())
		}
		seen = append(seen, ch.GetOpposition().GetIdentifier())
	}
	wcancel()
	if seen[0] != card {
		t.Errorf("first change after the add should be its lift, got %v", seen)
	}

	// Batch stream: one answer per claim, matched by claim id; a bad claim gets its error.
	st, err := cc.AdjudicateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]bool{}
	for i := 0; i < 3; i++ {
		c := gpClaim(testPro + "-" + suffix + "-s" + string(rune('a'+i)))
		if i == 2 {
			c.Lines[0].UnitPrice = "-1"
		}
		sent[c.GetClaimId()] = i == 2
		if err := st.Send(&tpv1.AdjudicateStreamRequest{Claim: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		bad, ok := sent[r.GetClaimId()]
		if !ok {
			t.Fatalf("answer for unknown claim %q", r.GetClaimId())
		}
		if bad != (r.GetError().GetCode() == int32(codes.InvalidArgument)) || bad == (r.GetDecision() != nil) {
			t.Errorf("stream answer %q: code %d decision %v", r.GetClaimId(), r.GetError().GetCode(), r.GetDecision() != nil)
		}
		delete(sent, r.GetClaimId())
	}

	// Bad input: INVALID_ARGUMENT naming the field, never the NIR.
	bad := gpClaim(testPro + "-" + suffix + "-bad")
	bad.Lines[0].UnitPrice = "30.123"
	_, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: bad})
	if field := violation(t, err); field != "claim.lines[0].unit_price" {
		t.Errorf("bad amount: field %q", field)
	}
	bad = gpClaim(testPro + "-" + suffix + "-bad")
	bad.Nir = "185057800608492"
	_, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: bad})
	if field := violation(t, err); !strings.Contains(field, "nir") {
		t.Errorf("bad NIR key: field %q", field)
	}
	if strings.Contains(status.Convert(err).Message(), bad.Nir) {
		t.Error("the error text echoes the NIR")
	}

	// Organisms: the paying organism's calendar (national for Paris).
	orc := tpv1.NewOrganismServiceClient(conn)
	if _, err := orc.UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{
		Code: testOrg, Name: "CPAM de Paris", Kind: tpv1.OrganismKind_ORGANISM_KIND_CAISSE, Departement: "75"}}); err != nil {
		t.Fatal(err)
	}
	if g, err := orc.GetOrganism(ctx, &tpv1.GetOrganismRequest{Code: testOrg}); err != nil || g.GetOrganism().GetDepartement() != "75" {
		t.Fatalf("get organism: %v %v", g, err)
	}
	l, err := orc.ListOrganisms(ctx, &tpv1.ListOrganismsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range l.GetOrganisms() { // other tests may share this Redis
		found = found || o.GetCode() == testOrg
	}
	if !found {
		t.Fatalf("list organisms: CPAM75 missing from %v", l)
	}

	// Payment tracking (L161-36-3): received Tue 11 Mar 2025, due Thu 20 Mar (docs/rules.md#ex-1).
	if adj.GetDecision().GetDueDate() != "2025-03-20" {
		t.Errorf("due date %q, want 2025-03-20", adj.GetDecision().GetDueDate())
	}
	pc := tpv1.NewPaymentServiceClient(conn)
	paid := func(ref string, at time.Time) (*tpv1.RecordPaymentResponse, error) {
		return pc.RecordPayment(ctx, &tpv1.RecordPaymentRequest{ClaimId: id, PaidAt: timestamppb.New(at), PaymentReference: ref})
	}
	// Paid Mon 24 Mar 2025: working day 9 → 1.00 € (D161-13-4), paid in 2025H2.
	rp, err := paid("VIR-1", time.Date(2025, 3, 24, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tr := rp.GetTracking()
	if !rp.GetRecordedNow() || tr.GetState() != tpv1.PaymentState_PAYMENT_STATE_PAID || tr.GetPaidOnWorkingDay() != 9 ||
		tr.GetPenalty() != "1.00" || tr.GetPenaltyHalfYear() != "2025H2" || tr.GetPaidAmount() != "21.00" {
		t.Fatalf("payment: %v", tr)
	}
	if rp, err := paid("VIR-1", time.Date(2025, 3, 24, 10, 0, 0, 0, time.UTC)); err != nil || rp.GetRecordedNow() {
		t.Fatalf("same payment again must change nothing: %v %v", rp, err)
	}
	if _, err := paid("VIR-2", time.Date(2025, 3, 25, 10, 0, 0, 0, time.UTC)); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("another payment reference: %v", err)
	}
	if _, err := pc.RecordPayment(ctx, &tpv1.RecordPaymentRequest{ClaimId: id2, PaidAt: timestamppb.New(clock), PaymentReference: "VIR-3"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("paying a cancelled claim: %v", err)
	}
	got, err = cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: id})
	if err != nil || got.GetTracking().GetState() != tpv1.PaymentState_PAYMENT_STATE_PAID || got.GetTracking().GetPenalty() != "1.00" {
		t.Fatalf("tracking after payment: %v %v", got.GetTracking(), err)
	}
	lc, err := pc.ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: testPro, PageSize: 2})
	if err != nil || len(lc.GetClaims()) != 2 || lc.GetNextPageToken() == "" {
		t.Fatalf("list claims: %v %v", lc, err)
	}
	lp, err := pc.ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: testPro, State: tpv1.PaymentState_PAYMENT_STATE_PAID})
	if err != nil || len(lp.GetClaims()) != 1 || lp.GetClaims()[0].GetClaimId() != id {
		t.Fatalf("list paid claims: %v %v", lp, err)
	}
	rep, err := pc.GetDelayReport(ctx, &tpv1.GetDelayReportRequest{OrganismCode: testOrg, Quarter: "2025Q1"})
	if err != nil || len(rep.GetRows()) != 1 || rep.GetRows()[0].GetProfession() != tpv1.Profession_PROFESSION_PHYSICIAN || rep.GetRows()[0].GetPenaltiesDue() != "1.00" {
		t.Fatalf("delay report: %v %v", rep, err)
	}
	initial, maintenance := tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_INITIAL, tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_MAINTENANCE
	fr, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
		Start: "2025-05-15", End: "2025-08-14", MaxWorkingDays: 30, DecisionRef: "DIR-2025-001", Kind: initial}})
	if err != nil || len(fr.GetRegimes()) != 1 {
		t.Fatalf("fraud regime: %v %v", fr, err)
	}
	if _, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
		Start: "2025-05-15", End: "2025-12-31", MaxWorkingDays: 30, DecisionRef: "DIR-2025-002", Kind: initial}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("an initial regime longer than 3 months must be refused: %v", err)
	}
	// D5′: the kind is required; a maintenance continues the measure, for up
	// to 6 months, renewable once.
	if _, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
		Start: "2025-08-15", End: "2025-09-14", MaxWorkingDays: 30, DecisionRef: "DIR-2025-003"}}); violation(t, err) != "regime.kind" {
		t.Fatalf("a regime without kind: %v", err)
	}
	if _, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
		Start: "2025-08-16", End: "2026-02-15", MaxWorkingDays: 30, DecisionRef: "DIR-2025-004", Kind: maintenance}}); violation(t, err) != "regime.kind" {
		t.Fatalf("a maintenance that does not continue a measure: %v", err)
	}
	for i, p := range [][2]string{{"2025-08-15", "2026-02-14"}, {"2026-02-15", "2026-08-14"}} {
		if _, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
			Start: p[0], End: p[1], MaxWorkingDays: 30, DecisionRef: "DIR-M" + strconv.Itoa(i), Kind: maintenance}}); err != nil {
			t.Fatalf("maintenance %d: %v", i+1, err)
		}
	}
	if _, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000002",
		Start: "2026-08-15", End: "2027-02-14", MaxWorkingDays: 30, DecisionRef: "DIR-M2", Kind: maintenance}}); violation(t, err) != "regime.kind" {
		t.Fatalf("a second renewal of the maintenance must be refused: %v", err)
	}
	if lf, err := pc.ListFraudRegimes(ctx, &tpv1.ListFraudRegimesRequest{ProfessionalId: "10000000002"}); err != nil || len(lf.GetRegimes()) != 3 ||
		lf.GetRegimes()[0].GetKind() != initial || lf.GetRegimes()[2].GetKind() != maintenance {
		t.Fatalf("list fraud regimes: %v %v", lf, err)
	}

	// Privacy: the server's logs of this whole run never show the NIR nor the
	// HMAC secret, and no Redis key name contains the NIR.
	if l := logs[t].String(); strings.Contains(l, nir) || strings.Contains(l, "185057800608492") {
		t.Error("the logs contain a NIR")
	} else if strings.Contains(l, secrets[t]) && secrets[t] != "" {
		t.Error("the logs contain the HMAC secret")
	} else if !strings.Contains(l, "Adjudicate") {
		t.Errorf("expected call logs, got %q", l)
	}
	ks := redisKeys()
	if len(ks) < 5 {
		t.Errorf("expected the scenario's keys in Redis, got %v", ks)
	}
	for _, k := range ks {
		if strings.Contains(k, nir) || strings.Contains(k, nir[:13]) {
			t.Errorf("Redis key %q contains the NIR", k)
		}
	}

	// Admin port: metrics with the handling-time histogram, liveness, readiness.
	for path, want := range map[string]string{"/metrics": "grpc_server_handling_seconds_bucket", "/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get("http://" + a.AdminAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, %q not found", path, resp.StatusCode, want)
		}
		if strings.Contains(string(body), nir) {
			t.Errorf("%s shows a NIR", path)
		}
	}
}

func violation(t *testing.T, err error) string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	t.Fatalf("no BadRequest detail in %v", err)
	return ""
}

// checkEx1: GP consultation 30.00, adult with médecin traitant, 2025 (docs/rules.md#ex-1).
func checkEx1(t *testing.T, what string, d *tpv1.Decision) {
	t.Helper()
	tot := d.GetTotals()
	if d.GetStatus() != tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED || tot.GetAmo() != "21.00" || tot.GetTicketModerateur() != "9.00" ||
		tot.GetParticipationForfaitaire() != "2.00" || tot.GetPayableToProfessional() != "21.00" || tot.GetPatientDebt() != "2.00" {
		t.Fatalf("%s: status %v totals %v reasons %v", what, d.GetStatus(), tot, d.GetReasons())
	}
	if d.GetGuarantee() != tpv1.Guarantee_GUARANTEE_GUARANTEED || d.GetManagingOrganism() != testOrg {
		t.Errorf("%s: guarantee %v organism %q", what, d.GetGuarantee(), d.GetManagingOrganism())
	}
	if len(d.GetTrace()) == 0 {
		t.Errorf("%s: no trace", what)
	}
}

// rppsFor returns an RPPS number (11 digits, the last the Luhn key of the
// first ten) made of n's last nine digits.
func rppsFor(n uint64) string {
	body := fmt.Sprintf("1%09d", n%1_000_000_000)
	for k := '0'; k <= '9'; k++ {
		if id := body + string(k); claims.ValidProfessionalID(claims.ProfessionalIDRPPS, id) {
			return id
		}
	}
	panic("no Luhn key")
}
