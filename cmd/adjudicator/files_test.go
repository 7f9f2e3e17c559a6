package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
)

// fileServer starts the service in process on the embedded store, its clock
// fixed at the README's instant, and a client connection to it.
func fileServer(t *testing.T) (string, *grpc.ClientConn) {
	t.Helper()
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Clock, _ = time.Parse(time.RFC3339, walkClock)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, logging.New(io.Discard, "error"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); a.Shutdown() })
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return a.GRPCAddr, conn
}

// runCmd runs a command line as main does: the exit status, stdout and
// stderr (with the error main prints).
func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	err := run(ctx, args, noEnv, &out, &errw)
	return exitCode(err, &errw), out.String(), errw.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func opposed(t *testing.T, conn *grpc.ClientConn, id string) bool {
	t.Helper()
	res, err := tpv1.NewOppositionServiceClient(conn).CheckOpposition(context.Background(), &tpv1.CheckOppositionRequest{Identifier: id})
	if err != nil {
		t.Fatalf("CheckOpposition %s: %v", id, err)
	}
	return res.GetOpposed()
}

const oppositionsCSV = `identifier,reason,effective_at
CARD-0001,theft,2025-01-01T00:00:00Z
CARD-0002,loss,2025-02-01
CARD 0003,loss,2025-02-01T00:00:00Z
CARD-0004,stolen,2025-02-01T00:00:00Z
APP_0005,OPPOSITION_REASON_COMPROMISE,2025-03-01T08:30:00Z
CARD-0006,malfunction,2025-03-01T00:00:00Z,extra
CARD-0007,end_of_rights,2025-03-02T00:00:00Z
`

// TestOppositionsImportCheckExport: an import refuses the bad lines by
// number and stores the others (CheckOpposition sees them); a replay adds
// nothing; export gives the same entries back, in CSV and JSON lines, and
// the JSON-lines export imports back unchanged.
func TestOppositionsImportCheckExport(t *testing.T) {
	t.Parallel()
	addr, conn := fileServer(t)
	ctx := context.Background()
	in := writeFile(t, "opp.csv", oppositionsCSV)
	code, out, errs := runCmd(ctx, "oppositions", "import", in, "--server", addr, "--progress", "none")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (lines refused)\n%s%s", code, out, errs)
	}
	for _, want := range []string{"4 added, 0 unchanged (already opposed), 3 refused", "refused line 4: identifier", "refused line 5: reason: \"stolen\"",
		"refused line 7: 4 fields, the header has 3", "3 lines refused"} {
		if !strings.Contains(out+errs, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errs)
		}
	}
	for id, want := range map[string]bool{"CARD-0001": true, "CARD-0002": true, "APP_0005": true, "CARD-0007": true, "CARD-0004": false, "CARD-0006": false} {
		if got := opposed(t, conn, id); got != want {
			t.Errorf("CheckOpposition %s: opposed %v, want %v", id, got, want)
		}
	}
	if _, err := os.Stat(in + ".progress"); !os.IsNotExist(err) {
		t.Errorf("the progress file stays after a complete import: %v", err)
	}
	// A replay: idempotent; two entries per call, three calls at once.
	_, out, _ = runCmd(ctx, "oppositions", "import", in, "--server", addr, "--progress", "none", "--batch", "2", "--inflight", "3")
	if !strings.Contains(out, "0 added, 4 unchanged (already opposed), 3 refused") {
		t.Errorf("replay: %s", out)
	}

	// Export, CSV on stdout.
	code, out, errs = runCmd(ctx, "oppositions", "export", "--server", addr, "--idle", "500ms")
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(oppositionColumns, ",") {
		t.Fatalf("header %v", recs[0])
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0]+","+r[1]+","+r[2])
		if r[3] == "" || r[4] != "" {
			t.Errorf("recorded_at empty or lifted_at set: %v", r)
		}
	}
	want := []string{"APP_0005,compromise,2025-03-01T08:30:00Z", "CARD-0001,theft,2025-01-01T00:00:00Z",
		"CARD-0002,loss,2025-01-31T23:00:00Z", "CARD-0007,end_of_rights,2025-03-02T00:00:00Z"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("export:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Export as JSON lines to a file, then import it back: nothing new.
	jl := filepath.Join(t.TempDir(), "opp.jsonl")
	if code, _, errs := runCmd(ctx, "oppositions", "export", "--server", addr, "--idle", "500ms", "-o", jl); code != 0 {
		t.Fatalf("export jsonl: %s", errs)
	}
	b, _ := os.ReadFile(jl)
	if n := strings.Count(string(b), "\n"); n != 4 {
		t.Fatalf("%d JSON lines:\n%s", n, b)
	}
	var first oppositionRow
	if err := json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &first); err != nil || first.Identifier != "APP_0005" || first.Reason != "compromise" {
		t.Errorf("first JSON line %+v, %v", first, err)
	}
	code, out, errs = runCmd(ctx, "oppositions", "import", jl, "--server", addr, "--progress", "none")
	if code != 0 || !strings.Contains(out, "0 added, 4 unchanged (already opposed), 0 refused") {
		t.Errorf("import of the export: exit %d\n%s%s", code, out, errs)
	}
}

