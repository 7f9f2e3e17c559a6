package main

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// citation is one article number found in a text.
type citation struct {
	Num   string // normalised for lookup: "L161-36-3" (no dot, no space, no paragraph)
	Text  string // as written, with its paragraph suffix when there is one: "L. 161-36-3 II"
	Start int    // byte offsets of Text in the scanned string
	End   int
	// Code is "" when the citation belongs to the Code de la sécurité sociale
	// (the default), else the other code it explicitly names ("CASF",
	// "code de la santé publique"): such a citation is never looked up.
	Code string
	// Former is true when the number is written as a former one ("anc.
	// R322-8", "former D322-5", "ancien article …").
	Former bool
	// Marked is true when the words right before or after the citation say
	// the article is abrogated or former ("former", "anc.", "(repealed)",
	// ", abrogé").
	Marked bool
	// Successor, for a former number written "X (anc. Y)", is X: the source
	// itself says Y was renumbered into X.
	Successor string
}

// outside is a legal text cited that is not a CSS article (a decree, an
// arrêté, a law, a UNCAM decision), reported in verbose mode only.
type outside struct {
	Text  string
	Start int
}

// ws is the white space found in legal titles, non-breaking spaces included.
const ws = `[\s\x{00A0}\x{202F}]`

var (
	// An article number: a part prefix (LO, L, R, D, A), an optional dot and
	// space, an optional "*" (décret en Conseil des ministres) and a number of
	// three or four digits followed by at least one "-n" group.
	articleRe = regexp.MustCompile(`(LO|L|R|D|A)(?:` + ws + `?\.` + ws + `?|` + ws + `)?\*?` + ws + `?(\d{3,4}(?:[-‐‑–]\d+)+)`)

	// Paragraph suffixes, ignored for lookup: "II", "17°", "3° bis", "al. 2",
	// a lone lowercase letter ("a", "b)").
	suffixRes = []*regexp.Regexp{
		regexp.MustCompile(`^` + ws + `+[IVX]{1,5}`),
		regexp.MustCompile(`^` + ws + `+\d{1,2}°(?:` + ws + `?(?:bis|ter|quater))?`),
		regexp.MustCompile(`^` + ws + `+al\.` + ws + `?\d+`),
		regexp.MustCompile(`^` + ws + `+[a-h]\)?`),
	}

	// Text right before a former number: "anc. ", "(former ", "anc. art. ",
	// "ancien article ".
	formerBeforeRe = regexp.MustCompile(`(?i)(?:^|[^\p{L}])(?:anc\.|ancien(?:ne)?|former(?:ly)?|ex-)` + ws + `*(?:(?:art\.|arts\.|articles?)` + ws + `*)?$`)

	// Text between "X" and its former number "Y" in "X (anc. Y)" or
	// "X, 1er alinéa (anc. Y)".
	successorGapRe = regexp.MustCompile(`(?i)^[^()]{0,40}\(` + ws + `*(?:anc\.|ancien(?:ne)?|former(?:ly)?)` + ws + `*(?:(?:art\.|articles?)` + ws + `*)?$`)

	// Text between two numbers of one list ("X, Y", "X et Y", "X to Y").
	listGapRe = regexp.MustCompile(`(?i)^` + ws + `*(?:,|;|et|and|to|à|ou|or|&|-)?` + ws + `*$`)

	// Words right before a citation saying the article is no longer in
	// force ("the repealed R182-9", "former art. L332-1", "l'ancien article").
	markedBeforeRe = regexp.MustCompile(`(?i)(?:abrog\p{L}*|repealed|former(?:ly)?|ancien(?:ne)?|(?:^|[^\p{L}])anc\.)[^.;()\d]{0,20}$`)
	// … or right after it ("R182-9 (repealed)", "L322-2, abrogé en 2016").
	markedAfterRe = regexp.MustCompile(`(?i)^` + ws + `*[(,]?` + ws + `*(?:since` + ws + `+|now` + ws + `+|désormais` + ws + `+)?(?:abrog\p{L}*|repealed|no` + ws + `+longer` + ws + `+in` + ws + `+force|plus` + ws + `+en` + ws + `+vigueur)`)

	// Another code named explicitly. The "de la sécurité sociale" ones are
	// the CSS itself.
	codeNameRe = regexp.MustCompile(`(?i)\bcode` + ws + `+(?:de` + ws + `+la` + ws + `+|de` + ws + `+l['’]` + ws + `?|des` + ws + `+|du` + ws + `+|de` + ws + `+|général` + ws + `+|civil|pénal|rural|minier|électoral|forestier)`)
	codeAbbrRe = regexp.MustCompile(`\b(CSS|CSP|CASF|CGI|CRPA|CMF|CGCT|CPC|CPP|CJA)\b`)
	// Words left at the end of a code's name cut before an article.
	trailingWordsRe = regexp.MustCompile(`(?i)(?:` + ws + `+(?:et|and|ou|or|à|to|aux?|les?|articles?|art\.?))+` + ws + `*$`)
	cssNameRe       = regexp.MustCompile(`(?i)^code` + ws + `+de` + ws + `+la` + ws + `+s[ée]curit[ée]` + ws + `+sociale`)

	// Between a citation and a code named after it: "L. 1111-2 du code de la
	// santé publique".
	codeAfterRe = regexp.MustCompile(`(?i)^` + ws + `*,?` + ws + `*(?:du|de` + ws + `+la|de` + ws + `+l['’]|des|of` + ws + `+the|in` + ws + `+the)?` + ws + `*$`)

	// Decrees, arrêtés, laws, ordinances and decisions: outside the CSS.
	outsideRe = regexp.MustCompile(`(?i)(?:^|[^\p{L}])((?:décret|arrêté|loi|ordonnance|décision)` + ws + `+(?:n°|no\.?` + ws + `|du|of|UNCAM|organique|de` + ws + `+financement|fixant|relati|prise|publi|d['’]application)[^,;()]{0,60})`)
)

