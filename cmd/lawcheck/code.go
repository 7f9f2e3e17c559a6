package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// day is a date as a number of days since 1970-01-01 (UTC).
type day int32

const (
	// forever is an open end. LEGI writes it 2999-01-01; any date from then
	// on reads as open.
	forever day = math.MaxInt32
	// beginning is before any version.
	beginning day = math.MinInt32
)

var openFrom = day(time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)

func parseDay(s string) (day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return fromTime(t), nil
}

func fromTime(t time.Time) day {
	d := day(t.Unix() / 86400)
	if d >= openFrom {
		return forever
	}
	return d
}

// fromMillis reads a LEGI timestamp (milliseconds at 00:00 UTC).
func fromMillis(ms int64) day {
	d := ms / 86_400_000
	if ms < 0 && ms%86_400_000 != 0 {
		d--
	}
	if d >= int64(openFrom) {
		return forever
	}
	return day(d)
}

func (d day) String() string {
	switch d {
	case forever:
		return "open"
	case beginning:
		return "the beginning"
	}
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// span is the half-open period [From, To).
type span struct{ From, To day }

func (s span) empty() bool { return s.To <= s.From }

func (s span) String() string {
	if s.To == forever {
		return s.From.String() + " → open"
	}
	return s.From.String() + " → " + (s.To - 1).String()
}

// union sorts and merges spans, dropping empty ones.
func union(spans ...[]span) []span {
	var all []span
	for _, ss := range spans {
		for _, s := range ss {
			if !s.empty() {
				all = append(all, s)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].From < all[j].From })
	var out []span
	for _, s := range all {
		if n := len(out); n > 0 && s.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, s.To)
			continue
		}
		out = append(out, s)
	}
	return out
}

// uncovered is the part of p that no span of cover (merged, sorted) covers.
func uncovered(p span, cover []span) []span {
	var out []span
	cur := p.From
	for _, c := range cover {
		if c.To <= cur {
			continue
		}
		if c.From >= p.To {
			break
		}
		if c.From > cur {
			out = append(out, span{cur, c.From})
		}
		cur = max(cur, c.To)
		if cur >= p.To {
			return out
		}
	}
	if cur < p.To {
		out = append(out, span{cur, p.To})
	}
	return out
}

func overlaps(p span, cover []span) bool {
	for _, c := range cover {
		if c.From < p.To && p.From < c.To {
			return true
		}
	}
	return false
}

// version is one version of an article.
type version struct {
	ID   string
	Etat string
	span
}

// inForce says whether the version was ever in force: a version "mort-née"
// (modified before it took effect) or annulled by a court never was.
func (v version) inForce() bool {
	switch v.Etat {
	case "MODIFIE_MORT_NE", "ANNULE":
		return false
	}
	return !v.empty()
}

// article is a CSS article with its versions.
type article struct {
	Num      string
	Versions []version
	spans    []span
}

// InForce is the merged periods during which some version was in force.
func (a *article) InForce() []span {
	if a.spans == nil {
		var ss []span
		for _, v := range a.Versions {
			if v.inForce() {
				ss = append(ss, v.span)
			}
		}
		a.spans = union(ss)
		if a.spans == nil {
			a.spans = []span{}
		}
	}
	return a.spans
}

// InForceOn says whether some version is in force on d.
func (a *article) InForceOn(d day) bool {
	for _, s := range a.InForce() {
		if s.From <= d && d < s.To {
			return true
		}
	}
	return false
}

// First is the first day of the first version in force, Last the day after
// the last one (forever when still open).
func (a *article) First() day {
	if ss := a.InForce(); len(ss) > 0 {
		return ss[0].From
	}
	return forever
}

func (a *article) Last() day {
	if ss := a.InForce(); len(ss) > 0 {
		return ss[len(ss)-1].To
	}
	return beginning
}

// code is a consolidated code: its articles by number and its date.
type code struct {
	Title    string
	AsOf     day // date of the consolidation (dateDebutVersion of the code)
	Articles map[string]*article
}

func (c *code) lookup(num string) *article { return c.Articles[num] }

// The LEGI JSON of @socialgouv/legi-data: a tree of "section" and
// "article" nodes under a "code" node. Only current articles are in the
// tree; each lists all the versions of its LEGI identifier (cid), earlier
// ones with etat MODIFIE, ABROGE, TRANSFERE… and their dates in
// milliseconds. Articles abrogated for good are absent, and no field names
// the article that replaced one.
type legiNode struct {
	Type string `json:"type"`
	Data struct {
		Title            string        `json:"title"`
		Num              string        `json:"num"`
		DateDebutVersion string        `json:"dateDebutVersion"`
		DateModif        string        `json:"dateModif"`
		ArticleVersions  []legiVersion `json:"articleVersions"`
	} `json:"data"`
	Children []legiNode `json:"children"`
}

type legiVersion struct {
	ID        string `json:"id"`
	Etat      string `json:"etat"`
	DateDebut *int64 `json:"dateDebut"`
	DateFin   *int64 `json:"dateFin"`
}

var spacesRe = regexp.MustCompile(`\s+`)

// loadCode reads a LEGI code JSON. It fails unless the root is the Code de
// la sécurité sociale with a consolidation date.
func loadCode(r io.Reader) (*code, error) {
	var root legiNode
	if err := json.NewDecoder(r).Decode(&root); err != nil {
		return nil, fmt.Errorf("decoding the code: %w", err)
	}
	if root.Type != "code" {
		return nil, fmt.Errorf("root node is %q, want a code", root.Type)
	}
	if !strings.Contains(strings.ToLower(root.Data.Title), "sécurité sociale") {
		return nil, fmt.Errorf("the file holds %q, not the Code de la sécurité sociale", root.Data.Title)
	}
	asOf := root.Data.DateDebutVersion
	if asOf == "" {
		asOf = root.Data.DateModif
	}
	d, err := parseDay(asOf)
	if err != nil {
		return nil, fmt.Errorf("code date %q: %w", asOf, err)
	}
	c := &code{Title: root.Data.Title, AsOf: d, Articles: map[string]*article{}}
	var walk func(n *legiNode)
	walk = func(n *legiNode) {
		if n.Type == "article" {
			num := spacesRe.ReplaceAllString(strings.TrimSpace(n.Data.Num), " ")
			num = strings.ReplaceAll(normaliseDashes(num), "*", "")
			if num != "" {
				a := c.Articles[num]
				if a == nil {
					a = &article{Num: num}
					c.Articles[num] = a
				}
				for _, v := range n.Data.ArticleVersions {
					ver := version{ID: v.ID, Etat: v.Etat, span: span{beginning, forever}}
					if v.DateDebut != nil {
						ver.From = fromMillis(*v.DateDebut)
					}
					if v.DateFin != nil {
						ver.To = fromMillis(*v.DateFin)
					}
					a.Versions = append(a.Versions, ver)
				}
			}
		}
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(&root)
	if len(c.Articles) == 0 {
		return nil, errors.New("the code holds no article")
	}
	return c, nil
}
