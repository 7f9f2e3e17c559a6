package claimbin

import (
	"encoding/json"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
)

var update = flag.Bool("update", false, "append the engine's new strings to dictionary.txt")

// engineStrings are the strings a priced claim repeats: every string
// literal of the engine's code (rules, articles, reason codes, amount
// names), every parameter id and value of the legal table.
func engineStrings(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if len(s) < 2 || len(s) > 160 || strings.ContainsAny(s, "%\n") || strings.HasPrefix(s, "json:") || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if _, ok := n.(*ast.ImportSpec); ok {
				return false
			}
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					add(s)
				}
			}
			return true
		})
	}
	table, err := legal.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range table.IDs() {
		add(id)
		s, _ := table.Series(id)
		for _, st := range s.Steps {
			add(st.Text)
			for _, r := range st.References {
				add(r.ID)
			}
		}
	}
	return out
}

// TestDictionary: every string of the engine is in the dictionary, whose
// entries are unique. The dictionary is append-only: go test -run
// TestDictionary -update appends the new strings at its end and never
// reorders the entries a released record may name.
func TestDictionary(t *testing.T) {
	var missing []string
	for _, s := range engineStrings(t) {
		if _, ok := dict.index[s]; !ok {
			missing = append(missing, s)
		}
	}
	if len(dict.index) != len(dict.words) {
		t.Errorf("dictionary.txt has duplicate entries (%d words, %d distinct)", len(dict.words), len(dict.index))
	}
	if len(missing) == 0 {
		return
	}
	if !*update {
		sort.Strings(missing)
		t.Fatalf("%d engine strings are not in dictionary.txt (they are stored in full; run go test ./internal/claims/claimbin -run TestDictionary -update): %q",
			len(missing), missing[:min(5, len(missing))])
	}
	f, err := os.OpenFile("dictionary.txt", os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range missing {
		if _, err := f.WriteString(s + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("appended %d strings to dictionary.txt", len(missing))
}

var engine = func() *claims.Engine {
	t, err := legal.Load()
	if err != nil {
		panic(err)
	}
	return claims.NewEngine(t)
}()

func day(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }

// randomPriced prices a random claim of every category, with fees,
// devices, exonerations, statuses and the régime local.
func randomPriced(r *rand.Rand) (claims.Priced, bool) {
	cats := []claims.Category{claims.CategoryPhysician, claims.CategoryMidwife, claims.CategoryAuxiliary, claims.CategoryDentist,
		claims.CategoryBiology, claims.CategoryMedicine, claims.CategoryTransport, claims.CategoryEmergencyTransport,
		claims.CategoryPharmacistService, claims.CategoryDispensingFee, claims.CategoryMedicalDevice}
	care := day("2025-01-01").AddDate(0, 0, r.IntN(500))
	c := claims.Claim{ID: "C" + strconv.Itoa(r.IntN(1e6)), CreatedAt: care.Add(20 * time.Hour), NIR: "185057800608491",
		Nature: claims.NatureMaladie, Mode: claims.ModeAMOOnly,
		Professional:   claims.Professional{ID: "P" + strconv.Itoa(r.IntN(9)), Profession: claims.ProfessionPhysician, Departement: "75"},
		Identification: claims.Identification{Kind: claims.IdentificationKind(1 + r.IntN(5)), Value: "X"}}
	for i := 0; i < 1+r.IntN(6); i++ {
		l := claims.Line{ID: strconv.Itoa(i), Code: "X", Category: cats[r.IntN(len(cats))], CareDate: care.AddDate(0, 0, -r.IntN(3)),
			UnitPrice: decimal.New(int64(50+r.IntN(20000)), -2), Quantity: 1 + r.IntN(4), Exoneration: claims.Exoneration(r.IntN(12)),
			ALDRelated: r.IntN(5) == 0, Parcours: claims.Parcours(1 + r.IntN(3)), Kind: claims.LineKind(r.IntN(3))}
		l.BilledAmount = l.Base().Add(decimal.New(int64(r.IntN(3)*500), -2))
		switch l.Category {
		case claims.CategoryMedicine:
			l.ProductRate = decimal.RequireFromString([]string{"1.00", "0.65", "0.30", "0.15"}[r.IntN(4)])
		case claims.CategoryMedicalDevice:
			l.ProductRate = decimal.RequireFromString([]string{"1.00", "0.60"}[r.IntN(2)])
		case claims.CategoryDispensingFee:
			if i > 0 && c.Lines[i-1].Category == claims.CategoryMedicine {
				l.AttachedTo = c.Lines[i-1].ID
			}
		}
		c.Lines = append(c.Lines, l)
	}
	rights := claims.Rights{BirthDate: day("1950-01-01").AddDate(r.IntN(70), 0, 0), Open: []claims.Period{{From: day("2000-01-01")}},
		Debt: decimal.New(int64(r.IntN(3000)), -2), Organism: "CPAM75"}
	if r.IntN(4) == 0 {
		rights.RegimeLocal = []claims.Period{{From: day("2010-01-01")}}
	}
	if r.IntN(4) == 0 {
		rights.Statuses = []claims.StatusPeriod{{Kind: claims.StatusInvalidityPension, Period: claims.Period{From: day("2010-01-01")}}}
	}
	if r.IntN(5) == 0 {
		rights.ALD = []claims.Period{{From: day("2010-01-01")}}
	}
	p, err := engine.Price(claims.Input{Claim: c, Rights: rights, ReceivedAt: care.AddDate(0, 0, r.IntN(40)).Add(9 * time.Hour), Opposed: r.IntN(15) == 0})
	if err != nil {
		return claims.Priced{}, false
	}
	if r.IntN(2) == 0 { // sometimes finished, with its totals
		grants, _ := franchise.Consume(franchise.State{}, p.Requests)
		p.Decision = engine.Finish(p, grants)
	}
	return p, true
}

// TestRoundTrip: a priced claim reads back exactly; its JSON form (never
// stored by a released version) is refused as malformed.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	n, jsonBytes, binBytes := 0, 0, 0
	for i := 0; i < 3000; i++ {
		p, ok := randomPriced(r)
		if !ok {
			continue
		}
		n++
		b := Encode(nil, p)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if !reflect.DeepEqual(normal(t, got), normal(t, p)) {
			t.Fatalf("claim %d: binary round trip differs\n got %+v\nwant %+v", i, got, p)
		}
		j, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(j); !errors.Is(err, ErrMalformed) {
			t.Fatalf("claim %d: a JSON record (no released version wrote one) decoded: %v", i, err)
		}
		jsonBytes += len(j)
		binBytes += len(b)
	}
	if n < 1000 {
		t.Fatalf("only %d of 3000 random claims priced", n)
	}
	t.Logf("%d priced claims: %d bytes of JSON, %d bytes binary on average (%.2f)", n, jsonBytes/n, binBytes/n, float64(binBytes)/float64(jsonBytes))
}

// normal is p through JSON: equal amounts compare equal whatever their
// representation (an explicit zero, the zero value).
func normal(t *testing.T, p claims.Priced) claims.Priced {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out claims.Priced
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryFieldRoundTrips sets every field of a Priced, one at a time, and
// checks that the record carries it: a field added to the engine's types
// and not to the record fails here.
func TestEveryFieldRoundTrips(t *testing.T) {
	base := claims.Priced{Decision: claims.Decision{Lines: []claims.LineDecision{{}}, Reasons: []claims.Reason{{}}, Trace: []claims.Trace{{}}},
		Requests: []franchise.Request{{}}, Sources: []claims.DeductionSource{{}}}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			if _, ok := v.Interface().(decimal.Decimal); ok {
				v.Set(reflect.ValueOf(decimal.New(123, -2)))
				return
			}
			if _, ok := v.Interface().(time.Time); ok {
				v.Set(reflect.ValueOf(time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)))
				return
			}
			for i := 0; i < v.NumField(); i++ {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
			return
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(path+"[0]", v.Index(i))
			}
			return
		}
		before := Encode(nil, base)
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x-" + path)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int32, reflect.Int64:
			v.SetInt(3)
		default:
			t.Fatalf("%s: kind %s not covered by the test", path, v.Kind())
		}
		got, err := Decode(Encode(nil, base))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if reflect.DeepEqual(Encode(nil, got), before) || !reflect.DeepEqual(Encode(nil, got), Encode(nil, base)) {
			t.Errorf("%s: not carried by the record", path)
		}
		v.Set(old)
	}
	walk("Priced", reflect.ValueOf(&base).Elem())
}

