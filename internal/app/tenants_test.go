package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/devcerts"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// tenants: three callers by bearer token, over a real Redis.
var tokens = map[string]grpcapi.TokenEntry{
	"admin-token": {ID: "admin", Role: "admin"},
	"mut01-token": {ID: "op-mut01", Role: "operator", Organism: "MUT01"},
	"mut02-token": {ID: "op-mut02", Role: "operator", Organism: "MUT02"},
	"mut03-token": {ID: "op-mut03", Role: "operator", Organism: "MUT03"},
	"mut04-token": {ID: "op-mut04", Role: "operator", Organism: "MUT04"},
	"p1-token":    {ID: "pro-p1", Role: "professional", Professional: "10000000017"},
}

func startSecured(t *testing.T, mutate func(*config.Config)) *app.App {
	t.Helper()
	dir := t.TempDir()
	var entries []string
	for tok, e := range tokens {
		entries = append(entries, fmt.Sprintf(`{"id":%q,"sha256":%q,"role":%q,"organism":%q,"professional":%q}`,
			e.ID, grpcapi.TokenHash(tok), e.Role, e.Organism, e.Professional))
	}
	tf := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tf, []byte("["+strings.Join(entries, ",")+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.TokensFile, cfg.Auth = "127.0.0.1:0", "127.0.0.1:0", tf, "on"
	cfg.RedisAddrs, cfg.HMACSecret = []string{redistest.Shared(t).Addr}, strings.Repeat("s", 32)+t.Name()
	cfg.RedisDB = redistest.Shared(t).NewDB(t)
	cfg.Clock = time.Date(2025, 7, 15, 9, 0, 0, 0, time.UTC)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, logging.New(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); a.Shutdown() })
	return a
}

func as(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "bearer "+token)
}

