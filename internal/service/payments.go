package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/payment"
	"github.com/tierspayant/tierspayant/internal/store"
)

// Errors of the payment operations.
var (
	ErrClaimCancelled = store.ErrClaimCancelled
	ErrClaimPaid      = store.ErrClaimPaid
	// ErrClaimRejected: the claim was rejected; nothing is payable.
	ErrClaimRejected = errors.New("claim rejected")
	// ErrAlreadyPaid: the claim was paid under another payment reference.
	ErrAlreadyPaid = errors.New("claim already paid under another reference")
	// ErrPaidBeforeReceipt: a payment dated before the claim's receipt.
	ErrPaidBeforeReceipt = errors.New("payment dated before the claim's receipt")
)

// ClaimMeta is what payment tracking needs of a committed claim
// (store.ClaimMeta).
type ClaimMeta = store.ClaimMeta

// Quarter is a calendar quarter (store.Quarter).
type Quarter = store.Quarter

// ParseQuarter reads "YYYYQn".
func ParseQuarter(s string) (Quarter, error) { return store.ParseQuarter(s) }

// QuarterOf is the quarter of a date.
func QuarterOf(day time.Time) Quarter { return store.QuarterOf(day) }

// Payment is a recorded payment with its penalty (D161-13-4;
// docs/rules.md#late-penalty).
type Payment struct {
	Reference  string          `json:"ref"`
	PaidAt     time.Time       `json:"at"`
	Amount     decimal.Decimal `json:"amt"`
	WorkingDay int             `json:"wd"`
	Penalty    decimal.Decimal `json:"pen"`
	HalfYear   string          `json:"hy,omitempty"`
	Rule       string          `json:"rule"`
}

// TrackingState is where a claim stands (L161-36-3, last paragraph;
// docs/rules.md#tracking).
type TrackingState int

// Tracking states.
const (
	StateUnspecified TrackingState = iota
	StateReceived
	StateOverdue
	StatePaid
	StateRejected
	StateCancelled
)

// Tracking is a claim's payment tracking.
type Tracking struct {
	ClaimID    string
	State      TrackingState
	Meta       ClaimMeta
	Payment    *Payment
	ReceivedAt time.Time
}

func (s *Service) tracking(claimID string, st Stored, today time.Time) (Tracking, error) {
	t := Tracking{ClaimID: claimID, ReceivedAt: st.ReceivedAt}
	if len(st.Meta) > 0 {
		if err := json.Unmarshal(st.Meta, &t.Meta); err != nil {
			return t, fmt.Errorf("decode claim meta: %w", err)
		}
	}
	if len(st.Payment) > 0 {
		var p Payment
		if err := json.Unmarshal(st.Payment, &p); err != nil {
			return t, fmt.Errorf("decode payment: %w", err)
		}
		t.Payment = &p
	}
	switch {
	case st.Cancelled:
		t.State = StateCancelled
	case t.Meta.Rejected:
		t.State = StateRejected
	case t.Payment != nil:
		t.State = StatePaid
	case !t.Meta.DueDate.IsZero() && today.After(t.Meta.DueDate):
		t.State = StateOverdue
	default:
		t.State = StateReceived
	}
	return t, nil
}

// Tracking returns a committed claim's payment tracking.
func (s *Service) Tracking(ctx context.Context, claimID string) (Tracking, error) {
	if _, err := caller(ctx); err != nil {
		return Tracking{}, err
	}
	st, err := s.archive.Get(ctx, claimID)
	if err != nil {
		return Tracking{}, hideMissing(ctx, err)
	}
	t, err := s.tracking(claimID, st, s.Today())
	if err != nil {
		return t, err
	}
	if err := s.mayReadClaim(ctx, t.Meta, organism.OperationAdjudicate); err != nil {
		return Tracking{}, err
	}
	return t, nil
}

// meta builds the payment tracking of a priced claim: the paying organism's
// calendar and the due date (D161-13-3; docs/rules.md#due-date,
// docs/rules.md#calendar, docs/rules.md#fraud-regime).
func (s *Service) meta(c claims.Claim, d claims.Decision, now time.Time, regimes []payment.FraudRegime) (ClaimMeta, error) {
	m := ClaimMeta{
		Professional: c.Professional.ID, Profession: c.Professional.Profession, Organism: d.Organism,
		Receipt: s.civilDate(now), Payable: payable(d),
		Guaranteed: d.Guarantee == claims.GuaranteeGuaranteed,
		Rejected:   d.Status == claims.StatusRejected,
	}
	if o, ok := s.organisms.cached(d.Organism); ok {
		m.CalendarName = o.Calendar().Name()
	}
	if !m.Guaranteed || m.Rejected {
		return m, nil
	}
	p, err := payment.ParamsAt(s.params, m.Receipt)
	if err != nil {
		return m, err
	}
	for i := range regimes {
		if regimes[i].ActiveOn(m.Receipt) {
			r := regimes[i]
			m.Fraud = &r
		}
	}
	m.DueDate = payment.DueDate(p, m.Receipt, m.Calendar(), m.Fraud)
	return m, nil
}