// TestMalformed: a truncated or extended record is an error, never a panic.
func TestMalformed(t *testing.T) {
	p, ok := randomPriced(rand.New(rand.NewPCG(1, 2)))
	for !ok {
		p, ok = randomPriced(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2)))
	}
	good := Encode(nil, p)
	for n := 0; n < len(good); n++ {
		if _, err := Decode(good[:n]); err == nil {
			t.Fatalf("record cut at %d of %d bytes decoded", n, len(good))
		}
	}
	if _, err := Decode(append(append([]byte(nil), good...), 0)); err == nil {
		t.Fatal("record with a trailing byte decoded")
	}
}

// FuzzDecode: any bytes either fail or decode to a record that encodes and
// decodes to itself.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 20; i++ {
		if p, ok := randomPriced(r); ok {
			f.Add(Encode(nil, p))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil || (len(b) > 0 && b[0] == '{') {
			return
		}
		again, err := Decode(Encode(nil, p))
		if err != nil {
			t.Fatalf("re-encoded record: %v", err)
		}
		if !reflect.DeepEqual(Encode(nil, again), Encode(nil, p)) {
			t.Fatal("re-encoded record differs")
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	p, _ := randomPriced(rand.New(rand.NewPCG(4, 4)))
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		buf = Encode(buf[:0], p)
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkDecode(b *testing.B) {
	p, _ := randomPriced(rand.New(rand.NewPCG(4, 4)))
	raw := Encode(nil, p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