// nirN is a valid NIR for a small number.
func nirN(n int) string {
	body := fmt.Sprintf("2750175%06d", n)
	var v int64
	fmt.Sscan(body, &v)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

func claimFor(id, pro, nir, care string) *tpv1.Claim {
	c := gpClaim(id)
	c.Professional.Id, c.Nir, c.Lines[0].CareDate = pro, nir, care
	c.CreatedAt = timestamppb.New(time.Date(2025, 7, 14, 10, 0, 0, 0, time.UTC))
	return c
}

// TestTenantIsolation is the cross-tenant matrix: every RPC × every role ×
// own / other organism, asserting the status code.
func TestTenantIsolation(t *testing.T) {
	a := startSecured(t, nil)
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cc, bc, oc := tpv1.NewClaimServiceClient(conn), tpv1.NewBeneficiaryServiceClient(conn), tpv1.NewOppositionServiceClient(conn)
	pc, orc, prc := tpv1.NewPaymentServiceClient(conn), tpv1.NewOrganismServiceClient(conn), tpv1.NewParameterServiceClient(conn)
	auc := tpv1.NewAuditServiceClient(conn)
	admin := as("admin-token")
	all := []tpv1.DelegatedOperation{tpv1.DelegatedOperation_DELEGATED_OPERATION_ADJUDICATE, tpv1.DelegatedOperation_DELEGATED_OPERATION_MANAGE_BENEFICIARIES,
		tpv1.DelegatedOperation_DELEGATED_OPERATION_MANAGE_OPPOSITIONS, tpv1.DelegatedOperation_DELEGATED_OPERATION_RECORD_PAYMENTS}
	conv := func(id, from, to string, ops ...tpv1.DelegatedOperation) []*tpv1.Convention {
		return []*tpv1.Convention{{Id: id, ValidFrom: from, ValidTo: to, CogRef: "COG 2023-2027", Operations: ops, DelayTargetWorkingDays: 7}}
	}
	for _, o := range []*tpv1.Organism{
		{Code: "MUT01", Name: "Mutuelle 1", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "75", Conventions: conv("C1", "2023-01-01", "2027-12-31", all...)},
		{Code: "MUT02", Name: "Mutuelle 2", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "67", Conventions: conv("C2", "2023-01-01", "2027-12-31", all...)},
		{Code: "MUT03", Name: "Mutuelle 3", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "13",
			Conventions: conv("C3", "2023-01-01", "2027-12-31", tpv1.DelegatedOperation_DELEGATED_OPERATION_ADJUDICATE, tpv1.DelegatedOperation_DELEGATED_OPERATION_MANAGE_BENEFICIARIES)},
		{Code: "MUT04", Name: "Mutuelle 4", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "69", Conventions: conv("C4", "2019-01-01", "2024-12-31", all...)},
	} {
		if _, err := orc.UpsertOrganism(admin, &tpv1.UpsertOrganismRequest{Organism: o}); err != nil {
			t.Fatal(err)
		}
	}
	ben := func(nir, org string) *tpv1.Beneficiary {
		return &tpv1.Beneficiary{Nir: nir, BirthDate: "1975-01-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
			Organisms: []*tpv1.OrganismAttachment{{OrganismCode: org, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}}}
	}
	b1, b2, b3, b4 := nirN(1), nirN(2), nirN(3), nirN(4)
	for nir, org := range map[string]string{b1: "MUT01", b2: "MUT02", b3: "MUT03", b4: "MUT04"} {
		if _, err := bc.UpsertBeneficiary(admin, &tpv1.UpsertBeneficiaryRequest{Beneficiary: ben(nir, org)}); err != nil {
			t.Fatal(err)
		}
	}
	seed := func(id, pro, nir string) {
		if _, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: claimFor(id, pro, nir, "2025-07-14")}); err != nil {
			t.Fatalf("seed %s: %v", id, err)
		}
	}
	seed("C1", "10000000017", b1)
	seed("C2", "10000000025", b2)
	seed("C1-cancel", "10000000017", b1)
	seed("C2-cancel", "10000000025", b2)
	seed("C3", "10000000033", b3)

	// Convention checks (R160-26): MUT04's convention ended on 2024-12-31.
	_, err = cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: claimFor("C4", "10000000041", b4, "2025-07-14")})
	if clause(t, err) != "R160-26 II" {
		t.Errorf("claim attributed to a délégataire outside its convention: %v", err)
	}
	if _, err := cc.GetClaim(admin, &tpv1.GetClaimRequest{ClaimId: "C4"}); status.Code(err) != codes.NotFound {
		t.Errorf("a refused claim must not be stored: %v", err)
	}
	if _, err := bc.GetBeneficiary(as("mut04-token"), &tpv1.GetBeneficiaryRequest{Nir: b4}); clause(t, err) != "R160-26 II" {
		t.Errorf("operator of an expired convention: %v", err)
	}
	// MUT03 does not have payments delegated.
	if _, err := pc.RecordPayment(as("mut03-token"), &tpv1.RecordPaymentRequest{ClaimId: "C3", PaidAt: timestamppb.Now(), PaymentReference: "X"}); clause(t, err) != "R160-26 III 2°" {
		t.Errorf("non-delegated operation: %v", err)
	}

	ok, pd := codes.OK, codes.PermissionDenied
	type cell struct {
		rpc, who, target string
		call             func(ctx context.Context) error
		want             codes.Code
	}
	callers := map[string]context.Context{"admin": admin, "operator": as("mut01-token"), "professional": as("p1-token")}
	// For each RPC: what each role gets on its own tenant's object and on the other's.
	type rpc struct {
		name  string
		own   func(ctx context.Context) error
		other func(ctx context.Context) error
		want  map[string][2]codes.Code // role → {own, other}
	}
	pay := func(id string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := pc.RecordPayment(ctx, &tpv1.RecordPaymentRequest{ClaimId: id, PaidAt: timestamppb.New(time.Date(2025, 7, 15, 9, 0, 0, 0, time.UTC)), PaymentReference: "VIR-" + id})
			return err
		}
	}
	rpcs := []rpc{
		{"Adjudicate", func(ctx context.Context) error {
			_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claimFor("A1-"+fmt.Sprint(time.Now().UnixNano()), "10000000017", b1, "2025-07-14")})
			return err
		}, func(ctx context.Context) error {
			_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claimFor("A2-"+fmt.Sprint(time.Now().UnixNano()), "10000000025", b2, "2025-07-14")})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {pd, pd}, "professional": {ok, pd}}},
		{"Simulate", func(ctx context.Context) error {
			_, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: claimFor("S1", "10000000017", b1, "2025-07-14")})
			return err
		}, func(ctx context.Context) error {
			_, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: claimFor("S2", "10000000025", b2, "2025-07-14")})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {ok, pd}}},
		{"GetClaim", func(ctx context.Context) error {
			_, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: "C1"})
			return err
		},
			func(ctx context.Context) error {
				_, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: "C2"})
				return err
			},
			map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {ok, pd}}},
		{"GetClaim of a claim that does not exist", func(ctx context.Context) error {
			_, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: "NOPE"})
			return err
		},
			func(ctx context.Context) error {
				_, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: "NOPE"})
				return err
			},
			map[string][2]codes.Code{"admin": {codes.NotFound, codes.NotFound}, "operator": {pd, pd}, "professional": {pd, pd}}},
		{"CancelClaim", func(ctx context.Context) error {
			_, err := cc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: "C1-cancel"})
			return err
		},
			func(ctx context.Context) error {
				_, err := cc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: "C2-cancel"})
				return err
			},
			map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {ok, pd}}},
		{"AdjudicateStream", func(ctx context.Context) error {
			return streamOne(ctx, cc, claimFor("T1-"+fmt.Sprint(time.Now().UnixNano()), "10000000017", b1, "2025-07-14"))
		},
			func(ctx context.Context) error {
				return streamOne(ctx, cc, claimFor("T2-"+fmt.Sprint(time.Now().UnixNano()), "10000000025", b2, "2025-07-14"))
			},
			map[string][2]codes.Code{"admin": {ok, ok}, "operator": {pd, pd}, "professional": {ok, pd}}},
		{"AddOpposition", func(ctx context.Context) error {
			_, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: fmt.Sprint(time.Now().UnixNano()), Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {pd}}},
		// An opposition is its entrant's (issue 14.2): "own" is one the
		// caller entered, "other" one of the national list.
		{"LiftOpposition", func(ctx context.Context) error {
			id := fmt.Sprint(time.Now().UnixNano())
			if _, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: id, Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS}); err != nil {
				return err
			}
			_, err := oc.LiftOpposition(ctx, &tpv1.LiftOppositionRequest{Identifier: id})
			return err
		}, func(ctx context.Context) error {
			id := fmt.Sprint(time.Now().UnixNano())
			if _, err := oc.AddOpposition(admin, &tpv1.AddOppositionRequest{Identifier: id, Reason: tpv1.OppositionReason_OPPOSITION_REASON_THEFT}); err != nil {
				return err
			}
			_, err := oc.LiftOpposition(ctx, &tpv1.LiftOppositionRequest{Identifier: id})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"LiftOpposition of another organism's", func(ctx context.Context) error {
			id := fmt.Sprint(time.Now().UnixNano())
			r, err := oc.AddOpposition(as("mut02-token"), &tpv1.AddOppositionRequest{Identifier: id, Reason: tpv1.OppositionReason_OPPOSITION_REASON_THEFT})
			if err != nil {
				return err
			}
			if r.GetOpposition().GetOwner() != "MUT02" {
				return status.Errorf(codes.Internal, "owner %q", r.GetOpposition().GetOwner())
			}
			_, err = oc.LiftOpposition(ctx, &tpv1.LiftOppositionRequest{Identifier: id})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {pd}, "professional": {pd}}},
		{"ImportOppositions", func(ctx context.Context) error {
			s, err := oc.ImportOppositions(ctx)
			if err != nil {
				return err
			}
			_ = s.Send(&tpv1.ImportOppositionsRequest{Opposition: &tpv1.Opposition{Identifier: fmt.Sprint(time.Now().UnixNano()), Reason: tpv1.OppositionReason_OPPOSITION_REASON_LOSS, EffectiveAt: timestamppb.Now()}})
			_, err = s.CloseAndRecv()
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {pd}}},
		{"CheckOpposition", func(ctx context.Context) error {
			_, err := oc.CheckOpposition(ctx, &tpv1.CheckOppositionRequest{Identifier: "1234567890"})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {ok}}},
		{"WatchOppositions", func(ctx context.Context) error {
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			w, err := oc.WatchOppositions(wctx, &tpv1.WatchOppositionsRequest{AfterVersion: 1 << 40})
			if err != nil {
				return err
			}
			_, err = w.Recv()
			if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, io.EOF) {
				return nil // nothing to send before the deadline: the watch was allowed
			}
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {ok}}},
		{"UpsertBeneficiary", func(ctx context.Context) error {
			_, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: ben(b1, "MUT01")})
			return err
		}, func(ctx context.Context) error {
			_, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: ben(b2, "MUT02")})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"GetBeneficiary", func(ctx context.Context) error {
			_, err := bc.GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: b1})
			return err
		},
			func(ctx context.Context) error {
				_, err := bc.GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: b2})
				return err
			},
			map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"GetCounters", func(ctx context.Context) error {
			_, err := bc.GetCounters(ctx, &tpv1.GetCountersRequest{Nir: b1, Year: 2025, CareDate: "2025-07-14", ProfessionalId: "10000000017"})
			return err
		}, func(ctx context.Context) error {
			// Another organism's beneficiary, and another professional's PF count.
			_, err := bc.GetCounters(ctx, &tpv1.GetCountersRequest{Nir: b2, Year: 2025, CareDate: "2025-07-14", ProfessionalId: "10000000025"})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {ok, pd}}},
		{"CheckRights", func(ctx context.Context) error {
			_, err := bc.CheckRights(ctx, &tpv1.CheckRightsRequest{Nir: b1, CareDate: "2025-07-14", Category: tpv1.Category_CATEGORY_PHYSICIAN})
			return err
		}, func(ctx context.Context) error {
			_, err := bc.CheckRights(ctx, &tpv1.CheckRightsRequest{Nir: b2, CareDate: "2025-07-14", Category: tpv1.Category_CATEGORY_PHYSICIAN})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {ok, ok}}},
		{"RecordPayment", pay("C1"), pay("C2"), map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"ListProfessionalClaims", func(ctx context.Context) error {
			_, err := pc.ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: "10000000017"})
			return err
		}, func(ctx context.Context) error {
			r, err := pc.ListProfessionalClaims(ctx, &tpv1.ListProfessionalClaimsRequest{ProfessionalId: "10000000025"})
			if err == nil && len(r.GetClaims()) > 0 && callers["operator"] == ctx {
				return status.Error(codes.Internal, "operator sees another organism's claims")
			}
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, ok}, "professional": {ok, pd}}},
		{"ListOrganismClaims", func(ctx context.Context) error {
			r, err := pc.ListOrganismClaims(ctx, &tpv1.ListOrganismClaimsRequest{OrganismCode: "MUT01", Quarter: "2025Q3"})
			if err == nil && !slices.ContainsFunc(r.GetClaims(), func(c *tpv1.OrganismClaim) bool {
				return c.GetClaimId() == "C1" && c.GetProfessionalId() == "10000000017" && c.GetTracking() != nil
			}) {
				return status.Error(codes.Internal, "the organism's own claim C1 is not listed")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := pc.ListOrganismClaims(ctx, &tpv1.ListOrganismClaimsRequest{OrganismCode: "MUT02", Quarter: "2025Q3"})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"GetDelayReport", func(ctx context.Context) error {
			_, err := pc.GetDelayReport(ctx, &tpv1.GetDelayReportRequest{OrganismCode: "MUT01", Quarter: "2025Q3"})
			return err
		}, func(ctx context.Context) error {
			_, err := pc.GetDelayReport(ctx, &tpv1.GetDelayReportRequest{OrganismCode: "MUT02", Quarter: "2025Q3"})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"SetFraudRegime", func(ctx context.Context) error {
			_, err := pc.SetFraudRegime(ctx, &tpv1.SetFraudRegimeRequest{Regime: &tpv1.FraudRegime{ProfessionalId: "10000000017", Start: "2025-05-15", End: "2025-08-14", MaxWorkingDays: 30, DecisionRef: "D1", Kind: tpv1.FraudRegimeKind_FRAUD_REGIME_KIND_INITIAL}})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {pd}, "professional": {pd}}},
		{"ListFraudRegimes", func(ctx context.Context) error {
			_, err := pc.ListFraudRegimes(ctx, &tpv1.ListFraudRegimesRequest{ProfessionalId: "10000000017"})
			return err
		}, func(ctx context.Context) error {
			_, err := pc.ListFraudRegimes(ctx, &tpv1.ListFraudRegimesRequest{ProfessionalId: "10000000025"})
			return err
		}, map[string][2]codes.Code{"admin": {ok, ok}, "operator": {pd, pd}, "professional": {ok, pd}}},
		{"UpsertOrganism", func(ctx context.Context) error {
			_, err := orc.UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{Code: "MUT01", Name: "Mutuelle 1", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "75", Conventions: conv("C1", "2023-01-01", "2027-12-31", all...)}})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {pd}, "professional": {pd}}},
		{"GetOrganism", func(ctx context.Context) error {
			_, err := orc.GetOrganism(ctx, &tpv1.GetOrganismRequest{Code: "MUT01"})
			return err
		},
			func(ctx context.Context) error {
				_, err := orc.GetOrganism(ctx, &tpv1.GetOrganismRequest{Code: "MUT02"})
				return err
			},
			map[string][2]codes.Code{"admin": {ok, ok}, "operator": {ok, pd}, "professional": {pd, pd}}},
		{"ListOrganisms", func(ctx context.Context) error {
			r, err := orc.ListOrganisms(ctx, &tpv1.ListOrganismsRequest{})
			if err == nil && ctx == callers["operator"] && (len(r.GetOrganisms()) != 1 || r.GetOrganisms()[0].GetCode() != "MUT01") {
				return status.Error(codes.Internal, "operator sees other organisms")
			}
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {pd}}},
		{"ListParameters", func(ctx context.Context) error {
			_, err := prc.ListParameters(ctx, &tpv1.ListParametersRequest{})
			return err
		},
			nil, map[string][2]codes.Code{"admin": {ok}, "operator": {ok}, "professional": {ok}}},
		{"ListAuditEvents", func(ctx context.Context) error {
			_, err := auc.ListAuditEvents(ctx, &tpv1.ListAuditEventsRequest{PageSize: 1})
			return err
		}, nil, map[string][2]codes.Code{"admin": {ok}, "operator": {pd}, "professional": {pd}}},
	}
	var cells []cell
	for _, r := range rpcs {
		for who, want := range r.want {
			cells = append(cells, cell{r.name, who, "own", r.own, want[0]})
			if r.other != nil {
				cells = append(cells, cell{r.name, who, "other", r.other, want[1]})
			}
		}
	}
	for _, c := range cells {
		if got := status.Code(c.call(callers[c.who])); got != c.want {
			t.Errorf("%s as %s on %s tenant: %v, want %v", c.rpc, c.who, c.target, got, c.want)
		}
	}
	// No credentials at all: UNAUTHENTICATED, except health.
	if _, err := cc.GetClaim(context.Background(), &tpv1.GetClaimRequest{ClaimId: "C1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if _, err := cc.GetClaim(as("not-a-token"), &tpv1.GetClaimRequest{ClaimId: "C1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("unknown token: %v", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health must stay open for probes: %v", err)
	}
	t.Logf("%d cells checked", len(cells))
	checkTrail(t, auc, admin, []string{b1, b2, b3, b4})
}

// checkTrail reads the whole trail the matrix left: every kind of change it
// made is there with the caller who made it, and no NIR anywhere.
func checkTrail(t *testing.T, auc tpv1.AuditServiceClient, admin context.Context, nirs []string) {
	t.Helper()
	var evs []*tpv1.AuditEvent
	req := &tpv1.ListAuditEventsRequest{PageSize: 25}
	for {
		page, err := auc.ListAuditEvents(admin, req)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, page.GetEvents()...)
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	seen := map[string]bool{} // "op by"
	for _, e := range evs {
		seen[e.GetOp()+" "+e.GetBy()] = true
		for _, nir := range nirs {
			if strings.Contains(e.String(), nir) {
				t.Fatalf("NIR in the trail: %v", e)
			}
		}
		if e.GetAt() == nil || e.GetRole() == "" || e.GetSubject() == "" || e.GetId() == "" {
			t.Errorf("incomplete event: %v", e)
		}
	}
	for _, want := range []string{"organism.upsert admin", "beneficiary.upsert admin", "claim.commit admin",
		"claim.commit pro-p1", "claim.cancel admin", "payment.record admin", "opposition.add op-mut01"} {
		if !seen[want] {
			t.Errorf("no %q event in the trail of %d events: %v", want, len(evs), seen)
		}
	}
	t.Logf("trail: %d events, %d kinds by caller", len(evs), len(seen))
	_, err := auc.ListAuditEvents(admin, &tpv1.ListAuditEventsRequest{PageToken: "forged"})
	if violation(t, err) != "page_token" {
		t.Errorf("forged page token: %v", err)
	}
}

func streamOne(ctx context.Context, cc tpv1.ClaimServiceClient, c *tpv1.Claim) error {
	s, err := cc.AdjudicateStream(ctx)
	if err != nil {
		return err
	}
	if err := s.Send(&tpv1.AdjudicateStreamRequest{Claim: c}); err != nil {
		return err
	}
	_ = s.CloseSend()
	r, err := s.Recv()
	if err != nil {
		return err
	}
	if e := r.GetError(); e != nil {
		return status.ErrorProto(e)
	}
	return nil
}

func clause(t *testing.T, err error) string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		return "code " + st.Code().String()
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetMetadata()["clause"]
		}
	}
	return ""
}

