package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims/explain"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// explainClaim is a physician's claim of pro for a beneficiary whose rights
// open only in 2026: on 2025-03-10 they are closed, so the decision carries
// reasons to explain.
func explainClaim(id, pro, nirOf string) *tpv1.Claim {
	return &tpv1.Claim{
		ClaimId:   id,
		CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
		Professional: &tpv1.Professional{Id: pro, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS,
			Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"},
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: "CARD" + id},
		Nir:            nirOf,
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE,
		Mode:           tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
		Lines: []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: "2025-03-10",
			UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}},
	}
}

// checkExplained fails unless every reason of d carries the catalogue's
// explanation of its code in lang, and d has at least one reason.
func checkExplained(t *testing.T, what string, d *tpv1.Decision, lang string) {
	t.Helper()
	if len(d.GetReasons()) == 0 {
		t.Fatalf("%s: no reason to explain", what)
	}
	for _, r := range d.GetReasons() {
		want := explain.Text(r.GetCode(), lang)
		if want == "" || r.GetExplanation() != want {
			t.Errorf("%s: %s explained %q, want the %s text %q", what, r.GetCode(), r.GetExplanation(), lang, want)
		}
		if other := explain.Text(r.GetCode(), map[string]string{explain.French: explain.English, explain.English: explain.French}[lang]); other == want {
			t.Errorf("%s: %s has the same text in both languages", what, r.GetCode())
		}
	}
}

// The decision explains each reason in the caller's language: the gRPC
// metadata accept-language (French by default, English when preferred) and,
// through the JSON gateway, the Accept-Language header. Simulate also gives
// the counters as they stand before the claim.
func TestExplanationsLanguageAndSimulateCounters(t *testing.T) {
	srv := redistest.Shared(t)
	db := srv.NewDB(t)
	tf := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(tf, []byte(fmt.Sprintf(`[{"id":"admin","sha256":%q,"role":"admin"}]`, grpcapi.TokenHash("admin-token"))), 0o600); err != nil {
		t.Fatal(err)
	}
	a, conn := startWith(t, srv.Addr, func(c *config.Config) {
		c.RedisDB, c.HTTPAddr, c.TokensFile, c.Auth = db, "127.0.0.1:0", tf, "on"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer admin-token")
	pro, org := rppsFor(uint64(time.Now().UnixNano())), "CPAM75-X"+fmt.Sprint(time.Now().UnixNano()%1e6)
	const closedNIR, openNIR = "185057800608491", "279056900301162"

	bc := tpv1.NewBeneficiaryServiceClient(conn)
	for _, b := range []struct {
		nir, start string
	}{{closedNIR, "2026-01-01"}, {openNIR, "2020-01-01"}} {
		if _, err := bc.UpsertBeneficiary(admin, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
			Nir: b.nir, BirthDate: "1979-05-20", Rights: []*tpv1.DatePeriod{{Start: b.start}},
			Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: org, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
			HasMedecinTraitant: true,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := tpv1.NewClaimServiceClient(conn)

	for _, tc := range []struct {
		accept string // "" sends no accept-language
		lang   string
	}{
		{"", explain.French},
		{"fr-FR", explain.French},
		{"en", explain.English},
		{"en-GB,fr;q=0.5", explain.English},
		{"de, fr;q=0.1", explain.French},
		{"fr;q=0.2, en;q=0.9", explain.English},
	} {
		cctx := admin
		if tc.accept != "" {
			cctx = metadata.AppendToOutgoingContext(admin, "accept-language", tc.accept)
		}
		sim, err := cc.Simulate(cctx, &tpv1.SimulateRequest{Claim: explainClaim(pro+"-S", pro, closedNIR)})
		if err != nil {
			t.Fatalf("simulate (%q): %v", tc.accept, err)
		}
		checkExplained(t, fmt.Sprintf("simulate, accept-language %q", tc.accept), sim.GetDecision(), tc.lang)
	}
	adj, err := cc.Adjudicate(metadata.AppendToOutgoingContext(admin, "accept-language", "en"),
		&tpv1.AdjudicateRequest{Claim: explainClaim(pro+"-A1", pro, closedNIR)})
	if err != nil {
		t.Fatal(err)
	}
	checkExplained(t, "adjudicate, en", adj.GetDecision(), explain.English)
	// A stored decision is explained in the language of whoever reads it.
	got, err := cc.GetClaim(admin, &tpv1.GetClaimRequest{ClaimId: pro + "-A1"})
	if err != nil {
		t.Fatal(err)
	}
	checkExplained(t, "get claim, no language", got.GetDecision(), explain.French)

	// The JSON gateway forwards Accept-Language.
	body, err := json.Marshal(map[string]any{"claim": json.RawMessage(claimJSON(t, explainClaim(pro+"-H", pro, closedNIR)))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ accept, lang string }{{"en-US", explain.English}, {"", explain.French}} {
		req, err := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr+"/v1/claims:simulate", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer admin-token")
		req.Header.Set("Content-Type", "application/json")
		if tc.accept != "" {
			req.Header.Set("Accept-Language", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP simulate: %d %s", resp.StatusCode, raw)
		}
		var out struct {
			Decision struct {
				Reasons []struct{ Code, Explanation string }
			}
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Decision.Reasons) == 0 {
			t.Fatalf("HTTP simulate: no reasons in %s", raw)
		}
		for _, r := range out.Decision.Reasons {
			if want := explain.Text(r.Code, tc.lang); r.Explanation != want {
				t.Errorf("HTTP, Accept-Language %q: %s explained %q, want %q", tc.accept, r.Code, r.Explanation, want)
			}
		}
	}

	// Simulate's counters: before any claim, nothing used; after two
	// adjudicated consultations, two participations and their debt.
	sim := func(id string) *tpv1.Counters {
		t.Helper()
		r, err := cc.Simulate(admin, &tpv1.SimulateRequest{Claim: explainClaim(id, pro, openNIR)})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetCounters()
	}
	c0 := sim(pro + "-O0")
	if c0.GetYear() != 2025 || c0.GetParticipationForfaitaire().GetCountUsed() != 0 || c0.GetOutstandingDebt() != "0.00" {
		t.Fatalf("counters before any claim: %v", c0)
	}
	for _, id := range []string{pro + "-O1", pro + "-O2"} {
		if _, err := cc.Adjudicate(admin, &tpv1.AdjudicateRequest{Claim: explainClaim(id, pro, openNIR)}); err != nil {
			t.Fatal(err)
		}
	}
	c2 := sim(pro + "-O3")
	pf := c2.GetParticipationForfaitaire()
	if pf.GetCountUsed() != 2 || pf.GetUsed() != "4.00" || c2.GetOutstandingDebt() != "4.00" {
		t.Fatalf("counters after two consultations: %v", c2)
	}
	if pf.GetCountCap() == 0 || pf.GetCountLeft() != pf.GetCountCap()-2 {
		t.Errorf("PF count cap %d, left %d", pf.GetCountCap(), pf.GetCountLeft())
	}
	if len(c2.GetDaily()) != 1 {
		t.Errorf("daily counters of the claim's care date: %v", c2.GetDaily())
	}
	// Simulate consumed nothing: the same counters again.
	if c3 := sim(pro + "-O4"); c3.GetParticipationForfaitaire().GetCountUsed() != 2 {
		t.Errorf("simulate consumed a participation: %v", c3)
	}
}

// claimJSON is c in the gateway's JSON form (proto field names).
func claimJSON(t *testing.T, c *tpv1.Claim) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
