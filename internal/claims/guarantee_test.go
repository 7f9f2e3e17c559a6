package claims_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/legal"
)

// TestGuaranteeMatrix: every identification kind × opposed or not × rights
// open or closed on the care date (L161-36-3, décret 2016-1069,
// docs/rules.md#guarantee).
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
		{claims.IdentificationADRi, "ADRi online check", claims.GuaranteeAltProof},
		{claims.IdentificationAttestation, "attestation de droits", claims.GuaranteeAltProof},
		{claims.IdentificationNone, "no proof (FSE dégradée)", claims.GuaranteeNone},
	}
	for _, k := range kinds {
		for _, opposed := range []bool{false, true} {
			for _, open := range []bool{true, false} {
				name := fmt.Sprintf("%s, opposed=%v, rights open=%v", k.name, opposed, open)
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
				p, err := e.Price(claims.Input{Claim: c, Rights: r, Opposed: opposed, ReceivedAt: day("2025-03-11")})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := k.ok
				if opposed || !open {
					want = claims.GuaranteeNone
				}
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
				case !open:
					if d.Lines[0].Status != claims.StatusRejected || !hasReason(d, "RIGHTS_CLOSED") {
						t.Errorf("%s: line %v reasons %v", name, d.Lines[0].Status, d.Reasons)
					}
				default:
					if d.Status != claims.StatusAccepted || !d.Lines[0].AMO.Equal(decimal.RequireFromString("21")) {
						t.Errorf("%s: status %v AMO %s", name, d.Status, d.Lines[0].AMO)
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
