package app_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// fields returns the fields a BadRequest names; it fails unless err is
// INVALID_ARGUMENT.
func fields(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// Every amount, rate, count, date and repeated field is bounded by what the
// domain allows (issue 14, point 6), each refusal naming its field.
func TestImplausibleInputIsRefused(t *testing.T) {
	_, conn := start(t, redistest.Shared(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	pro := rppsFor(uint64(time.Now().UnixNano()) + 11)
	base := func(n int, prof tpv1.Profession, lines ...*tpv1.ClaimLine) *tpv1.Claim {
		return &tpv1.Claim{
			ClaimId: pro + "-P" + nonce + "-" + strconv.Itoa(n), CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
			Professional:   &tpv1.Professional{Id: pro, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS, Profession: prof, Departement: "75"},
			Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: "CARD" + nonce},
			Nir:            nirN(int(time.Now().UnixNano() % 900000)),
			Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE, Mode: tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
			Lines: lines,
		}
	}
	line := func(id string, cat tpv1.Category, price string, qty int32) *tpv1.ClaimLine {
		l := &tpv1.ClaimLine{LineId: id, Code: "X", Category: cat, CareDate: "2025-03-10", UnitPrice: price, Quantity: qty}
		switch cat {
		case tpv1.Category_CATEGORY_PHYSICIAN:
			l.Parcours = tpv1.Parcours_PARCOURS_RESPECTED
		case tpv1.Category_CATEGORY_MEDICINE:
			l.ProductRate = "0.65"
		}
		return l
	}
	cc := tpv1.NewClaimServiceClient(conn)
	var many []*tpv1.ClaimLine
	for i := range 99 {
		many = append(many, line(strconv.Itoa(i), tpv1.Category_CATEGORY_EMERGENCY_TRANSPORT, "100000.00", 1))
	}
	for _, tc := range []struct {
		name  string
		claim *tpv1.Claim
		want  string
	}{
		{"a physician billing emergency transport", base(1, tpv1.Profession_PROFESSION_PHYSICIAN, many...), "claim.lines[0].category"},
		{"a pharmacist billing a consultation", base(2, tpv1.Profession_PROFESSION_PHARMACIST, line("1", tpv1.Category_CATEGORY_PHYSICIAN, "30.00", 1)), "claim.lines[0].category"},
		{"a line above the per-line limit", base(3, tpv1.Profession_PROFESSION_PHARMACIST, line("1", tpv1.Category_CATEGORY_MEDICINE, "26000.00", 2)), "claim.lines[0].unit_price"},
		{"lines above the per-claim limit", base(4, tpv1.Profession_PROFESSION_PHARMACIST,
			line("1", tpv1.Category_CATEGORY_MEDICINE, "40000.00", 1), line("2", tpv1.Category_CATEGORY_MEDICINE, "40000.00", 1),
			line("3", tpv1.Category_CATEGORY_MEDICINE, "40000.00", 1)), "claim.lines"},
		{"a NUL in the claim id", func() *tpv1.Claim {
			c := base(5, tpv1.Profession_PROFESSION_PHYSICIAN, line("1", tpv1.Category_CATEGORY_PHYSICIAN, "30.00", 1))
			c.ClaimId += "\x00"
			return c
		}(), "claim.claim_id"},
	} {
		_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: tc.claim})
		if f := fields(t, err); !slices.Contains(f, tc.want) {
			t.Errorf("%s: fields %v, want %s", tc.name, f, tc.want)
		}
	}

	bc := tpv1.NewBeneficiaryServiceClient(conn)
	ben := func(mut func(*tpv1.Beneficiary)) error {
		b := &tpv1.Beneficiary{Nir: nirN(int(time.Now().UnixNano()%900000) + 1), BirthDate: "1985-05-20",
			Rights:    []*tpv1.DatePeriod{{Start: "2020-01-01"}},
			Organisms: []*tpv1.OrganismAttachment{{OrganismCode: "CPAM75-P" + nonce, Period: &tpv1.DatePeriod{Start: "2020-01-01"}}}}
		mut(b)
		_, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: b})
		return err
	}
	for _, tc := range []struct {
		name string
		mut  func(*tpv1.Beneficiary)
		want string
	}{
		{"rights ending on 0001-01-01 (read as open-ended)", func(b *tpv1.Beneficiary) { b.Rights[0].End = "0001-01-01" }, "beneficiary.rights[0].end"},
		{"born in 2999", func(b *tpv1.Beneficiary) { b.BirthDate = "2999-01-01" }, "beneficiary.birth_date"},
		{"born tomorrow", func(b *tpv1.Beneficiary) { b.BirthDate = clock.AddDate(0, 0, 1).Format(time.DateOnly) }, "beneficiary.birth_date"},
		{"a NUL in the contract id", func(b *tpv1.Beneficiary) { b.AmcContractId = "K\x00" }, "beneficiary.amc_contract_id"},
		{"a 500 KB contract id", func(b *tpv1.Beneficiary) { b.AmcContractId = string(make([]byte, 500<<10)) }, "beneficiary.amc_contract_id"},
		{"3000 organism attachments", func(b *tpv1.Beneficiary) {
			for i := range 3000 {
				b.Organisms = append(b.Organisms, &tpv1.OrganismAttachment{OrganismCode: fmt.Sprint("O", i), Period: &tpv1.DatePeriod{Start: "1990-01-01", End: "1990-01-01"}})
			}
		}, "beneficiary.organisms"},
	} {
		if f := fields(t, ben(tc.mut)); !slices.Contains(f, tc.want) {
			t.Errorf("%s: fields %v, want %s", tc.name, f, tc.want)
		}
	}

	orc := tpv1.NewOrganismServiceClient(conn)
	org := func(mut func(*tpv1.Convention)) error {
		c := &tpv1.Convention{Id: "C1", ValidFrom: "2024-01-01", ValidTo: "2030-12-31", CogRef: "COG",
			AmcDelegations: []*tpv1.AmcDelegation{{ContractId: "K1", Rate: "1"}}}
		mut(c)
		_, err := orc.UpsertOrganism(ctx, &tpv1.UpsertOrganismRequest{Organism: &tpv1.Organism{Code: "MUT-P" + nonce[:8], Name: "Mutuelle",
			Kind: tpv1.OrganismKind_ORGANISM_KIND_DELEGATAIRE, Departement: "75", Conventions: []*tpv1.Convention{c}}})
		return err
	}
	for _, tc := range []struct {
		name string
		mut  func(*tpv1.Convention)
		want string
	}{
		{"an AMC rate of 900 %", func(c *tpv1.Convention) { c.AmcDelegations[0].Rate = "9" }, "organism.conventions[0].amc_delegations[0].rate"},
		{"a negative delay target", func(c *tpv1.Convention) { c.DelayTargetWorkingDays = -3 }, "organism.conventions[0].delay_target_working_days"},
		{"a convention until 9999", func(c *tpv1.Convention) { c.ValidTo = "9999-12-31" }, "organism.conventions[0].valid_to"},
	} {
		if f := fields(t, org(tc.mut)); !slices.Contains(f, tc.want) {
			t.Errorf("%s: fields %v, want %s", tc.name, f, tc.want)
		}
	}

	pc := tpv1.NewPaymentServiceClient(conn)
	_, err := pc.RecordPayment(ctx, &tpv1.RecordPaymentRequest{ClaimId: "any", PaymentReference: "VIR",
		PaidAt: timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))})
	if f := fields(t, err); !slices.Contains(f, "paid_at") {
		t.Errorf("a payment dated 9999-12-31: fields %v", f)
	}
}

