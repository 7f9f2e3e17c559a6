package main

import (
	"fmt"
	"strings"
	"testing"
)

// cited is what a test expects of one citation.
type cited struct {
	Num, Text, Code string
	Former, Marked  bool
	Successor       string
}

func (c cited) String() string {
	return fmt.Sprintf("%s %q code=%q former=%v marked=%v succ=%q", c.Num, c.Text, c.Code, c.Former, c.Marked, c.Successor)
}

func summarise(cs []citation) []cited {
	out := make([]cited, 0, len(cs))
	for _, c := range cs {
		out = append(out, cited{c.Num, c.Text, c.Code, c.Former, c.Marked, c.Successor})
	}
	return out
}

func TestExtractForms(t *testing.T) {
	tests := []struct {
		in   string
		want []cited
	}{
		{"Code de la sécurité sociale, art. L160-13 II", []cited{{Num: "L160-13", Text: "L160-13 II"}}},
		{"art. R160-5 17°", []cited{{Num: "R160-5", Text: "R160-5 17°"}}},
		{"article R. 160-5 3° bis", []cited{{Num: "R160-5", Text: "R. 160-5 3° bis"}}},
		{"l'article L. 161-36-3 al. 2", []cited{{Num: "L161-36-3", Text: "L. 161-36-3 al. 2"}}},
		{"D160-8 and LO111-3", []cited{{Num: "D160-8", Text: "D160-8"}, {Num: "LO111-3", Text: "LO111-3"}}},
		{"R161-47 I 1° a (rédaction de 2007)", []cited{{Num: "R161-47", Text: "R161-47 I 1° a"}}},
		{"D160-9 a) and D160-11 n'en fixe", []cited{{Num: "D160-9", Text: "D160-9 a)"}, {Num: "D160-11", Text: "D160-11"}}},
		{"L\u00a0160-13\u00a0II", []cited{{Num: "L160-13", Text: "L\u00a0160-13\u00a0II"}}},
		{"UNCAM within R160-19's range", []cited{{Num: "R160-19", Text: "R160-19"}}},
		{"R160-26.", []cited{{Num: "R160-26", Text: "R160-26"}}},
		// Not article numbers: decrees, laws, parameter ids, incomplete numbers.
		{"Décret n° 2004-1453 du 23 décembre 2004, art. 1er", nil},
		{"Loi n° 2020-1576, art. 51 VIII", nil},
		{"P-TM-11, XL160-13, D160-x à confirmer, L160-13a", nil},
	}
	for _, tt := range tests {
		cs, _ := extract(tt.in)
		got := summarise(cs)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("extract(%q)\n got %v\nwant %v", tt.in, got, tt.want)
		}
	}
}

func TestExtractFormerAndMarked(t *testing.T) {
	tests := []struct {
		in   string
		want []cited
	}{
		{"Code de la sécurité sociale, art. R160-5 (anc. R322-1 1°)", []cited{
			{Num: "R160-5", Text: "R160-5"},
			{Num: "R322-1", Text: "R322-1 1°", Former: true, Marked: true, Successor: "R160-5"},
		}},
		{"Code de la sécurité sociale, anc. art. R322-8 (participation de 18 euros)", []cited{
			{Num: "R322-8", Text: "R322-8", Former: true, Marked: true},
		}},
		{"art. L160-11, 1er alinéa (anc. L332-1)", []cited{
			{Num: "L160-11", Text: "L160-11"},
			{Num: "L332-1", Text: "L332-1", Former: true, Marked: true, Successor: "L160-11"},
		}},
		{"L160-9 et décret d'application (anc. D331-1)", []cited{
			{Num: "L160-9", Text: "L160-9"},
			{Num: "D331-1", Text: "D331-1", Former: true, Marked: true, Successor: "L160-9"},
		}},
		// A list after the marker is former as a whole.
		{"R160-16 (former R322-8 and R322-9)", []cited{
			{Num: "R160-16", Text: "R160-16"},
			{Num: "R322-8", Text: "R322-8", Former: true, Marked: true, Successor: "R160-16"},
			{Num: "R322-9", Text: "R322-9", Former: true, Marked: true, Successor: "R160-16"},
		}},
		{"their own rules until 31 March 2025 (former L162-1-12); neither", []cited{
			{Num: "L162-1-12", Text: "L162-1-12", Former: true, Marked: true},
		}},
		{"R182-9 (repealed) is gone; L114-9, abrogé en 2029, stays.", []cited{
			{Num: "R182-9", Text: "R182-9", Marked: true},
			{Num: "L114-9", Text: "L114-9", Marked: true},
		}},
		{"the repealed R182-9 and the ancien article L332-1", []cited{
			{Num: "R182-9", Text: "R182-9", Marked: true},
			{Num: "L332-1", Text: "L332-1", Former: true, Marked: true},
		}},
		// The marker belongs to one citation, not to its neighbour.
		{"D160-9 (former D322-5, last paragraph)", []cited{
			{Num: "D160-9", Text: "D160-9"},
			{Num: "D322-5", Text: "D322-5", Former: true, Marked: true, Successor: "D160-9"},
		}},
	}
	for _, tt := range tests {
		cs, _ := extract(tt.in)
		got := summarise(cs)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("extract(%q)\n got %v\nwant %v", tt.in, got, tt.want)
		}
	}
}

