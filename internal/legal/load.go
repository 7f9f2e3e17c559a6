package legal

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"
)

// ErrInvalidTable is wrapped by every problem LoadFS reports.
var ErrInvalidTable = errors.New("invalid legal parameter table")

// legifrance is the prefix every reference link must have: the table cites
// the official publication (docs/rules.md#parameters).
const legifrance = "https://www.legifrance.gouv.fr/"

func knownUnit(u string) bool {
	switch u {
	case UnitEUR, UnitRate, UnitRateSet, UnitCount, UnitYears, UnitMonths, UnitDays, UnitWorkingDays, UnitCoefficient:
		return true
	}
	return false
}

func knownSelector(s string) bool {
	switch s {
	case SelectedByCareDate, SelectedByAdjudicationDate, SelectedByReceiptDate, SelectedByPaymentDate, SelectedByNotificationDate, SelectedByPublicationDate:
		return true
	}
	return false
}

func knownConfidence(c string) bool {
	switch c {
	case "H", "M", "L", "M-H":
		return true
	}
	return false
}

// Allowed keys of a series, of a dated value and of a reference.
func seriesKey(k string) bool {
	switch k {
	case "id", "description", "unit", "selected_by", "confidence", "legal_basis", "values", "last_reviewed", "documentation":
		return true
	}
	return false
}

func stepKey(k string) bool {
	switch k {
	case "value", "to", "confidence", "official_journal_date", "reference", "note":
		return true
	}
	return false
}

func refKey(k string) bool { return k == "id" || k == "title" || k == "href" }

// LoadFS parses and validates every *.yaml file of fsys (walked from its
// root) as one series. It reports all problems at once, each wrapping
// ErrInvalidTable and naming its file: missing required fields, unknown keys,
// unparseable dates or decimals, unquoted values, a value without reference,
// keys not strictly increasing, explicit "to" dates that overlap the next
// value or leave a gap before it, and duplicate ids.
func LoadFS(fsys fs.FS) (*Table, error) {
	t := &Table{series: map[string]*Series{}}
	files := map[string]string{} // id -> file, for duplicate reports
	var errs []error
	walkErr := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s, problems := parseSeries(data)
		for _, pb := range problems {
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidTable, p, pb))
		}
		if s == nil || s.ID == "" {
			return nil
		}
		if prev, dup := files[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%w: %s: duplicate id %q (also in %s)", ErrInvalidTable, p, s.ID, prev))
			return nil
		}
		files[s.ID] = p
		if len(problems) == 0 {
			t.series[s.ID] = s
		}
		return nil
	})
	if walkErr != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidTable, walkErr))
	}
	if len(t.series) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: no parameter file found", ErrInvalidTable))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for id := range t.series {
		t.ids = append(t.ids, id)
	}
	sort.Strings(t.ids)
	return t, nil
}

// parseSeries decodes and checks one file. It returns the series (possibly
// partial) and the list of problems found.
func parseSeries(data []byte) (*Series, []string) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []string{"yaml: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []string{"the file must hold one mapping"}
	}
	root := doc.Content[0]
	var pbs []string
	fail := func(format string, a ...any) { pbs = append(pbs, fmt.Sprintf(format, a...)) }

	fields := mapping(root, seriesKey, "", fail)
	s := &Series{}
	s.ID = scalar(fields["id"], "id", true, fail)
	s.Description = scalar(fields["description"], "description", true, fail)
	s.Unit = scalar(fields["unit"], "unit", true, fail)
	s.SelectedBy = scalar(fields["selected_by"], "selected_by", true, fail)
	s.Confidence = scalar(fields["confidence"], "confidence", true, fail)
	if s.Unit != "" && !knownUnit(s.Unit) {
		fail("unknown unit %q", s.Unit)
	}
	if s.SelectedBy != "" && !knownSelector(s.SelectedBy) {
		fail("unknown selected_by %q", s.SelectedBy)
	}
	if s.Confidence != "" && !knownConfidence(s.Confidence) {
		fail("unknown confidence %q (want H, M, L or M-H)", s.Confidence)
	}
	if lr := fields["last_reviewed"]; lr != nil {
		if _, err := time.Parse(time.DateOnly, lr.Value); err != nil {
			fail("last_reviewed: not a date (YYYY-MM-DD)")
		}
	}
	s.LegalBasis = references(fields["legal_basis"], "legal_basis", fail)
	if len(s.LegalBasis) == 0 {
		fail("legal_basis: at least one reference is required")
	}

	values := fields["values"]
	switch {
	case values == nil:
		fail("values: required")
	case values.Kind != yaml.MappingNode || len(values.Content) == 0:
		fail("values: must map effective dates to values")
	default:
		for i := 0; i+1 < len(values.Content); i += 2 {
			k, v := values.Content[i], values.Content[i+1]
			if st, ok := parseStep(s, k, v, fail); ok {
				if n := len(s.Steps); n > 0 && !st.From.After(s.Steps[n-1].From) {
					fail("values: key %s is not after %s (keys must be strictly increasing)",
						k.Value, s.Steps[n-1].From.Format(time.DateOnly))
					continue
				}
				s.Steps = append(s.Steps, st)
			}
		}
	}
	// Close each step: explicit "to" must end the day before the next key.
	for i := range s.Steps {
		st := &s.Steps[i]
		if i+1 < len(s.Steps) {
			next := s.Steps[i+1].From
			dayBefore := next.AddDate(0, 0, -1)
			switch {
			case !st.explicitTo:
				st.To = dayBefore
			case !st.To.Before(next):
				fail("values: %s: to %s overlaps the next value from %s",
					st.From.Format(time.DateOnly), st.To.Format(time.DateOnly), next.Format(time.DateOnly))
			case st.To.Before(dayBefore):
				fail("values: %s: to %s leaves a gap before the next value from %s",
					st.From.Format(time.DateOnly), st.To.Format(time.DateOnly), next.Format(time.DateOnly))
			}
		}
	}
	return s, pbs
}

