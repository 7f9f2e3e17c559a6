package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// The README's walk-through is this test's script: the block between the
// walkthrough markers is played step by step (a step is a run of non-blank
// lines) against the built binary, and every "# → text" line under a command
// must appear in what that command printed. The README and the test cannot
// drift apart: the README is the test's input.

const (
	walkBegin = "<!-- walkthrough:begin -->"
	walkEnd   = "<!-- walkthrough:end -->"
	// walkAddr is the address the README's commands use; the test serves on
	// a free port and rewrites it.
	walkAddr = "localhost:50051"
	// walkClock is the instant the README starts the service at.
	walkClock = "2025-03-11T09:00:00Z"
)

type walkStep struct {
	line   int // in README.md, for messages
	cmd    string
	expect []string
}

func readWalkthrough(t *testing.T) []walkStep {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, walkBegin), strings.Index(text, walkEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s block", walkBegin, walkEnd)
	}
	if !strings.Contains(text, "ARGS='-clock "+walkClock+"'") {
		t.Fatalf("README.md no longer starts the walk-through at %s: update walkClock", walkClock)
	}
	first := strings.Count(text[:i], "\n") + 1
	var steps []walkStep
	var cur *walkStep
	var cmd []string
	flush := func() {
		if cur != nil {
			cur.cmd = strings.Join(cmd, "\n")
			if strings.TrimSpace(cur.cmd) != "" {
				steps = append(steps, *cur)
			}
		}
		cur, cmd = nil, nil
	}
	for n, line := range strings.Split(text[i+len(walkBegin):j], "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
		case trim == "":
			flush()
		case strings.HasPrefix(trim, "# →"):
			if cur == nil || len(cmd) == 0 {
				t.Fatalf("README.md:%d: an expectation before any command", first+n)
			}
			cur.expect = append(cur.expect, strings.TrimSpace(strings.TrimPrefix(trim, "# →")))
		case strings.HasPrefix(trim, "#"):
			// a comment for the reader
		default:
			if cur == nil {
				cur = &walkStep{line: first + n}
			}
			if len(cur.expect) > 0 { // a new command right after expectations
				flush()
				cur = &walkStep{line: first + n}
			}
			cmd = append(cmd, line)
		}
	}
	flush()
	if len(steps) < 10 {
		t.Fatalf("only %d steps in the README walk-through", len(steps))
	}
	return steps
}

// buildBinary builds the adjudicator once for the test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tierspayant-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "adjudicator")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func grpcurlDir(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs("../../.tmp/bin")
	if _, err := os.Stat(filepath.Join(root, "grpcurl")); err == nil {
		return root
	}
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return filepath.Dir(p)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("grpcurl missing: make test installs it (make tools)")
	}
	t.Skip("grpcurl missing: run make tools (make test does)")
	return ""
}

// startBinary starts the built adjudicator with exactly env as its
// environment and waits until it serves.
func startBinary(t *testing.T, bin string, env []string) (addr string, log *bytes.Buffer) {
	t.Helper()
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "-clock", walkClock, "-grpc-addr", addr, "-admin-addr", "127.0.0.1:0")
	cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	all := &bytes.Buffer{} // the goroutine's; the caller gets a copy
	var mu sync.Mutex
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			all.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), `"msg":"adjudicator serving"`) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the binary did not start serving:\n%s", all)
	}
	mu.Lock()
	defer mu.Unlock()
	return addr, bytes.NewBufferString(all.String())
}

var stepMark = regexp.MustCompile(`(?m)^@@step (\d+) exit (\d+)$`)

