package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// nir returns a valid NIR for beneficiary n: a 13-digit body and its key
// 97 − (body mod 97).
func nir(n int) string {
	body := fmt.Sprintf("1700575%06d", n)
	v, _ := strconv.ParseInt(body, 10, 64)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

func beneficiary(n int) *tpv1.Beneficiary {
	return &tpv1.Beneficiary{Nir: nir(n), BirthDate: "1970-06-15",
		Rights:             []*tpv1.DatePeriod{{Start: "2000-01-01"}},
		Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: "CPAM75", Period: &tpv1.DatePeriod{Start: "2000-01-01"}}},
		HasMedecinTraitant: true}
}

// claimFor builds claim i, always the same for the same i (a retry sends
// exactly the same content). One claim in four goes to the first twentieth of
// the beneficiaries, so that they reach the annual caps; care dates spread
// over the last week, professionals over a few per kind, so that the daily
// caps (PF count per professional and day, franchise per day) are reached too.
// It returns the claim and its beneficiary's number.
func claimFor(run string, i, beneficiaries int, now time.Time) (*tpv1.Claim, int) {
	r := rand.New(rand.NewPCG(uint64(i), 0x7e1e5))
	b := r.IntN(beneficiaries)
	if r.IntN(4) == 0 {
		b = r.IntN(max(1, beneficiaries/20))
	}
	care := now.AddDate(0, 0, -r.IntN(7)).Format(time.DateOnly)
	c := &tpv1.Claim{
		ClaimId:        fmt.Sprintf("CHAOS-%s-%05d", run, i),
		CreatedAt:      timestamppb.New(now.Add(-time.Minute)),
		Nir:            nir(b),
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: fmt.Sprintf("%010d", 1000000000+b)},
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE,
		Mode:           tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
	}
	pro := func(prefix string, p tpv1.Profession) *tpv1.Professional {
		return &tpv1.Professional{Id: fmt.Sprintf("%s%d", prefix, r.IntN(3)), Profession: p, Departement: "75"}
	}
	switch r.IntN(4) {
	case 0: // GP consultation: PF
		c.Professional = pro("GP", tpv1.Profession_PROFESSION_PHYSICIAN)
		c.Lines = []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: care,
			UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}}
	case 1: // laboratory: one PF per act, at most 4 per laboratory and day
		c.Professional = pro("LAB", tpv1.Profession_PROFESSION_LABORATORY)
		for l := range 2 + r.IntN(5) {
			c.Lines = append(c.Lines, &tpv1.ClaimLine{LineId: strconv.Itoa(l + 1), Code: "B" + strconv.Itoa(l), Category: tpv1.Category_CATEGORY_BIOLOGY,
				CareDate: care, UnitPrice: fmt.Sprintf("%d.%02d", 3+r.IntN(20), r.IntN(100)), Quantity: 1})
		}
	case 2: // pharmacy: 1 to 3 lines of 1 to 3 packs, franchise per pack
		c.Professional = pro("PH", tpv1.Profession_PROFESSION_PHARMACIST)
		for l := range 1 + r.IntN(3) {
			c.Lines = append(c.Lines, &tpv1.ClaimLine{LineId: strconv.Itoa(l + 1), Code: fmt.Sprintf("34009300000%02d", l), Category: tpv1.Category_CATEGORY_MEDICINE,
				CareDate: care, UnitPrice: fmt.Sprintf("%d.%02d", 2+r.IntN(30), r.IntN(100)), Quantity: int32(1 + r.IntN(3)), ProductRate: "0.65"})
		}
	default: // nurse: 1 to 6 acts, franchise per act with a daily cap
		c.Professional = pro("N", tpv1.Profession_PROFESSION_NURSE)
		c.Lines = []*tpv1.ClaimLine{{LineId: "1", Code: "AMI", Category: tpv1.Category_CATEGORY_AUXILIARY, CareDate: care,
			UnitPrice: "9.45", Quantity: int32(1 + r.IntN(6))}}
	}
	return c, b
}
