package claims

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/payment"
)

// The project's rules document and the repository root, relative to this
// package's directory (go test runs in it).
const (
	rulesDocPath = "../../docs/rules.md"
	repoRoot     = "../.."
)

var (
	// anchorDef is an explicit anchor of docs/rules.md.
	anchorDef = regexp.MustCompile(`<a id="([^"]*)"></a>`)
	// anchorRef is a mention of docs/rules.md: a citation when "#" and an
	// anchor follow, a plain mention of the file otherwise.
	anchorRef = regexp.MustCompile(`docs/rules\.md(#[A-Za-z0-9_-]*)?`)
	// localLink is a link of docs/rules.md to one of its own anchors.
	localLink = regexp.MustCompile(`\]\(#([^)]*)\)`)
	// kebabID is the form of an anchor: lower-case kebab-case.
	kebabID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// lawArticle is an article number: L160-13, R160-16, D161-13-4, L251-2.
	lawArticle = regexp.MustCompile(`\b[LRD]\d{3}(-\d+)+\b`)
)

// sharedAnchors are the anchors other parts of the repository (the proto
// files, the README) link to: they must stay defined.
var sharedAnchors = []string{
	"guarantee", "due-date", "late-penalty", "fraud-regime", "claim-id-reuse", "insurance-nature", "time-bar",
	"opposition", "rights", "tm-rate", "hors-parcours", "heavy-act", "pf", "pf-daily-count-cap", "pf-annual-cap",
	"franchise", "franchise-daily-cap", "franchise-annual-cap", "exemptions", "maternity", "ald", "ame", "css",
	"minors", "hospital-stay", "amc-part", "remise-de-gestion", "convention", "rounding", "calendar", "identifiers",
}

var (
	docOnce    sync.Once
	docText    string
	docAnchors map[string]bool
	docErr     error
)

// rulesDoc returns the text of docs/rules.md and the set of anchors it
// defines.
func rulesDoc(tb testing.TB) (string, map[string]bool) {
	tb.Helper()
	docOnce.Do(func() {
		var b []byte
		b, docErr = os.ReadFile(rulesDocPath)
		docText = string(b)
		docAnchors = map[string]bool{}
		for _, m := range anchorDef.FindAllStringSubmatch(docText, -1) {
			docAnchors[m[1]] = true
		}
	})
	if docErr != nil {
		tb.Fatalf("read %s: %v", rulesDocPath, docErr)
	}
	return docText, docAnchors
}

// citedAnchors returns the anchors s cites and the number of citations
// ("docs/rules.md#") that name no anchor.
func citedAnchors(s string) (anchors []string, empty int) {
	for _, m := range anchorRef.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "": // the file itself, not a citation
		case "#":
			empty++
		default:
			anchors = append(anchors, m[1][1:])
		}
	}
	return anchors, empty
}

// checkCitation reports what is wrong with the Article of a trace or a
// reason: empty, naming the former external rule document, without an article of
// law or an anchor of docs/rules.md, or citing an anchor the document does
// not define.
func checkCitation(article string, anchors map[string]bool) []string {
	var pbs []string
	if strings.TrimSpace(article) == "" {
		return []string{"empty article"}
	}
	if strings.Contains(strings.ToUpper(article), "RULE"+"BOOK") || strings.Contains(article, "§") {
		pbs = append(pbs, "cites the former rule document")
	}
	if !lawArticle.MatchString(article) {
		pbs = append(pbs, "cites no article of law")
	}
	cited, empty := citedAnchors(article)
	if len(cited) == 0 {
		pbs = append(pbs, "cites no anchor of the rules document")
	}
	if empty > 0 {
		pbs = append(pbs, "cites the rules document with an empty anchor")
	}
	for _, a := range cited {
		if !anchors[a] {
			pbs = append(pbs, "anchor "+strconv.Quote(a)+" is not defined in the rules document")
		}
	}
	return pbs
}

// citationReport collects the citation problems of many decisions and
// reports each (article, problem) once, with its first occurrence and count.
type citationReport struct {
	anchors map[string]bool
	first   map[string]string
	count   map[string]int
}

func newCitationReport(anchors map[string]bool) *citationReport {
	return &citationReport{anchors: anchors, first: map[string]string{}, count: map[string]int{}}
}