// TestOppositionsImportResume: an import interrupted after its first call
// leaves FILE.progress at the last acknowledged line; --resume sends only the
// rest and the summary counts the whole file.
func TestOppositionsImportResume(t *testing.T) {
	t.Parallel()
	addr, conn := fileServer(t)
	var b strings.Builder
	b.WriteString("identifier,reason,effective_at\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "RES-%02d,loss,2025-01-%02dT00:00:00Z\n", i, i)
	}
	b.WriteString("RES-bad!,loss,2025-01-01T00:00:00Z\n") // line 12
	in := writeFile(t, "big.csv", b.String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acked []int
	hctx := context.WithValue(ctx, importHookKey{}, func(line int) {
		acked = append(acked, line)
		cancel() // the operator's Ctrl-C, right after the first call
	})
	code, out, errs := runCmd(hctx, "oppositions", "import", in, "--server", addr, "--batch", "4", "--inflight", "1", "--progress", "none")
	// The call after the first may have been answered before the
	// cancellation reached it: then the progress file is at line 9.
	if len(acked) == 0 || acked[0] != 5 || len(acked) > 2 {
		t.Fatalf("acknowledged %v, want [5] or [5 9] (header + 4 entries per call)\n%s%s", acked, out, errs)
	}
	done := acked[len(acked)-1]
	if code != 1 || !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "--resume") || !strings.Contains(errs, fmt.Sprintf("every line up to %d is done", done)) {
		t.Fatalf("interrupted run: exit %d\n%s%s", code, out, errs)
	}
	var st importState
	sb, err := os.ReadFile(in + ".progress")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sb, &st); err != nil || st.Line != done || st.Added != uint64(4*len(acked)) {
		t.Fatalf("progress file %s (%v)", sb, err)
	}
	// The entries of the acknowledged calls are in. Those of a call cut by the
	// cancellation may be in too (stored, answer lost): the resume sends them
	// again, and an import is idempotent.
	if !opposed(t, conn, "RES-04") {
		t.Fatal("the acknowledged calls' entries should be in")
	}

	code, out, errs = runCmd(context.Background(), "oppositions", "import", in, "--server", addr, "--batch", "4", "--resume", "--progress", "none")
	if code != 1 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errs)
	}
	// 10 entries in all, added or (stored by the cut call) unchanged; line
	// 12 refused once.
	if !strings.Contains(errs, fmt.Sprintf("resuming after line %d", done)) ||
		!strings.Contains(out, "10 added, 0 unchanged (already opposed), 1 refused") && !strings.Contains(out, "6 added, 4 unchanged (already opposed), 1 refused") ||
		strings.Count(out, "refused line 12: identifier") != 1 {
		t.Errorf("resume:\n%s%s", out, errs)
	}
	for i := 1; i <= 10; i++ {
		if !opposed(t, conn, fmt.Sprintf("RES-%02d", i)) {
			t.Errorf("RES-%02d not opposed after the resumed import", i)
		}
	}
	if _, err := os.Stat(in + ".progress"); !os.IsNotExist(err) {
		t.Errorf("progress file left after the import completed: %v", err)
	}

	// A progress file for another version of the file is refused.
	st.Size++
	sb, _ = json.Marshal(st)
	if err := os.WriteFile(in+".progress", sb, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd(context.Background(), "oppositions", "import", in, "--server", addr, "--resume"); code != 1 || !strings.Contains(errs, "changed since") {
		t.Errorf("stale progress file: exit %d, %s", code, errs)
	}
}

