package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// The columns of an opposition file (docs/files.md#oppositions), named as
// the fields of the API's Opposition message. recorded_at, lifted_at and
// owner are what export writes; import ignores recorded_at and owner (the
// service sets them) and refuses a lifted entry.
var oppositionColumns = []string{"identifier", "reason", "effective_at", "recorded_at", "lifted_at", "owner"}

// maxImportCall is the service's limit per ImportOppositions call.
const maxImportCall = 200000

// importHookKey carries, in tests, a function run after each acknowledged
// call with the last line it covered.
type importHookKey struct{}

// paris is the time zone of a bare date in an effective_at column.
var paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return l
}()

// oppositionRow is one entry as written in a file.
type oppositionRow struct {
	Identifier  string `json:"identifier"`
	Reason      string `json:"reason"`
	EffectiveAt string `json:"effective_at"`
	RecordedAt  string `json:"recorded_at,omitempty"`
	LiftedAt    string `json:"lifted_at,omitempty"`
	Owner       string `json:"owner,omitempty"`
}

var identifierRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// reasonName is the file spelling of a reason: the enum name, lower case,
// without its prefix ("theft").
func reasonName(r tpv1.OppositionReason) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "OPPOSITION_REASON_"))
}

func parseReason(s string) (tpv1.OppositionReason, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if v, ok := tpv1.OppositionReason_value[u]; ok && v > 0 {
		return tpv1.OppositionReason(v), true
	}
	if v, ok := tpv1.OppositionReason_value["OPPOSITION_REASON_"+u]; ok && v > 0 {
		return tpv1.OppositionReason(v), true
	}
	return 0, false
}

// parseInstant reads an RFC 3339 instant, or a date taken as midnight in
// Paris.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, paris); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 instant (2025-03-11T09:00:00Z) or a date YYYY-MM-DD", s)
}