// payable is what the professional is paid under tiers payant: the sum of the
// lines' AMO amounts under tiers payant (docs/rules.md#payable: deductions
// never reduce it). It reads the lines, so it holds before Finish as after.
func payable(d claims.Decision) decimal.Decimal {
	sum := decimal.Zero
	for _, l := range d.Lines {
		sum = sum.Add(l.PayableToProfessional)
	}
	return sum
}

// RecordPayment records the payment of a claim, computes its penalty
// (D161-13-4; docs/rules.md#late-penalty, docs/rules.md#fraud-regime) and the
// half-year it is paid in. It is idempotent on the payment reference.
func (s *Service) RecordPayment(ctx context.Context, claimID, reference string, paidAt time.Time) (Tracking, bool, error) {
	if _, err := caller(ctx); err != nil {
		return Tracking{}, false, err
	}
	st, err := s.archive.Get(ctx, claimID)
	if err != nil {
		return Tracking{}, false, hideMissing(ctx, err)
	}
	today := s.Today()
	t, err := s.tracking(claimID, st, today)
	if err != nil {
		return t, false, err
	}
	if err := s.mayOperate(ctx, t.Meta.Organism, organism.OperationRecordPayments); err != nil {
		return Tracking{}, false, err
	}
	switch {
	case t.State == StateCancelled:
		return t, false, ErrClaimCancelled
	case t.State == StateRejected:
		return t, false, ErrClaimRejected
	case t.Payment != nil && t.Payment.Reference == reference:
		// A retry: recorded again, since the first call's trail write (or
		// the due index's removal) may have failed after its payment was
		// stored.
		if err := s.Record(ctx, "payment.record", claimID, "reference "+reference+" (already recorded)"); err != nil {
			return t, false, err
		}
		return t, false, s.settleDue(ctx, t.Meta, claimID)
	case t.Payment != nil:
		return t, false, ErrAlreadyPaid
	}
	paidOn := s.civilDate(paidAt)
	if paidOn.Before(t.Meta.Receipt) {
		return t, false, ErrPaidBeforeReceipt
	}
	p := Payment{Reference: reference, PaidAt: paidAt.UTC(), Amount: t.Meta.Payable, Penalty: decimal.Zero, Rule: "NOT_GUARANTEED"}
	cal := t.Meta.Calendar()
	p.WorkingDay = cal.WorkingDaysBetween(t.Meta.Receipt, paidOn)
	if t.Meta.Guaranteed {
		a, err := payment.Penalty(s.params, t.Meta.Receipt, paidOn, cal, t.Meta.Payable, t.Meta.Fraud)
		if err != nil {
			return t, false, err
		}
		p.WorkingDay, p.Penalty, p.HalfYear = a.WorkingDay, a.Amount, a.HalfYear
		p.Rule = a.Rule + " (" + a.Article + ")"
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return t, false, err
	}
	stored, now, err := s.payments.RecordPayment(ctx, claimID, reference, raw)
	if err != nil {
		return t, false, err
	}
	var got Payment
	if err := json.Unmarshal(stored, &got); err != nil {
		return t, false, fmt.Errorf("decode payment: %w", err)
	}
	if got.Reference != reference {
		return t, false, ErrAlreadyPaid
	}
	t.Payment, t.State = &got, StatePaid
	details := fmt.Sprintf("reference %s, paid %s, amount %s, penalty %s", reference, got.PaidAt.Format(time.RFC3339), got.Amount.StringFixed(2), got.Penalty.StringFixed(2))
	if !now {
		details = "reference " + reference + " (already recorded)"
	}
	if err := s.Record(ctx, "payment.record", claimID, details); err != nil {
		return t, now, err
	}
	return t, now, s.settleDue(ctx, t.Meta, claimID)
}

