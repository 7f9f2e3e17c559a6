package explain

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// emitted finds every reason code the engine and the service emit: the
// Reason* constants of internal/claims and the Code: "…" literals of both
// packages (their non-test sources).
func emitted(t *testing.T) map[string]string {
	t.Helper()
	constRE := regexp.MustCompile(`\bReason[A-Za-z0-9]+\s*=\s*"([A-Z0-9_]+)"`)
	literalRE := regexp.MustCompile(`\bCode:\s*"([A-Z0-9_]+)"`)
	out := map[string]string{}
	for _, dir := range []string{"..", filepath.Join("..", "..", "service")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go file in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range []*regexp.Regexp{constRE, literalRE} {
				for _, m := range re.FindAllSubmatch(b, -1) {
					out[string(m[1])] = f
				}
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("found only %d codes: the scan is broken", len(out))
	}
	return out
}

func TestCatalogueCoversEveryCode(t *testing.T) {
	for code, file := range emitted(t) {
		e, ok := Lookup(code)
		switch {
		case !ok:
			t.Errorf("%s (%s) has no explanation in catalogue.yaml", code, file)
		case strings.TrimSpace(e.FR) == "" || strings.TrimSpace(e.EN) == "":
			t.Errorf("%s: explanation missing in French or in English", code)
		case !strings.Contains(e.Article, "art. "):
			t.Errorf("%s: article %q does not cite an article", code, e.Article)
		}
	}
	codes := emitted(t)
	for _, c := range Codes() {
		if _, ok := codes[c]; !ok {
			t.Errorf("catalogue.yaml explains %s, which nothing emits", c)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("PF_ANNUAL_CAP", French); !strings.HasPrefix(got, "Le plafond annuel") || !strings.HasSuffix(got, "(CSS art. L160-13 II, D160-6)") {
		t.Errorf("French: %q", got)
	}
	if got := Text("PF_ANNUAL_CAP", English); !strings.HasPrefix(got, "The annual cap") {
		t.Errorf("English: %q", got)
	}
	if Text("NO_SUCH_CODE", French) != "" {
		t.Error("an unknown code has no explanation")
	}
}

func TestLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"":                        French,
		"en":                      English,
		"en-GB,en;q=0.9":          English,
		"fr-FR,fr;q=0.9,en;q=0.8": French,
		"de-DE,en;q=0.5":          English,
		"de":                      French,
		"fr;q=0.3, EN-us;q=0.7":   English,
		"en;q=0, fr;q=0.1":        French,
		"*":                       French,
		"en;q=0.8,fr;q=0.8":       English,
	} {
		if got := Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}