// The amount bounds are configuration (ADJ_MAX_LINE_AMOUNT,
// ADJ_MAX_CLAIM_AMOUNT): raised, the same line passes.
func TestAmountLimitsAreConfigurable(t *testing.T) {
	_, conn := startWith(t, redistest.Shared(t).Addr, func(c *config.Config) {
		c.MaxLineAmount, c.MaxClaimAmount = decimal.NewFromInt(60000), decimal.NewFromInt(200000)
	})
	pro := rppsFor(uint64(time.Now().UnixNano()) + 13)
	claim := &tpv1.Claim{
		ClaimId: pro + "-L", CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
		Professional:   &tpv1.Professional{Id: pro, IdKind: tpv1.ProfessionalIdKind_PROFESSIONAL_ID_KIND_RPPS, Profession: tpv1.Profession_PROFESSION_PHARMACIST, Departement: "75"},
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: "CARDL"},
		Nir:            nirN(int(time.Now().UnixNano()%900000) + 2),
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE, Mode: tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
		Lines: []*tpv1.ClaimLine{{LineId: "1", Code: "X", Category: tpv1.Category_CATEGORY_MEDICINE, CareDate: "2025-03-10",
			UnitPrice: "26000.00", Quantity: 2, ProductRate: "0.65"}},
	}
	_, err := tpv1.NewClaimServiceClient(conn).Simulate(context.Background(), &tpv1.SimulateRequest{Claim: claim})
	if status.Code(err) == codes.InvalidArgument {
		t.Fatalf("52 000.00 € under a 60 000.00 € limit refused: %v", err)
	}
}