// TestImportProgressLines: off a terminal, progress comes as lines.
func TestImportProgressLines(t *testing.T) {
	t.Parallel()
	addr, _ := fileServer(t)
	in := writeFile(t, "p.jsonl", `{"identifier":"PL-1","reason":"theft","effective_at":"2025-01-01"}`+"\n\n"+
		`{"identifier":"PL-2","reason":"loss","effective_at":"2025-01-01","colour":"red"}`+"\n")
	code, out, errs := runCmd(context.Background(), "oppositions", "import", in, "--server", addr, "--progress", "lines", "--progress-every", "1ns")
	if code != 1 || !strings.Contains(errs, "oppositions import: 1 lines read") || !strings.Contains(out, "refused line 3: not a JSON object") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	// The bar, forced (a buffer is no terminal): drawn, and the summary.
	code, out, errs = runCmd(context.Background(), "oppositions", "import", in, "--server", addr, "--progress", "bar")
	if code != 1 || !strings.Contains(errs, "oppositions import") || !strings.Contains(out, "0 added, 1 unchanged") {
		t.Errorf("bar: exit %d\n%s%s", code, out, errs)
	}
}

const beneficiariesCSV = `nir,birth_date,rights,organisms,has_medecin_traitant,statuses,pregnancies
185057800608491,1985-05-20,2020-01-01/,CPAM75:2020-01-01/,true,,
285057800608441,1985-05-20,2020-01-01/2030-12-31,CPAM75:2020-01-01/,no,invalidity_pension:2024-01-01/,2025-06-01/
185057800608491,1985-05-20,2020-01-01,CPAM75:2020-01-01/,true,,
185057800608400,1985-05-20,2020-01-01/,CPAM75:2020-01-01/,true,,
`

