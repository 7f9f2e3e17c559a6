package grpcapi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
)

func seedClaim() *tpv1.Claim {
	return &tpv1.Claim{
		ClaimId: "10000000001-F1", CreatedAt: timestamppb.New(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)),
		Professional:   &tpv1.Professional{Id: "10000000001", Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"},
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: "1234567890"},
		Nir:            "185057800608491", Nature: tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE, Mode: tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
		Lines: []*tpv1.ClaimLine{
			{LineId: "1", Code: "3400930000000", Category: tpv1.Category_CATEGORY_MEDICINE, CareDate: "2025-03-10", UnitPrice: "8.40", Quantity: 1, ProductRate: "0.65"},
			{LineId: "2", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: "2025-03-10", UnitPrice: "30", Quantity: 1, BilledAmount: "35.00", Coefficient: "1", Parcours: tpv1.Parcours_PARCOURS_RESPECTED},
		},
	}
}

// FuzzDecodeClaim: any bytes decoded as a claim and validated never panic;
// a refusal is always a *claims.ValidationError with at least one field,
// none named twice, whose text never contains the NIR; an accepted claim has
// sane values.
func FuzzDecodeClaim(f *testing.F) {
	good, err := proto.Marshal(seedClaim())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:len(good)/2])
	received := time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p tpv1.Claim
		if proto.Unmarshal(data, &p) != nil {
			return
		}
		c, err := decodeClaim(&p, func() time.Time { return received })
		if err == nil {
			err = claims.Validate(c, received)
		}
		if err == nil {
			for _, l := range c.Lines {
				if l.UnitPrice.IsNegative() || l.Quantity < 1 || l.CareDate.After(received) {
					t.Fatalf("accepted an insane line: %+v", l)
				}
			}
			return
		}
		var ve *claims.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) == 0 {
			t.Fatalf("refusal is not a field list: %v", err)
		}
		named := map[string]bool{}
		for _, f := range ve.Fields {
			if named[f.Field] {
				t.Fatalf("%s named twice: %v", f.Field, ve)
			}
			named[f.Field] = true
		}
		if len(p.GetNir()) >= 5 && strings.Contains(ve.Error(), p.GetNir()) {
			t.Fatalf("the refusal echoes the NIR: %v", ve)
		}
		st := toStatus(err)
		if strings.Contains(st.Error(), "panic") {
			t.Fatal(st)
		}
	})
}