// TestBeneficiaryChangesOrganism: claims are attributed to the organism
// managing the beneficiary on the care date (L160-18).
func TestBeneficiaryChangesOrganism(t *testing.T) {
	a := startSecured(t, nil)
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := as("admin-token")
	nir := nirN(77)
	_, err = tpv1.NewBeneficiaryServiceClient(conn).UpsertBeneficiary(admin, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
		Nir: nir, BirthDate: "1975-01-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
		Organisms: []*tpv1.OrganismAttachment{
			{OrganismCode: "CPAM75", Period: &tpv1.DatePeriod{Start: "2020-01-01", End: "2025-06-30"}},
			{OrganismCode: "CPAM69", Period: &tpv1.DatePeriod{Start: "2025-07-01"}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	cc := tpv1.NewClaimServiceClient(conn)
	for care, want := range map[string]string{"2025-06-30": "CPAM75", "2025-07-01": "CPAM69"} {
		r, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: claimFor("MOVE-"+care, "10000000090", nir, care)})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetDecision().GetManagingOrganism() != want {
			t.Errorf("care on %s attributed to %q, want %s", care, r.GetDecision().GetManagingOrganism(), want)
		}
	}
}

// TestMutualTLS: a client certificate from the development CA authenticates
// its role and tenant; a wrong CA or an expired certificate is refused.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	if err := devcerts.WriteDevSet(dir, time.Now(), devcerts.DefaultClients()); err != nil {
		t.Fatal(err)
	}
	a := startSecured(t, func(c *config.Config) {
		c.TLSCert, c.TLSKey, c.TLSClientCA = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem")
	})
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	dial := func(client string) *grpc.ClientConn {
		tc := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}
		if client != "" {
			cert, err := tls.LoadX509KeyPair(filepath.Join(dir, client+".pem"), filepath.Join(dir, client+"-key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adminOrgs := tpv1.NewOrganismServiceClient(dial("admin"))
	if _, err := adminOrgs.UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{Code: "CPAM75", Name: "CPAM", Kind: tpv1.OrganismKind_ORGANISM_KIND_CAISSE, Departement: "75"}}); err != nil {
		t.Fatalf("admin certificate: %v", err)
	}
	op := tpv1.NewOrganismServiceClient(dial("operator-CPAM75"))
	if r, err := op.ListOrganisms(ctx, &tpv1.ListOrganismsRequest{}); err != nil || len(r.GetOrganisms()) != 1 {
		t.Fatalf("operator certificate: %v %v", r, err)
	}
	if _, err := op.UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{Code: "X", Kind: tpv1.OrganismKind_ORGANISM_KIND_CAISSE}}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("operator certificate upserting an organism: %v", err)
	}
	pro := tpv1.NewClaimServiceClient(dial("professional-10000000009"))
	c := claimFor("MTLS-1", "10000000009", nirN(5), "2025-07-14")
	if _, err := pro.Simulate(ctx, &tpv1.SimulateRequest{Claim: c}); err != nil {
		t.Fatalf("professional certificate, own claim: %v", err)
	}
	c.Professional.Id = "10000000058"
	if _, err := pro.Simulate(ctx, &tpv1.SimulateRequest{Claim: c}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("professional certificate, another's claim: %v", err)
	}
	for _, bad := range []string{"expired", "foreign"} {
		_, err := tpv1.NewOrganismServiceClient(dial(bad)).ListOrganisms(ctx, &tpv1.ListOrganismsRequest{})
		if code := status.Code(err); code != codes.Unavailable && code != codes.Unauthenticated {
			t.Errorf("%s certificate: %v, want the handshake refused", bad, err)
		}
	}
	if _, err := tpv1.NewOrganismServiceClient(dial("")).ListOrganisms(ctx, &tpv1.ListOrganismsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no certificate: %v", err)
	}
	if _, err := healthpb.NewHealthClient(dial("")).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health without a client certificate: %v", err)
	}
}