// TestBeneficiariesImportAndClaimsExport: beneficiaries from CSV (a bad
// period refused locally, a bad NIR key by the service, both by line), then a
// claim adjudicated for one of them comes out of claims export with its
// decision and payment state.
func TestBeneficiariesImportAndClaimsExport(t *testing.T) {
	t.Parallel()
	addr, conn := fileServer(t)
	ctx := context.Background()
	in := writeFile(t, "ben.csv", beneficiariesCSV)
	code, out, errs := runCmd(ctx, "beneficiaries", "import", in, "--server", addr, "--concurrency", "3", "--progress", "none")
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"2 upserted (created or replaced), 2 refused", "refused line 4: rights: \"2020-01-01\" is not START/END", "refused line 5: refused by the service"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "185057800608400") {
		t.Errorf("a NIR in the output:\n%s", out)
	}
	got, err := tpv1.NewBeneficiaryServiceClient(conn).GetBeneficiary(ctx, &tpv1.GetBeneficiaryRequest{Nir: "285057800608441"})
	if err != nil {
		t.Fatal(err)
	}
	if b := got.GetBeneficiary(); b.GetRights()[0].GetEnd() != "2030-12-31" || len(b.GetStatuses()) != 1 || b.GetPregnancies()[0].GetExpectedDeliveryDate() != "2025-06-01" {
		t.Errorf("stored %v", b)
	}

	// JSON lines, the API's JSON form.
	jl := writeFile(t, "ben.jsonl", `{"nir":"185057800608491","birthDate":"1985-05-20","rights":[{"start":"2020-01-01"}],`+
		`"organisms":[{"organism_code":"CPAM75","period":{"start":"2020-01-01"}}],"has_medecin_traitant":true}`+"\n")
	if code, out, errs := runCmd(ctx, "beneficiaries", "import", jl, "--server", addr, "--progress", "none"); code != 0 || !strings.Contains(out, "1 upserted") {
		t.Fatalf("jsonl: exit %d\n%s%s", code, out, errs)
	}

	claim := `{"claim":{"claim_id":"10000000009-F0001","created_at":"2025-03-10T10:00:00Z",
  "professional":{"id":"10000000009","id_kind":"PROFESSIONAL_ID_KIND_RPPS","profession":"PROFESSION_PHYSICIAN","departement":"75"},
  "identification":{"kind":"IDENTIFICATION_KIND_VITALE_CARD","value":"1234567890"},
  "nir":"185057800608491","nature":"INSURANCE_NATURE_MALADIE","mode":"TIERS_PAYANT_MODE_AMO_ONLY",
  "lines":[{"line_id":"1","code":"G","category":"CATEGORY_PHYSICIAN","care_date":"2025-03-10",
  "unit_price":"30.00","quantity":1,"parcours":"PARCOURS_RESPECTED"}]}}`
	var req tpv1.AdjudicateRequest
	if err := protojson.Unmarshal([]byte(claim), &req); err != nil {
		t.Fatal(err)
	}
	if _, err := tpv1.NewClaimServiceClient(conn).Adjudicate(ctx, &req); err != nil {
		t.Fatal(err)
	}

	code, out, errs = runCmd(ctx, "claims", "export", "--professional", "10000000009", "--from", "2025-03-01", "--to", "2025-03-31", "--server", addr)
	if code != 0 {
		t.Fatalf("claims export: exit %d\n%s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("claims export:\n%s (%v)", out, err)
	}
	row := map[string]string{}
	for i, c := range recs[0] {
		row[c] = recs[1][i]
	}
	for k, v := range map[string]string{"claim_id": "10000000009-F0001", "state": "received", "due_date": "2025-03-20", "decision_status": "accepted",
		"guarantee": "guaranteed", "amo": "21.00", "managing_organism": "CPAM75", "cancelled": "false"} {
		if row[k] != v {
			t.Errorf("%s = %q, want %q (%v)", k, row[k], v, row)
		}
	}
	// The dates are those of receipt (the service's clock, 2025-03-11):
	// from the day after, nothing.
	_, out, _ = runCmd(ctx, "claims", "export", "--professional", "10000000009", "--from", "2025-03-12", "--server", addr, "--format", "jsonl")
	if out != "" {
		t.Errorf("from the day after: %q", out)
	}
	_, out, _ = runCmd(ctx, "claims", "export", "--professional", "10000000009", "--to", "2025-03-11", "--server", addr, "--format", "jsonl", "--decisions=false")
	var jr claimRow
	if err := json.Unmarshal([]byte(out), &jr); err != nil || jr.ClaimID != "10000000009-F0001" || jr.PayableToProfessional == "" || jr.DecisionStatus != "" {
		t.Errorf("jsonl without decisions: %q %+v %v", out, jr, err)
	}
	// By the paying organism, over a range of quarters (ListOrganismClaims).
	code, out, errs = runCmd(ctx, "claims", "export", "--organism", "CPAM75", "--from", "2024-12-01", "--to", "2025-04-30", "--server", addr, "--format", "jsonl")
	jr = claimRow{}
	if err := json.Unmarshal([]byte(out), &jr); code != 0 || err != nil || jr.ClaimID != "10000000009-F0001" || jr.ProfessionalID != "10000000009" ||
		jr.State != "received" || jr.DecisionStatus != "accepted" {
		t.Errorf("claims export --organism: exit %d %q %+v %v\n%s", code, out, jr, err, errs)
	}
	_, out, _ = runCmd(ctx, "claims", "export", "--organism", "MUT99", "--from", "2025-01-01", "--to", "2025-12-31", "--server", addr, "--format", "jsonl")
	if out != "" {
		t.Errorf("another organism's export: %q", out)
	}
}

func TestFileCommandsUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"claims", "export", "--organism", "CPAM75"}, "--organism needs --from and --to"},
		{[]string{"claims", "export"}, "give --professional or --organism"},
		{[]string{"claims", "export", "--organism", "CPAM75", "--professional", "10000000009"}, "give --professional or --organism"},
		{[]string{"claims", "exprot"}, `unknown claims command "exprot"`},
		{[]string{"oppositions", "import"}, "give the FILE"},
		{[]string{"oppositions", "import", "x.txt"}, "--format csv"},
		{[]string{"oppositions", "import", "x.csv", "--batch", "300000"}, "--batch"},
		{[]string{"oppositions", "delete"}, "oppositions commands: import, export"},
		{[]string{"beneficiaries", "import", "--format", "xml", "b.csv"}, "--format"},
	} {
		code, out, errs := runCmd(context.Background(), tc.args...)
		if code != 2 || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, out+errs, tc.want)
		}
	}
	// Flags before or after the file.
	if p, rest := splitFileArg([]string{"--batch", "10", "f.csv", "--resume"}); p != "f.csv" || strings.Join(rest, " ") != "--batch 10 --resume" {
		t.Errorf("splitFileArg: %q %v", p, rest)
	}
	if p, _ := splitFileArg([]string{"--resume", "f.csv"}); p != "f.csv" {
		t.Errorf("splitFileArg after a boolean: %q", p)
	}
}