// ProfessionalClaims lists a professional's claims, most recent first, from
// offset; state filters when set. It returns the next offset, or -1 at the
// end. One call reads at most listScan index entries, in batches of at least
// listBatch: with a filter that matches few claims the page is short (even
// empty) and the next offset says where to go on.
func (s *Service) ProfessionalClaims(ctx context.Context, professional string, state TrackingState, offset, limit int) ([]Tracking, int, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	// An operator sees only the claims attributed to its organism.
	onlyOrg := ""
	switch p.Role {
	case access.RoleAdmin:
	case access.RoleProfessional:
		if p.Professional == "" || p.Professional != professional {
			return nil, 0, access.ErrDenied
		}
	case access.RoleOperator:
		if err := s.operatorMay(ctx, p, p.Organism, organism.OperationAdjudicate, s.Today()); err != nil {
			return nil, 0, err
		}
		onlyOrg = p.Organism
	default:
		return nil, 0, access.ErrDenied
	}
	page := func(ctx context.Context, offset, n int) ([]string, error) {
		return s.payments.ClaimsOf(ctx, professional, offset, n)
	}
	return s.listClaims(ctx, page, func(t Tracking) bool {
		return (onlyOrg == "" || t.Meta.Organism == onlyOrg) && (state == StateUnspecified || t.State == state)
	}, offset, limit)
}

// OrganismClaims lists the claims an organism pays received in quarter q,
// in the order of their receipt, from offset; state filters when set. Its
// operators (adjudicate operation) and administrators may read it. Paging
// as ProfessionalClaims.
func (s *Service) OrganismClaims(ctx context.Context, org string, q Quarter, state TrackingState, offset, limit int) ([]Tracking, int, error) {
	if err := s.mayOperate(ctx, org, organism.OperationAdjudicate); err != nil {
		return nil, 0, err
	}
	page := func(ctx context.Context, offset, n int) ([]string, error) {
		return s.payments.ClaimsInPage(ctx, org, q.String(), offset, n)
	}
	return s.listClaims(ctx, page, func(t Tracking) bool {
		return t.Meta.Organism == org && (state == StateUnspecified || t.State == state)
	}, offset, limit)
}

// listClaims pages through an index of claim ids from offset, keeping the
// claims keep accepts, up to limit. It returns the next offset, or -1 at
// the end. One call reads at most listScan index entries, in batches of at
// least listBatch: with a filter that matches few claims the page is short
// (even empty) and the next offset says where to go on.
func (s *Service) listClaims(ctx context.Context, page func(ctx context.Context, offset, n int) ([]string, error), keep func(Tracking) bool, offset, limit int) ([]Tracking, int, error) {
	var out []Tracking
	today := s.Today()
	scanned := 0
	for len(out) < limit {
		if scanned >= s.listScan {
			return out, offset, nil
		}
		batch := min(max(limit-len(out), listBatch), s.listScan-scanned)
		ids, err := page(ctx, offset, batch)
		if err != nil {
			return nil, 0, err
		}
		if len(ids) == 0 {
			return out, -1, nil
		}
		recs, err := s.payments.Records(ctx, ids)
		if err != nil {
			return nil, 0, err
		}
		for i, st := range recs {
			offset++
			scanned++
			if st.Blob == nil {
				continue // indexed but never committed
			}
			t, err := s.tracking(ids[i], st, today)
			if err != nil {
				return nil, 0, err
			}
			if keep(t) {
				out = append(out, t)
				if len(out) == limit {
					break
				}
			}
		}
	}
	return out, offset, nil
}

// listBatch is the fewest index entries a listing reads in one round trip.
const listBatch = 200

// DelayRow is one profession's line of the delay report (L161-36-3, third
// paragraph; docs/rules.md#delay-report).
type DelayRow struct {
	Profession         claims.Profession
	Claims             int
	PaidWithinDeadline decimal.Decimal // share, 4 decimals
	MedianDelay, P90   float64         // working days, paid claims
	PenaltiesDue       decimal.Decimal
	OverdueUnpaid      int // past due and unpaid on the report date
}

