package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/service"
)

// claimColumns are the columns of claims export (docs/files.md#claims).
var claimColumns = []string{"claim_id", "received_at", "state", "payable_to_professional", "due_date", "paid_at", "paid_amount",
	"payment_reference", "paid_on_working_day", "penalty", "penalty_half_year", "calendar", "fraud_regime_ref",
	"decision_status", "guarantee", "managing_organism", "adjudication_date", "amo", "patient_share", "amc_payable_to_professional",
	"reasons", "cancelled", "professional_id"}

// claimRow is one line of claims export.
type claimRow struct {
	ClaimID                  string `json:"claim_id"`
	ReceivedAt               string `json:"received_at"`
	State                    string `json:"state"`
	PayableToProfessional    string `json:"payable_to_professional"`
	DueDate                  string `json:"due_date,omitempty"`
	PaidAt                   string `json:"paid_at,omitempty"`
	PaidAmount               string `json:"paid_amount,omitempty"`
	PaymentReference         string `json:"payment_reference,omitempty"`
	PaidOnWorkingDay         int32  `json:"paid_on_working_day,omitempty"`
	Penalty                  string `json:"penalty,omitempty"`
	PenaltyHalfYear          string `json:"penalty_half_year,omitempty"`
	Calendar                 string `json:"calendar,omitempty"`
	FraudRegimeRef           string `json:"fraud_regime_ref,omitempty"`
	DecisionStatus           string `json:"decision_status,omitempty"`
	Guarantee                string `json:"guarantee,omitempty"`
	ManagingOrganism         string `json:"managing_organism,omitempty"`
	AdjudicationDate         string `json:"adjudication_date,omitempty"`
	AMO                      string `json:"amo,omitempty"`
	PatientShare             string `json:"patient_share,omitempty"`
	AMCPayableToProfessional string `json:"amc_payable_to_professional,omitempty"`
	Reasons                  string `json:"reasons,omitempty"`
	Cancelled                bool   `json:"cancelled"`
	ProfessionalID           string `json:"professional_id"`
}

func (r claimRow) csv() []string {
	wd := ""
	if r.PaidOnWorkingDay != 0 {
		wd = strconv.Itoa(int(r.PaidOnWorkingDay))
	}
	return []string{r.ClaimID, r.ReceivedAt, r.State, r.PayableToProfessional, r.DueDate, r.PaidAt, r.PaidAmount,
		r.PaymentReference, wd, r.Penalty, r.PenaltyHalfYear, r.Calendar, r.FraudRegimeRef,
		r.DecisionStatus, r.Guarantee, r.ManagingOrganism, r.AdjudicationDate, r.AMO, r.PatientShare, r.AMCPayableToProfessional,
		r.Reasons, strconv.FormatBool(r.Cancelled), r.ProfessionalID}
}

