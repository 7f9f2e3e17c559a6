package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// The columns of a beneficiary CSV file (docs/files.md#beneficiaries), named
// as the fields of the API's Beneficiary message; a JSON-lines file holds one
// Beneficiary per line in the API's JSON form.
var beneficiaryColumns = []string{"nir", "birth_date", "rights", "organisms", "css", "ame", "ald", "pregnancies",
	"has_medecin_traitant", "direct_debit_authorised", "amc_contract_id", "statuses", "regime_local"}

// parsePeriods reads "START/END;START/END": dates YYYY-MM-DD, an empty END
// for an open-ended period.
func parsePeriods(col, s string) ([]*tpv1.DatePeriod, error) {
	var out []*tpv1.DatePeriod
	for _, p := range splitList(s) {
		start, end, ok := strings.Cut(p, "/")
		if !ok || start == "" {
			return nil, fmt.Errorf("%s: %q is not START/END (YYYY-MM-DD/YYYY-MM-DD, END empty when open-ended)", col, p)
		}
		out = append(out, &tpv1.DatePeriod{Start: start, End: end})
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(col, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "0", "no", "n":
		return false, nil
	case "true", "1", "yes", "y":
		return true, nil
	}
	return false, fmt.Errorf("%s: %q is not true or false", col, s)
}

// beneficiaryFromCSV builds the message from a CSV row.
func beneficiaryFromCSV(f map[string]string) (*tpv1.Beneficiary, error) {
	b := &tpv1.Beneficiary{Nir: f["nir"], BirthDate: f["birth_date"], AmcContractId: f["amc_contract_id"]}
	if b.Nir == "" {
		return nil, errors.New("nir: required")
	}
	var err error
	for _, p := range []struct {
		col string
		dst *[]*tpv1.DatePeriod
	}{{"rights", &b.Rights}, {"css", &b.Css}, {"ame", &b.Ame}, {"ald", &b.Ald}, {"regime_local", &b.RegimeLocal}} {
		if *p.dst, err = parsePeriods(p.col, f[p.col]); err != nil {
			return nil, err
		}
	}
	for _, o := range splitList(f["organisms"]) {
		code, period, ok := strings.Cut(o, ":")
		ps, err := parsePeriods("organisms", period)
		if !ok || code == "" || err != nil || len(ps) != 1 {
			return nil, fmt.Errorf("organisms: %q is not CODE:START/END", o)
		}
		b.Organisms = append(b.Organisms, &tpv1.OrganismAttachment{OrganismCode: code, Period: ps[0]})
	}
	for _, s := range splitList(f["statuses"]) {
		kind, period, ok := strings.Cut(s, ":")
		v, known := tpv1.StatusKind_value["STATUS_KIND_"+strings.ToUpper(kind)]
		ps, err := parsePeriods("statuses", period)
		if !ok || !known || v == 0 || err != nil || len(ps) != 1 {
			return nil, fmt.Errorf("statuses: %q is not KIND:START/END with KIND one of invalidity_pension, l341_15_16, at_rentier, at_rentier_dependant, reversion_invalidity", s)
		}
		b.Statuses = append(b.Statuses, &tpv1.BeneficiaryStatus{Kind: tpv1.StatusKind(v), Period: ps[0]})
	}
	for _, p := range splitList(f["pregnancies"]) {
		expected, actual, _ := strings.Cut(p, "/")
		if expected == "" {
			return nil, fmt.Errorf("pregnancies: %q is not EXPECTED/ACTUAL (ACTUAL empty until the delivery)", p)
		}
		b.Pregnancies = append(b.Pregnancies, &tpv1.Pregnancy{ExpectedDeliveryDate: expected, ActualDeliveryDate: actual})
	}
	if b.HasMedecinTraitant, err = parseBool("has_medecin_traitant", f["has_medecin_traitant"]); err != nil {
		return nil, err
	}
	if b.DirectDebitAuthorised, err = parseBool("direct_debit_authorised", f["direct_debit_authorised"]); err != nil {
		return nil, err
	}
	return b, nil
}

var beneficiaryJSON = protojson.UnmarshalOptions{}

func decodeBeneficiary(r row) (*tpv1.Beneficiary, error) {
	if r.raw == nil {
		return beneficiaryFromCSV(r.fields)
	}
	b := &tpv1.Beneficiary{}
	if err := beneficiaryJSON.Unmarshal(r.raw, b); err != nil {
		// protojson's message may quote the input: keep only its kind, the
		// line may hold a NIR.
		return nil, errors.New("not a Beneficiary in the API's JSON form (see docs/files.md#beneficiaries)")
	}
	if b.GetNir() == "" {
		return nil, errors.New("nir: required")
	}
	return b, nil
}

// beneficiariesImport upserts each line's beneficiary, --concurrency calls at
// a time.
func beneficiariesImport(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("beneficiaries import", flag.ContinueOnError)
	format := fs.String("format", "", "csv or jsonl; by default from the extension (.csv, .jsonl)")
	concurrency := fs.Int("concurrency", 16, "UpsertBeneficiary calls in flight")
	var po progressOpts
	po.register(fs)
	var co clientOpts
	clientFlags(fs, &co, e)
	path, rest := splitFileArg(args)
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	if path == "" {
		return usagef("beneficiaries import: give the FILE to import")
	}
	if *concurrency < 1 || *concurrency > 256 {
		return usagef("beneficiaries import: --concurrency: 1 to 256")
	}
	if err := po.check(); err != nil {
		return err
	}
	f, ff, fi, err := openImport(*format, path)
	if err != nil {
		return err
	}
	defer f.Close()
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := tpv1.NewBeneficiaryServiceClient(conn)
	cr := &countingReader{r: f}
	rr, err := newRowReader(cr, ff, beneficiaryColumns, []string{"nir"})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var refused refusals
	var upserted, lines atomic.Int64
	prog := newProgress(stderr, po.mode, "beneficiaries import", fi.Size(), po.every, cr.n.Load, func() string {
		return fmt.Sprintf("%d lines read, %d upserted, %d refused", lines.Load(), upserted.Load(), refused.count)
	})
	type job struct {
		line int
		b    *tpv1.Beneficiary
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, *concurrency)
	var fatal error
	var fatalOnce sync.Once
	var wg sync.WaitGroup
	started := time.Now()
	for range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				rctx, rcancel := context.WithTimeout(cctx, 30*time.Second)
				_, err := client.UpsertBeneficiary(rctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: j.b})
				rcancel()
				switch {
				case err == nil:
					upserted.Add(1)
				case lineError(err):
					refused.add(badRow{line: j.line, msg: "refused by the service: " + status.Convert(err).Message()})
				default:
					fatalOnce.Do(func() { fatal = fmt.Errorf("line %d: %w", j.line, err); cancel() })
				}
				prog.tick()
			}
		}()
	}
	var readErr error
	for cctx.Err() == nil {
		r, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var br badRow
		if errors.As(err, &br) {
			lines.Add(1)
			refused.add(br)
			continue
		}
		if err != nil {
			readErr = fmt.Errorf("%s: %w", path, err)
			break
		}
		lines.Add(1)
		b, err := decodeBeneficiary(r)
		if err != nil {
			refused.add(badRow{line: r.line, msg: err.Error()})
			continue
		}
		select {
		case jobs <- job{r.line, b}:
		case <-cctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	prog.done()
	elapsed := time.Since(started)
	fmt.Fprintf(stdout, "beneficiaries import: %s: %d upserted (created or replaced), %d refused\n", path, upserted.Load(), refused.count)
	refused.write(stdout)
	switch {
	case readErr != nil:
		return readErr
	case fatal != nil:
		return fmt.Errorf("beneficiaries import stopped: %w (an upsert replaces: running the file again is safe)", fatal)
	case ctx.Err() != nil:
		return fmt.Errorf("beneficiaries import interrupted: %w (an upsert replaces: running the file again is safe)", ctx.Err())
	}
	if n := upserted.Load(); n > 0 {
		fmt.Fprintf(stderr, "beneficiaries import: %d upserts in %s (%.0f /s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
	if refused.count > 0 {
		return fmt.Errorf("beneficiaries import: %d lines refused (listed above); the others were upserted", refused.count)
	}
	return nil
}

// lineError reports whether the service refused this one request (the next
// may pass), as opposed to a failure that stops the import.
func lineError(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.AlreadyExists, codes.OutOfRange:
		return true
	}
	return false
}
