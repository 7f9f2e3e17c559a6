package claims

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func canonicalSample() Claim {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	return Claim{
		ID: "PH1-0001", CreatedAt: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		Professional:   Professional{ID: "PH1", Profession: ProfessionPharmacist, Departement: "75"},
		Identification: Identification{Kind: IdentificationVitaleCard, Value: "1000000001"},
		NIR:            "185057800608436", Nature: NatureMaladie, Mode: ModeAMOOnly,
		Lines: []Line{{ID: "1", Code: "3400930000000", Category: CategoryMedicine, CareDate: day,
			UnitPrice: decimal.RequireFromString("12.50"), Quantity: 2, BilledAmount: decimal.RequireFromString("25"),
			ProductRate: decimal.RequireFromString("0.65")}},
	}
}

// mutate changes the leaf field at v (addressable) to another value of its
// kind; it reports false for a kind it does not know.
func mutate(v reflect.Value) bool {
	switch x := v.Addr().Interface().(type) {
	case *time.Time:
		*x = x.Add(time.Hour)
	case *decimal.Decimal:
		*x = x.Add(decimal.RequireFromString("0.01"))
	default:
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Int, reflect.Int32, reflect.Int64:
			v.SetInt(v.Int() + 1)
		case reflect.Bool:
			v.SetBool(!v.Bool())
		default:
			return false
		}
	}
	return true
}

// Every field of a claim, down to each field of a line, changes its
// canonical encoding: a retry that differs in any field is not a retry.
func TestCanonicalCoversEveryField(t *testing.T) {
	base := canonicalSample().AppendCanonical(nil)
	var walk func(path string, get func(*Claim) reflect.Value)
	walk = func(path string, get func(*Claim) reflect.Value) {
		probe := canonicalSample()
		v := get(&probe)
		switch v.Interface().(type) {
		case time.Time, decimal.Decimal:
		default:
			if v.Kind() == reflect.Struct {
				for i := 0; i < v.NumField(); i++ {
					i := i
					walk(path+"."+v.Type().Field(i).Name, func(c *Claim) reflect.Value { return get(c).Field(i) })
				}
				return
			}
			if v.Kind() == reflect.Slice {
				walk(path+"[0]", func(c *Claim) reflect.Value { return get(c).Index(0) })
				return
			}
		}
		if !mutate(v) {
			t.Errorf("%s: kind %s not handled by the test", path, v.Kind())
			return
		}
		if bytes.Equal(probe.AppendCanonical(nil), base) {
			t.Errorf("%s: changing it leaves the canonical encoding unchanged (add it to AppendCanonical)", path)
		}
	}
	walk("Claim", func(c *Claim) reflect.Value { return reflect.ValueOf(c).Elem() })
}

// Claims that say the same thing encode alike; the order and number of lines
// matter.
func TestCanonicalEquivalences(t *testing.T) {
	base := canonicalSample()
	same := canonicalSample()
	same.Lines[0].UnitPrice = decimal.RequireFromString("12.5000")
	same.Lines[0].BilledAmount = decimal.New(2500, -2)
	same.Lines[0].Coefficient = decimal.RequireFromString("0.00")
	same.CreatedAt = base.CreatedAt.In(time.FixedZone("CET", 3600))
	if !bytes.Equal(base.AppendCanonical(nil), same.AppendCanonical(nil)) {
		t.Error("equal amounts or the same instant in another zone encode differently")
	}
	// Round-tripped through JSON (as a stored claim would be), still alike.
	raw, _ := json.Marshal(base)
	var back Claim
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(base.AppendCanonical(nil), back.AppendCanonical(nil)) {
		t.Error("a claim read back from JSON encodes differently")
	}
	two := canonicalSample()
	second := two.Lines[0]
	second.ID = "2"
	two.Lines = append(two.Lines, second)
	swapped := canonicalSample()
	swapped.Lines = []Line{second, two.Lines[0]}
	if bytes.Equal(two.AppendCanonical(nil), swapped.AppendCanonical(nil)) || bytes.Equal(two.AppendCanonical(nil), base.AppendCanonical(nil)) {
		t.Error("line order or line count does not change the encoding")
	}
	huge := canonicalSample()
	huge.Lines[0].UnitPrice = decimal.RequireFromString("123456789012345678901234.5")
	huge2 := canonicalSample()
	huge2.Lines[0].UnitPrice = decimal.RequireFromString("123456789012345678901234.6")
	if bytes.Equal(huge.AppendCanonical(nil), huge2.AppendCanonical(nil)) {
		t.Error("amounts beyond an int64 coefficient are not told apart")
	}
}
