package main

import (
	"fmt"
	"sort"
	"strings"
)

// sourceKind says which check a text gets.
type sourceKind int

const (
	// kindValue: the reference title of a dated value. Every article it
	// cites must have been in force over the value's period (check b).
	kindValue sourceKind = iota
	// kindBasis: a series' legal_basis. The article must have been in force
	// over part of the series, and still be when the series is open-ended.
	kindBasis
	// kindText: prose (docs/rules.md, a series' description, a value's
	// note). The article must be in force on the code's date, or the text
	// must say it is abrogated or former (check c).
	kindText
)

// source is one text to check, with what its check needs.
type source struct {
	File string
	Line int // line of the text's first byte
	// Multiline texts count lines from Line; one-line ones (YAML scalars)
	// keep Line for every citation.
	Multiline bool
	Text      string
	Kind      sourceKind
	// Period is the value's period (kindValue) or the series' (kindBasis).
	Period span
	// Open is true for a basis whose series has an open-ended last value.
	Open bool
	// Label names the value in messages: "value 2005-01-01".
	Label string
}

// finding is one line of the report.
type finding struct {
	File string
	Line int
	Num  string // article, "" for a note about a non-CSS text
	Msg  string
	Note bool // verbose only: not a problem
}

func (f finding) String() string {
	if f.Num == "" {
		return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Msg)
	}
	return fmt.Sprintf("%s:%d: article %s: %s", f.File, f.Line, f.Num, f.Msg)
}

// result is the outcome of a check.
type result struct {
	Findings  []finding // problems and notes, sorted by file and line
	Citations int       // CSS citations checked
	Articles  int       // distinct CSS articles among them
	Problems  int
}

// renumbering is what the sources themselves say of a former number: "X
// (anc. Y)" names X as Y's successor.
type renumbering struct {
	Successor string
	File      string
	Line      int
}

type parsed struct {
	src   source
	cites []citation
	outs  []outside
}

func (p parsed) line(off int) int {
	if !p.src.Multiline {
		return p.src.Line
	}
	return p.src.Line + strings.Count(p.src.Text[:off], "\n")
}

// check runs every check of every source against the code.
func check(c *code, sources []source) result {
	var res result
	seen := map[string]bool{}
	ps := make([]parsed, len(sources))
	successors := map[string]renumbering{}
	for i, s := range sources {
		cites, outs := extract(s.Text)
		ps[i] = parsed{s, cites, outs}
		for _, ct := range cites {
			if ct.Code == "" && ct.Successor != "" {
				if _, ok := successors[ct.Num]; !ok {
					successors[ct.Num] = renumbering{ct.Successor, s.File, ps[i].line(ct.Start)}
				}
			}
		}
	}
	add := func(f finding) {
		res.Findings = append(res.Findings, f)
		if !f.Note {
			res.Problems++
		}
	}
	for _, p := range ps {
		for _, o := range p.outs {
			add(finding{File: p.src.File, Line: p.line(o.Start), Msg: "not checked: outside the CSS: " + o.Text, Note: true})
		}
		var css []citation
		for _, ct := range p.cites {
			if ct.Code != "" {
				add(finding{File: p.src.File, Line: p.line(ct.Start), Num: ct.Num,
					Msg: "not checked: outside the CSS (" + ct.Code + ")", Note: true})
				continue
			}
			css = append(css, ct)
			res.Citations++
			seen[ct.Num] = true
		}
		switch p.src.Kind {
		case kindValue:
			checkValue(c, p, css, successors, add)
		case kindBasis:
			checkBasis(c, p, css, successors, add)
		case kindText:
			checkText(c, p, css, successors, add)
		}
	}
	res.Articles = len(seen)
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res
}

// missing is the message for an article with no version in the code.
func missing(c *code) string {
	return fmt.Sprintf("not in the Code de la sécurité sociale (no version of it in the consolidated code of %s)", c.AsOf)
}

// successorHint says what replaced num, when a source says it.
func successorHint(num string, successors map[string]renumbering) string {
	if r, ok := successors[num]; ok {
		return fmt.Sprintf("; %s:%d names its successor %s", r.File, r.Line, r.Successor)
	}
	return "; the data names no successor"
}

