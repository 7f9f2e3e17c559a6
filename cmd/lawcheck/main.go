// Command lawcheck verifies every article of the Code de la sécurité
// sociale (CSS) cited by the legal parameter table and by docs/rules.md
// against DILA's consolidated code, as published in the LEGI JSON of the
// npm package @socialgouv/legi-data (make law-check pins and fetches it):
//
//	go run ./cmd/lawcheck -code .tmp/legi/package/data/LEGITEXT000006073189.json \
//	    -params internal/legal/params -rules docs/rules.md
//
// Citations are article numbers with a part prefix (L160-13, R. 160-5,
// D160-8, L. 161-36-3, LO111-3), their paragraph ("II", "17°", "al. 2")
// ignored for lookup. Decrees, arrêtés, laws, UNCAM decisions and the
// articles of any other code named explicitly (code de la santé publique,
// CASF…) are outside the CSS: not checked, listed with -v.
//
// Checks (docs/law-check.md):
//
//   - every cited article exists in the code (some version of it);
//   - parameter table: for each dated value, the articles of its reference
//     were in force over the whole of the value's period (a period starting
//     before the article's first version, or running after its abrogation,
//     is reported); a series' legal basis was in force over part of the
//     series, and still is when the series is open-ended;
//   - docs/rules.md, the series' descriptions and the values' notes: the
//     article is in force on the code's date, or the text near it says it is
//     abrogated or former.
//
// Output: one line per problem, "file:line: article X: problem", then
// "law-check: N citations, M articles, K problems". Exit status 1 when there
// is a problem, 2 on a usage error or an unreadable input. It reads only.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lawcheck", flag.ContinueOnError)
	fl.SetOutput(stderr)
	codePath := fl.String("code", "", "LEGI JSON of the Code de la sécurité sociale (LEGITEXT000006073189.json of @socialgouv/legi-data)")
	params := fl.String("params", "", "folder of the legal parameter table (internal/legal/params)")
	rules := fl.String("rules", "", "Markdown file of the rules (docs/rules.md)")
	verbose := fl.Bool("v", false, "also list what is not checked (texts outside the CSS, former articles absent from the code)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: lawcheck -code LEGITEXT000006073189.json [-params DIR] [-rules FILE.md] [-v]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *codePath == "" || (*params == "" && *rules == "") || fl.NArg() > 0 {
		fl.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "lawcheck:", err)
		return 2
	}
	f, err := os.Open(*codePath)
	if err != nil {
		return fail(err)
	}
	c, err := loadCode(f)
	f.Close()
	if err != nil {
		return fail(fmt.Errorf("%s: %w", *codePath, err))
	}
	var sources []source
	if *params != "" {
		s, err := paramSources(*params)
		if err != nil {
			return fail(err)
		}
		sources = append(sources, s...)
	}
	if *rules != "" {
		data, err := os.ReadFile(*rules)
		if err != nil {
			return fail(err)
		}
		sources = append(sources, markdownSources(*rules, data)...)
	}
	res := check(c, sources)
	for _, f := range res.Findings {
		if f.Note && !*verbose {
			continue
		}
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintf(stdout, "law-check: %d citations, %d articles, %d problems\n", res.Citations, res.Articles, res.Problems)
	if *verbose {
		fmt.Fprintf(stdout, "law-check: %s as of %s, %d articles\n", c.Title, c.AsOf, len(c.Articles))
	}
	if res.Problems > 0 {
		return 1
	}
	return 0
}
