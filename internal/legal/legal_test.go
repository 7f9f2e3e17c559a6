package legal

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shopspring/decimal"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadReal(t *testing.T) *Table {
	t.Helper()
	tbl, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tbl
}

// TestLoadEmbedded validates the real table (the check the process runs at
// startup) and that every series the engine needs is present.
func TestLoadEmbedded(t *testing.T) {
	t.Parallel()
	tbl := loadReal(t)
	for _, id := range []string{
		"P-TM-1", "P-TM-2", "P-TM-2-AGE", "P-TM-3", "P-TM-4", "P-TM-5", "P-TM-6", "P-TM-7", "P-TM-8", "P-TM-8c",
		"P-TM-11", "P-TM-11-TARIFF", "P-TM-11-COEF", "P-TM-PHARMACIST",
		"P-PF-1", "P-PF-2", "P-PF-3", "P-PF-5",
		"P-FR-1", "P-FR-2", "P-FR-3", "P-FR-4", "P-FR-5", "P-FR-6", "P-FR-9", "P-FR-10", "P-FR-10-DAILY",
		"P-MAT-1-BEFORE", "P-MAT-1-AFTER", "P-LIM-1",
		"P-PAY-1", "P-PAY-2", "P-PAY-2-DAYS", "P-PAY-3", "P-PAY-3-FLOOR", "P-PAY-6", "P-PAY-7", "P-TP-DEBT",
	} {
		s, ok := tbl.Series(id)
		if !ok {
			t.Errorf("series %s missing", id)
			continue
		}
		for _, st := range s.Steps {
			if len(st.References) == 0 || st.References[0].Href == "" {
				t.Errorf("%s %s: no reference", id, st.From.Format(time.DateOnly))
			}
		}
	}
}

// TestValues checks the values of docs/rules.md#parameters on the day before
// and the day of each key.
func TestValues(t *testing.T) {
	t.Parallel()
	tbl := loadReal(t)
	cases := []struct {
		name, id, day, want, refID string
	}{
		{"PF 1.00 on 2024-05-14", "P-PF-1", "2024-05-14", "1.00", "P-PF-1"},
		{"PF 2.00 from 2024-05-15 (P-PF-1c)", "P-PF-1", "2024-05-15", "2.00", "P-PF-1c"},
		{"PF first day 2005-01-01", "P-PF-1", "2005-01-01", "1.00", "P-PF-1"},
		{"D9 PF annual cap 25 participations from 2025", "P-PF-2", "2025-06-01", "25", "P-PF-2c"},
		{"D9 PF annual cap 50 participations in 2024", "P-PF-2", "2024-12-31", "50", "P-PF-2"},
		{"D9 PF annual cap 50 participations in 2023", "P-PF-2", "2023-06-01", "50", "P-PF-2"},
		{"D9 PF annual amount cap 50.00 in 2024", "P-PF-2-AMOUNT", "2024-06-01", "50.00", "P-PF-2-AMOUNTb"},
		{"PF daily count 4", "P-PF-3", "2025-06-01", "4", "P-PF-3"},
		{"medicine franchise 0.50 on 2024-03-30", "P-FR-1", "2024-03-30", "0.50", "P-FR-1"},
		{"medicine franchise 1.00 on 2024-03-31", "P-FR-1", "2024-03-31", "1.00", "P-FR-1b"},
		{"auxiliary franchise 1.00 on 2024-03-31", "P-FR-2", "2024-03-31", "1.00", "P-FR-2"},
		{"transport franchise 2.00 on 2024-03-30", "P-FR-3", "2024-03-30", "2.00", "P-FR-3"},
		{"transport franchise 4.00 on 2024-03-31", "P-FR-3", "2024-03-31", "4.00", "P-FR-3"},
		{"auxiliary daily cap 2.00 on 2024-03-30", "P-FR-4", "2024-03-30", "2.00", "P-FR-4"},
		{"auxiliary daily cap 4.00 on 2024-03-31", "P-FR-4", "2024-03-31", "4.00", "P-FR-4"},
		{"transport daily cap 8.00 on 2024-03-31", "P-FR-5", "2024-03-31", "8.00", "P-FR-5"},
		{"franchise annual cap 50.00", "P-FR-6", "2025-01-01", "50.00", "P-FR-6"},
		{"pharmacist-service franchise 0.00 from 2021-09-01", "P-FR-10", "2021-09-01", "0.00", "P-FR-10"},
		{"physician 70 %", "P-TM-1", "2025-01-01", "0.70", "P-TM-1"},
		{"hors parcours majoration 40 points from 2009-01-31", "P-TM-2", "2009-01-31", "0.40", "P-TM-2"},
		{"dental 70 % on 2023-10-14", "P-TM-5", "2023-10-14", "0.70", "P-TM-5a"},
		{"dental 60 % on 2023-10-15", "P-TM-5", "2023-10-15", "0.60", "P-TM-5b"},
		{"transport 65 % on 2023-07-31", "P-TM-8", "2023-07-31", "0.65", "P-TM-8a"},
		{"transport 55 % on 2023-08-01", "P-TM-8", "2023-08-01", "0.55", "P-TM-8b"},
		{"emergency transport 100 % from 2023-01-01", "P-TM-8c", "2023-01-01", "1.00", "P-TM-8c"},
		{"heavy act 18 € on 2018-12-31", "P-TM-11", "2018-12-31", "18.00", "P-TM-11"},
		{"heavy act 24 € on 2019-01-01", "P-TM-11", "2019-01-01", "24.00", "P-TM-11c"},
		{"heavy-act tariff 91 € on 2010-12-31", "P-TM-11-TARIFF", "2010-12-31", "91.00", "P-TM-11"},
		{"heavy-act tariff 120 € on 2011-01-01", "P-TM-11-TARIFF", "2011-01-01", "120.00", "P-TM-11b"},
		{"heavy-act coefficient 60 on 2011-01-01", "P-TM-11-COEF", "2011-01-01", "60", "P-TM-11b"},
		{"payment deadline 7 working days from 2016-07-01", "P-PAY-1", "2016-07-01", "7", "P-PAY-1"},
		{"penalty floor 0.00 (docs/rules.md#late-penalty)", "P-PAY-3-FLOOR", "2025-01-01", "0.00", "P-PAY-3-FLOOR"},
		{"maternity: 4 months before", "P-MAT-1-BEFORE", "2025-01-01", "4", "P-MAT-1"},
		{"maternity: 12 days after", "P-MAT-1-AFTER", "2025-01-01", "12", "P-MAT-1"},
		{"time bar 2 years", "P-LIM-1", "2025-01-01", "2", "P-LIM-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := tbl.At(tc.id, day(tc.day))
			if err != nil {
				t.Fatalf("At: %v", err)
			}
			if v.Text != tc.want || !v.Decimal.Equal(mustDec(tc.want)) {
				t.Errorf("value = %q (%s), want %s", v.Text, v.Decimal, tc.want)
			}
			if v.RefID != tc.refID || v.ID != tc.id || v.RefTitle == "" || v.RefHref == "" {
				t.Errorf("value cites %q (%q, %q) of %q, want %s of %s", v.RefID, v.RefTitle, v.RefHref, v.ID, tc.refID, tc.id)
			}
		})
	}
}

