package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// TestImportBench (make import-bench) times `adjudicator oppositions import`
// of a generated opposition CSV, the built binary against the built server on
// a private redis-server: the first import, a replay (every entry already
// opposed) and the export of the list. TIERSPAYANT_IMPORT_BENCH is the
// number of lines (1 for 1 000 000); unset, the test is skipped.
// TIERSPAYANT_IMPORT_BENCH_BATCH sets --batch.
func TestImportBench(t *testing.T) {
	v := os.Getenv("TIERSPAYANT_IMPORT_BENCH")
	if v == "" {
		t.Skip("set TIERSPAYANT_IMPORT_BENCH (make import-bench)")
	}
	lines, err := strconv.Atoi(v)
	if err != nil || lines < 1 {
		t.Fatalf("TIERSPAYANT_IMPORT_BENCH=%q: a number of lines", v)
	}
	if lines == 1 {
		lines = 1000000
	}
	batch := "50000"
	if b := os.Getenv("TIERSPAYANT_IMPORT_BENCH_BATCH"); b != "" {
		batch = b
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	addr, _ := startBinary(t, bin, []string{"ADJ_REDIS_ADDRS=" + srv.Addr, "ADJ_HMAC_SECRET=" + strings.Repeat("0123456789abcdef", 4), "ADJ_AUTH=open"})

	dir := t.TempDir()
	in := filepath.Join(dir, "oppositions.csv")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("identifier,reason,effective_at\n")
	reasons := []string{"theft", "loss", "malfunction", "compromise"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range lines {
		fmt.Fprintf(w, "BENCH%010d,%s,%s\n", i, reasons[i%len(reasons)], base.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(in)

	importOnce := func(what string, wantAdded int) float64 {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(bin, "oppositions", "import", in, "--server", addr, "--batch", batch, "--progress", "lines", "--progress-every", "5s")
		cmd.Env = []string{}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s%s", what, err, out.String(), errb.String())
		}
		d := time.Since(start)
		m := regexp.MustCompile(`(\d+) added, (\d+) unchanged`).FindStringSubmatch(out.String())
		if m == nil || m[1] != strconv.Itoa(wantAdded) {
			t.Fatalf("%s: summary %q, want %d added", what, out.String(), wantAdded)
		}
		rate := float64(lines) / d.Seconds()
		fmt.Printf("import-bench: %s: %d lines (%.1f MB) in %s: %.0f entries/s (--batch %s)\n%s", what, lines, float64(fi.Size())/1e6,
			d.Round(time.Millisecond), rate, batch, indent(errb.String()))
		fmt.Printf("  %s", out.String())
		return rate
	}
	importOnce("first import", lines)
	importOnce("replay (all already opposed)", 0)

	start := time.Now()
	outFile := filepath.Join(dir, "export.csv")
	cmd := exec.Command(bin, "oppositions", "export", "--server", addr, "-o", outFile)
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	d := time.Since(start)
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")) - 1; n != lines {
		t.Fatalf("export: %d entries, want %d", n, lines)
	}
	fmt.Printf("import-bench: export: %d entries in %s (%.0f entries/s, including the 3 s idle wait that ends it)\n", lines, d.Round(time.Millisecond), float64(lines)/d.Seconds())
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}
