package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

var installOnce sync.Once

// tool returns the path of Debian's prometheus package's binary name
// (prometheus or promtool), installing the package with apt-get when it is
// missing and the test runs as root. Without it the test is skipped, except
// under CI=true, where it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	installOnce.Do(func() {
		if os.Geteuid() != 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "prometheus"}} {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found and could not be installed (apt-get install prometheus): %v", name, err)
	}
	t.Skipf("%s not found and could not be installed; install Debian's prometheus package (apt-get install prometheus) to run this test", name)
	return ""
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestPrometheusScrapesDomainMetrics runs Debian's prometheus against the
// real adjudicator: it scrapes the admin port every second, loads the alert
// rules, and answers a query on a domain metric after one claim.
func TestPrometheusScrapesDomainMetrics(t *testing.T) {
	bin := tool(t, "prometheus")
	a, conn := startApp(t)

	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rules := filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yaml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: tierspayant
    static_configs:
      - targets: [%q]
`, rules, a.AdminAddr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	logs := &strings.Builder{}
	var logMu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{logs, &logMu}, lockedWriter{logs, &logMu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("prometheus output:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	base := "http://" + listen
	waitFor(t, 30*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	scenario(t, conn, "PROM-"+strconv.FormatInt(time.Now().UnixNano(), 36))

	// The unary claim and the stream's: two new accepted decisions, 21.00 €
	// of AMO each.
	waitFor(t, 30*time.Second, "the decisions in Prometheus", func() bool {
		v, ok := query(t, base, `sum(tierspayant_decisions_total{job="tierspayant",status="accepted",replayed="false"})`)
		return ok && v == 2
	})
	if v, ok := query(t, base, `sum(tierspayant_amounts_cents_total{payer="amo"})`); !ok || v != 4200 {
		t.Errorf("AMO cents in Prometheus: %v %v, want 4200", v, ok)
	}
	if v, ok := query(t, base, `up{job="tierspayant"}`); !ok || v != 1 {
		t.Errorf("up: %v %v", v, ok)
	}

	// The alert rules loaded and evaluate without error.
	var rr struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					Error  string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	waitFor(t, 15*time.Second, "the alert rules evaluated", func() bool {
		getJSON(t, base+"/api/v1/rules", &rr)
		n := 0
		for _, g := range rr.Data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false
				}
				n++
			}
		}
		return n > 0
	})
	for _, g := range rr.Data.Groups {
		for _, r := range g.Rules {
			if r.Error != "" {
				t.Errorf("rule %s: %s", r.Name, r.Error)
			}
		}
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// query is the value of an instant query's single sample.
func query(t *testing.T, base, q string) (float64, bool) {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/v1/query?query="+url.QueryEscape(q), &r)
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// TestRuleAndDashboardMetricsExist checks that every metric the alert rules
// and the dashboard query is in the service's /metrics (a histogram's
// _bucket, _sum and _count by its name), Prometheus's own up aside.
func TestRuleAndDashboardMetricsExist(t *testing.T) {
	a, conn := startAppWith(t, func(c *cfgT) { c.RateLimit, c.RateBurst = 1, 30 })
	scenario(t, conn, "NAMES-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	// Spend the burst: the limit refusals' series appears.
	refuse(t, conn)
	exported := map[string]bool{"up": true}
	sampleName := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, l := range strings.Split(scrapeCounted(t, a), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		n := sampleName.FindString(l)
		exported[n] = true
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			exported[strings.TrimSuffix(n, suf)] = true
		}
	}

	root := repoRoot(t)
	var exprs []string
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	nRules := len(exprs)
	raw, err = os.ReadFile(filepath.Join(root, "deploy", "grafana", "dashboards", "tierspayant.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	exprs = append(exprs, dashboardQueries(dash)...)
	if nRules < 5 || len(exprs)-nRules < 10 {
		t.Fatalf("found %d rule and %d dashboard expressions", nRules, len(exprs)-nRules)
	}
	used := map[string]bool{}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("no metric in %q", e)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s (in %q) is not in /metrics", n, e)
			}
		}
	}
	var domain []string
	for n := range used {
		if strings.HasPrefix(n, "tierspayant_") {
			domain = append(domain, n)
		}
	}
	slices.Sort(domain)
	t.Logf("domain metrics used: %s", strings.Join(domain, " "))
}

// dashboardQueries collects the PromQL of a dashboard: every target's expr
// and the first argument of the templating's label_values queries.
func dashboardQueries(v any) []string {
	var out []string
	lv := regexp.MustCompile(`label_values\(\s*([^,)]+)`)
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok {
					switch {
					case k == "expr":
						out = append(out, s)
					case k == "definition" || k == "query":
						if m := lv.FindStringSubmatch(s); m != nil {
							out = append(out, m[1])
						}
					}
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return out
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promLabelList = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames are the metric names a PromQL expression selects: identifiers
// that are neither functions, keywords, label names nor Grafana variables.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promLabelList.ReplaceAllString(e, " ")
	e = regexp.MustCompile(`\$\{?[A-Za-z_]+\}?`).ReplaceAllString(e, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatchIndex(e, -1) {
		tok := e[m[0]:m[1]]
		if m[2] >= 0 || promKeywords[strings.ToLower(tok)] {
			continue // a function call or a keyword
		}
		if m[0] > 0 && (e[m[0]-1] >= '0' && e[m[0]-1] <= '9' || e[m[0]-1] == '.') {
			continue // the exponent or unit of a number
		}
		out = append(out, tok)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (instance, le) (rate(foo_seconds_bucket{grpc_method="A",instance=~"$instance"}[$__rate_interval]))) > 0.25
	  and on (instance) max by (instance) (bar_ready) == 0 or 1e3 * baz_total offset 5m`)
	if strings.Join(got, " ") != "foo_seconds_bucket bar_ready baz_total" {
		t.Errorf("metricNames: %q", got)
	}
}