// abbreviations whose dot does not end a sentence.
var abbreviations = map[string]bool{
	"art": true, "arts": true, "al": true, "anc": true, "n": true, "no": true, "cf": true,
	"ex": true, "p": true, "pp": true, "e.g": true, "i.e": true, "etc": true, "m": true,
	"mme": true, "st": true, "vs": true, "l": true, "r": true, "d": true, "a": true, "lo": true,
}

// clauses splits s at semicolons, table-cell bars and sentence ends (a dot,
// "!" or "?" followed by a space or the end, unless the dot closes an
// abbreviation such as "art." or "R."). A code named in a clause applies to
// the rest of that clause only.
func clauses(s string) [][2]int {
	var out [][2]int
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		end := false
		switch c {
		case ';', '|':
			end = true
		case '.', '!', '?':
			if i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '\n' && s[i+1] != '\t' {
				break
			}
			if c == '.' {
				j := i
				for j > start && !isSpaceByte(s[j-1]) && s[j-1] != '(' {
					j--
				}
				if abbreviations[strings.ToLower(s[j:i])] {
					break
				}
			}
			end = true
		}
		if end {
			out = append(out, [2]int{start, i + 1})
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, [2]int{start, len(s)})
	}
	return out
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// extract returns the article citations of s, in order, and the mentions of
// legal texts outside the CSS.
func extract(s string) ([]citation, []outside) {
	var cites []citation
	var outs []outside
	for _, cl := range clauses(s) {
		c, o := extractClause(s, cl[0], cl[1])
		cites = append(cites, c...)
		outs = append(outs, o...)
	}
	return cites, outs
}

// codeMention is a code named in a clause: its position and whether it is
// the CSS.
type codeMention struct {
	start, end int
	name       string // "" for the CSS
}

func codeMentions(s string, from, to int) []codeMention {
	var ms []codeMention
	part := s[from:to]
	for _, m := range codeNameRe.FindAllStringIndex(part, -1) {
		name := ""
		if !cssNameRe.MatchString(part[m[0]:]) {
			name = codeName(part[m[0]:])
		}
		ms = append(ms, codeMention{from + m[0], from + m[1], name})
	}
	for _, m := range codeAbbrRe.FindAllStringSubmatchIndex(part, -1) {
		name := part[m[2]:m[3]]
		if name == "CSS" {
			name = ""
		}
		ms = append(ms, codeMention{from + m[0], from + m[1], name})
	}
	// Keep them in text order (a few per clause at most).
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].start < ms[j-1].start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	return ms
}

