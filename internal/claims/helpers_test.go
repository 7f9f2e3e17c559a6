package claims

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
)

// validNIR is a well-formed NIR (key 91).
const validNIR = "185057800608491"

var (
	tableOnce sync.Once
	realTable *legal.Table
	tableErr  error
)

// newEngine returns an engine on the REAL embedded table.
func newEngine(tb testing.TB) *Engine {
	tb.Helper()
	tableOnce.Do(func() { realTable, tableErr = legal.Load() })
	if tableErr != nil {
		tb.Fatalf("legal.Load: %v", tableErr)
	}
	return NewEngine(realTable)
}

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// receivedOn is a receipt instant on day s, mid-morning UTC.
func receivedOn(s string) time.Time { return d(s).Add(10 * time.Hour) }

func claim(lines ...Line) Claim {
	for i := range lines {
		if lines[i].ID == "" {
			lines[i].ID = "L" + strconv.Itoa(i+1)
		}
	}
	return Claim{
		ID:             "10000000001-F0001",
		CreatedAt:      time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC),
		Professional:   Professional{ID: "10000000001", Profession: ProfessionPhysician, Departement: "75"},
		Identification: Identification{Kind: IdentificationVitaleCard, Value: "card-0001"},
		NIR:            validNIR,
		Nature:         NatureMaladie,
		Mode:           ModeAMOOnly,
		Lines:          lines,
	}
}

func line(cat Category, care, price string, qty int) Line {
	p := eur(price)
	return Line{Category: cat, CareDate: d(care), UnitPrice: p, Quantity: qty, BilledAmount: p.Mul(decimal.NewFromInt(int64(qty)))}
}

func gp(care, price string) Line {
	l := line(CategoryPhysician, care, price, 1)
	l.Parcours = ParcoursRespected
	return l
}

func med(care, price, rate string) Line {
	l := line(CategoryMedicine, care, price, 1)
	l.ProductRate = eur(rate)
	return l
}

func with(l Line, f func(*Line)) Line { f(&l); return l }

// adult returns the rights of a beneficiary born on birth with rights open
// since 2000.
func rights(birth string) Rights {
	return Rights{BirthDate: d(birth), Open: []Period{{From: d("2000-01-01")}}, Debt: decimal.Zero, Organism: "CPAM-75"}
}

func adult() Rights { return rights("1985-06-15") }

func input(c Claim, r Rights, received string) Input {
	return Input{Claim: c, Rights: r, ReceivedAt: receivedOn(received)}
}

func eqAmount(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if want == "" {
		return
	}
	if !got.Equal(eur(want)) {
		t.Errorf("%s = %s, want %s", what, got.StringFixed(2), want)
	}
}

func hasReason(dec Decision, code string) bool {
	for _, r := range dec.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

func mustAdjudicate(t testing.TB, e *Engine, in Input, s franchise.State) (Decision, franchise.Increments) {
	t.Helper()
	dec, inc, err := e.Adjudicate(in, s)
	if err != nil {
		t.Fatalf("Adjudicate: %v", err)
	}
	return dec, inc
}
