package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// paramSources reads every *.yaml file under dir (the schema of
// internal/legal/load.go) and returns its texts to check: the series'
// description and legal_basis titles, each dated value's reference titles
// and note. File names are reported as dir joined with the file's path.
// It does not validate the table (make params-check does): a file it cannot
// read as a series is an error.
func paramSources(dir string) ([]source, error) {
	var out []source
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
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
		name := filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(p)))
		srcs, err := seriesSources(name, data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, srcs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no parameter file", dir)
	}
	return out, nil
}

// step is a dated value as far as the check needs it.
type step struct {
	key    *yaml.Node
	period span
	refs   []*yaml.Node // title nodes
	note   *yaml.Node
}

func seriesSources(name string, data []byte) ([]source, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping")
	}
	root := field(doc.Content[0])
	var steps []step
	if values := root["values"]; values != nil && values.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(values.Content); i += 2 {
			k, v := values.Content[i], values.Content[i+1]
			from, err := parseDay(k.Value)
			if err != nil {
				return nil, fmt.Errorf("line %d: values key %q is not a date", k.Line, k.Value)
			}
			st := step{key: k, period: span{from, forever}}
			if v.Kind == yaml.MappingNode {
				f := field(v)
				if to := f["to"]; to != nil {
					d, err := parseDay(to.Value)
					if err != nil {
						return nil, fmt.Errorf("line %d: to %q is not a date", to.Line, to.Value)
					}
					st.period.To = d + 1 // "to" is the last day
				}
				st.refs = titles(f["reference"])
				st.note = f["note"]
			}
			steps = append(steps, st)
		}
	}
	// A value without "to" lasts until the next one.
	for i := range steps {
		if i+1 < len(steps) && steps[i].period.To == forever {
			steps[i].period.To = steps[i+1].period.From
		}
	}
	var out []source
	if d := root["description"]; d != nil && d.Kind == yaml.ScalarNode {
		out = append(out, source{File: name, Line: d.Line, Text: d.Value, Kind: kindText})
	}
	series := span{forever, forever}
	open := false
	if n := len(steps); n > 0 {
		series = span{steps[0].period.From, steps[n-1].period.To}
		open = steps[n-1].period.To == forever
	}
	for _, t := range titles(root["legal_basis"]) {
		out = append(out, source{File: name, Line: t.Line, Text: t.Value, Kind: kindBasis, Period: series, Open: open})
	}
	for _, st := range steps {
		label := "value " + st.key.Value
		for _, t := range st.refs {
			out = append(out, source{File: name, Line: t.Line, Text: t.Value, Kind: kindValue, Period: st.period, Label: label})
		}
		if st.note != nil && st.note.Kind == yaml.ScalarNode {
			out = append(out, source{File: name, Line: st.note.Line, Text: st.note.Value, Kind: kindText})
		}
	}
	return out, nil
}

func field(m *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		out[m.Content[i].Value] = m.Content[i+1]
	}
	return out
}

// titles returns the title nodes of a list of references.
func titles(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		if t := field(item)["title"]; t != nil && t.Kind == yaml.ScalarNode {
			out = append(out, t)
		}
	}
	return out
}

// blockStartRe is a Markdown line that starts a new block: a heading, a
// list item, a table row, a fence or a quote.
var blockStartRe = regexp.MustCompile("^\\s*(#|[-*+]\\s|\\d+[.)]\\s|\\||```|~~~|>)")

// markdownSources splits a Markdown file into blocks (paragraphs, list
// items, table rows, headings), each a prose source: a code named in one
// block never reaches the next.
func markdownSources(name string, data []byte) []source {
	var out []source
	lines := strings.SplitAfter(string(data), "\n")
	var cur strings.Builder
	start := 0
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, source{File: name, Line: start, Multiline: true, Text: cur.String(), Kind: kindText})
		}
		cur.Reset()
	}
	for i, l := range lines {
		blank := strings.TrimSpace(l) == ""
		if blank || blockStartRe.MatchString(l) {
			flush()
			start = i + 1
		}
		if !blank {
			if cur.Len() == 0 {
				start = i + 1
			}
			cur.WriteString(l)
		}
	}
	flush()
	return out
}