// DelayReport reports, for the guaranteed claims an organism received in a
// quarter, per profession: how many, the share paid within the deadline, the
// median and 90th-percentile delay in working days (nearest rank), the
// penalties due and the claims overdue and still unpaid on the report date.
func (s *Service) DelayReport(ctx context.Context, org string, q Quarter) ([]DelayRow, error) {
	if err := s.mayOperate(ctx, org, organism.OperationAdjudicate); err != nil {
		return nil, err
	}
	type acc struct {
		row    DelayRow
		within int
		delays []int
	}
	by := map[claims.Profession]*acc{}
	err := s.quarterClaims(ctx, org, q, func(t Tracking) {
		a := by[t.Meta.Profession]
		if a == nil {
			a = &acc{row: DelayRow{Profession: t.Meta.Profession, PenaltiesDue: decimal.Zero}}
			by[t.Meta.Profession] = a
		}
		a.row.Claims++
		switch t.State {
		case StatePaid:
			a.delays = append(a.delays, t.Payment.WorkingDay)
			a.row.PenaltiesDue = a.row.PenaltiesDue.Add(t.Payment.Penalty)
			if !s.civilDate(t.Payment.PaidAt).After(t.Meta.DueDate) {
				a.within++
			}
		case StateOverdue:
			a.row.OverdueUnpaid++
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]DelayRow, 0, len(by))
	for _, a := range by {
		a.row.PaidWithinDeadline = decimal.NewFromInt(int64(a.within)).DivRound(decimal.NewFromInt(int64(a.row.Claims)), 4)
		sort.Ints(a.delays)
		a.row.MedianDelay, a.row.P90 = rank(a.delays, 50), rank(a.delays, 90)
		out = append(out, a.row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Profession < out[j].Profession })
	return out, nil
}

// quarterClaims calls f with the tracking of every guaranteed claim, neither
// rejected nor cancelled, that org received in quarter q.
func (s *Service) quarterClaims(ctx context.Context, org string, q Quarter, f func(Tracking)) error {
	ids, err := s.payments.ClaimsIn(ctx, org, q.String())
	if err != nil {
		return err
	}
	today := s.Today()
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		recs, err := s.payments.Records(ctx, part)
		if err != nil {
			return err
		}
		for i, st := range recs {
			if st.Blob == nil {
				continue // indexed but never committed
			}
			t, err := s.tracking(part[i], st, today)
			if err != nil {
				return err
			}
			if t.Meta.Guaranteed && t.State != StateRejected && t.State != StateCancelled && QuarterOf(t.Meta.Receipt) == q {
				f(t)
			}
		}
	}
	return nil
}

// rank is the nearest-rank percentile of sorted values (0 when empty).
func rank(sorted []int, pct int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (pct*len(sorted)+99)/100 - 1
	return float64(sorted[max(i, 0)])
}

// SetFraudRegime validates and records a professional's fraud regime; one
// with the same start replaces it.
func (s *Service) SetFraudRegime(ctx context.Context, professional string, r payment.FraudRegime) ([]payment.FraudRegime, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	if r.Kind == payment.FraudRegimeUnspecified {
		return nil, &claims.ValidationError{Fields: []claims.FieldViolation{{Field: "regime.kind", Description: "required: initial, maintenance or judicial (D161-13-6)"}}}
	}
	if err := r.Validate(s.params); err != nil {
		return nil, &claims.ValidationError{Fields: []claims.FieldViolation{{Field: "regime", Description: err.Error()}}}
	}
	rs, err := s.fraud.Get(ctx, professional)
	if err != nil {
		return nil, err
	}
	if err := r.ValidateSequence(s.params, rs); err != nil {
		return nil, &claims.ValidationError{Fields: []claims.FieldViolation{{Field: "regime.kind", Description: err.Error()}}}
	}
	kept := rs[:0]
	for _, x := range rs {
		if !x.Start.Equal(r.Start) {
			kept = append(kept, x)
		}
	}
	kept = append(kept, r)
	sort.Slice(kept, func(i, j int) bool { return kept[i].Start.Before(kept[j].Start) })
	if err := s.fraud.Set(ctx, professional, kept); err != nil {
		return nil, err
	}
	details := fmt.Sprintf("kind %d from %s, at most %d working days, decision %s", r.Kind, r.Start.Format(time.DateOnly), r.MaxWorkingDays, r.DecisionRef)
	if !r.End.IsZero() {
		details += " to " + r.End.Format(time.DateOnly)
	}
	return kept, s.Record(ctx, "fraud_regime.set", professional, details)
}

// FraudRegimes lists a professional's fraud regimes.
func (s *Service) FraudRegimes(ctx context.Context, professional string) ([]payment.FraudRegime, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Role != access.RoleAdmin && (p.Role != access.RoleProfessional || p.Professional != professional) {
		return nil, access.ErrDenied
	}
	return s.fraud.Get(ctx, professional)
}