// checkValue: for a dated value, every chain of articles the reference
// cites must cover the value's period. A chain is a current article with
// the former numbers the reference gives for it ("R160-5 (anc. R322-1)"):
// the former ones count for the earlier part of the period. A former number
// absent from the code (abrogated articles are dropped from it) is taken to
// cover the time before its successor's first version, which cannot be
// verified; alone, it can cover nothing after the code's date.
func checkValue(c *code, p parsed, css []citation, successors map[string]renumbering, add func(finding)) {
	var current, former []citation
	for _, ct := range css {
		if ct.Former {
			former = append(former, ct)
		} else {
			current = append(current, ct)
		}
	}
	per := p.src.Period
	attached := map[int]bool{}
	for _, cur := range current {
		line := p.line(cur.Start)
		a := c.lookup(cur.Num)
		if a == nil {
			add(finding{File: p.src.File, Line: line, Num: cur.Num, Msg: missing(c)})
			continue
		}
		cover := [][]span{a.InForce()}
		var names []string
		for i, f := range former {
			if f.Successor != "" && f.Successor != cur.Num {
				continue
			}
			attached[i] = true
			names = append(names, f.Num)
			if fa := c.lookup(f.Num); fa != nil {
				cover = append(cover, fa.InForce())
			} else {
				cover = append(cover, []span{{beginning, min(a.First(), c.AsOf)}})
			}
		}
		chain := union(cover...)
		who := cur.Num
		if len(names) > 0 {
			who += " (with former " + strings.Join(names, ", ") + ")"
		}
		for _, g := range uncovered(per, chain) {
			add(finding{File: p.src.File, Line: line, Num: cur.Num, Msg: gapMessage(c, p.src.Label, per, g, chain, who, a, successors)})
		}
	}
	for i, f := range former {
		if attached[i] {
			continue
		}
		line := p.line(f.Start)
		fa := c.lookup(f.Num)
		if fa == nil {
			if per.To > c.AsOf {
				add(finding{File: p.src.File, Line: line, Num: f.Num, Msg: fmt.Sprintf(
					"%s (%s) runs past %s, but this former article is not in the consolidated code of that date (abrogated or renumbered)%s",
					p.src.Label, per, c.AsOf, successorHint(f.Num, successors))})
			} else {
				add(finding{File: p.src.File, Line: line, Num: f.Num, Note: true,
					Msg: "not checked: former article, absent from the consolidated code (abrogated articles are not in it)"})
			}
			continue
		}
		chain := fa.InForce()
		for _, g := range uncovered(per, chain) {
			add(finding{File: p.src.File, Line: line, Num: f.Num, Msg: gapMessage(c, p.src.Label, per, g, chain, f.Num, fa, successors)})
		}
	}
}

// gapMessage explains a part g of the value's period per that no version of
// the chain covers.
func gapMessage(c *code, label string, per, g span, chain []span, who string, a *article, successors map[string]renumbering) string {
	if len(chain) == 0 {
		return fmt.Sprintf("%s (%s): no version of %s was ever in force", label, per, who)
	}
	first, last := chain[0].From, chain[len(chain)-1].To
	ended := fmt.Sprintf("not in force since %s", last)
	if last > c.AsOf {
		ended = fmt.Sprintf("abrogated from %s, deferred", last)
	}
	switch {
	case per.To <= first:
		return fmt.Sprintf("%s (%s) ends before the first version of %s in the code (%s)", label, per, who, first)
	case g.To <= first:
		return fmt.Sprintf("%s (%s) starts before the first version of %s in the code (%s)", label, per, who, first)
	case per.From >= last:
		return fmt.Sprintf("%s (%s) starts after the end of %s (%s)%s", label, per, who, ended, successorHint(a.Num, successors))
	case g.From >= last:
		return fmt.Sprintf("%s (%s) ends after the end of %s (%s)%s", label, per, who, ended, successorHint(a.Num, successors))
	}
	return fmt.Sprintf("%s (%s): %s not in force from %s to %s", label, per, who, g.From, g.To-1)
}

// checkBasis: a legal basis must exist, have been in force over part of its
// series and, when the series is open-ended, be in force on the code's date
// (unless written as a former number).
func checkBasis(c *code, p parsed, css []citation, successors map[string]renumbering, add func(finding)) {
	for _, ct := range css {
		line := p.line(ct.Start)
		a := c.lookup(ct.Num)
		switch {
		case a == nil && ct.Former:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Note: true,
				Msg: "not checked: former article, absent from the consolidated code (abrogated articles are not in it)"})
		case a == nil:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Msg: missing(c)})
		case ct.Former:
		case p.src.Open && !a.InForceOn(c.AsOf):
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Msg: fmt.Sprintf(
				"legal basis of a series still in force, but %s on %s%s", notInForce(c, a), c.AsOf, endedHint(c, a, successors))})
		case !overlaps(p.src.Period, a.InForce()):
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Msg: fmt.Sprintf(
				"legal basis: no version in force over the series' period (%s)", p.src.Period)})
		}
	}
}

// endedHint is the successor hint for an article that ended before the
// code's date; nothing for one whose next version is still to come.
func endedHint(c *code, a *article, successors map[string]renumbering) string {
	if a.Last() > c.AsOf {
		return ""
	}
	return successorHint(a.Num, successors)
}

// notInForce explains why a is not in force on the code's date.
func notInForce(c *code, a *article) string {
	ss := a.InForce()
	if len(ss) == 0 {
		return "no version of it was ever in force"
	}
	for _, s := range ss {
		if s.From > c.AsOf {
			return fmt.Sprintf("it is not in force (next version from %s)", s.From)
		}
	}
	return fmt.Sprintf("it is not in force (abrogated or replaced on %s)", a.Last())
}

// checkText: an article cited in prose must be in force on the code's date,
// or the text near it must say it is abrogated or former.
func checkText(c *code, p parsed, css []citation, successors map[string]renumbering, add func(finding)) {
	for _, ct := range css {
		line := p.line(ct.Start)
		a := c.lookup(ct.Num)
		switch {
		case a == nil && ct.Marked:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Note: true,
				Msg: "not checked: said to be former or abrogated, and absent from the consolidated code"})
		case a == nil:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Msg: missing(c)})
		case a.InForceOn(c.AsOf) && ct.Former:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Note: true,
				Msg: fmt.Sprintf("written as a former number, but in force on %s (its number may have been reused)", c.AsOf)})
		case a.InForceOn(c.AsOf) || ct.Marked:
		default:
			add(finding{File: p.src.File, Line: line, Num: ct.Num, Msg: fmt.Sprintf(
				"cited as current, but %s on %s, and the text does not say so%s", notInForce(c, a), c.AsOf, endedHint(c, a, successors))})
		}
	}
}
