package main

// Shared pieces of the file commands (oppositions import/export, beneficiaries
// import, claims export; docs/files.md): input formats, line-numbered rows,
// progress reporting and the refusal summary.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// openImport opens the file of an import command with its format (from
// --format or its extension) and its size and modification time.
func openImport(flagValue, path string) (*os.File, string, os.FileInfo, error) {
	ff, err := fileFormat(flagValue, path)
	if err != nil {
		return nil, "", nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	return f, ff, fi, nil
}

// fileFormat picks csv or jsonl: the --format flag, else the extension.
func fileFormat(flagValue, path string) (string, error) {
	switch strings.ToLower(flagValue) {
	case "csv":
		return "csv", nil
	case "jsonl", "ndjson", "json":
		return "jsonl", nil
	case "":
	default:
		return "", usagef("--format: %q: csv or jsonl", flagValue)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson", ".json":
		return "jsonl", nil
	}
	return "", usagef("%s: cannot tell the format from the extension: give --format csv or --format jsonl", path)
}

// row is one data line of an input file.
type row struct {
	line   int               // 1-based line number in the file
	fields map[string]string // CSV: column → value
	raw    []byte            // JSONL: the line
}

// rowReader yields the data rows of a CSV (with a header) or JSON Lines file.
type rowReader struct {
	format string
	cr     *csv.Reader
	header []string
	br     *bufio.Reader
	line   int
}

// newRowReader reads the header of a CSV file and checks its columns against
// known (required ones listed in required).
func newRowReader(r io.Reader, format string, known, required []string) (*rowReader, error) {
	rr := &rowReader{format: format}
	if format == "jsonl" {
		rr.br = bufio.NewReaderSize(r, 1<<16)
		return rr, nil
	}
	rr.cr = csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	rr.cr.Comment = '#'
	header, err := rr.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: a CSV file starts with its header line")
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !isKnown[h] {
			return nil, fmt.Errorf("header: unknown column %q (columns: %s)", h, strings.Join(known, ", "))
		}
		if seen[h] {
			return nil, fmt.Errorf("header: column %q twice", h)
		}
		seen[h] = true
		header[i] = h
	}
	for _, c := range required {
		if !seen[c] {
			return nil, fmt.Errorf("header: the column %q is required (columns: %s)", c, strings.Join(known, ", "))
		}
	}
	rr.header = header
	rr.cr.FieldsPerRecord = len(header)
	return rr, nil
}

// next returns the next row; a row-level problem (wrong field count) comes
// back as badRow with the row's line, a broken file as another error.
func (rr *rowReader) next() (row, error) {
	if rr.format == "jsonl" {
		for {
			b, err := rr.br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				return row{}, err
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return row{}, err
			}
			rr.line++
			if s := strings.TrimSpace(string(b)); s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			return row{line: rr.line, raw: b}, nil
		}
	}
	rec, err := rr.cr.Read()
	line, _ := rr.cr.FieldPos(0)
	if errors.Is(err, csv.ErrFieldCount) {
		return row{line: line}, badRow{line: line, msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(rr.header))}
	}
	if err != nil {
		return row{}, err
	}
	f := make(map[string]string, len(rec))
	for i, v := range rec {
		f[rr.header[i]] = strings.TrimSpace(v)
	}
	return row{line: line, fields: f}, nil
}

// badRow is a line the command refuses.
type badRow struct {
	line int
	msg  string
}

func (b badRow) Error() string { return fmt.Sprintf("line %d: %s", b.line, b.msg) }

// refusals keeps the refused lines: all counted, the first few kept.
type refusals struct {
	mu    sync.Mutex
	count int
	first []badRow
}

// maxListed is how many refused lines a summary lists.
const maxListed = 100

func (r *refusals) add(b badRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if len(r.first) < maxListed {
		r.first = append(r.first, b)
	}
}

// write lists the refused lines, in line order.
func (r *refusals) write(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := append([]badRow(nil), r.first...)
	sortBadRows(list)
	for _, b := range list {
		fmt.Fprintf(w, "  refused %s\n", b)
	}
	if r.count > len(list) {
		fmt.Fprintf(w, "  … and %d more refused lines\n", r.count-len(list))
	}
}

func sortBadRows(l []badRow) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].line < l[j-1].line; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress reports how far a command is: a bar on a terminal, a line every
// interval otherwise (logs, CI).
type progress struct {
	label    string
	bar      *progressbar.ProgressBar
	w        io.Writer
	every    time.Duration
	start    time.Time
	mu       sync.Mutex
	last     time.Time
	total    int64 // bytes of the file, 0 when unknown
	bytes    func() int64
	describe func() string
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts reporting on w. mode is auto, bar, lines or none.
func newProgress(w io.Writer, mode, label string, total int64, every time.Duration, bytes func() int64, describe func() string) *progress {
	p := &progress{label: label, w: w, every: every, start: time.Now(), last: time.Now(), total: total, bytes: bytes, describe: describe}
	if mode == "auto" {
		mode = "lines"
		if isTerminal(w) {
			mode = "bar"
		}
	}
	switch mode {
	case "none":
		p.w = nil
	case "bar":
		max := total
		if max <= 0 {
			max = -1
		}
		p.bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(), progressbar.OptionSetPredictTime(true))
	}
	return p
}

// tick updates the report; cheap enough to call per line.
func (p *progress) tick() {
	if p.w == nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		if now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.bar.Describe(p.label + " " + p.describe())
			_ = p.bar.Set64(p.bytes())
		}
		return
	}
	if now.Sub(p.last) >= p.every {
		p.last = now
		p.line(now)
	}
}

func (p *progress) line(now time.Time) {
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" (%.1f %% of the file)", 100*float64(p.bytes())/float64(p.total))
	}
	fmt.Fprintf(p.w, "%s: %s%s, %s elapsed\n", p.label, p.describe(), pct, now.Sub(p.start).Round(time.Second))
}

// done ends the report.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(p.label + " " + p.describe())
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// progressOpts are the reporting flags of the import commands.
type progressOpts struct {
	mode  string
	every time.Duration
}

func (o *progressOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.mode, "progress", "auto", "auto (a bar on a terminal, lines otherwise), bar, lines or none")
	fs.DurationVar(&o.every, "progress-every", 5*time.Second, "interval of the progress lines when not on a terminal")
}

func (o progressOpts) check() error {
	switch o.mode {
	case "auto", "bar", "lines", "none":
	default:
		return usagef("--progress: %q: auto, bar, lines or none", o.mode)
	}
	if o.every <= 0 {
		return usagef("--progress-every: must be positive")
	}
	return nil
}
