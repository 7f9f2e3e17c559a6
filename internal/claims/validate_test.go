package claims

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestValidNIR(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		nir  string
		want bool
	}{
		{"mainland NIR with its key", "185057800608491", true},
		{"wrong key", "185057800608492", false},
		{"Corsica 2A read as 19 for the key", "179032A01234550", true},
		{"Corsica 2B read as 18 for the key", "179032B01234577", true},
		{"Corsica 2A with the key of 2B", "179032A01234577", false},
		{"2A outside positions 6-7 is not a digit", "12A032001234550", false},
		{"letter in the order number", "179032A0A234550", false},
		{"14 characters", "18505780060849", false},
		{"16 characters", "1850578006084910", false},
		{"sex digit 0", "085057800608491", false},
		{"spaces are not stripped", "1 85 05 78 006 084 91", false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidNIR(tc.nir); got != tc.want {
				t.Errorf("ValidNIR = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	received := receivedOn("2025-03-11")
	ok := claim(gp("2025-03-10", "30.00"), med("2025-03-10", "10.00", "0.65"))
	cases := []struct {
		name   string
		mutate func(*Claim)
		want   []string
	}{
		{"valid claim", func(*Claim) {}, nil},
		{"empty claim id", func(c *Claim) { c.ID = " " }, []string{"claim_id"}},
		{"claim id over 64 characters", func(c *Claim) { c.ID = strings.Repeat("x", 65) }, []string{"claim_id"}},
		{"missing creation time", func(c *Claim) { c.CreatedAt = time.Time{} }, []string{"created_at"}},
		{"missing professional", func(c *Claim) { c.Professional = Professional{} }, []string{"professional.id", "professional.profession"}},
		{"unknown identification kind", func(c *Claim) { c.Identification.Kind = 42 }, []string{"identification.kind"}},
		{"card without its identifier", func(c *Claim) { c.Identification.Value = "" }, []string{"identification.value"}},
		{"no identifier needed for kind NONE", func(c *Claim) { c.Identification = Identification{Kind: IdentificationNone} }, nil},
		{"bad NIR key", func(c *Claim) { c.NIR = "185057800608492" }, []string{"nir"}},
		{"NIR month 13", func(c *Claim) { c.NIR = "185137800608425" }, []string{"nir"}},
		{"NIR first digit 3", func(c *Claim) { c.NIR = "385057800608488" }, []string{"nir"}},
		{"RPPS with its Luhn key", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDRPPS, "10000000009" }, nil},
		{"RPPS with a wrong key", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDRPPS, "10000000001" }, []string{"professional.id"}},
		{"RPPS of 10 digits", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDRPPS, "1000000000" }, []string{"professional.id"}},
		{"ADELI of 9 digits", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDADELI, "751234567" }, nil},
		{"ADELI of 8 digits", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDADELI, "75123456" }, []string{"professional.id"}},
		{"FINESS 2A", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDFINESS, "2A0000123" }, nil},
		{"FINESS with a letter at the end", func(c *Claim) { c.Professional.IDKind, c.Professional.ID = ProfessionalIDFINESS, "75071218A" }, []string{"professional.id"}},
		{"unknown identifier kind", func(c *Claim) { c.Professional.IDKind = 7 }, []string{"professional.id_kind"}},
		{"no kind: the id is not checked by kind", func(c *Claim) { c.Professional.ID = "PH12" }, nil},
		{"unspecified nature and mode", func(c *Claim) { c.Nature, c.Mode = 0, 0 }, []string{"mode", "nature"}},
		{"no lines", func(c *Claim) { c.Lines = nil }, []string{"lines"}},
		{"too many lines", func(c *Claim) {
			c.Lines = nil
			for i := 0; i <= MaxLines; i++ {
				c.Lines = append(c.Lines, with(gp("2025-03-10", "30.00"), func(l *Line) { l.ID = "L" + strconv.Itoa(i) }))
			}
		}, []string{"lines"}},
		{"duplicate and empty line ids", func(c *Claim) {
			c.Lines[1].ID = c.Lines[0].ID
			c.Lines = append(c.Lines, with(gp("2025-03-10", "1"), func(l *Line) { l.ID = "" }))
		},
			[]string{"lines[1].line_id", "lines[2].line_id"}},
		{"unknown category", func(c *Claim) { c.Lines[0].Category = 99 }, []string{"lines[0].category"}},
		{"care after receipt", func(c *Claim) { c.Lines[0].CareDate = d("2025-03-12") }, []string{"lines[0].care_date"}},
		{"care on the receipt day is fine", func(c *Claim) { c.Lines[0].CareDate = d("2025-03-11") }, nil},
		{"care before 1945", func(c *Claim) { c.Lines[0].CareDate = d("1944-12-31") }, []string{"lines[0].care_date"}},
		{"missing care date", func(c *Claim) { c.Lines[0].CareDate = time.Time{} }, []string{"lines[0].care_date"}},
		{"negative unit price", func(c *Claim) { c.Lines[0].UnitPrice = eur("-1") }, []string{"lines[0].unit_price"}},
		{"three decimals in the billed amount", func(c *Claim) { c.Lines[0].BilledAmount = eur("30.001") }, []string{"lines[0].billed_amount"}},
		{"amount above 100000", func(c *Claim) { c.Lines[0].UnitPrice = eur("100000.01") }, []string{"lines[0].unit_price"}},
		{"negative generic price and coefficient", func(c *Claim) {
			c.Lines[1].HighestGenericPrice = eur("-2")
			c.Lines[0].Coefficient = eur("-1")
		}, []string{"lines[0].coefficient", "lines[1].highest_generic_price"}},
		{"quantity 0 and 1000", func(c *Claim) { c.Lines[0].Quantity = 0; c.Lines[1].Quantity = 1000 }, []string{"lines[0].quantity", "lines[1].quantity"}},
		{"medicine without product rate", func(c *Claim) { c.Lines[1].ProductRate = decimal.Zero }, []string{"lines[1].product_rate"}},
		{"medicine rate above 100 %", func(c *Claim) { c.Lines[1].ProductRate = eur("1.5") }, []string{"lines[1].product_rate"}},
		{"physician line with a product rate", func(c *Claim) { c.Lines[0].ProductRate = eur("0.65") }, []string{"lines[0].product_rate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			c.Lines = append([]Line(nil), ok.Lines...)
			tc.mutate(&c)
			err := Validate(c, received)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestValidationErrorListsAllAndHidesValues checks that every problem is
// listed at once and that the message never contains the NIR or a value.
func TestValidationErrorListsAllAndHidesValues(t *testing.T) {
	t.Parallel()
	c := claim(gp("2025-03-10", "-30.00"))
	c.NIR = "285057800608499"
	c.ID = ""
	c.Lines[0].Quantity = 0
	err := Validate(c, receivedOn("2025-03-11"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 5 {
		t.Fatalf("Validate = %v, want 5 violations (claim_id, nir, unit_price, billed_amount, quantity)", err)
	}
	msg := err.Error()
	for _, secret := range []string{c.NIR, "-30", "2025-03-10"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error message %q contains a value (%s)", msg, secret)
		}
	}
	// Price runs the same validation first.
	if _, perr := newEngine(t).Price(input(c, adult(), "2025-03-11")); !errors.As(perr, &ve) {
		t.Errorf("Price = %v, want *ValidationError", perr)
	}
}
