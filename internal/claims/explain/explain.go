// Package explain holds the plain-words explanation of every reason code a
// decision may carry, in French and in English, for the patient's receipt
// and the professional's screen (catalogue.yaml, embedded), each with the
// article of the law it rests on. It is data only: the transport picks the
// caller's language (Language) and adds the text to each reason.
package explain

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Languages.
const (
	French  = "fr"
	English = "en"
)

// Entry is one code's explanation.
type Entry struct {
	Article string `yaml:"article"`
	FR      string `yaml:"fr"`
	EN      string `yaml:"en"`
}

//go:embed catalogue.yaml
var raw []byte

var catalogue = mustLoad(raw)

func mustLoad(b []byte) map[string]Entry {
	var m map[string]Entry
	if err := yaml.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("explain: catalogue.yaml: %v", err)) // embedded: a broken file fails every test
	}
	return m
}

// Codes lists the codes of the catalogue, sorted.
func Codes() []string {
	out := make([]string, 0, len(catalogue))
	for c := range catalogue {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the entry of a code.
func Lookup(code string) (Entry, bool) {
	e, ok := catalogue[code]
	return e, ok
}

// Text returns the explanation of code in lang (French unless English),
// ending with its article in parentheses; "" for a code the catalogue does
// not hold.
func Text(code, lang string) string {
	e, ok := catalogue[code]
	if !ok {
		return ""
	}
	t := e.FR
	if lang == English {
		t = e.EN
	}
	return t + " (" + e.Article + ")"
}

// Language picks the language of an Accept-Language value (RFC 9110
// §12.5.4): the supported language ("fr", "en") of highest weight, the
// first listed on a tie; French when the value names neither.
func Language(accept string) string {
	best, bestQ := French, -1.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if (primary == French || primary == English) && q > 0 && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}