func TestValueRange(t *testing.T) {
	t.Parallel()
	v, err := loadReal(t).At("P-FR-1", day("2020-06-01"))
	if err != nil {
		t.Fatal(err)
	}
	if !v.From.Equal(day("2008-01-01")) || !v.To.Equal(day("2024-03-30")) {
		t.Errorf("step = %s..%s, want 2008-01-01..2024-03-30", v.From.Format(time.DateOnly), v.To.Format(time.DateOnly))
	}
}

func TestMedicineRates(t *testing.T) {
	t.Parallel()
	v, err := loadReal(t).At("P-TM-7", day("2025-01-01"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"1", "0.65", "0.3", "0.15"} {
		if !v.Contains(mustDec(r)) {
			t.Errorf("rate %s not allowed", r)
		}
	}
	if v.Contains(mustDec("0.35")) {
		t.Error("rate 0.35 allowed")
	}
}

func TestNoValueAt(t *testing.T) {
	t.Parallel()
	tbl := loadReal(t)
	cases := []struct{ name, id, day string }{
		{"before the first key", "P-FR-1", "2007-12-31"},
		{"PF before 2005", "P-PF-1", "2004-12-31"},
		{"direct-debit threshold null by default", "P-TP-DEBT", "2025-01-01"},
		{"pharmacist daily cap not configured", "P-FR-10-DAILY", "2025-01-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tbl.At(tc.id, day(tc.day))
			if !errors.Is(err, ErrNoValueAt) {
				t.Fatalf("err = %v, want ErrNoValueAt", err)
			}
			if !strings.Contains(err.Error(), tc.id) || !strings.Contains(err.Error(), tc.day) {
				t.Errorf("message %q does not name the series and the date", err)
			}
		})
	}
	if _, err := tbl.At("P-NOPE", day("2025-01-01")); !errors.Is(err, ErrUnknownParameter) {
		t.Errorf("unknown id: err = %v", err)
	}
}

