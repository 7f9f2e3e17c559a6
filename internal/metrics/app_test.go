package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// The personal and business identifiers of the scenario: none may appear in
// /metrics, as a label or a value, except the registered organism's code as
// the overdue gauge's organism label (overdueSeries).
const (
	nir          = "185057800608491"
	professional = "10000000009"
	organismCode = "CPAM75"
)

// clock: Tue 11 Mar 2025, 10:00 Paris, the day after the care.
var clock = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)

// startApp starts the real adjudicator on a fresh database of the test
// binary's redis-server, with the fixed clock and open authentication.
func startApp(t *testing.T) (*app.App, *grpc.ClientConn) {
	t.Helper()
	return startAppWith(t, nil)
}

type cfgT = config.Config

// startAppWith is startApp with the configuration changed by mutate.
func startAppWith(t *testing.T, mutate func(*cfgT)) (*app.App, *grpc.ClientConn) {
	t.Helper()
	srv := redistest.Shared(t)
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Clock, cfg.Auth = "127.0.0.1:0", "127.0.0.1:0", clock, "open"
	cfg.RedisAddrs, cfg.RedisDB = []string{srv.Addr}, srv.NewDB(t)
	cfg.HMACSecret = strings.Repeat("m", 32) + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.OverdueInterval = 100 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); a.Shutdown() })
	return a, conn
}

func claim(id, card string) *tpv1.Claim {
	return &tpv1.Claim{
		ClaimId:   id,
		CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
		Professional: &tpv1.Professional{Id: professional, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS,
			Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"},
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: card},
		Nir:            nir,
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE,
		Mode:           tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
		Lines: []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: "2025-03-10",
			UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}},
	}
}

// scenario registers the organism and the beneficiary, adjudicates claimID
// (twice: the second is a replay), one claim by stream, pays the first late
// and checks a card's opposition. It returns the identifiers that must not leak.
func scenario(t *testing.T, conn *grpc.ClientConn, claimID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tpv1.NewOrganismServiceClient(conn).UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{
		Code: organismCode, Name: "CPAM de Paris", Kind: tpv1.OrganismKind_ORGANISM_KIND_CAISSE, Departement: "75"}}); err != nil {
		t.Fatal(err)
	}
	bc := tpv1.NewBeneficiaryServiceClient(conn)
	up, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
		Nir: nir, BirthDate: "1985-05-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
		Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: organismCode, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
		HasMedecinTraitant: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	cc := tpv1.NewClaimServiceClient(conn)
	card := "CARD-" + claimID
	for range 2 {
		adj, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(claimID, card)})
		if err != nil {
			t.Fatal(err)
		}
		if d := adj.GetDecision(); d.GetStatus() != tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED || d.GetTotals().GetAmo() != "21.00" {
			t.Fatalf("decision: %v %v %v", d.GetStatus(), d.GetTotals(), d.GetReasons())
		}
	}
	st, err := cc.AdjudicateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	streamID := claimID + "-s"
	if err := st.Send(&tpv1.AdjudicateStreamRequest{Claim: claim(streamID, card)}); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if r, err := st.Recv(); err != nil || r.GetDecision() == nil {
		t.Fatalf("stream: %v %v", r, err)
	}
	// Paid Mon 24 Mar 2025, working day 9: late, 1.00 € of penalty.
	rp, err := tpv1.NewPaymentServiceClient(conn).RecordPayment(ctx, &tpv1.RecordPaymentRequest{ClaimId: claimID,
		PaidAt: timestamppb.New(time.Date(2025, 3, 24, 10, 0, 0, 0, time.UTC)), PaymentReference: "VIR-" + claimID})
	if err != nil || rp.GetTracking().GetPenalty() != "1.00" {
		t.Fatalf("payment: %v %v", rp, err)
	}
	if _, err := tpv1.NewOppositionServiceClient(conn).CheckOpposition(ctx, &tpv1.CheckOppositionRequest{Identifier: card}); err != nil {
		t.Fatal(err)
	}
	return []string{nir, claimID, streamID, professional, card, up.GetBeneficiaryRef(), organismCode}
}

// overdueSeries is the overdue gauge's series of the scenario's organism: the
// one place its code may appear (docs/metrics.md#no-personal-data-in-labels).
const overdueSeries = `tierspayant_overdue_guaranteed_claims{organism="` + organismCode + `"}`