// validate checks an entry as the service does (identifier, reason,
// effective_at) and builds it.
func (o oppositionRow) validate() (*tpv1.Opposition, error) {
	var probs []string
	if !identifierRE.MatchString(o.Identifier) {
		probs = append(probs, "identifier: 1 to 64 letters, digits, '-' or '_'")
	}
	reason, ok := parseReason(o.Reason)
	if !ok {
		probs = append(probs, fmt.Sprintf("reason: %q is not one of theft, loss, malfunction, compromise, end_of_rights", o.Reason))
	}
	var eff time.Time
	if o.EffectiveAt == "" {
		probs = append(probs, "effective_at: required")
	} else if t, err := parseInstant(o.EffectiveAt); err != nil {
		probs = append(probs, "effective_at: "+err.Error())
	} else if timestamppb.New(t).CheckValid() != nil {
		probs = append(probs, "effective_at: out of range")
	} else {
		eff = t
	}
	if o.LiftedAt != "" {
		probs = append(probs, "lifted_at: a lifted entry cannot be imported (ImportOppositions stores entries in force)")
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	return &tpv1.Opposition{Identifier: o.Identifier, Reason: reason, EffectiveAt: timestamppb.New(eff)}, nil
}

func decodeOpposition(r row) (oppositionRow, error) {
	if r.raw == nil {
		f := r.fields
		return oppositionRow{Identifier: f["identifier"], Reason: f["reason"], EffectiveAt: f["effective_at"],
			RecordedAt: f["recorded_at"], LiftedAt: f["lifted_at"], Owner: f["owner"]}, nil
	}
	var o oppositionRow
	d := json.NewDecoder(bytes.NewReader(r.raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&o); err != nil {
		return o, fmt.Errorf("not a JSON object with the fields %s: %w", strings.Join(oppositionColumns, ", "), err)
	}
	return o, nil
}

// importState is FILE.progress: how far an import got, rewritten after each
// call the service acknowledged (docs/files.md#resume).
type importState struct {
	File      string   `json:"file"`
	Size      int64    `json:"size"`
	ModTime   string   `json:"mod_time"`
	Line      int      `json:"line"` // every line up to this one is done
	Added     uint64   `json:"added"`
	Unchanged uint64   `json:"unchanged"`
	Refused   int      `json:"refused"`
	Version   uint64   `json:"version"`
	Refusals  []string `json:"refusals,omitempty"` // the first refused lines, "line N: why"
	UpdatedAt string   `json:"updated_at"`
}

func writeState(path string, s importState) error {
	s.UpdatedAt = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pendingEntry is an entry read but not yet acknowledged.
type pendingEntry struct {
	line int
	o    *tpv1.Opposition
}

// oppositionsImport streams a file of entries to ImportOppositions, in calls
// of --batch entries.
func oppositionsImport(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oppositions import", flag.ContinueOnError)
	format := fs.String("format", "", "csv or jsonl; by default from the extension (.csv, .jsonl)")
	batch := fs.Int("batch", 50000, "entries per ImportOppositions call (at most 200000)")
	inflight := fs.Int("inflight", 2, "ImportOppositions calls at once (1 to 8)")
	resume := fs.Bool("resume", false, "continue from FILE.progress, after the last line the service acknowledged")
	var po progressOpts
	po.register(fs)
	var co clientOpts
	clientFlags(fs, &co, e)
	path, rest := splitFileArg(args)
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	if path == "" {
		return usagef("oppositions import: give the FILE to import")
	}
	if *batch < 1 || *batch > maxImportCall {
		return usagef("oppositions import: --batch: 1 to %d", maxImportCall)
	}
	if *inflight < 1 || *inflight > 8 {
		return usagef("oppositions import: --inflight: 1 to 8")
	}
	if err := po.check(); err != nil {
		return err
	}
	f, ff, fi, err := openImport(*format, path)
	if err != nil {
		return err
	}
	defer f.Close()
	statePath := path + ".progress"
	st := importState{File: path, Size: fi.Size(), ModTime: fi.ModTime().UTC().Format(time.RFC3339Nano)}
	var refused refusals
	if *resume {
		b, err := os.ReadFile(statePath)
		switch {
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(stderr, "oppositions import: no %s: starting from the first line\n", statePath)
		case err != nil:
			return err
		default:
			var prev importState
			if err := json.Unmarshal(b, &prev); err != nil {
				return fmt.Errorf("%s: %w", statePath, err)
			}
			if prev.Size != st.Size || prev.ModTime != st.ModTime {
				return fmt.Errorf("%s changed since %s was written (size %d, modified %s; now %d, %s): import it from the start, without --resume (an import is idempotent)",
					path, statePath, prev.Size, prev.ModTime, st.Size, st.ModTime)
			}
			st = prev
			refused.count = prev.Refused
			for _, r := range prev.Refusals {
				var n int
				var msg string
				if _, err := fmt.Sscanf(r, "line %d:", &n); err == nil {
					msg = strings.TrimSpace(r[strings.Index(r, ":")+1:])
				}
				refused.first = append(refused.first, badRow{line: n, msg: msg})
			}
			fmt.Fprintf(stderr, "oppositions import: resuming after line %d (%d added, %d unchanged, %d refused so far)\n", st.Line, st.Added, st.Unchanged, st.Refused)
		}
	}
	skip := st.Line
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := tpv1.NewOppositionServiceClient(conn)

	cr := &countingReader{r: f}
	rr, err := newRowReader(cr, ff, oppositionColumns, []string{"identifier", "reason", "effective_at"})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var lines atomic.Int64
	var added, unchanged, sent atomic.Uint64 // for the progress report
	added.Store(st.Added)
	unchanged.Store(st.Unchanged)
	prog := newProgress(stderr, po.mode, "oppositions import", st.Size, po.every, cr.n.Load, func() string {
		refused.mu.Lock()
		n := refused.count
		refused.mu.Unlock()
		return fmt.Sprintf("%d lines read, %d added, %d unchanged, %d refused", lines.Load(), added.Load(), unchanged.Load(), n)
	})
	saveState := func(line int) error {
		st.Line = line
		st.Refusals = st.Refusals[:0]
		refused.mu.Lock()
		// Only the refusals up to the checkpoint: lines read ahead of it are
		// read, and refused, again on --resume.
		st.Refused = refused.count
		for _, b := range refused.first {
			if b.line > line {
				st.Refused--
				continue
			}
			st.Refusals = append(st.Refusals, b.Error())
		}
		refused.mu.Unlock()
		return writeState(statePath, st)
	}
	started := time.Now()
	// send sends one batch in one call (again without the entries the service
	// names, should it refuse some).
	send := func(j batchJob) batchDone {
		d := batchDone{seq: j.seq, lastLine: j.lastLine}
		pending := j.pending
		for len(pending) > 0 {
			res, err := importCall(ctx, client, pending, prog)
			if err == nil {
				d.added, d.unchanged, d.version = res.GetImported(), uint64(len(pending))-res.GetImported(), res.GetVersion()
				sent.Add(uint64(len(pending)))
				added.Add(d.added)
				unchanged.Add(d.unchanged)
				break
			}
			bad := serverRefusals(err)
			// The service refused entries the local checks let through:
			// nothing of this call was stored; refuse them and send the rest.
			keep := pending[:0:0]
			for i, p := range pending {
				if msg, ok := bad[i]; ok {
					refused.add(badRow{line: p.line, msg: "refused by the service: " + msg})
					continue
				}
				keep = append(keep, p)
			}
			if len(keep) == len(pending) {
				d.err = err
				return d
			}
			pending = keep
		}
		return d
	}
	// Up to --inflight calls at once: the service writes one batch while the
	// next is read and streamed. The progress file advances over the batches
	// acknowledged in file order only.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	jobs := make(chan batchJob)
	dones := make(chan batchDone, *inflight)
	var workers sync.WaitGroup
	for range *inflight {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				if err := ctx.Err(); err != nil {
					// Interrupted: no new call starts (a batch taken before
					// the interruption but not yet sent stays unsent).
					dones <- batchDone{seq: j.seq, err: err}
					continue
				}
				dones <- send(j)
			}
		}()
	}
	var runErr error
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		next, waiting := 0, map[int]batchDone{}
		for d := range dones {
			waiting[d.seq] = d
			for {
				x, ok := waiting[next]
				if !ok {
					break
				}
				delete(waiting, next)
				next++
				if runErr != nil {
					continue
				}
				if x.err != nil {
					runErr = x.err
					stopReading()
					continue
				}
				st.Added += x.added
				st.Unchanged += x.unchanged
				st.Version = max(st.Version, x.version)
				if err := saveState(x.lastLine); err != nil {
					runErr = err
					stopReading()
					continue
				}
				if hook, ok := ctx.Value(importHookKey{}).(func(int)); ok {
					hook(x.lastLine)
				}
			}
		}
	}()
	var readErr error
	var pending []pendingEntry
	seq, lastLine := 0, skip
	dispatch := func() bool {
		select {
		case jobs <- batchJob{seq: seq, pending: pending, lastLine: lastLine}:
			seq++
			pending = make([]pendingEntry, 0, *batch)
			return true
		case <-readCtx.Done():
			return false
		}
	}
read:
	for readCtx.Err() == nil {
		r, err := rr.next()
		if errors.Is(err, io.EOF) {
			dispatch() // the last batch, perhaps empty: it records the last line
			break
		}
		var br badRow
		if errors.As(err, &br) {
			lines.Add(1)
			if br.line > skip {
				refused.add(br)
				lastLine = br.line
			}
			continue
		}
		if err != nil {
			readErr = fmt.Errorf("%s: %w", path, err)
			break
		}
		lines.Add(1)
		prog.tick()
		if r.line <= skip {
			continue
		}
		lastLine = r.line
		o, err := decodeOpposition(r)
		if err == nil {
			var p *tpv1.Opposition
			if p, err = o.validate(); err == nil {
				pending = append(pending, pendingEntry{line: r.line, o: p})
			}
		}
		if err != nil {
			refused.add(badRow{line: r.line, msg: err.Error()})
		}
		if len(pending) >= *batch && !dispatch() {
			break read
		}
	}
	close(jobs)
	workers.Wait()
	close(dones)
	<-collected
	if runErr == nil {
		runErr = readErr
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = ctx.Err()
	}
	prog.done()
	elapsed := time.Since(started)
	fmt.Fprintf(stdout, "oppositions import: %s: %d added, %d unchanged (already opposed), %d refused", path, st.Added, st.Unchanged, refused.count)
	if st.Version > 0 {
		fmt.Fprintf(stdout, "; list version %d", st.Version)
	}
	fmt.Fprintln(stdout)
	refused.write(stdout)
	if runErr != nil {
		what := "stopped"
		if ctx.Err() != nil {
			what = "interrupted"
		}
		return fmt.Errorf("oppositions import %s: %w\nevery line up to %d is done (%s): run the same command with --resume to continue (replaying the whole file is safe too: entries already opposed are skipped)",
			what, runErr, st.Line, statePath)
	}
	if n := sent.Load(); n > 0 {
		fmt.Fprintf(stderr, "oppositions import: %d entries sent in %s (%.0f entries/s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
	_ = os.Remove(statePath)
	if refused.count > 0 {
		return fmt.Errorf("oppositions import: %d lines refused (listed above); the other entries were imported", refused.count)
	}
	return nil
}

// batchJob is one call's entries; batchDone its outcome.
type batchJob struct {
	seq      int
	pending  []pendingEntry
	lastLine int // every line up to this one is in this batch or before
}

type batchDone struct {
	seq, lastLine             int
	added, unchanged, version uint64
	err                       error
}

// importCall sends entries in one ImportOppositions call.
func importCall(ctx context.Context, client tpv1.OppositionServiceClient, pending []pendingEntry, prog *progress) (*tpv1.ImportOppositionsResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	stream, err := client.ImportOppositions(cctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		if err := stream.Send(&tpv1.ImportOppositionsRequest{Opposition: p.o}); err != nil {
			break // the status comes with CloseAndRecv
		}
	}
	prog.tick()
	return stream.CloseAndRecv()
}

var entryRE = regexp.MustCompile(`^entry (\d+): (.*)$`)

// serverRefusals reads the positions an INVALID_ARGUMENT names ("entry 12:
// …" in its BadRequest) → the description.
func serverRefusals(err error) map[int]string {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return nil
	}
	out := map[int]string{}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			m := entryRE.FindStringSubmatch(v.GetDescription())
			if m == nil {
				continue
			}
			i, _ := strconv.Atoi(m[1])
			out[i] = v.GetField() + ": " + strings.TrimSuffix(m[2], " (nothing was stored)")
		}
	}
	return out
}

