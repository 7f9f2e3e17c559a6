package app_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestBeneficiaryStatusesAndRegimeLocal (issue 15, D24 and D25): a
// beneficiary's R160-10 status and régime local periods go through the API
// and the store and price the claim: an invalidity pensioner under the régime
// local has the GP visit at 100 % (nothing left to complement), and a 30 %
// medicine keeps its rate (R160-18) with the régime's complement to 80 %.
func TestBeneficiaryStatusesAndRegimeLocal(t *testing.T) {
	_, conn := start(t, redistest.Shared(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bc, cc := tpv1.NewBeneficiaryServiceClient(conn), tpv1.NewClaimServiceClient(conn)
	ben := &tpv1.Beneficiary{Nir: nirN(77), BirthDate: "1970-02-01", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
		Organisms:   []*tpv1.OrganismAttachment{{OrganismCode: "CPAM67", Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
		Statuses:    []*tpv1.BeneficiaryStatus{{Kind: tpv1.StatusKind_STATUS_KIND_INVALIDITY_PENSION, Period: &tpv1.DatePeriod{Start: "2021-01-01"}}},
		RegimeLocal: []*tpv1.DatePeriod{{Start: "2015-01-01"}}}
	if _, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: ben}); err != nil {
		t.Fatal(err)
	}
	got, err := bc.GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: ben.Nir})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.GetBeneficiary().GetStatuses(); len(st) != 1 || st[0].GetKind() != tpv1.StatusKind_STATUS_KIND_INVALIDITY_PENSION || st[0].GetPeriod().GetStart() != "2021-01-01" {
		t.Fatalf("statuses read back %v", st)
	}
	if rl := got.GetBeneficiary().GetRegimeLocal(); len(rl) != 1 || rl[0].GetStart() != "2015-01-01" {
		t.Fatalf("régime local read back %v", rl)
	}
	c := gpClaim(testPro + "-RL1")
	c.Nir = ben.Nir
	c.Lines = append(c.Lines, &tpv1.ClaimLine{LineId: "2", Code: "3400930000002", Category: tpv1.Category_CATEGORY_MEDICINE,
		CareDate: c.Lines[0].CareDate, UnitPrice: "10.00", Quantity: 1, ProductRate: "0.30"})
	c.Professional.Profession = tpv1.Profession_PROFESSION_PHYSICIAN // a propharmacien dispenses the medicine
	c.CreatedAt = timestamppb.New(clock.Add(-time.Hour))
	res, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c})
	if err != nil {
		t.Fatal(err)
	}
	d := res.GetDecision()
	// GP 30.00 at 100 % (R160-10): no local complement. Medicine 10.00 at
	// 30 % kept (R160-18): 3.00, and the régime local to 80 %: + 5.00.
	if l := d.GetLines()[0]; l.GetAmo() != "30.00" || l.GetRegimeLocal() != "0.00" {
		t.Errorf("GP line: AMO %s, régime local %s; want 30.00 and 0.00", l.GetAmo(), l.GetRegimeLocal())
	}
	if l := d.GetLines()[1]; l.GetAmo() != "8.00" || l.GetRegimeLocal() != "5.00" {
		t.Errorf("medicine line: AMO %s, régime local %s; want 8.00 and 5.00", l.GetAmo(), l.GetRegimeLocal())
	}
	if d.GetTotals().GetRegimeLocal() != "5.00" || d.GetTotals().GetParticipationForfaitaire() != "2.00" {
		t.Errorf("totals: régime local %s, PF %s; want 5.00 and 2.00", d.GetTotals().GetRegimeLocal(), d.GetTotals().GetParticipationForfaitaire())
	}
}