// codeName is the name of a code as written at the start of s, cut before
// its articles: "code de la santé publique".
func codeName(s string) string {
	if i := strings.IndexAny(s, ",;()"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(strings.ToLower(s), " art"); i >= 0 {
		s = s[:i]
	}
	if m := articleRe.FindStringIndex(s); m != nil {
		s = s[:m[0]]
	}
	s = trailingWordsRe.ReplaceAllString(s, "")
	if len(s) > 60 {
		s = s[:runeStart(s, 60)]
	}
	return strings.TrimSpace(s)
}

// runeStart moves i forward to the start of a rune of s.
func runeStart(s string, i int) int {
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return i
}

// runeBefore is the last rune of s[:i], or 0.
func runeBefore(s string, i int) rune {
	if i <= 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func runeAt(s string, i int) rune {
	if i >= len(s) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// continuesWord: a suffix followed by r would be the start of a word
// ("D160-11 n'en fixe", "L160-13 Itself").
func continuesWord(r rune) bool { return isWordRune(r) || r == '\'' || r == '’' }

func isWordRune(r rune) bool { return r != 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

func extractClause(s string, from, to int) ([]citation, []outside) {
	part := s[from:to]
	mentions := codeMentions(s, from, to)
	var cites []citation
	for _, m := range articleRe.FindAllStringSubmatchIndex(part, -1) {
		start, end := from+m[0], from+m[1]
		if isWordRune(runeBefore(s, start)) || isWordRune(runeAt(s, end)) {
			continue // part of a word or of a longer token
		}
		num := part[m[2]:m[3]] + normaliseDashes(part[m[4]:m[5]])
		textEnd := end
		for again := true; again; {
			again = false
			for _, re := range suffixRes {
				if sm := re.FindStringIndex(s[textEnd:to]); sm != nil && !continuesWord(runeAt(s, textEnd+sm[1])) {
					textEnd += sm[1]
					again = true
					break
				}
			}
		}
		cites = append(cites, citation{Num: num, Text: s[start:textEnd], Start: start, End: textEnd})
	}
	// A code named right after a citation ("L. 1111-2 du code de la santé
	// publique") is that citation's, and its list's; any other applies to
	// the citations after it in the clause.
	postfix := make([]bool, len(mentions))
	for i := range cites {
		c := &cites[i]
		for k, m := range mentions {
			if !postfix[k] && m.start < c.Start {
				c.Code = m.name
			}
		}
		for k, m := range mentions {
			if m.start >= c.End && codeAfterRe.MatchString(s[c.End:m.start]) {
				postfix[k] = true
				c.Code = m.name
				// "L. 1 et L. 2 du code X": the whole list.
				for j := i - 1; j >= 0 && listGapRe.MatchString(s[cites[j].End:cites[j+1].Start]); j-- {
					cites[j].Code = m.name
				}
				break
			}
		}
	}
	for i := range cites {
		c := &cites[i]
		lo := runeStart(s, max(from, c.Start-30))
		if formerBeforeRe.MatchString(s[lo:c.Start]) {
			c.Former = true
		}
		if i > 0 {
			p := &cites[i-1]
			gap := s[p.End:c.Start]
			switch {
			case !c.Former && p.Former && listGapRe.MatchString(gap):
				c.Former, c.Successor = true, p.Successor // "anc. R322-8 et R322-9"
			case c.Former && !p.Former && successorGapRe.MatchString(gap) && p.Code == c.Code:
				c.Successor = p.Num // "R160-16 (anc. R322-8)"
			}
		}
	}
	// Marked: the words right before or after the citation, not crossing
	// another citation, say it is abrogated or former.
	for i := range cites {
		c := &cites[i]
		lo, hi := from, to
		if i > 0 {
			lo = cites[i-1].End
		}
		if i+1 < len(cites) {
			hi = cites[i+1].Start
		}
		lo = runeStart(s, max(lo, c.Start-30))
		c.Marked = c.Former || markedBeforeRe.MatchString(s[lo:c.Start]) || markedAfterRe.MatchString(s[c.End:hi])
	}
	var outs []outside
	for _, m := range outsideRe.FindAllStringSubmatchIndex(part, -1) {
		text := spacesRe.ReplaceAllString(strings.TrimSpace(part[m[2]:m[3]]), " ")
		outs = append(outs, outside{Text: text, Start: from + m[2]})
	}
	for _, m := range mentions {
		used := false
		for _, c := range cites {
			used = used || (c.Code == m.name && c.Start > m.start)
		}
		if m.name != "" && !used {
			outs = append(outs, outside{Text: m.name, Start: m.start})
		}
	}
	return cites, outs
}

func normaliseDashes(s string) string {
	return strings.NewReplacer("‐", "-", "‑", "-", "–", "-").Replace(s)
}
