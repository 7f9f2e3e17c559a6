package organism

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var mut = Organism{Code: "MUT01", Kind: KindDelegataire, Departement: "57", Conventions: []Convention{{
	ID: "C1", ValidFrom: d("2023-01-01"), ValidTo: d("2027-12-31"),
	Operations: []Operation{OperationAdjudicate, OperationPayAMC},
	Remises:    []RemiseRule{{From: d("2023-01-01"), AmountPerBeneficiary: eur("36.50")}, {From: d("2025-07-01"), AmountPerBeneficiary: eur("73.00")}},
	AMC:        []AMCDelegation{{ContractID: "K1", Rate: eur("1")}, {ContractID: "K2", Rate: eur("0.5"), Ceiling: eur("3.00")}},
}}}

func TestPermits(t *testing.T) {
	t.Parallel()
	var ce *access.ClauseError
	cases := []struct {
		name   string
		o      Organism
		op     Operation
		day    string
		clause string
	}{
		{"caisse: everything", Organism{Kind: KindCaisse}, OperationRecordPayments, "2025-01-01", ""},
		{"délégataire, delegated, inside the COG period", mut, OperationAdjudicate, "2025-01-01", ""},
		{"délégataire, not delegated (R160-26 III 2°)", mut, OperationRecordPayments, "2025-01-01", "R160-26 III 2°"},
		{"délégataire, day after the convention (R160-26 II)", mut, OperationAdjudicate, "2028-01-01", "R160-26 II"},
		{"délégataire, last day of the convention", mut, OperationAdjudicate, "2027-12-31", ""},
	}
	for _, c := range cases {
		err := c.o.Permits(c.op, d(c.day))
		switch {
		case c.clause == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.clause != "" && (!errors.As(err, &ce) || ce.Clause != c.clause):
			t.Errorf("%s: %v, want clause %s", c.name, err, c.clause)
		}
	}
	if mut.Calendar().Name() != "alsace-moselle" {
		t.Errorf("organism in 57 pays on the Alsace-Moselle calendar, got %s", mut.Calendar().Name())
	}
}

func TestAMCLines(t *testing.T) {
	t.Parallel()
	lines := []LineShare{
		{LineID: "1", TiersPayant: true, TicketModerateur: eur("9.00"), PatientShare: eur("9.00")},
		{LineID: "2", TiersPayant: true, TicketModerateur: eur("4.25"), PatientShare: eur("4.25")},
		{LineID: "3", TiersPayant: false, TicketModerateur: eur("2.94"), PatientShare: eur("8.40")},
		{LineID: "4", TiersPayant: true, TicketModerateur: eur("1.53"), PatientShare: eur("0.00")}, // CSS pays the TM
	}
	got, ok := mut.AMCLines("K1", d("2025-04-14"), lines)
	if !ok || len(got) != 3 || !got[0].Amount.Equal(eur("9.00")) || !got[1].Amount.Equal(eur("4.25")) || !got[2].Amount.IsZero() {
		t.Fatalf("contract at 100 %% of the TM: %+v", got)
	}
	got, _ = mut.AMCLines("K2", d("2025-04-14"), lines)
	if !got[0].Amount.Equal(eur("3.00")) || !got[0].CeilingApplied || !got[1].Amount.Equal(eur("2.13")) || got[1].CeilingApplied {
		t.Fatalf("contract at 50 %% with a 3.00 ceiling (4.25 × 0.5 = 2.125 → 2.13): %+v", got)
	}
	if _, ok := mut.AMCLines("K9", d("2025-04-14"), lines); ok {
		t.Error("no delegation for an unknown contract")
	}
	if _, ok := mut.AMCLines("K1", d("2028-01-01"), lines); ok {
		t.Error("no delegation outside the convention")
	}
	caisse := Organism{Code: "CPAM", Kind: KindCaisse}
	if _, ok := caisse.AMCLines("K1", d("2025-01-01"), lines); ok {
		t.Error("a caisse holds no AMC delegation")
	}
}

func TestRemisesFor(t *testing.T) {
	t.Parallel()
	r := mut.RemisesFor(2025, [][]Span{
		{{From: d("2020-01-01")}},                                               // whole year: 181 days at 36.50 + 184 at 73.00
		{{From: d("2025-07-01"), To: d("2025-12-31")}},                          // half year at 73.00: 184 days
		{{From: d("2024-01-01"), To: d("2024-12-31")}},                          // not in 2025
		{{From: d("2025-01-01"), To: d("2025-01-31")}, {From: d("2025-12-01")}}, // 31 + 31 days
	})
	// days: 365 + 184 + 62 = 611 → 1.6740 beneficiary-years.
	// amount: (181×36.50 + 184×73 + 184×73 + 31×36.50 + 31×73) / 365
	//       = (6606.50 + 13432 + 13432 + 1131.50 + 2263) / 365 = 36865 / 365 = 101.00
	if r.Beneficiaries != 3 || !r.BeneficiaryYears.Equal(eur("1.6740")) || !r.Amount.Equal(eur("101.00")) {
		t.Fatalf("remises: %+v", r)
	}
}