func TestInForce(t *testing.T) {
	t.Parallel()
	tbl := loadReal(t)
	vs := tbl.InForce(day("2024-04-01"))
	got := map[string]string{}
	for i, v := range vs {
		if i > 0 && vs[i-1].ID >= v.ID {
			t.Errorf("not sorted: %s before %s", vs[i-1].ID, v.ID)
		}
		got[v.ID] = v.Text
	}
	for id, want := range map[string]string{"P-PF-1": "1.00", "P-FR-1": "1.00", "P-TM-8": "0.55", "P-TM-5": "0.60"} {
		if got[id] != want {
			t.Errorf("%s = %q on 2024-04-01, want %s", id, got[id], want)
		}
	}
	if _, ok := got["P-TP-DEBT"]; ok {
		t.Error("P-TP-DEBT has no value and must not be listed")
	}
	if len(tbl.InForce(day("1990-01-01"))) != 0 {
		t.Error("parameters in force in 1990, before every key")
	}
}

const goodFile = `id: P-X-1
description: test series
unit: EUR
selected_by: care_date
confidence: M
legal_basis:
  - title: Code de la sécurité sociale, art. L160-13
    href: https://www.legifrance.gouv.fr/search/all?query=L160-13
values:
  2008-01-01:
    value: "0.50"
    reference:
      - id: P-X-1
        title: décret
        href: https://www.legifrance.gouv.fr/search/all?query=decret
  2024-03-31:
    value: "1.00"
    reference:
      - title: décret 2024
        href: https://www.legifrance.gouv.fr/search/all?query=decret+2024
`

