package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// reportDelays asks a running adjudicator for the quarterly delay report of
// an organism (L161-36-3, third paragraph: published each quarter, per
// profession) and writes it as CSV.
func reportDelays(ctx context.Context, args []string, e env, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("report delays", flag.ContinueOnError)
	org := fs.String("organism", "", "organism code (required)")
	quarter := fs.String("quarter", "", "quarter YYYYQn, e.g. 2026Q3 (required)")
	out := fs.String("out", "-", "CSV file to write, - for standard output")
	var co clientOpts
	clientFlags(fs, &co, e)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *org == "" || *quarter == "" {
		return usagef("report delays: --organism and --quarter are required")
	}
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rep, err := tpv1.NewPaymentServiceClient(conn).GetDelayReport(cctx, &tpv1.GetDelayReportRequest{OrganismCode: *org, Quarter: *quarter})
	if err != nil {
		return fmt.Errorf("report delays: %w", err)
	}
	w, closeOut, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"organism", "quarter", "profession", "claims", "paid_within_deadline", "median_delay_working_days",
		"p90_delay_working_days", "penalties_due_eur", "overdue_unpaid"})
	for _, r := range rep.GetRows() {
		_ = cw.Write([]string{rep.GetOrganismCode(), rep.GetQuarter(),
			strings.ToLower(strings.TrimPrefix(r.GetProfession().String(), "PROFESSION_")),
			strconv.FormatInt(r.GetClaims(), 10), r.GetPaidWithinDeadline(),
			strconv.FormatFloat(r.GetMedianDelayWorkingDays(), 'f', -1, 64), strconv.FormatFloat(r.GetP90DelayWorkingDays(), 'f', -1, 64),
			r.GetPenaltiesDue(), strconv.FormatInt(r.GetOverdueUnpaid(), 10)})
	}
	cw.Flush()
	return cw.Error()
}

// output is the file a client command writes, or stdout for "-"; the
// returned function closes it.
func output(path string, stdout io.Writer) (io.Writer, func(), error) {
	if path == "-" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