// playWalkthrough runs the steps in one bash session (the README's
// variables carry from step to step) and checks each step's output.
func playWalkthrough(t *testing.T, steps []walkStep, addr, bin, tools string) {
	t.Helper()
	var script strings.Builder
	for i, s := range steps {
		cmd := strings.ReplaceAll(s.cmd, walkAddr, addr)
		cmd = regexp.MustCompile(`(?m)^bin/adjudicator`).ReplaceAllString(cmd, bin)
		fmt.Fprintf(&script, "%s\nrc=$?\necho\necho \"@@step %d exit $rc\"\n", cmd, i)
	}
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = root
	sh.Env = []string{"PATH=" + tools + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	outb, _ := sh.CombinedOutput()
	out := string(outb)
	marks := stepMark.FindAllStringSubmatchIndex(out, -1)
	if len(marks) != len(steps) {
		t.Fatalf("%d of %d steps ran:\n%s", len(marks), len(steps), out)
	}
	from := 0
	for k, m := range marks {
		i, _ := strconv.Atoi(out[m[2]:m[3]])
		code, _ := strconv.Atoi(out[m[4]:m[5]])
		got := out[from:m[0]]
		from = m[1]
		s := steps[i]
		if i != k {
			t.Fatalf("steps out of order")
		}
		wantsError := false
		for _, e := range s.expect {
			if strings.HasPrefix(e, "Code: ") {
				wantsError = true
			}
			if !strings.Contains(got, e) {
				t.Errorf("README.md:%d: the answer lacks %q\ncommand:\n%s\nanswer:\n%s", s.line, e, s.cmd, got)
			}
		}
		if (code != 0) != wantsError {
			t.Errorf("README.md:%d: exit status %d\ncommand:\n%s\nanswer:\n%s", s.line, code, s.cmd, got)
		}
	}
}

// TestReadmeWalkthroughEmbedded: the binary with no environment at all
// (make run) serves on the embedded store, says so, and answers the
// README's walk-through with the figures it prints.
func TestReadmeWalkthroughEmbedded(t *testing.T) {
	t.Parallel()
	steps := readWalkthrough(t)
	tools := grpcurlDir(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr, log := startBinary(t, bin, []string{})
	for _, want := range []string{"EMBEDDED STORE", "ALL DATA IS LOST ON EXIT", `"store":"embedded"`, `"auth":"open`, `"clock":"fixed at ` + walkClock} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("startup output lacks %q:\n%s", want, log)
		}
	}
	playWalkthrough(t, steps, addr, bin, tools)
}

// TestReadmeWalkthroughRedis: the same walk-through on a real redis-server,
// started as the README says (ADJ_REDIS_ADDRS, ADJ_HMAC_SECRET, ADJ_AUTH=open).
func TestReadmeWalkthroughRedis(t *testing.T) {
	t.Parallel()
	steps := readWalkthrough(t)
	tools := grpcurlDir(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	addr, log := startBinary(t, bin, []string{"ADJ_REDIS_ADDRS=" + srv.Addr, "ADJ_HMAC_SECRET=" + strings.Repeat("0123456789abcdef", 4), "ADJ_AUTH=open"})
	if strings.Contains(log.String(), "EMBEDDED STORE") || !strings.Contains(log.String(), `"store":"single"`) {
		t.Errorf("startup output on a real Redis:\n%s", log)
	}
	playWalkthrough(t, steps, addr, bin, tools)
}

// TestReadmeRealRedisCommandNeedsAuth: the README's real-Redis command says
// ADJ_AUTH=open; without it (and without credentials) the binary refuses to
// start and says why.
func TestReadmeRealRedisCommandNeedsAuth(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ADJ_REDIS_ADDRS=127.0.0.1:6379 ADJ_HMAC_SECRET_FILE=.hmac-secret ADJ_AUTH=open make run") {
		t.Fatal("README.md no longer shows the real-Redis command this test checks")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"ADJ_REDIS_ADDRS=127.0.0.1:1", "ADJ_HMAC_SECRET=" + strings.Repeat("k", 32)}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ADJ_AUTH=open") {
		t.Fatalf("want a refusal naming ADJ_AUTH=open, got %v:\n%s", err, out)
	}
	cmd = exec.Command(bin)
	cmd.Env = []string{"ADJ_REDIS_ADRS=127.0.0.1:6379"}
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "did you mean ADJ_REDIS_ADDRS") {
		t.Fatalf("misspelt variable: %v:\n%s", err, out)
	}
	cmd = exec.Command(bin, "repotr")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("unknown command: %v:\n%s", err, out)
	}
}