// TestAMCPartAndOrganismReports: the AMC part of a délégataire holding the
// complementary delegation (L161-36-2), the remises de gestion of a
// beneficiary managed part of the year and the convention's delay indicator
// (R160-26 III 3° and 4°).
func TestAMCPartAndOrganismReports(t *testing.T) {
	a := startSecured(t, nil)
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := as("admin-token")
	org := &tpv1.Organism{Code: "MUT09", Name: "Mutuelle 9", Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "75",
		Conventions: []*tpv1.Convention{{Id: "C9", ValidFrom: "2023-01-01", ValidTo: "2027-12-31", DelayTargetWorkingDays: 7,
			Operations: []tpv1.DelegatedOperation{tpv1.DelegatedOperation_DELEGATED_OPERATION_ADJUDICATE, tpv1.DelegatedOperation_DELEGATED_OPERATION_PAY_AMC,
				tpv1.DelegatedOperation_DELEGATED_OPERATION_MANAGE_BENEFICIARIES, tpv1.DelegatedOperation_DELEGATED_OPERATION_RECORD_PAYMENTS},
			Remises:        []*tpv1.RemiseRule{{Start: "2023-01-01", AmountPerBeneficiary: "36.50"}},
			AmcDelegations: []*tpv1.AmcDelegation{{ContractId: "K1", Rate: "1"}}}}}
	if _, err := tpv1.NewOrganismServiceClient(conn).UpsertOrganism(admin, &tpv1.UpsertOrganismRequest{Organism: org}); err != nil {
		t.Fatal(err)
	}
	bc := tpv1.NewBeneficiaryServiceClient(conn)
	withContract, without := nirN(91), nirN(92)
	for nir, contract := range map[string]string{withContract: "K1", without: ""} {
		if _, err := bc.UpsertBeneficiary(admin, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
			Nir: nir, BirthDate: "1980-02-02", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}}, AmcContractId: contract,
			Organisms: []*tpv1.OrganismAttachment{{OrganismCode: "MUT09", Period: &tpv1.DatePeriod{Start: "2025-03-01"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := tpv1.NewClaimServiceClient(conn)
	integral := claimFor("AMC-1", "10000000017", withContract, "2025-07-14")
	integral.Mode = tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_AMC
	r, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: integral})
	if err != nil {
		t.Fatal(err)
	}
	d := r.GetDecision()
	if len(d.GetAmcLines()) != 1 || d.GetAmcLines()[0].GetPayer() != "MUT09" || d.GetAmcLines()[0].GetAmount() != "9.00" ||
		d.GetTotals().GetAmcPayableToProfessional() != "9.00" || d.GetTotals().GetPatientShareAfterAmc() != "0.00" || d.GetTotals().GetAmo() != "21.00" {
		t.Fatalf("AMC part of a GP consultation (TM 9.00 at 100 %%): %v totals %v", d.GetAmcLines(), d.GetTotals())
	}
	again, err := cc.GetClaim(admin, &tpv1.GetClaimRequest{ClaimId: "AMC-1"})
	if err != nil || len(again.GetDecision().GetAmcLines()) != 1 {
		t.Fatalf("stored decision keeps its AMC lines: %v %v", again, err)
	}
	partial := claimFor("AMC-2", "10000000017", withContract, "2025-07-14")
	if r, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: partial}); err != nil || len(r.GetDecision().GetAmcLines()) != 0 {
		t.Fatalf("AMO only: no AMC part: %v %v", r, err)
	}
	noContract := claimFor("AMC-3", "10000000017", without, "2025-07-14")
	noContract.Mode = tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_AMC
	r, err = cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: noContract})
	if err != nil || len(r.GetDecision().GetAmcLines()) != 0 || !hasReason(r.GetDecision(), "AMC_NOT_DELEGATED") {
		t.Fatalf("no delegated contract: %v %v", r, err)
	}

	orc := tpv1.NewOrganismServiceClient(conn)
	// Two beneficiaries managed from 1 March 2025: 306 days of 365 each at 36.50 a year.
	rem, err := orc.GetRemisesReport(admin, &tpv1.GetRemisesReportRequest{OrganismCode: "MUT09", Year: 2025})
	if err != nil || rem.GetBeneficiaries() != 2 || rem.GetBeneficiaryYears() != "1.6767" || rem.GetAmount() != "61.20" {
		t.Fatalf("remises 2025: %v %v", rem, err)
	}
	if _, err := tpv1.NewPaymentServiceClient(conn).RecordPayment(admin, &tpv1.RecordPaymentRequest{ClaimId: "AMC-1",
		PaidAt: timestamppb.New(time.Date(2025, 7, 16, 9, 0, 0, 0, time.UTC)), PaymentReference: "V1"}); err != nil {
		t.Fatal(err)
	}
	ind, err := orc.GetConventionIndicators(admin, &tpv1.GetConventionIndicatorsRequest{OrganismCode: "MUT09", Quarter: "2025Q3"})
	if err != nil || ind.GetConventionId() != "C9" || ind.GetDelayTargetWorkingDays() != 7 || ind.GetClaims() != 3 ||
		ind.GetPaidWithinTarget() != "0.3333" || ind.GetMedianDelayWorkingDays() != 1 || !ind.GetTargetMet() {
		t.Fatalf("indicators: %v %v", ind, err)
	}
	if _, err := orc.GetRemisesReport(as("mut01-token"), &tpv1.GetRemisesReportRequest{OrganismCode: "MUT09", Year: 2025}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another organism's remises: %v", err)
	}
}