// scrapeCounted waits until the overdue gauge has counted the scenario's
// organism (every 100 ms in these tests) and returns /metrics.
func scrapeCounted(t *testing.T, a *app.App) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := scrape(t, a)
		if sample(text, overdueSeries) >= 0 {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in\n%s", overdueSeries, grep(text, "overdue"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape returns the admin port's /metrics text.
func scrape(t *testing.T, a *app.App) string {
	t.Helper()
	resp, err := http.Get("http://" + a.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// sample is the value of the series written exactly as series (name and
// labels in the exposition's order), or -1 when absent.
func sample(text, series string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// repoRoot is the module's root, from this file's place.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestAppMetricsNoIdentifiers(t *testing.T) {
	a, conn := startApp(t)
	id := "MET-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secrets := scenario(t, conn, id)
	text := scrapeCounted(t, a)
	series := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "tierspayant_") {
			series++
		}
	}
	t.Logf("/metrics: %d bytes, %d tierspayant_ series", len(text), series)
	// The organism's code is the overdue gauge's label, and nowhere else.
	rest := strings.ReplaceAll(text, overdueSeries+" ", "")
	for _, s := range secrets {
		if s != "" && strings.Contains(rest, s) {
			t.Errorf("/metrics contains %q", s)
		}
	}
	want := map[string]float64{
		`tierspayant_decisions_total{guarantee="guaranteed",replayed="false",status="accepted"}`: 2,
		`tierspayant_decisions_total{guarantee="guaranteed",replayed="true",status="accepted"}`:  1,
		`tierspayant_amounts_cents_total{payer="amo"}`:                                           4200,
		`tierspayant_payments_recorded_total{timeliness="late"}`:                                 1,
		`tierspayant_late_penalties_cents_total`:                                                 100,
		`tierspayant_opposition_checks_total{result="not_opposed"}`:                              1,
		`tierspayant_ready`: 1,
		`tierspayant_streams_open{grpc_method="/tierspayant.v1.ClaimService/AdjudicateStream"}`: 0,
		// Due on Thu 20 Mar 2025; the service's clock is 11 Mar.
		overdueSeries: 0,
	}
	for series, v := range want {
		if got := sample(text, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	for _, series := range []string{`tierspayant_redis_command_duration_seconds_count{command="evalsha"}`,
		`tierspayant_redis_command_duration_seconds_count{command="set"}`} {
		if got := sample(text, series); got < 1 {
			t.Errorf("%s = %v, want at least 1", series, got)
		}
	}
	if !regexp.MustCompile(`(?m)^tierspayant_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1$`).MatchString(text) {
		t.Errorf("no build info in\n%s", grep(text, "build_info"))
	}
}

// TestAppMetricsLabelsBounded checks that every label of the domain metrics
// is a known one and its value one of the fixed values the package writes:
// no digit (a NIR, an RPPS, a claim id) outside the build's labels.
func TestAppMetricsLabelsBounded(t *testing.T) {
	a, conn := startApp(t)
	scenario(t, conn, "MET-B-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	text := scrapeCounted(t, a)
	allowed := map[string]*regexp.Regexp{
		"status":      regexp.MustCompile(`^(accepted|partial|rejected|unspecified)$`),
		"guarantee":   regexp.MustCompile(`^(guaranteed|not_guaranteed|unspecified)$`),
		"replayed":    regexp.MustCompile(`^(true|false)$`),
		"code":        regexp.MustCompile(`^[A-Z][A-Z_]*$`),
		"payer":       regexp.MustCompile(`^(amo|amc|patient)$`),
		"cap":         regexp.MustCompile(`^[a-z_]+$`),
		"grpc_code":   regexp.MustCompile(`^(OK|Canceled|Unknown|InvalidArgument|DeadlineExceeded|NotFound|AlreadyExists|PermissionDenied|ResourceExhausted|FailedPrecondition|Aborted|OutOfRange|Unimplemented|Internal|Unavailable|DataLoss|Unauthenticated)$`),
		"result":      regexp.MustCompile(`^(opposed|not_opposed)$`),
		"source":      regexp.MustCompile(`^(check|claim)$`),
		"timeliness":  regexp.MustCompile(`^(within_deadline|late|not_guaranteed)$`),
		"command":     regexp.MustCompile(`^[a-z]+$`),
		"grpc_method": regexp.MustCompile(`^/(tierspayant\.v1\.[A-Za-z]+|grpc\.[a-z_.]+\.[A-Za-z]+)/[A-Za-z]+$`),
		"limit":       regexp.MustCompile(`^(calls_per_second|streams_server|streams_per_client|other)$`),
		"le":          regexp.MustCompile(`^([0-9.e+-]+|\+Inf)$`),
		"version":     regexp.MustCompile(`^(unknown|\(devel\)|v[0-9][0-9A-Za-z.+-]*)$`),
		"revision":    regexp.MustCompile(`^(unknown|[0-9a-f]{40}(-dirty)?)$`),
		"goversion":   regexp.MustCompile(`^go[0-9][0-9A-Za-z.+ -]*$`),
		// The registered organisms' codes: here the scenario's only.
		"organism": regexp.MustCompile(`^(` + organismCode + `|other)$`),
	}
	label := regexp.MustCompile(`([a-z_]+)="([^"]*)"`)
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "tierspayant_") {
			continue
		}
		for _, m := range label.FindAllStringSubmatch(l, -1) {
			n++
			re, ok := allowed[m[1]]
			if !ok || !re.MatchString(m[2]) {
				t.Errorf("label %s=%q in %s", m[1], m[2], l)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d labels seen", n)
	}
}

func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// refuse calls until the rate limiter refuses one.
func refuse(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	cc := tpv1.NewClaimServiceClient(conn)
	for range 200 {
		_, err := cc.GetClaim(context.Background(), &tpv1.GetClaimRequest{ClaimId: "NONE"})
		if status.Code(err) == codes.ResourceExhausted {
			return
		}
	}
	t.Fatal("the rate limiter refused nothing")
}

// TestReadyAndRedisErrorsWhenRedisStops: the basis of the Redis-unavailable
// and readiness alerts. With its Redis killed, the service reports
// tierspayant_ready 0 and counts failed commands.
func TestReadyAndRedisErrorsWhenRedisStops(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	a, _ := startAppWith(t, func(c *cfgT) {
		c.RedisAddrs, c.RedisDB = []string{srv.Addr}, 0
		c.RedisTimeout = 200 * time.Millisecond
	})
	if got := sample(scrape(t, a), "tierspayant_ready"); got != 1 {
		t.Fatalf("ready %v before the outage", got)
	}
	srv.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := scrape(t, a)
		if sample(text, "tierspayant_ready") == 0 && sample(text, `tierspayant_redis_command_errors_total{command="set"}`) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage:\n%s\n%s", grep(text, "tierspayant_ready"), grep(text, "redis_command_errors"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