func TestExtractOtherCodes(t *testing.T) {
	tests := []struct {
		in   string
		want []cited
	}{
		// Named before, for the rest of the sentence.
		{"*Basis:* CASF L251-1 and following (aide médicale de l'État, L251-2 for the cover). **Deviation:** L160-13 I applies.", []cited{
			{Num: "L251-1", Text: "L251-1", Code: "CASF"},
			{Num: "L251-2", Text: "L251-2", Code: "CASF"},
			{Num: "L160-13", Text: "L160-13 I"},
		}},
		{"Code du travail L3133-1 (public holidays) and L3134-13; L160-13", []cited{
			{Num: "L3133-1", Text: "L3133-1", Code: "Code du travail"},
			{Num: "L3134-13", Text: "L3134-13", Code: "Code du travail"},
			{Num: "L160-13", Text: "L160-13"},
		}},
		// Named after, French style, for the whole list.
		{"les articles L. 1111-2 et L. 1111-3 du code de la santé publique et L. 160-13", []cited{
			{Num: "L1111-2", Text: "L. 1111-2", Code: "code de la santé publique"},
			{Num: "L1111-3", Text: "L. 1111-3", Code: "code de la santé publique"},
			{Num: "L160-13", Text: "L. 160-13"},
		}},
		// The CSS named explicitly is the CSS.
		{"Décret n° 2004-1453 du 23 décembre 2004; Code de la sécurité sociale, art. R160-20", []cited{
			{Num: "R160-20", Text: "R160-20"},
		}},
		{"`CSS art. L160-13 II; docs/rules.md#pf`", []cited{{Num: "L160-13", Text: "L160-13 II"}}},
		// A code named in one sentence does not reach the next.
		{"Code du travail L3422-2 (the days). Holidays kept by usage (L3422-3 for Mayotte).", []cited{
			{Num: "L3422-2", Text: "L3422-2", Code: "Code du travail"},
			{Num: "L3422-3", Text: "L3422-3"},
		}},
	}
	for _, tt := range tests {
		cs, _ := extract(tt.in)
		got := summarise(cs)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("extract(%q)\n got %v\nwant %v", tt.in, got, tt.want)
		}
	}
}

func TestExtractOutside(t *testing.T) {
	_, outs := extract("Décret n° 2007-1937 du 26 décembre 2007 (anc. D322-5 a); arrêté fixant le montant; Décision UNCAM du 22 janvier 2009; the décision produit")
	var got []string
	for _, o := range outs {
		got = append(got, o.Text)
	}
	want := []string{"Décret n° 2007-1937 du 26 décembre 2007", "arrêté fixant le montant", "Décision UNCAM du 22 janvier 2009"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("outside mentions\n got %q\nwant %q", got, want)
	}
}

func TestClauses(t *testing.T) {
	in := "art. L160-13 II; R. 160-5. Next one! Then e.g. this | cell"
	var got []string
	for _, c := range clauses(in) {
		got = append(got, in[c[0]:c[1]])
	}
	want := []string{"art. L160-13 II;", " R. 160-5.", " Next one!", " Then e.g. this |", " cell"}
	if strings.Join(got, "/") != strings.Join(want, "/") {
		t.Errorf("clauses\n got %q\nwant %q", got, want)
	}
}

func TestOffsetsPointAtTheText(t *testing.T) {
	in := "Participation: L. 160-13 II and R160-5 17°."
	cs, _ := extract(in)
	for _, c := range cs {
		if in[c.Start:c.End] != c.Text {
			t.Errorf("%s: offsets give %q, want %q", c.Num, in[c.Start:c.End], c.Text)
		}
	}
}
