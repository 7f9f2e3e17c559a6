package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func d(t *testing.T, s string) day {
	t.Helper()
	v, err := parseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testCode(t *testing.T) *code {
	t.Helper()
	f, err := os.Open("testdata/code.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := loadCode(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDays(t *testing.T) {
	if got := fromMillis(1451606400000); got.String() != "2016-01-01" {
		t.Errorf("fromMillis(2016-01-01) = %s", got)
	}
	if got := fromMillis(32472144000000); got != forever {
		t.Errorf("2999-01-01 = %s, want open", got)
	}
	if got := fromMillis(-86400000); got.String() != "1969-12-31" {
		t.Errorf("fromMillis(-1 day) = %s", got)
	}
	if got := (span{d(t, "2005-01-01"), d(t, "2008-01-01")}).String(); got != "2005-01-01 → 2007-12-31" {
		t.Errorf("span string = %q (the end is the last day)", got)
	}
}

func TestUnionAndUncovered(t *testing.T) {
	s := func(a, b string) span {
		to := forever
		if b != "" {
			to = d(t, b)
		}
		return span{d(t, a), to}
	}
	cover := union(
		[]span{s("2016-01-01", "2019-12-28"), s("2019-12-28", "")},
		[]span{s("1999-10-09", "2004-10-05"), s("2003-01-01", "2003-06-01"), {5, 5}},
	)
	want := []span{s("1999-10-09", "2004-10-05"), s("2016-01-01", "")}
	if len(cover) != 2 || cover[0] != want[0] || cover[1] != want[1] {
		t.Fatalf("union = %v, want %v", cover, want)
	}
	tests := []struct {
		p    span
		want []span
	}{
		{s("2017-01-01", ""), nil},
		{s("1990-01-01", "2000-01-01"), []span{s("1990-01-01", "1999-10-09")}},
		{s("2003-01-01", "2020-01-01"), []span{s("2004-10-05", "2016-01-01")}},
		{s("1990-01-01", ""), []span{s("1990-01-01", "1999-10-09"), s("2004-10-05", "2016-01-01")}},
		{s("2005-01-01", "2010-01-01"), []span{s("2005-01-01", "2010-01-01")}},
	}
	for _, tt := range tests {
		got := uncovered(tt.p, cover)
		if len(got) != len(tt.want) {
			t.Errorf("uncovered(%v) = %v, want %v", tt.p, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("uncovered(%v) = %v, want %v", tt.p, got, tt.want)
			}
		}
	}
	if overlaps(s("2005-01-01", "2010-01-01"), cover) {
		t.Error("overlaps: the gap 2004-10-05 → 2015-12-31 overlaps nothing")
	}
	if !overlaps(s("2004-01-01", "2010-01-01"), cover) {
		t.Error("overlaps: 2004 is covered")
	}
}

func TestLoadCode(t *testing.T) {
	c := testCode(t)
	if c.AsOf.String() != "2026-03-14" || len(c.Articles) != 7 {
		t.Fatalf("code as of %s with %d articles, want 2026-03-14 and 7", c.AsOf, len(c.Articles))
	}
	tests := []struct {
		num, spans string
		now        bool
	}{
		{"L160-13", "[2016-01-01 → open]", true}, // two versions merged
		{"L332-1", "[1985-12-21 → open]", true},
		{"L114-9", "[2025-02-28 → 2028-12-31]", true}, // deferred abrogation
		{"L162-16-7", "[2027-01-01 → open]", false},   // not yet in force; "num" had a trailing space
		{"D161-13-3", "[1999-10-09 → 2004-10-04 2016-07-01 → open]", true},
		{"R182-3", "[2004-12-30 → 2005-05-28 2007-05-03 → open]", true}, // ANNULE and MODIFIE_MORT_NE never in force
	}
	for _, tt := range tests {
		a := c.lookup(tt.num)
		if a == nil {
			t.Errorf("%s: missing", tt.num)
			continue
		}
		var parts []string
		for _, s := range a.InForce() {
			parts = append(parts, s.String())
		}
		if got := "[" + strings.Join(parts, " ") + "]"; got != tt.spans {
			t.Errorf("%s in force %s, want %s", tt.num, got, tt.spans)
		}
		if a.InForceOn(c.AsOf) != tt.now {
			t.Errorf("%s in force on %s = %v, want %v", tt.num, c.AsOf, !tt.now, tt.now)
		}
	}
	if a := c.lookup("D161-13-3"); a.First().String() != "1999-10-09" || a.Last() != forever {
		t.Errorf("D161-13-3 first %s last %s", a.First(), a.Last())
	}
	if c.lookup("R322-8") != nil {
		t.Error("R322-8 is not in the test code")
	}
}

func TestLoadCodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      "{",
		"not a code":    `{"type":"section","data":{"title":"Code de la sécurité sociale"}}`,
		"another code":  `{"type":"code","data":{"title":"Code du travail","dateDebutVersion":"2026-03-14"}}`,
		"no date":       `{"type":"code","data":{"title":"Code de la sécurité sociale"}}`,
		"empty":         `{"type":"code","data":{"title":"Code de la sécurité sociale","dateDebutVersion":"2026-03-14"},"children":[]}`,
		"bad timestamp": `{"type":"code","data":{"title":"Code de la sécurité sociale","dateDebutVersion":"2026-03-14"},"children":[{"type":"article","data":{"num":"L1","articleVersions":[{"dateDebut":"x"}]}}]}`,
	} {
		if _, err := loadCode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// findings runs one source through check and returns its lines.
func findings(t *testing.T, c *code, src source) (problems, notes []string) {
	t.Helper()
	res := check(c, []source{src})
	for _, f := range res.Findings {
		if f.Note {
			notes = append(notes, f.String())
		} else {
			problems = append(problems, f.String())
		}
	}
	return problems, notes
}

func TestCheckValuePeriods(t *testing.T) {
	c := testCode(t)
	per := func(from, to string) span {
		p := span{d(t, from), forever}
		if to != "" {
			p.To = d(t, to) + 1
		}
		return p
	}
	tests := []struct {
		name, title string
		period      span
		want        string // substring of the only problem, "" for none
	}{
		{"in force throughout", "Code de la sécurité sociale, art. R160-5", per("2016-01-01", ""), ""},
		{"starts before the first version", "art. R160-5", per("2010-01-01", ""),
			"t.yaml:3: article R160-5: value 2010-01-01 (2010-01-01 → open) starts before the first version of R160-5 in the code (2016-01-01)"},
		{"ends before the first version", "art. R160-5 II", per("2000-01-01", "2003-12-31"),
			"value 2010-01-01 (2000-01-01 → 2003-12-31) ends before the first version of R160-5 in the code (2016-01-01)"},
		{"former number absent from the code covers the earlier part", "art. R160-5 (anc. R322-1 1°)", per("2005-01-01", ""), ""},
		{"former number in the code covers the earlier part", "art. L160-13 (anc. L332-1)", per("1990-01-01", ""), ""},
		{"former number in the code, period earlier still", "art. L160-13 (anc. L332-1)", per("1980-01-01", ""),
			"starts before the first version of L160-13 (with former L332-1) in the code (1985-12-21)"},
		{"gap between versions", "art. D161-13-3", per("2003-01-01", "2009-12-31"),
			"D161-13-3 not in force from 2004-10-05 to 2009-12-31"},
		{"annulled version is a gap", "art. R182-3", per("2006-01-01", "2006-12-31"),
			"R182-3 not in force from 2006-01-01 to 2006-12-31"},
		{"runs past a deferred abrogation", "art. L114-9", per("2025-03-01", ""),
			"ends after the end of L114-9 (abrogated from 2029-01-01, deferred)"},
		{"starts after the end", "art. L114-9", per("2030-01-01", ""),
			"starts after the end of L114-9 (abrogated from 2029-01-01, deferred)"},
		{"former only, absent, closed before the code's date", "anc. art. R322-8", per("2010-01-01", "2019-12-31"), ""},
		{"former only, absent, still open", "anc. art. R322-8", per("2011-01-01", ""),
			"article R322-8: value 2010-01-01 (2011-01-01 → open) runs past 2026-03-14, but this former article is not in the consolidated code of that date"},
		{"current article absent", "art. L999-1", per("2011-01-01", ""),
			"article L999-1: not in the Code de la sécurité sociale"},
		{"other code not looked up", "Code du travail, art. L3133-1", per("2011-01-01", ""), ""},
		{"decree only", "Décret n° 2004-1453 du 23 décembre 2004", per("2005-01-01", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, _ := findings(t, c, source{File: "t.yaml", Line: 3, Text: tt.title, Kind: kindValue, Period: tt.period, Label: "value 2010-01-01"})
			switch {
			case tt.want == "" && len(problems) > 0:
				t.Errorf("unexpected problems %q", problems)
			case tt.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.want)):
				t.Errorf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

func TestCheckBasis(t *testing.T) {
	c := testCode(t)
	open := span{d(t, "2016-01-01"), forever}
	closed := span{d(t, "2000-01-01"), d(t, "2004-01-01")}
	tests := []struct {
		title  string
		period span
		open   bool
		want   string
	}{
		{"art. L160-13 I", open, true, ""},
		{"art. L162-16-7", open, true, "legal basis of a series still in force, but it is not in force (next version from 2027-01-01) on 2026-03-14"},
		{"art. R160-5", closed, false, "legal basis: no version in force over the series' period (2000-01-01 → 2003-12-31)"},
		{"art. D161-13-3", closed, false, ""},
		{"art. R160-16 (anc. R322-8)", open, true, "article R160-16: not in the Code de la sécurité sociale"},
	}
	for _, tt := range tests {
		problems, _ := findings(t, c, source{File: "t.yaml", Line: 1, Text: tt.title, Kind: kindBasis, Period: tt.period, Open: tt.open})
		switch {
		case tt.want == "" && len(problems) > 0:
			t.Errorf("%s: unexpected problems %q", tt.title, problems)
		case tt.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.want)):
			t.Errorf("%s: problems %q, want one containing %q", tt.title, problems, tt.want)
		}
	}
}

func TestCheckText(t *testing.T) {
	c := testCode(t)
	text := "Line one cites L160-13 II.\n" +
		"Line two: L162-16-7 applies.\n" +
		"Line three: R322-8 (repealed), former D322-5; L999-9.\n" +
		"Line four: the former L332-1."
	problems, notes := findings(t, c, source{File: "rules.md", Line: 10, Multiline: true, Text: text, Kind: kindText})
	wantProblems := []string{
		"rules.md:11: article L162-16-7: cited as current, but it is not in force (next version from 2027-01-01) on 2026-03-14, and the text does not say so",
		"rules.md:12: article L999-9: not in the Code de la sécurité sociale (no version of it in the consolidated code of 2026-03-14)",
	}
	wantNotes := []string{
		"rules.md:12: article R322-8: not checked: said to be former or abrogated, and absent from the consolidated code",
		"rules.md:12: article D322-5: not checked: said to be former or abrogated, and absent from the consolidated code",
		"rules.md:13: article L332-1: written as a former number, but in force on 2026-03-14 (its number may have been reused)",
	}
	if strings.Join(problems, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("problems\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(wantProblems, "\n"))
	}
	if strings.Join(notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
}

func TestSuccessorNamedElsewhere(t *testing.T) {
	c := testCode(t)
	res := check(c, []source{
		{File: "a.yaml", Line: 4, Text: "anc. art. R322-8", Kind: kindValue, Period: span{d(t, "2011-01-01"), forever}, Label: "value 2011-01-01"},
		{File: "b.yaml", Line: 7, Text: "art. R160-5 (anc. R322-8)", Kind: kindBasis, Period: span{d(t, "2016-01-01"), forever}, Open: true},
	})
	if res.Problems != 1 || !strings.HasSuffix(res.Findings[0].Msg, "; b.yaml:7 names its successor R160-5") {
		t.Errorf("findings %v", res.Findings)
	}
	if res.Citations != 3 || res.Articles != 2 {
		t.Errorf("%d citations, %d articles; want 3 and 2", res.Citations, res.Articles)
	}
}

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	rc := run([]string{"-code", "testdata/code.json", "-params", "testdata/params", "-rules", "testdata/rules.md"}, &out, &errOut)
	want := `testdata/params/early.yaml:7: article R160-5: legal basis: no version in force over the series' period (2000-01-01 → 2003-12-31)
testdata/params/early.yaml:14: article R160-5: value 2000-01-01 (2000-01-01 → 2003-12-31) ends before the first version of R160-5 in the code (2016-01-01)
testdata/params/tm/problems.yaml:9: article L999-1: not in the Code de la sécurité sociale (no version of it in the consolidated code of 2026-03-14)
testdata/params/tm/problems.yaml:15: article D161-13-3: value 2003-01-01 (2003-01-01 → 2009-12-31): D161-13-3 not in force from 2004-10-05 to 2009-12-31
testdata/params/tm/problems.yaml:25: article D322-5: value 2020-01-01 (2020-01-01 → open) runs past 2026-03-14, but this former article is not in the consolidated code of that date (abrogated or renumbered); testdata/rules.md:4 names its successor R160-5
testdata/params/tm/problems.yaml:27: article L114-9: value 2020-01-01 (2020-01-01 → open) starts before the first version of L114-9 in the code (2025-02-28)
testdata/params/tm/problems.yaml:27: article L114-9: value 2020-01-01 (2020-01-01 → open) ends after the end of L114-9 (abrogated from 2029-01-01, deferred); the data names no successor
testdata/rules.md:6: article L162-16-7: cited as current, but it is not in force (next version from 2027-01-01) on 2026-03-14, and the text does not say so
testdata/rules.md:9: article L3422-3: not in the Code de la sécurité sociale (no version of it in the consolidated code of 2026-03-14)
testdata/rules.md:15: article L999-9: not in the Code de la sécurité sociale (no version of it in the consolidated code of 2026-03-14)
law-check: 29 citations, 14 articles, 10 problems
`
	if rc != 1 || out.String() != want || errOut.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 1 and:\n%s", rc, errOut.String(), out.String(), want)
	}

	out.Reset()
	rc = run([]string{"-v", "-code", "testdata/code.json", "-params", "testdata/params", "-rules", "testdata/rules.md"}, &out, &errOut)
	for _, line := range []string{
		"testdata/params/tm/problems.yaml:20: article R322-8: not checked: former article, absent from the consolidated code (abrogated articles are not in it)",
		"testdata/params/tm/problems.yaml:25: not checked: outside the CSS: Décret n° 2019-1 du 1er janvier 2019",
		"testdata/params/tm/ok.yaml:19: article L3133-1: not checked: outside the CSS (Code du travail)",
		"testdata/rules.md:14: article L251-2: not checked: outside the CSS (CASF)",
		"testdata/rules.md:18: not checked: outside the CSS: décret n° 2004-1453 du 23 décembre 2004",
	} {
		if rc != 1 || !strings.Contains(out.String(), line+"\n") {
			t.Errorf("-v: exit %d, output lacks %q:\n%s", rc, line, out.String())
		}
	}

	out.Reset()
	if rc := run([]string{"-code", "testdata/code.json", "-params", "testdata/params/tm", "-rules", "/dev/null"}, &out, &errOut); rc != 1 {
		t.Errorf("tm only: exit %d, want 1", rc)
	}
}

func TestRunClean(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/rules.md", []byte("Basis: L160-13 II; R160-5 (anc. R322-1).\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	rc := run([]string{"-code", "testdata/code.json", "-rules", dir + "/rules.md"}, &out, &errOut)
	if rc != 0 || out.String() != "law-check: 3 citations, 3 articles, 0 problems\n" {
		t.Errorf("exit %d, output %q", rc, out.String())
	}
}

func TestRunUsage(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(bad+"/bad.yaml", []byte("values:\n  not-a-date:\n    value: \"1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-code", "testdata/code.json", "-params", bad},
		nil,
		{"-code", "testdata/code.json"},
		{"-params", "testdata/params"},
		{"-code", "testdata/code.json", "-rules", "testdata/rules.md", "extra"},
		{"-nope"},
		{"-code", "testdata/missing.json", "-rules", "testdata/rules.md"},
		{"-code", "testdata/rules.md", "-rules", "testdata/rules.md"},
		{"-code", "testdata/code.json", "-params", "testdata/missing"},
		{"-code", "testdata/code.json", "-params", "testdata/params", "-rules", "testdata/missing.md"},
	} {
		var out, errOut bytes.Buffer
		if rc := run(args, &out, &errOut); rc != 2 || errOut.Len() == 0 {
			t.Errorf("run(%q) = %d (stderr %q), want 2 and a message", args, rc, errOut.String())
		}
	}
}
