package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/tierspayant/tierspayant/internal/platform/config"
)

var noEnv = env{lookup: func(string) (string, bool) { return "", false }}

func mapEnv(m map[string]string) env {
	e := env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
	for k, v := range m {
		e.environ = append(e.environ, k+"="+v)
	}
	sort.Strings(e.environ)
	return e
}

// exit runs the command line as main does and returns the exit status and
// what was printed.
func exit(t *testing.T, e env, args ...string) (int, string) {
	t.Helper()
	var out, errw bytes.Buffer
	err := run(context.Background(), args, e, &out, &errw)
	code := exitCode(err, &errw)
	return code, out.String() + errw.String()
}

func TestHelpListsCommandsAndVariables(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"params", "--help"}} {
		code, out := exit(t, noEnv, args...)
		if code != 0 {
			t.Errorf("%v: exit %d, want 0\n%s", args, code, out)
		}
		if args[0] == "params" || args[0] == "report" {
			if !strings.Contains(out, "Usage: adjudicator") || !strings.Contains(out, "--") {
				t.Errorf("%v: no usage printed: %q", args, out)
			}
			continue
		}
		for _, c := range commands() {
			if !strings.Contains(out, c.name) {
				t.Errorf("%v: help lacks the command %q", args, c.name)
			}
		}
		for _, v := range append(append([]config.Variable(nil), config.Variables...), config.ClientVariables...) {
			if !strings.Contains(out, v.Name) {
				t.Errorf("%v: help lacks %s", args, v.Name)
			}
			if v.Default != "" && !strings.Contains(out, v.Default) {
				t.Errorf("%v: help lacks the default %q of %s", args, v.Default, v.Name)
			}
		}
		for _, flag := range []string{"--server", "--tls-ca", "--cert", "--key", "--token", "--clock"} {
			if !strings.Contains(out, flag) {
				t.Errorf("%v: help lacks %s", args, flag)
			}
		}
	}
}

func TestUsageMistakesExitTwo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"repotr"}, `unknown command "repotr"`},
		{[]string{"repotr", "delays"}, `unknown command "repotr"`},
		{[]string{"report", "dleays"}, `unknown report "dleays"`},
		{[]string{"report"}, `unknown report`},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"params", "--at", "2024-04-01", "--bogus"}, "bogus"},
		{[]string{"params", "extra"}, `unexpected argument "extra"`},
		{[]string{"version", "x"}, "no argument"},
		{[]string{"report", "delays", "--organism", "CPAM75"}, "--quarter"},
		{[]string{"report", "delays", "--organism", "CPAM75", "--quarter", "2026Q3", "--token", "t", "--server", "192.0.2.1:50051"}, "plaintext"},
		{[]string{"report", "delays", "--organism", "CPAM75", "--quarter", "2026Q3", "--cert", "c.pem"}, "--key"},
	} {
		code, out := exit(t, noEnv, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out := exit(t, noEnv, args...)
		if code != 0 || !strings.HasPrefix(out, "adjudicator ") || !strings.Contains(out, "go1.") || !strings.Contains(out, "commit ") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestUnknownVariableRefused(t *testing.T) {
	t.Parallel()
	code, out := exit(t, mapEnv(map[string]string{"ADJ_REDIS_ADRS": "127.0.0.1:6379", "ADJ_TLS_CERT": "x"}))
	if code != 1 || !strings.Contains(out, "ADJ_REDIS_ADRS") || !strings.Contains(out, "did you mean ADJ_REDIS_ADDRS") {
		t.Fatalf("exit %d, %q", code, out)
	}
	// Client commands check too; help and version do not need a clean environment.
	if code, out := exit(t, mapEnv(map[string]string{"ADJ_CLIENT_SERVR": "x"}), "report", "delays"); code != 1 || !strings.Contains(out, "ADJ_CLIENT_SERVER") {
		t.Fatalf("client command: exit %d, %q", code, out)
	}
	if code, _ := exit(t, mapEnv(map[string]string{"ADJ_NOPE": "x"}), "version"); code != 0 {
		t.Fatalf("version: exit %d", code)
	}
}

func TestRealRedisNeedsCredentialsOrOpen(t *testing.T) {
	t.Parallel()
	e := map[string]string{"ADJ_REDIS_ADDRS": "127.0.0.1:1", "ADJ_HMAC_SECRET": strings.Repeat("k", 32)}
	_, err := config.Load(mapEnv(e).lookup)
	if err == nil || !strings.Contains(err.Error(), "ADJ_AUTH=open") {
		t.Fatalf("real Redis without credentials: %v", err)
	}
	e["ADJ_AUTH"] = "open"
	if _, err := config.Load(mapEnv(e).lookup); err != nil {
		t.Fatalf("explicit open: %v", err)
	}
	cfg, err := config.Load(noEnv.lookup)
	if err != nil || !cfg.AuthOpen() || cfg.Auth != "open" {
		t.Fatalf("embedded default: %v, auth %q", err, cfg.Auth)
	}
}

func TestHelpRequestIsNotAnError(t *testing.T) {
	t.Parallel()
	if got := exitCode(flag.ErrHelp, &bytes.Buffer{}); got != 0 {
		t.Fatalf("exit %d", got)
	}
	if got := exitCode(errors.New("boom"), &bytes.Buffer{}); got != 1 {
		t.Fatalf("exit %d", got)
	}
}

// TestReadmeListsEveryVariable: the README's configuration tables name every
// variable the code knows.
func TestReadmeListsEveryVariable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(append([]config.Variable(nil), config.Variables...), config.ClientVariables...) {
		if !strings.Contains(string(b), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