func parseStep(s *Series, k, v *yaml.Node, fail func(string, ...any)) (Step, bool) {
	from, err := time.Parse(time.DateOnly, k.Value)
	if err != nil {
		fail("values: key %q is not a date (YYYY-MM-DD)", k.Value)
		return Step{}, false
	}
	where := "values: " + k.Value
	if v.Kind != yaml.MappingNode {
		fail("%s: must be a mapping with value and reference", where)
		return Step{}, false
	}
	f := mapping(v, stepKey, where+": ", fail)
	st := Step{From: from, Confidence: s.Confidence}
	ok := true
	if c := f["confidence"]; c != nil {
		st.Confidence = c.Value
		if !knownConfidence(c.Value) {
			fail("%s: unknown confidence %q", where, c.Value)
		}
	}
	if to := f["to"]; to != nil {
		d, err := time.Parse(time.DateOnly, to.Value)
		switch {
		case err != nil:
			fail("%s: to %q is not a date (YYYY-MM-DD)", where, to.Value)
			ok = false
		case d.Before(from):
			fail("%s: to %s is before the effective date", where, to.Value)
			ok = false
		default:
			st.To, st.explicitTo = d, true
		}
	}
	if oj := f["official_journal_date"]; oj != nil {
		if _, err := time.Parse(time.DateOnly, oj.Value); err != nil {
			fail("%s: official_journal_date %q is not a date", where, oj.Value)
		}
	}
	st.References = references(f["reference"], where+": reference", fail)
	if len(st.References) == 0 {
		fail("%s: at least one reference is required", where)
		ok = false
	}
	val := f["value"]
	switch {
	case val == nil:
		fail("%s: value is required (use value: null for no value)", where)
		ok = false
	case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
		st.Repealed = true
	case s.Unit == UnitRateSet:
		if val.Kind != yaml.SequenceNode || len(val.Content) == 0 {
			fail("%s: a rate_set value must be a non-empty list of quoted decimals", where)
			return st, false
		}
		texts := make([]string, 0, len(val.Content))
		for _, m := range val.Content {
			d, good := quotedDecimal(m, where, fail)
			if !good {
				ok = false
				continue
			}
			st.Set = append(st.Set, d)
			texts = append(texts, m.Value)
		}
		st.Text = joinSet(texts)
	default:
		d, good := quotedDecimal(val, where, fail)
		if !good {
			return st, false
		}
		st.Decimal, st.Text = d, val.Value
	}
	return st, ok
}

func quotedDecimal(n *yaml.Node, where string, fail func(string, ...any)) (decimal.Decimal, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" ||
		n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		fail("%s: value %q must be a quoted decimal string", where, n.Value)
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(n.Value)
	if err != nil {
		fail("%s: value %q is not a decimal", where, n.Value)
		return decimal.Decimal{}, false
	}
	return d, true
}

// mapping returns the children of a mapping node by key, reporting unknown
// and duplicate keys.
func mapping(n *yaml.Node, allowed func(string) bool, where string, fail func(string, ...any)) map[string]*yaml.Node {
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !allowed(k) {
			fail("%sunknown key %q", where, k)
			continue
		}
		if _, dup := out[k]; dup {
			fail("%sduplicate key %q", where, k)
			continue
		}
		out[k] = n.Content[i+1]
	}
	return out
}

func scalar(n *yaml.Node, name string, required bool, fail func(string, ...any)) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		if required {
			fail("%s: required", name)
		}
		return ""
	}
	return n.Value
}

func references(n *yaml.Node, where string, fail func(string, ...any)) []Reference {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		fail("%s: must be a list of {title, href}", where)
		return nil
	}
	out := make([]Reference, 0, len(n.Content))
	for i, item := range n.Content {
		w := fmt.Sprintf("%s[%d]", where, i)
		if item.Kind != yaml.MappingNode {
			fail("%s: must be a mapping with title and href", w)
			continue
		}
		f := mapping(item, refKey, w+": ", fail)
		r := Reference{
			ID:    scalar(f["id"], w+".id", false, fail),
			Title: scalar(f["title"], w+".title", true, fail),
			Href:  scalar(f["href"], w+".href", true, fail),
		}
		if r.Href != "" && !strings.HasPrefix(r.Href, legifrance) {
			fail("%s.href: must be a Légifrance link (%s…)", w, legifrance)
			continue
		}
		if r.Title != "" && r.Href != "" {
			out = append(out, r)
		}
	}
	return out
}