func enumWord(s, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

func rfc3339(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

// claimsExport pages through ListProfessionalClaims (--professional) or
// ListOrganismClaims quarter by quarter (--organism, --from and --to) and,
// with --decisions, adds each claim's decision (GetClaim).
func claimsExport(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("claims export", flag.ContinueOnError)
	prof := fs.String("professional", "", "professional identifier (this or --organism)")
	org := fs.String("organism", "", "organism code: the claims it pays (needs --from and --to)")
	from := fs.String("from", "", "claims received on or after this day YYYY-MM-DD (Paris time)")
	to := fs.String("to", "", "claims received on or before this day YYYY-MM-DD (Paris time)")
	state := fs.String("state", "", "only this payment state: received, overdue, paid, rejected or cancelled")
	format := fs.String("format", "", "csv or jsonl; by default from the --out extension, csv on standard output")
	out := fs.String("out", "-", "file to write, - for standard output")
	fs.StringVar(out, "o", "-", "same as --out")
	decisions := fs.Bool("decisions", true, "add each claim's decision (one GetClaim per claim); --decisions=false for the listing alone")
	concurrency := fs.Int("concurrency", 8, "GetClaim calls in flight")
	var co clientOpts
	clientFlags(fs, &co, e)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if (*org == "") == (*prof == "") {
		return usagef("claims export: give --professional or --organism")
	}
	if *org != "" && (*from == "" || *to == "") {
		return usagef("claims export: --organism needs --from and --to (the claims are listed quarter by quarter)")
	}
	var fromDay, toDay time.Time
	for _, d := range []struct {
		name, v string
		dst     *time.Time
	}{{"--from", *from, &fromDay}, {"--to", *to, &toDay}} {
		if d.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.v, paris)
		if err != nil {
			return usagef("claims export: %s: %q is not a date YYYY-MM-DD", d.name, d.v)
		}
		*d.dst = t
	}
	if !toDay.IsZero() {
		toDay = toDay.AddDate(0, 0, 1) // exclusive end: the day after
	}
	if !fromDay.IsZero() && !toDay.IsZero() && !fromDay.Before(toDay) {
		return usagef("claims export: --from after --to")
	}
	var wantState tpv1.PaymentState
	if *state != "" {
		v, ok := tpv1.PaymentState_value["PAYMENT_STATE_"+strings.ToUpper(*state)]
		if !ok || v == 0 {
			return usagef("claims export: --state: %q: received, overdue, paid, rejected or cancelled", *state)
		}
		wantState = tpv1.PaymentState(v)
	}
	if *concurrency < 1 || *concurrency > 64 {
		return usagef("claims export: --concurrency: 1 to 64")
	}
	ff := "csv"
	if *format != "" || *out != "-" {
		var err error
		if ff, err = fileFormat(*format, *out); err != nil {
			return err
		}
	}
	conn, err := co.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	payments := tpv1.NewPaymentServiceClient(conn)
	claimsc := tpv1.NewClaimServiceClient(conn)
	var rows []claimRow
	keep := func(r claimRow, received *timestamppb.Timestamp) {
		at := received.AsTime()
		if received != nil && (!fromDay.IsZero() && at.Before(fromDay) || !toDay.IsZero() && !at.Before(toDay)) {
			return
		}
		rows = append(rows, r)
	}
	if *prof != "" {
		req := &tpv1.ListProfessionalClaimsRequest{ProfessionalId: *prof, PageSize: 1000, State: wantState}
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			page, err := payments.ListProfessionalClaims(cctx, req)
			cancel()
			if err != nil {
				return fmt.Errorf("claims export: after %d claims: %w", len(rows), err)
			}
			for _, c := range page.GetClaims() {
				keep(trackingRow(c.GetClaimId(), *prof, c.GetPayableToProfessional(), c.GetTracking()), c.GetTracking().GetReceivedAt())
			}
			if page.GetNextPageToken() == "" {
				break
			}
			req.PageToken = page.GetNextPageToken()
		}
	} else {
		for _, q := range quarters(fromDay, toDay.AddDate(0, 0, -1)) {
			req := &tpv1.ListOrganismClaimsRequest{OrganismCode: *org, Quarter: q, PageSize: 1000, State: wantState}
			for {
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				page, err := payments.ListOrganismClaims(cctx, req)
				cancel()
				if err != nil {
					return fmt.Errorf("claims export: %s, after %d claims: %w", q, len(rows), err)
				}
				for _, c := range page.GetClaims() {
					keep(trackingRow(c.GetClaimId(), c.GetProfessionalId(), c.GetPayableToProfessional(), c.GetTracking()), c.GetTracking().GetReceivedAt())
				}
				if page.GetNextPageToken() == "" {
					break
				}
				req.PageToken = page.GetNextPageToken()
			}
		}
	}
	if *decisions && len(rows) > 0 {
		if err := addDecisions(ctx, claimsc, rows, *concurrency); err != nil {
			return err
		}
	}
	w, closeOut, err := output(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	bw := bufio.NewWriterSize(w, 1<<16)
	if ff == "csv" {
		cw := csv.NewWriter(bw)
		_ = cw.Write(claimColumns)
		for _, r := range rows {
			_ = cw.Write(r.csv())
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "claims export: %d claims of %s\n", len(rows), *prof+*org)
	return nil
}

// trackingRow is a listing's claim as an export line, before its decision.
func trackingRow(id, professional, payable string, tr *tpv1.PaymentTracking) claimRow {
	return claimRow{ClaimID: id, ProfessionalID: professional, ReceivedAt: rfc3339(tr.GetReceivedAt()),
		State: enumWord(tr.GetState().String(), "PAYMENT_STATE_"), PayableToProfessional: payable,
		DueDate: tr.GetDueDate(), PaidAt: rfc3339(tr.GetPaidAt()), PaidAmount: tr.GetPaidAmount(), PaymentReference: tr.GetPaymentReference(),
		PaidOnWorkingDay: tr.GetPaidOnWorkingDay(), Penalty: tr.GetPenalty(), PenaltyHalfYear: tr.GetPenaltyHalfYear(),
		Calendar: tr.GetCalendar(), FraudRegimeRef: tr.GetFraudRegimeRef(),
		Cancelled: tr.GetState() == tpv1.PaymentState_PAYMENT_STATE_CANCELLED}
}

// quarters lists the quarters ("2025Q3") from the one of day from to the one
// of day to, both included.
func quarters(from, to time.Time) []string {
	var out []string
	last := service.QuarterOf(to)
	for q := service.QuarterOf(from); q.Year < last.Year || q.Year == last.Year && q.Q <= last.Q; {
		out = append(out, q.String())
		if q.Q++; q.Q > 4 {
			q.Year, q.Q = q.Year+1, 1
		}
	}
	return out
}

// addDecisions fills the decision columns with GetClaim, n calls at a time.
func addDecisions(ctx context.Context, c tpv1.ClaimServiceClient, rows []claimRow, n int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	idx := make(chan int)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				res, err := c.GetClaim(cctx, &tpv1.GetClaimRequest{ClaimId: rows[i].ClaimID})
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("claims export: GetClaim %s: %w", rows[i].ClaimID, err)
					}
					mu.Unlock()
					continue
				}
				d := res.GetDecision()
				var reasons []string
				for _, r := range d.GetReasons() {
					reasons = append(reasons, r.GetCode())
				}
				r := &rows[i]
				r.DecisionStatus = enumWord(d.GetStatus().String(), "DECISION_STATUS_")
				r.Guarantee = enumWord(d.GetGuarantee().String(), "GUARANTEE_")
				r.ManagingOrganism = d.GetManagingOrganism()
				r.AdjudicationDate = d.GetAdjudicationDate()
				r.AMO = d.GetTotals().GetAmo()
				r.PatientShare = d.GetTotals().GetPatientShare()
				r.AMCPayableToProfessional = d.GetTotals().GetAmcPayableToProfessional()
				r.Reasons = strings.Join(reasons, ";")
				r.Cancelled = res.GetCancelled()
			}
		}()
	}
	for i := range rows {
		idx <- i
	}
	close(idx)
	wg.Wait()
	return firstErr
}