// check records every trace or reason of dec whose Article checkCitation
// rejects.
func (r *citationReport) check(name string, dec Decision) {
	add := func(article, where string) {
		for _, pb := range checkCitation(article, r.anchors) {
			k := strconv.Quote(article) + ": " + pb
			if r.count[k] == 0 {
				r.first[k] = name + ", " + where
			}
			r.count[k]++
		}
	}
	for _, tr := range dec.Trace {
		add(tr.Article, "trace line "+strconv.Itoa(tr.Line)+" "+tr.Amount+" rule "+tr.Rule)
	}
	for _, rs := range dec.Reasons {
		add(rs.Article, "reason "+rs.Code+" line "+strconv.Itoa(rs.Line))
	}
}

// report fails t once per problem found.
func (r *citationReport) report(t *testing.T) {
	t.Helper()
	keys := make([]string, 0, len(r.count))
	for k := range r.count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("article %s (%d times; first in %s)", k, r.count[k], r.first[k])
	}
}

// TestRulesDocAnchors checks docs/rules.md itself: explicit anchors in
// lower-case kebab-case, each defined once, the anchors other files link to
// all present, every link of the document to its own anchors resolved, and
// every reason code and parameter id of the engine documented.
func TestRulesDocAnchors(t *testing.T) {
	t.Parallel()
	text, anchors := rulesDoc(t)
	seen := map[string]int{}
	for _, m := range anchorDef.FindAllStringSubmatch(text, -1) {
		seen[m[1]]++
		if !kebabID.MatchString(m[1]) {
			t.Errorf("anchor %q is not lower-case kebab-case", m[1])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("anchor %q defined %d times", id, n)
		}
	}
	for _, id := range sharedAnchors {
		if !anchors[id] {
			t.Errorf("anchor %q, linked from other files, is not defined", id)
		}
	}
	for _, m := range localLink.FindAllStringSubmatch(text, -1) {
		if !anchors[m[1]] {
			t.Errorf("link (#%s) to an anchor the document does not define", m[1])
		}
	}
	for _, code := range []string{
		ReasonCardInOpposition, ReasonDirectDebitRequired, ReasonTimeBarred, ReasonRightsClosed, ReasonGenericRefused,
		ReasonALDNotRecognised, ReasonHorsParcours, ReasonHeavyActFlat, ReasonExemptMaternity, ReasonExemptAME,
		ReasonExemptCSS, ReasonExemptHospitalStay, ReasonExemptMinor, ReasonPFLimitedToAMO, ReasonPFDailyCount,
		ReasonPFAnnualCap, ReasonFranchiseLimitedToAMO, ReasonFranchiseDailyCap, ReasonFranchiseAnnualCap,
		"BENEFICIARY_UNKNOWN", "AMC_NOT_DELEGATED", // added by the service
	} {
		if !strings.Contains(text, "`"+code+"`") {
			t.Errorf("reason code %s is not documented in the rules document", code)
		}
	}
	// Every parameter id of the table, and every sub-id its values name.
	tbl, err := legal.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range tbl.IDs() {
		s, _ := tbl.Series(id)
		ids := []string{id}
		for _, st := range s.Steps {
			for _, r := range st.References {
				if r.ID != "" {
					ids = append(ids, r.ID)
				}
			}
		}
		for _, x := range ids {
			if !strings.Contains(text, "`"+x+"`") {
				t.Errorf("parameter %s (series %s) is not in the parameter table of the rules document", x, id)
			}
		}
	}
}

