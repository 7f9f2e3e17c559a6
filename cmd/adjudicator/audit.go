package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// auditExport pages through a running adjudicator's audit trail
// (docs/OPERATIONS.md#audit-trail) and writes one JSON object per line.
func auditExport(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	since := fs.String("since", "", "events recorded at or after this instant (RFC 3339)")
	before := fs.String("before", "", "events recorded before this instant (RFC 3339)")
	op := fs.String("op", "", "only this operation, e.g. beneficiary.upsert")
	by := fs.String("by", "", "only this caller id")
	subject := fs.String("subject", "", "only this subject (claim id, beneficiary reference, card identifier…)")
	out := fs.String("out", "-", "JSON-lines file to write, - for standard output")
	var co clientOpts
	clientFlags(fs, &co, e)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	req := &tpv1.ListAuditEventsRequest{Op: *op, By: *by, Subject: *subject, PageSize: 1000}
	for _, f := range []struct {
		name, v string
		dst     **timestamppb.Timestamp
	}{{"--since", *since, &req.Since}, {"--before", *before, &req.Before}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			return usagef("audit export: %s: not an RFC 3339 instant (2026-12-01T00:00:00Z)", f.name)
		}
		*f.dst = timestamppb.New(t)
	}
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	w, closeOut, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	bw := bufio.NewWriter(w)
	client := tpv1.NewAuditServiceClient(conn)
	n := 0
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		page, err := client.ListAuditEvents(cctx, req)
		cancel()
		if err != nil {
			_ = bw.Flush()
			return fmt.Errorf("audit export: after %d events: %w", n, err)
		}
		for _, ev := range page.GetEvents() {
			// encoding/json, not protojson: its output is stable, byte for
			// byte, for the scripts that read it.
			b, err := json.Marshal(exportedEvent{ID: ev.GetId(), At: ev.GetAt().AsTime().UTC().Format(time.RFC3339Nano), By: ev.GetBy(),
				Role: ev.GetRole(), Tenant: ev.GetTenant(), Op: ev.GetOp(), Subject: ev.GetSubject(), Details: ev.GetDetails()})
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
			n++
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "audit export: %d events\n", n)
	return nil
}

// exportedEvent is one line of audit export, named as in the API.
type exportedEvent struct {
	ID      string `json:"id"`
	At      string `json:"at"`
	By      string `json:"by"`
	Role    string `json:"role"`
	Tenant  string `json:"tenant,omitempty"`
	Op      string `json:"op"`
	Subject string `json:"subject"`
	Details string `json:"details"`
}