func hasReason(d *tpv1.Decision, code string) bool {
	for _, r := range d.GetReasons() {
		if r.GetCode() == code {
			return true
		}
	}
	return false
}

// TestOperatorBeneficiaryPeriods (issue 14.1): MUT01 managed a beneficiary
// until 2023, MUT02 since 2024. MUT01 reads its period only; closing the
// rights and adding an ALD touch its period only, so MUT02's next claim is
// still paid; it can neither move the beneficiary nor register one attached
// to another organism.
func TestOperatorBeneficiaryPeriods(t *testing.T) {
	a := startSecured(t, nil)
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bc, cc, orc := tpv1.NewBeneficiaryServiceClient(conn), tpv1.NewClaimServiceClient(conn), tpv1.NewOrganismServiceClient(conn)
	admin, mut01 := as("admin-token"), as("mut01-token")
	for _, code := range []string{"MUT01", "MUT02"} {
		o := &tpv1.Organism{Code: code, Name: code, Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "75",
			Conventions: []*tpv1.Convention{{Id: "C-" + code, ValidFrom: "2019-01-01", ValidTo: "2027-12-31", CogRef: "COG", DelayTargetWorkingDays: 7,
				Operations: []tpv1.DelegatedOperation{tpv1.DelegatedOperation_DELEGATED_OPERATION_ADJUDICATE, tpv1.DelegatedOperation_DELEGATED_OPERATION_MANAGE_BENEFICIARIES}}}}
		if _, err := orc.UpsertOrganism(admin, &tpv1.UpsertOrganismRequest{Organism: o}); err != nil {
			t.Fatal(err)
		}
	}
	nir := nirN(55)
	moved := &tpv1.Beneficiary{Nir: nir, BirthDate: "1975-01-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}}, HasMedecinTraitant: true,
		Organisms: []*tpv1.OrganismAttachment{
			{OrganismCode: "MUT01", Period: &tpv1.DatePeriod{Start: "2020-01-01", End: "2023-12-31"}},
			{OrganismCode: "MUT02", Period: &tpv1.DatePeriod{Start: "2024-01-01"}},
		}}
	if _, err := bc.UpsertBeneficiary(admin, &tpv1.UpsertBeneficiaryRequest{Beneficiary: moved}); err != nil {
		t.Fatal(err)
	}
	view, err := bc.GetBeneficiary(mut01, &tpv1.GetBeneficiaryRequest{Nir: nir})
	if err != nil {
		t.Fatal(err)
	}
	v := view.GetBeneficiary()
	if len(v.GetRights()) != 1 || v.GetRights()[0].GetEnd() != "2023-12-31" || len(v.GetOrganisms()) != 1 || v.GetHasMedecinTraitant() {
		t.Fatalf("MUT01 sees beyond its period: %v", v)
	}
	// Read, modify, write: rights closed in 2021, an ALD from 2019 on.
	v.Rights = []*tpv1.DatePeriod{{Start: "2020-01-01", End: "2021-06-30"}}
	v.Ald = []*tpv1.DatePeriod{{Start: "2019-01-01"}}
	if _, err := bc.UpsertBeneficiary(mut01, &tpv1.UpsertBeneficiaryRequest{Beneficiary: v}); err != nil {
		t.Fatalf("MUT01 writes its period: %v", err)
	}
	full, err := bc.GetBeneficiary(admin, &tpv1.GetBeneficiaryRequest{Nir: nir})
	if err != nil {
		t.Fatal(err)
	}
	f := full.GetBeneficiary()
	if len(f.GetRights()) != 2 || f.GetRights()[1].GetStart() != "2024-01-01" || f.GetRights()[1].GetEnd() != "" ||
		len(f.GetAld()) != 1 || f.GetAld()[0].GetEnd() != "2023-12-31" || len(f.GetOrganisms()) != 2 || !f.GetHasMedecinTraitant() {
		t.Fatalf("MUT02's period changed by MUT01: %v", f)
	}
	r, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: claimFor("MOVED-1", "10000000017", nir, "2025-07-14")})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.GetDecision(); d.GetStatus() != tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED || d.GetManagingOrganism() != "MUT02" {
		t.Errorf("MUT02's member after MUT01's write: %v %v", d.GetStatus(), d.GetReasons())
	}
	// Moving the beneficiary back is a transfer: denied, and said so.
	v.Organisms = []*tpv1.OrganismAttachment{{OrganismCode: "MUT01", Period: &tpv1.DatePeriod{Start: "2020-01-01"}}}
	_, err = bc.UpsertBeneficiary(mut01, &tpv1.UpsertBeneficiaryRequest{Beneficiary: v})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "administrator") {
		t.Errorf("MUT01 takes the beneficiary back: %v", err)
	}
	// A new NIR whose current organism is MUT02, with a day at MUT01 in 1990.
	fresh := &tpv1.Beneficiary{Nir: nirN(56), BirthDate: "1975-01-20", Rights: []*tpv1.DatePeriod{{Start: "1990-01-01"}},
		Organisms: []*tpv1.OrganismAttachment{
			{OrganismCode: "MUT01", Period: &tpv1.DatePeriod{Start: "1990-01-01", End: "1990-01-01"}},
			{OrganismCode: "MUT02", Period: &tpv1.DatePeriod{Start: "1990-01-02"}},
		}}
	if _, err := bc.UpsertBeneficiary(mut01, &tpv1.UpsertBeneficiaryRequest{Beneficiary: fresh}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("MUT01 registers a MUT02 member: %v", err)
	}
	if _, err := bc.GetBeneficiary(admin, &tpv1.GetBeneficiaryRequest{Nir: nirN(56)}); status.Code(err) != codes.NotFound {
		t.Errorf("the refused registration was stored: %v", err)
	}
}
