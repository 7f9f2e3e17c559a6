package claims_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/legal"
)

// TestGuaranteeMatrix (D7): every identification kind × opposed or not ×
// rights open or closed on the care date × beneficiary known or not
// (L161-36-3, D161-13-2, docs/rules.md#guarantee). Only the card or the app,
// not opposed, of a known beneficiary gives the guarantee, and then even with
// the rights closed: the line is paid and the amount is to be recovered.
func TestGuaranteeMatrix(t *testing.T) {
	t.Parallel()
	table, err := legal.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := claims.NewEngine(table)
	day := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	kinds := []struct {
		kind claims.IdentificationKind
		name string
		// guarantee when not opposed and rights open
		ok claims.Guarantee
	}{
		{claims.IdentificationVitaleCard, "carte Vitale", claims.GuaranteeGuaranteed},
		{claims.IdentificationVitaleApp, "application carte Vitale", claims.GuaranteeGuaranteed},
		{claims.IdentificationADRi, "ADRi online check", claims.GuaranteeNone},
		{claims.IdentificationAttestation, "attestation de droits", claims.GuaranteeNone},
		{claims.IdentificationNone, "no proof (FSE dégradée)", claims.GuaranteeNone},
	}
	for _, k := range kinds {
		for _, opposed := range []bool{false, true} {
			for _, open := range []bool{true, false} {
				for _, unknown := range []bool{false, true} {
					name := fmt.Sprintf("D7 %s, opposed=%v, rights open=%v, unknown=%v", k.name, opposed, open, unknown)
					c := claims.Claim{
						ID: "M-1", CreatedAt: day("2025-03-10"), NIR: "185057800608491", Nature: claims.NatureMaladie, Mode: claims.ModeAMOOnly,
						Professional:   claims.Professional{ID: "10000000001", Profession: claims.ProfessionPhysician},
						Identification: claims.Identification{Kind: k.kind, Value: "1234567890"},
						Lines: []claims.Line{{ID: "1", Category: claims.CategoryPhysician, CareDate: day("2025-03-10"), UnitPrice: decimal.RequireFromString("30"),
							Quantity: 1, BilledAmount: decimal.RequireFromString("30"), Parcours: claims.ParcoursRespected}},
					}
					if k.kind == claims.IdentificationNone {
						c.Identification.Value = ""
					}
					r := claims.Rights{BirthDate: day("1985-05-20")}
					if open {
						r.Open = []claims.Period{{From: day("2020-01-01")}}
					} else {
						r.Open = []claims.Period{{From: day("2020-01-01"), To: day("2025-02-28")}}
					}
					if unknown {
						r = claims.Rights{}
					}
					p, err := e.Price(claims.Input{Claim: c, Rights: r, Opposed: opposed, ReceivedAt: day("2025-03-11"), BeneficiaryUnknown: unknown})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					want := k.ok
					if opposed || unknown {
						want = claims.GuaranteeNone
					}
					card := want == claims.GuaranteeGuaranteed
					d := p.Decision
					if d.Guarantee != want {
						t.Errorf("%s: guarantee %v, want %v", name, d.Guarantee, want)
					}
					// Opposed or rights closed: nothing payable under tiers payant, with the reason.
					switch {
					case opposed:
						if d.Status != claims.StatusRejected || !hasReason(d, "CARD_IN_OPPOSITION") || !d.Lines[0].PayableToProfessional.IsZero() {
							t.Errorf("%s: status %v reasons %v", name, d.Status, d.Reasons)
						}
					case (!open || unknown) && !card:
						if d.Lines[0].Status != claims.StatusRejected || !hasReason(d, "RIGHTS_CLOSED") {
							t.Errorf("%s: line %v reasons %v", name, d.Lines[0].Status, d.Reasons)
						}
					case !open:
						// Paid on the card's evidence, nothing deducted, all of it
						// to be recovered from the insured.
						l := d.Lines[0]
						if l.Status != claims.StatusAccepted || !l.PayableToProfessional.Equal(decimal.RequireFromString("21")) ||
							!l.AmountToRecover.Equal(decimal.RequireFromString("21")) || !hasReason(d, "RIGHTS_CLOSED_TO_RECOVER") || len(p.Requests) != 0 {
							t.Errorf("%s: line %v paid %s to recover %s reasons %v requests %d", name, l.Status, l.PayableToProfessional, l.AmountToRecover, d.Reasons, len(p.Requests))
						}
					default:
						if d.Status != claims.StatusAccepted || !d.Lines[0].AMO.Equal(decimal.RequireFromString("21")) || !d.Lines[0].AmountToRecover.IsZero() {
							t.Errorf("%s: status %v AMO %s", name, d.Status, d.Lines[0].AMO)
						}
					}
					if d.Proof != k.kind {
						t.Errorf("%s: proof %v, want %v", name, d.Proof, k.kind)
					}
				}
			}
		}
	}
}

func hasReason(d claims.Decision, code string) bool {
	for _, r := range d.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}