// UpsertOrganism records an organism.
func (s *Service) UpsertOrganism(ctx context.Context, o organism.Organism) error {
	if err := adminOnly(ctx); err != nil {
		return err
	}
	old, err := s.organisms.store.Get(ctx, o.Code)
	existed := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.organisms.store.Upsert(ctx, o); err != nil {
		return err
	}
	if err := s.organisms.invalidate(ctx); err != nil {
		return err
	}
	return s.Record(ctx, "organism.upsert", o.Code, changeDetails(old, existed, o))
}

// Organism returns an organism.
func (s *Service) Organism(ctx context.Context, code string) (organism.Organism, error) {
	p, err := caller(ctx)
	if err != nil {
		return organism.Organism{}, err
	}
	if p.Role != access.RoleAdmin && (p.Role != access.RoleOperator || p.Organism != code) {
		return organism.Organism{}, access.ErrDenied
	}
	o, err := s.organisms.store.Get(ctx, code)
	return o, hideMissing(ctx, err)
}

// Organisms lists the organisms: all of them for an administrator, its own
// for an operator.
func (s *Service) Organisms(ctx context.Context) ([]organism.Organism, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	switch p.Role {
	case access.RoleAdmin:
		return s.organisms.store.List(ctx)
	case access.RoleOperator:
		o, err := s.organisms.store.Get(ctx, p.Organism)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []organism.Organism{o}, nil
	}
	return nil, access.ErrDenied
}

// RemisesReport computes an organism's remises de gestion for a year
// (R160-26 III 4°; docs/rules.md#remise-de-gestion).
func (s *Service) RemisesReport(ctx context.Context, org string, year int) (organism.Remises, error) {
	if err := s.mayOperate(ctx, org, organism.OperationManageBeneficiaries); err != nil {
		return organism.Remises{}, err
	}
	o, err := s.organisms.store.Get(ctx, org)
	if err != nil {
		return organism.Remises{}, hideMissing(ctx, err)
	}
	bens, err := s.bens.ManagedBy(ctx, org)
	if err != nil {
		return organism.Remises{}, err
	}
	spans := make([][]organism.Span, 0, len(bens))
	for _, b := range bens {
		var ps []organism.Span
		for _, a := range b.Attachments {
			if a.Organism == org {
				ps = append(ps, organism.Span{From: a.Period.From, To: a.Period.To})
			}
		}
		spans = append(spans, ps)
	}
	return o.RemisesFor(year, spans), nil
}

// Indicators compares a convention's payment-delay target with a quarter's
// actual delays (R160-26 III 3°; docs/rules.md#convention).
type Indicators struct {
	ConventionID     string
	DelayTarget      int
	Claims           int
	PaidWithinTarget decimal.Decimal
	Median, P90      float64
	TargetMet        bool
}

// ConventionIndicators computes the indicators of an organism's convention for
// a quarter from the delays of its guaranteed claims.
func (s *Service) ConventionIndicators(ctx context.Context, org string, q Quarter) (Indicators, error) {
	if err := s.mayOperate(ctx, org, organism.OperationAdjudicate); err != nil {
		return Indicators{}, err
	}
	o, err := s.organisms.store.Get(ctx, org)
	if err != nil {
		return Indicators{}, hideMissing(ctx, err)
	}
	end := time.Date(q.Year, time.Month(q.Q*3), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, -1)
	var ind Indicators
	if c, ok := o.ConventionOn(end); ok {
		ind.ConventionID, ind.DelayTarget = c.ID, c.DelayTargetWorkingDays
	}
	var delays []int
	within := 0
	err = s.quarterClaims(ctx, org, q, func(t Tracking) {
		ind.Claims++
		if t.Payment != nil {
			delays = append(delays, t.Payment.WorkingDay)
			if ind.DelayTarget > 0 && t.Payment.WorkingDay <= ind.DelayTarget {
				within++
			}
		}
	})
	if err != nil {
		return ind, err
	}
	ind.PaidWithinTarget = decimal.Zero
	if ind.Claims > 0 {
		ind.PaidWithinTarget = decimal.NewFromInt(int64(within)).DivRound(decimal.NewFromInt(int64(ind.Claims)), 4)
	}
	sort.Ints(delays)
	ind.Median, ind.P90 = rank(delays, 50), rank(delays, 90)
	ind.TargetMet = ind.DelayTarget > 0 && len(delays) > 0 && ind.Median <= float64(ind.DelayTarget)
	return ind, nil
}