// TestLoadFSRejectsBrokenTables feeds broken files through LoadFS and checks
// that each problem is reported.
func TestLoadFSRejectsBrokenTables(t *testing.T) {
	t.Parallel()
	replace := func(old, new string) string {
		if !strings.Contains(goodFile, old) {
			panic("fixture does not contain " + old)
		}
		return strings.Replace(goodFile, old, new, 1)
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"missing description", map[string]string{"a.yaml": replace("description: test series\n", "")}, []string{"description: required"}},
		{"missing unit and selected_by", map[string]string{"a.yaml": replace("unit: EUR\nselected_by: care_date\n", "")}, []string{"unit: required", "selected_by: required"}},
		{"unknown unit", map[string]string{"a.yaml": replace("unit: EUR", "unit: francs")}, []string{`unknown unit "francs"`}},
		{"unknown selected_by", map[string]string{"a.yaml": replace("selected_by: care_date", "selected_by: whenever")}, []string{"unknown selected_by"}},
		{"missing confidence", map[string]string{"a.yaml": replace("confidence: M\n", "")}, []string{"confidence: required"}},
		{"missing legal basis", map[string]string{"a.yaml": replace("legal_basis:\n  - title: Code de la sécurité sociale, art. L160-13\n    href: https://www.legifrance.gouv.fr/search/all?query=L160-13\n", "")},
			[]string{"legal_basis: at least one reference"}},
		{"unknown key (typo)", map[string]string{"a.yaml": replace("unit: EUR", "unit: EUR\nunits: EUR")}, []string{`unknown key "units"`}},
		{"unparseable date key", map[string]string{"a.yaml": replace("2024-03-31:", "2024-02-30:")}, []string{`key "2024-02-30" is not a date`}},
		{"unparseable decimal", map[string]string{"a.yaml": replace(`"1.00"`, `"one euro"`)}, []string{`value "one euro" is not a decimal`}},
		{"unquoted value", map[string]string{"a.yaml": replace(`"1.00"`, `1.00`)}, []string{"must be a quoted decimal string"}},
		{"missing value", map[string]string{"a.yaml": replace("    value: \"1.00\"\n", "")}, []string{"value is required"}},
		{"value without reference", map[string]string{"a.yaml": replace("    reference:\n      - title: décret 2024\n        href: https://www.legifrance.gouv.fr/search/all?query=decret+2024\n", "")},
			[]string{"2024-03-31: at least one reference is required"}},
		{"reference without href", map[string]string{"a.yaml": replace("        href: https://www.legifrance.gouv.fr/search/all?query=decret+2024\n", "")},
			[]string{"href: required"}},
		{"reference outside Légifrance", map[string]string{"a.yaml": replace("https://www.legifrance.gouv.fr/search/all?query=decret+2024", "https://example.org/decret")},
			[]string{"must be a Légifrance link"}},
		{"keys not increasing", map[string]string{"a.yaml": replace("2024-03-31:", "2007-03-31:")}, []string{"is not after 2008-01-01"}},
		{"duplicate key", map[string]string{"a.yaml": replace("2024-03-31:", "2008-01-01:")}, []string{"key 2008-01-01 is not after 2008-01-01"}},
		{"explicit end overlapping the next value", map[string]string{"a.yaml": replace(`value: "0.50"`, "value: \"0.50\"\n    to: 2024-03-31")},
			[]string{"to 2024-03-31 overlaps the next value from 2024-03-31"}},
		{"explicit end leaving a gap", map[string]string{"a.yaml": replace(`value: "0.50"`, "value: \"0.50\"\n    to: 2024-03-29")},
			[]string{"to 2024-03-29 leaves a gap before the next value from 2024-03-31"}},
		{"explicit end before the start", map[string]string{"a.yaml": replace(`value: "1.00"`, "value: \"1.00\"\n    to: 2020-01-01")},
			[]string{"to 2020-01-01 is before the effective date"}},
		{"duplicate id", map[string]string{"a.yaml": goodFile, "b/c.yaml": goodFile}, []string{`duplicate id "P-X-1"`}},
		{"not a mapping", map[string]string{"a.yaml": "- 1\n- 2\n"}, []string{"one mapping"}},
		{"invalid yaml", map[string]string{"a.yaml": "id: [\n"}, []string{"yaml:"}},
		{"empty table", map[string]string{"README.md": "nothing"}, []string{"no parameter file found"}},
		{"several problems reported at once", map[string]string{"a.yaml": replace("unit: EUR", "unit: francs"), "b.yaml": replace("id: P-X-1", "id: P-X-2\nfoo: 1")},
			[]string{"a.yaml", "unknown unit", "b.yaml", `unknown key "foo"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := fstest.MapFS{}
			for p, c := range tc.files {
				m[p] = &fstest.MapFile{Data: []byte(c)}
			}
			tbl, err := LoadFS(m)
			if err == nil {
				t.Fatalf("LoadFS accepted the table (%v)", tbl.IDs())
			}
			if !errors.Is(err, ErrInvalidTable) {
				t.Errorf("err does not wrap ErrInvalidTable: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFSExplicitEnd(t *testing.T) {
	t.Parallel()
	file := strings.Replace(goodFile, `value: "0.50"`, "value: \"0.50\"\n    to: 2024-03-30", 1)
	file = strings.Replace(file, `value: "1.00"`, "value: \"1.00\"\n    to: 2024-12-31", 1)
	tbl, err := LoadFS(fstest.MapFS{"a.yaml": &fstest.MapFile{Data: []byte(file)}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := tbl.At("P-X-1", day("2024-12-31")); err != nil || v.Text != "1.00" || v.RefID != "P-X-1" {
		t.Errorf("last day: %v %v", v, err)
	}
	if _, err := tbl.At("P-X-1", day("2025-01-01")); !errors.Is(err, ErrNoValueAt) {
		t.Errorf("after the explicit end: err = %v, want ErrNoValueAt", err)
	}
}

func TestRepealed(t *testing.T) {
	t.Parallel()
	file := goodFile + `  2025-01-01:
    value: null
    reference:
      - title: abrogation
        href: https://www.legifrance.gouv.fr/search/all?query=abrogation
`
	tbl, err := LoadFS(fstest.MapFS{"a.yaml": &fstest.MapFile{Data: []byte(file)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.At("P-X-1", day("2025-01-01")); !errors.Is(err, ErrNoValueAt) {
		t.Errorf("after null: err = %v", err)
	}
	if v, err := tbl.At("P-X-1", day("2024-12-31")); err != nil || !v.To.Equal(day("2024-12-31")) {
		t.Errorf("before null: %+v %v", v, err)
	}
}

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestLookup(t *testing.T) {
	t.Parallel()
	tbl := loadReal(t)
	if v, ok, err := tbl.Lookup("P-PF-1", day("2025-01-01")); err != nil || !ok || v.Text != "2.00" {
		t.Errorf("Lookup(P-PF-1) = %v %v %v", v.Text, ok, err)
	}
	if _, ok, err := tbl.Lookup("P-TP-DEBT", day("2025-01-01")); err != nil || ok {
		t.Errorf("Lookup(P-TP-DEBT) = %v %v, want no value and no error", ok, err)
	}
	if _, _, err := tbl.Lookup("P-NOPE", day("2025-01-01")); !errors.Is(err, ErrUnknownParameter) {
		t.Errorf("Lookup(unknown) err = %v", err)
	}
}
