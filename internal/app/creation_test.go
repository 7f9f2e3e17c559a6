package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// The creation instant is only the billing software's word (issue 14, point
// 3; docs/rules.md#opposition). The service clock is 2025-03-11 10:00 Paris.
// A card is opposed for theft; a claim created before its own care, or
// later than its receipt beyond the clock skew, is invalid; one created
// long before its receipt is judged at receipt minus P-OPP-1 (8) working
// days: 2025-02-27.
func TestCreationInstantCannotDefeatTheOppositionList(t *testing.T) {
	_, conn := start(t, redistest.Shared(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	pro, org := rppsFor(uint64(time.Now().UnixNano())+7), "CPAM75-C"+nonce
	ben := nirN(int(time.Now().UnixNano() % 900000))

	bc := tpv1.NewBeneficiaryServiceClient(conn)
	if _, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
		Nir: ben, BirthDate: "1985-05-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
		Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: org, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
		HasMedecinTraitant: true,
	}}); err != nil {
		t.Fatal(err)
	}
	oc := tpv1.NewOppositionServiceClient(conn)
	stolen, early := "STOLEN-"+nonce, "EARLY-"+nonce
	for card, since := range map[string]time.Time{
		stolen: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),  // after the bound
		early:  time.Date(2025, 2, 20, 0, 0, 0, 0, time.UTC), // before the bound
	} {
		if _, err := oc.AddOpposition(ctx, &tpv1.AddOppositionRequest{Identifier: card,
			Reason: tpv1.OppositionReason_OPPOSITION_REASON_THEFT, EffectiveAt: timestamppb.New(since)}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(n int, card, care string, created time.Time) *tpv1.Claim {
		return &tpv1.Claim{
			ClaimId:   pro + "-C" + nonce + "-" + strconv.Itoa(n),
			CreatedAt: timestamppb.New(created),
			Professional: &tpv1.Professional{Id: pro, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS,
				Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"},
			Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: card},
			Nir:            ben,
			Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE,
			Mode:           tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
			Lines: []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: care,
				UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}},
		}
	}
	cc := tpv1.NewClaimServiceClient(conn)
	hasReason := func(d *tpv1.Decision, code string) bool {
		for _, r := range d.GetReasons() {
			if r.GetCode() == code {
				return true
			}
		}
		return false
	}

	// Invalid creations: before the care itself, at the epoch, after receipt.
	for i, created := range []time.Time{
		time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
		time.Date(2025, 3, 9, 22, 30, 0, 0, time.UTC), // 9 March 23:30 Paris: still the day before the care
		clock.Add(6 * time.Minute),
	} {
		_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(10+i, stolen, "2025-03-10", created)})
		if f := violation(t, err); f != "claim.created_at" {
			t.Errorf("created %s: violation on %q, want claim.created_at", created, f)
		}
	}

	// Honest creation on the care day: the opposition (1 March) defeats it.
	d, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(1, stolen, "2025-03-10", time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(d.GetDecision(), "CARD_IN_OPPOSITION") || d.GetDecision().GetGuarantee() == tpv1.Guarantee_GUARANTEE_GUARANTEED {
		t.Fatalf("opposed card accepted: %v", d.GetDecision())
	}
	if hasReason(d.GetDecision(), "CREATION_BOUNDED") {
		t.Errorf("a creation of the day before receipt is not bounded")
	}

	// Within the clock skew ahead of receipt: accepted, judged at receipt.
	d, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(2, stolen, "2025-03-10", clock.Add(3*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(d.GetDecision(), "CARD_IN_OPPOSITION") {
		t.Errorf("creation within the skew: the opposition must apply")
	}

	// Care and creation on 10 January, received 11 March: judged on
	// 27 February, so the opposition of 20 February applies and the
	// decision says why.
	d, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(3, early, "2025-01-10", time.Date(2025, 1, 10, 10, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(d.GetDecision(), "CARD_IN_OPPOSITION") || !hasReason(d.GetDecision(), "CREATION_BOUNDED") {
		t.Fatalf("old creation: reasons %v, want CARD_IN_OPPOSITION and CREATION_BOUNDED", d.GetDecision().GetReasons())
	}
	var traced bool
	for _, tr := range d.GetDecision().GetTrace() {
		if tr.GetRule() == "CREATION_BOUNDED" {
			traced = tr.GetParameterId() == "P-OPP-1" && tr.GetParameterValue() == "2025-02-27"
		}
	}
	if !traced {
		t.Errorf("no CREATION_BOUNDED trace naming P-OPP-1 and 2025-02-27")
	}

	// The same old creation with a card opposed only after the bound is
	// not defeated: the bound is no retroactive opposition.
	d, err = cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: claim(4, "CLEAN-"+nonce, "2025-01-10", time.Date(2025, 1, 10, 10, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if hasReason(d.GetDecision(), "CARD_IN_OPPOSITION") || !hasReason(d.GetDecision(), "CREATION_BOUNDED") {
		t.Errorf("clean card, old creation: reasons %v", d.GetDecision().GetReasons())
	}
}