// splitFileArg takes the first argument that is not a flag as the file, so
// that flags may come before or after it.
func splitFileArg(args []string) (string, []string) {
	for i, a := range args {
		if a == "--" {
			if i+1 < len(args) {
				return args[i+1], append(append([]string(nil), args[:i]...), args[i+2:]...)
			}
			return "", args[:i]
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if i > 0 && takesValue(args[i-1]) {
				continue
			}
			return a, append(append([]string(nil), args[:i]...), args[i+1:]...)
		}
	}
	return "", args
}

// takesValue reports whether a flag written without "=" takes the next
// argument as its value (every flag of these commands but the booleans).
func takesValue(a string) bool {
	if !strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
		return false
	}
	switch strings.TrimLeft(a, "-") {
	case "resume", "h", "help", "all", "decisions":
		return false
	}
	return true
}

// oppositionsExport writes the opposition list from WatchOppositions: the
// changes (or the snapshot) from the start, reduced to each identifier's
// latest state, until the stream has been idle for --idle.
func oppositionsExport(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oppositions export", flag.ContinueOnError)
	format := fs.String("format", "", "csv or jsonl; by default from the --out extension, csv on standard output")
	out := fs.String("out", "-", "file to write, - for standard output")
	fs.StringVar(out, "o", "-", "same as --out")
	all := fs.Bool("all", false, "include lifted entries (with lifted_at); by default only the entries not lifted")
	idle := fs.Duration("idle", 3*time.Second, "the list is complete once the stream has sent nothing for this long")
	var co clientOpts
	clientFlags(fs, &co, e)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	ff := "csv"
	if *format != "" || *out != "-" {
		var err error
		if ff, err = fileFormat(*format, *out); err != nil {
			return err
		}
	}
	if *idle <= 0 {
		return usagef("oppositions export: --idle must be positive")
	}
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tpv1.NewOppositionServiceClient(conn).WatchOppositions(cctx, &tpv1.WatchOppositionsRequest{AfterVersion: 0})
	if err != nil {
		return fmt.Errorf("oppositions export: %w", err)
	}
	type msg struct {
		m   *tpv1.WatchOppositionsResponse
		err error
	}
	ch := make(chan msg, 1024)
	go func() {
		for {
			m, err := stream.Recv()
			ch <- msg{m, err}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	latest := map[string]*tpv1.Opposition{}
	var version uint64
	timer := time.NewTimer(*idle)
loop:
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				break loop
			}
			if m.err != nil {
				if errors.Is(m.err, io.EOF) || status.Code(m.err) == codes.Canceled && cctx.Err() != nil {
					break loop
				}
				return fmt.Errorf("oppositions export: after %d entries: %w", len(latest), m.err)
			}
			latest[m.m.GetOpposition().GetIdentifier()] = m.m.GetOpposition()
			version = max(version, m.m.GetVersion())
			timer.Reset(*idle)
		case <-timer.C:
			break loop
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cancel()
	ids := make([]string, 0, len(latest))
	for id, o := range latest {
		if *all || o.GetLiftedAt() == nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	w, closeOut, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	if ff == "csv" {
		_ = cw.Write(oppositionColumns)
	}
	for _, id := range ids {
		r := exportRow(latest[id])
		if ff == "csv" {
			_ = cw.Write([]string{r.Identifier, r.Reason, r.EffectiveAt, r.RecordedAt, r.LiftedAt, r.Owner})
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "oppositions export: %d entries (list version %d)\n", len(ids), version)
	return nil
}

func exportRow(o *tpv1.Opposition) oppositionRow {
	ts := func(t *timestamppb.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.AsTime().UTC().Format(time.RFC3339Nano)
	}
	return oppositionRow{Identifier: o.GetIdentifier(), Reason: reasonName(o.GetReason()), EffectiveAt: ts(o.GetEffectiveAt()),
		RecordedAt: ts(o.GetRecordedAt()), LiftedAt: ts(o.GetLiftedAt()), Owner: o.GetOwner()}
}