// TestRulesDocCitations scans the repository's sources (Go, YAML, Markdown,
// proto) for citations of docs/rules.md and fails on any anchor the document
// does not define. In Go files every string literal is also checked on its
// own: no citation with an empty anchor, none of an undefined one.
func TestRulesDocCitations(t *testing.T) {
	t.Parallel()
	_, anchors := rulesDoc(t)
	docAbs, err := filepath.Abs(rulesDocPath)
	if err != nil {
		t.Fatal(err)
	}
	scanned, cited := 0, 0
	err = filepath.WalkDir(repoRoot, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := de.Name()
		if de.IsDir() {
			if path != repoRoot && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".yaml", ".yml", ".md", ".proto":
		default:
			return nil
		}
		if abs, _ := filepath.Abs(path); abs == docAbs {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte("docs/rules.md")) {
			return nil
		}
		scanned++
		rel, _ := filepath.Rel(repoRoot, path)
		for n, ln := range strings.Split(string(b), "\n") {
			as, _ := citedAnchors(ln)
			for _, a := range as {
				cited++
				if !anchors[a] {
					t.Errorf("%s:%d cites the anchor %q, which %s does not define", rel, n+1, a, rulesDocPath)
				}
			}
		}
		if filepath.Ext(name) == ".go" {
			checkGoLiterals(t, rel, b, anchors)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 || cited == 0 {
		t.Fatalf("%d files and %d anchors citing the rules document: the walk found nothing", scanned, cited)
	}
}

// checkGoLiterals checks the string literals of a Go file that cite
// docs/rules.md: no citation has an empty anchor, and every anchor exists.
func checkGoLiterals(t *testing.T, rel string, src []byte, anchors map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil { // not Go that compiles: the line scan still applies
		t.Logf("%s: not parsed: %v", rel, err)
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || !strings.Contains(s, "docs/rules.md") {
			return true
		}
		cited, empty := citedAnchors(s)
		pos := fset.Position(lit.Pos())
		if empty > 0 {
			t.Errorf("%s:%d: string literal %q cites the rules document with an empty anchor", rel, pos.Line, s)
		}
		for _, a := range cited {
			if !anchors[a] {
				t.Errorf("%s:%d: string literal cites the anchor %q, which %s does not define", rel, pos.Line, a, rulesDocPath)
			}
		}
		return true
	})
}

// TestDecisionsCiteRules runs the engine over the package's example claims
// (worked examples, date boundaries, rules), the fuzz corpus sequences and a
// few claims reaching the remaining branches, and checks that every trace and
// reason cites an article of law and a defined anchor of docs/rules.md.
func TestDecisionsCiteRules(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	_, anchors := rulesDoc(t)
	rep := newCitationReport(anchors)
	defer rep.report(t)
	var cases []exampleCase
	cases = append(cases, workedExampleCases()...)
	cases = append(cases, dateBoundaryCases()...)
	cases = append(cases, ruleCases()...)

	// Every identification kind, opposed or not.
	for _, kind := range []IdentificationKind{IdentificationVitaleCard, IdentificationVitaleApp, IdentificationADRi,
		IdentificationAttestation, IdentificationNone} {
		for _, opposed := range []bool{false, true} {
			c := claim(gp("2025-03-10", "30.00"), med("2025-03-10", "10.00", "0.65"))
			c.Identification = Identification{Kind: kind, Value: "card-1"}
			if kind == IdentificationNone {
				c.Identification.Value = ""
			}
			in := input(c, adult(), "2025-03-11")
			in.Opposed = opposed
			cases = append(cases, exampleCase{name: "identification " + strconv.Itoa(int(kind)) + " opposed " + strconv.FormatBool(opposed), in: in})
		}
	}
	// Every category, with and without the flags that change its rules,
	// for an adult, a minor, a CSS and an AME beneficiary, near the caps.
	for _, cat := range []Category{CategoryPhysician, CategoryMidwife, CategoryAuxiliary, CategoryDentist, CategoryBiology,
		CategoryMedicine, CategoryTransport, CategoryEmergencyTransport} {
		for _, flags := range []func(*Line){
			func(*Line) {},
			func(l *Line) { l.DuringHospitalStay = true },
			func(l *Line) { l.ALDRelated = true },
			func(l *Line) { l.MaternityExam = true },
			func(l *Line) { l.Parcours, l.UnitPrice, l.BilledAmount = ParcoursHors, eur("130.00"), eur("150.00") },
		} {
			l := line(cat, "2025-03-10", "30.00", 5)
			if cat == CategoryMedicine {
				l.ProductRate, l.GenericRefused, l.HighestGenericPrice = eur("0.65"), true, eur("20.00")
			}
			flags(&l)
			for _, r := range []Rights{adult(), rights("2015-01-01"),
				func() Rights { r := adult(); r.CSS = []Period{{From: d("2025-01-01")}}; return r }(),
				{BirthDate: d("1980-01-01"), AME: []Period{{From: d("2025-01-01")}}},
			} {
				cases = append(cases, exampleCase{name: "category " + strconv.Itoa(int(cat)), in: input(claim(l), r, "2025-03-11"),
					state: franchise.State{Year: 2025, PFYear: eur("49.00"), FranchiseYear: eur("49.50")}})
			}
		}
	}
	for _, tc := range cases {
		dec, _, err := e.Adjudicate(tc.in, tc.state)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rep.check(tc.name, dec)
	}

	// The fuzz corpus and the property-test seeds, as sequences against
	// evolving counters, so that the caps bind.
	for _, sq := range fuzzSequences(t) {
		ins, _ := randomClaims(sq.seed, sq.n)
		var s franchise.State
		for k, in := range ins {
			dec, inc, err := e.Adjudicate(in, s)
			if err != nil {
				t.Fatalf("seed %d claim %d: %v", sq.seed, k, err)
			}
			rep.check("seed "+strconv.FormatUint(sq.seed, 10)+" claim "+strconv.Itoa(k), dec)
			s = s.ForYear(dec.AdjudicatedOn.Year()).Apply(inc)
		}
	}

	// The direct-debit threshold, unset in the real table.
	tbl := withFile(t, "tiers_payant/seuil_prelevement.yaml", `id: P-TP-DEBT
description: test threshold
unit: EUR
selected_by: adjudication_date
confidence: L
legal_basis:
  - title: Code de la sécurité sociale, art. L161-36-4 2°
    href: https://www.legifrance.gouv.fr/search/all?query=L161-36-4
values:
  2016-01-28:
    value: "10.00"
    reference:
      - title: test value
        href: https://www.legifrance.gouv.fr/search/all?query=L161-36-4
`)
	r := adult()
	r.Debt = eur("20.00")
	dec, _, err := NewEngine(tbl).Adjudicate(input(pharmacy(med("2025-06-03", "15.00", "0.65")), r, "2025-06-04"), franchise.State{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(dec, ReasonDirectDebitRequired) {
		t.Fatalf("direct-debit case without its reason: %+v", dec.Reasons)
	}
	rep.check("direct debit", dec)
}

// TestPaymentAssessmentsCiteRules checks the articles of the payment
// package's assessments, which the payment tracking sends to clients.
func TestPaymentAssessmentsCiteRules(t *testing.T) {
	t.Parallel()
	_, anchors := rulesDoc(t)
	tbl, err := legal.Load()
	if err != nil {
		t.Fatal(err)
	}
	regime := &payment.FraudRegime{Start: d("2025-05-15"), End: d("2025-08-14"), MaxWorkingDays: 30, DecisionRef: "CPAM-1"}
	for _, tc := range []struct {
		receipt, paid string
		fraud         *payment.FraudRegime
	}{
		{"2025-04-24", "2025-05-06", nil}, {"2025-04-24", "2025-05-07", nil}, {"2025-04-24", "2025-05-12", nil},
		{"2025-06-02", "2025-07-11", regime}, {"2025-06-02", "2025-07-17", regime}, {"2025-06-02", "2025-07-21", regime},
	} {
		a, err := payment.Penalty(tbl, d(tc.receipt), d(tc.paid), calendar.National(), eur("21.00"), tc.fraud)
		if err != nil {
			t.Fatal(err)
		}
		for _, pb := range checkCitation(a.Article, anchors) {
			t.Errorf("receipt %s paid %s: article %q: %s", tc.receipt, tc.paid, a.Article, pb)
		}
	}
}

type fuzzSequence struct {
	seed uint64
	n    int
}

// fuzzSequences returns the sequences of the fuzz corpus
// (testdata/fuzz/FuzzEngineInvariants), FuzzEngineInvariants' own seeds and
// a sample of TestEngineInvariants' seeds.
func fuzzSequences(t *testing.T) []fuzzSequence {
	t.Helper()
	out := []fuzzSequence{{1, 10}, {42, 60}}
	for i := uint64(0); i < 60; i += 6 {
		out = append(out, fuzzSequence{i*7919 + 1, 40})
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzEngineInvariants")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fuzz corpus: %v", err)
	}
	names := make([]string, 0, len(entries))
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	arg := regexp.MustCompile(`^uint(?:64|8)\((\d+)\)$`)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var vals []uint64
		for _, ln := range strings.Split(string(b), "\n") {
			if m := arg.FindStringSubmatch(strings.TrimSpace(ln)); m != nil {
				v, err := strconv.ParseUint(m[1], 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				vals = append(vals, v)
			}
		}
		if len(vals) != 2 {
			t.Fatalf("%s: want a seed and a length, got %v", name, vals)
		}
		out = append(out, fuzzSequence{vals[0], int(vals[1]%80) + 1})
	}
	return out
}
