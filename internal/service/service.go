package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/claims/claimbin"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/organism"
)

// Service adjudicates claims against the shared state.
type Service struct {
	engine    *claims.Engine
	params    *legal.Table
	ledger    ClaimLedger
	snapshots SnapshotReader
	archive   ClaimArchive
	bens      Beneficiaries
	payments  PaymentLedger
	fraud     FraudRegistry
	organisms *organismCache
	digest    func([]byte) string
	clock     func() time.Time
	zone      *time.Location
	maxSkew   time.Duration
	limits    claims.Limits
	listScan  int
	trail     Trail
	due       DueIndex       // overdue.go
	opps      OppositionList // oppositions.go
	sweep     dueSweep
}

// Deps are the Service's collaborators.
type Deps struct {
	Params *legal.Table
	Ledger ClaimLedger
	// Snapshots reads what GetCounters and CheckRights need; nil: Ledger.
	Snapshots SnapshotReader
	Archive   ClaimArchive
	Bens      Beneficiaries
	Payments  PaymentLedger
	Fraud     FraudRegistry
	Organisms OrganismRegistry
	// Digest is a keyed hash of a claim's canonical encoding.
	Digest func([]byte) string
	// Clock is the service's clock; it may be fixed to replay history.
	Clock func() time.Time
	// Zone is the civil time zone of dates (Europe/Paris, docs/rules.md#dates).
	Zone *time.Location
	// MaxClockSkew is how far after receipt a declared creation may be
	// (DefaultMaxClockSkew when zero).
	MaxClockSkew time.Duration
	// Limits are the claims' plausibility bounds; zero amounts take
	// claims.DefaultLimits' (the profession check always applies).
	Limits claims.Limits
	// ListScan bounds the index entries one listing call examines
	// (DefaultListScan when zero).
	ListScan int
	// Trail records every state change (docs/OPERATIONS.md#audit-trail).
	Trail Trail
	// Due lists the guaranteed claims unpaid by due date (overdue.go); nil
	// turns the overdue count off.
	Due DueIndex
	// Oppositions is the opposition list (oppositions.go).
	Oppositions OppositionList
}

// DefaultListScan is how many of a professional's claims one
// ListProfessionalClaims call reads at most: a filter that matches few
// claims answers a short page (even an empty one) with a next token instead
// of reading the whole history in one call.
const DefaultListScan = 5000

// New returns a Service.
func New(d Deps) *Service {
	out := &Service{
		engine: claims.NewEngine(d.Params), params: d.Params,
		ledger: d.Ledger, archive: d.Archive, bens: d.Bens, payments: d.Payments, fraud: d.Fraud,
		organisms: &organismCache{store: d.Organisms},
		digest:    d.Digest, clock: d.Clock, zone: d.Zone, maxSkew: d.MaxClockSkew,
		trail: d.Trail, due: d.Due, opps: d.Oppositions,
	}
	out.snapshots = d.Snapshots
	if out.snapshots == nil {
		out.snapshots = d.Ledger
	}
	if out.maxSkew <= 0 {
		out.maxSkew = DefaultMaxClockSkew
	}
	out.listScan = d.ListScan
	if out.listScan <= 0 {
		out.listScan = DefaultListScan
	}
	out.limits = claims.DefaultLimits()
	if d.Limits.MaxLineAmount.Sign() > 0 {
		out.limits.MaxLineAmount = d.Limits.MaxLineAmount
	}
	if d.Limits.MaxClaimAmount.Sign() > 0 {
		out.limits.MaxClaimAmount = d.Limits.MaxClaimAmount
	}
	return out
}

// DefaultMaxClockSkew is how far ahead of the receipt instant a declared
// creation may be and still be the software's clock, not a lie.
const DefaultMaxClockSkew = 5 * time.Minute

// paramOppositionBound is the oldest creation, in working days before
// receipt, at which the opposition list is judged (docs/rules.md#opposition).
const paramOppositionBound = "P-OPP-1"

// checkCreation refuses a claim created before its own latest care date (the
// Europe/Paris day of the creation instant) or after its receipt beyond the
// clock skew: both are invalid input (docs/rules.md#opposition).
func (s *Service) checkCreation(c claims.Claim, now time.Time) error {
	var vs []claims.FieldViolation
	created := s.civilDate(c.CreatedAt)
	latest, line := time.Time{}, -1
	for i, l := range c.Lines {
		if d := s.civilDate(l.CareDate); d.After(latest) {
			latest, line = d, i
		}
	}
	if line >= 0 && created.Before(latest) {
		vs = append(vs, claims.FieldViolation{Field: "created_at",
			Description: fmt.Sprintf("before the care date of lines[%d] (%s): a claim is created after the care it bills", line, latest.Format(time.DateOnly))})
	}
	if c.CreatedAt.After(now.Add(s.maxSkew)) {
		vs = append(vs, claims.FieldViolation{Field: "created_at",
			Description: fmt.Sprintf("after its receipt by more than %s", s.maxSkew)})
	}
	if len(vs) > 0 {
		return &claims.ValidationError{Fields: vs}
	}
	return nil
}

// oppositionBound returns the instant receipt minus P-OPP-1 working days
// (00:00 Europe/Paris, national calendar), or zero when no bound is in force
// on the receipt date.
func (s *Service) oppositionBound(day time.Time) (time.Time, legal.Value, error) {
	v, ok, err := s.params.Lookup(paramOppositionBound, day)
	if err != nil || !ok {
		return time.Time{}, legal.Value{}, err
	}
	d := calendar.National().AddWorkingDays(day, -v.Int())
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, s.zone), v, nil
}

// Result is a decision with what the caller shows around it.
type Result struct {
	Decision    claims.Decision
	Meta        ClaimMeta // due date, calendar, fraud regime
	ReceivedAt  time.Time
	Replayed    bool
	Cancelled   bool
	CancelledAt time.Time
	// Counters, on a simulation, are the beneficiary's counters before the
	// claim (docs/rules.md#counters); nil otherwise.
	Counters *claims.CounterView
}

// Now returns the service's current instant.
func (s *Service) Now() time.Time { return s.clock() }

// civilDate is the Europe/Paris calendar day of an instant, at 00:00 UTC as
// every legal date of the engine.
func (s *Service) civilDate(t time.Time) time.Time {
	return calendar.Day(t.In(s.zone))
}

// Adjudicate prices a claim and commits its consumption, once
// (docs/rules.md#claim-id-reuse).
func (s *Service) Adjudicate(ctx context.Context, c claims.Claim) (Result, error) {
	return s.run(ctx, c, true)
}

// Simulate prices a claim as Adjudicate would now, and changes nothing.
func (s *Service) Simulate(ctx context.Context, c claims.Claim) (Result, error) {
	return s.run(ctx, c, false)
}

func (s *Service) run(ctx context.Context, c claims.Claim, commit bool) (res Result, err error) {
	p, err := caller(ctx)
	if err != nil {
		return Result{}, err
	}
	switch {
	case p.Role == access.RoleProfessional && (p.Professional == "" || p.Professional != c.Professional.ID):
		return Result{}, access.ErrDenied // a professional submits its own claims only
	case p.Role == access.RoleOperator && commit:
		return Result{}, access.ErrDenied // claims come from the professionals' billing software
	}
	// The store keeps instants to the millisecond: so does the answer, so
	// that a replay or GetClaim returns exactly what the first call did.
	now := s.clock().Truncate(time.Millisecond)
	day := s.civilDate(now)
	if err := s.limits.Validate(c, day); err != nil {
		return Result{}, err
	}
	if c.Nature == claims.NatureATMP {
		return Result{}, claims.ErrNatureNotSupported
	}
	digest := s.digest(c.AppendCanonical(make([]byte, 0, 256)))
	if err := s.organisms.ensure(ctx); err != nil {
		return Result{}, err
	}
	if err := s.checkCreation(c, now); err != nil {
		return Result{}, err
	}
	rr := readRequest(c, day, commit, digest)
	if rr.CreatedAt.After(now) {
		// The list is judged as it stood at creation, never later than receipt
		// (docs/rules.md#opposition); a creation up to MaxClockSkew ahead is
		// the software's clock.
		rr.CreatedAt = now
	}
	bound, boundParam, err := s.oppositionBound(day)
	if err != nil {
		return Result{}, err
	}
	var boundedAt time.Time
	if !bound.IsZero() && rr.CreatedAt.Before(bound) {
		// The creation instant is only the software's word: the list is
		// judged no earlier than receipt minus P-OPP-1 working days.
		rr.CreatedAt, boundedAt = bound, s.civilDate(bound)
	}
	snap, err := s.ledger.Read(ctx, rr)
	if err != nil {
		return Result{}, err
	}
	// This call reserved the claim id: give it back if the claim fails before
	// its commit is sent. Once the commit script is on its way, never: it may
	// have committed even if the answer is an error (a deadline, a broken
	// connection), and the reservation is what finds the claim by its id.
	committing := false
	if commit && snap.PriorDigest == "" {
		defer func() {
			if err != nil && !committing {
				s.ledger.Release(context.WithoutCancel(ctx), c.ID, digest)
			}
		}()
	}
	if commit && snap.PriorDigest != "" {
		if snap.PriorDigest != digest {
			return Result{}, ErrClaimIDReused
		}
		// A retry: answer with what was committed, if the first try got that
		// far, once its index entries exist (the first try may have failed
		// between its script and its index writes).
		if r, err := s.stored(ctx, c.ID); err == nil {
			e := IndexEntry{ClaimID: c.ID, Professional: c.Professional.ID, ReceivedAt: r.ReceivedAt}
			if !r.Meta.Receipt.IsZero() {
				e.ReportBucket = r.Meta.ReportBucket()
			}
			if !r.Cancelled {
				e.DueOrganism, e.DueDate = dueOf(r.Meta) // a paid one is swept (overdue.go)
			}
			if err := s.ledger.Index(ctx, e); err != nil {
				return Result{}, err
			}
			r.Replayed = true
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Result{}, err
		}
	}
	rights := snap.Beneficiary.Rights
	rights.Organism = snap.Beneficiary.OrganismOn(firstCareDate(c))
	priced, err := s.engine.Price(claims.Input{Claim: c, Rights: rights, Opposed: snap.Opposed, ReceivedAt: day,
		OppositionBound: boundedAt, OppositionBoundParam: boundParam, BeneficiaryUnknown: !snap.Known})
	if err != nil {
		return Result{}, err
	}
	if err := s.attributionAllowed(ctx, p, priced.Decision.Organism, firstCareDate(c)); err != nil {
		return Result{}, err
	}
	if !snap.Known {
		priced.Decision.Reasons = append(priced.Decision.Reasons, claims.Reason{
			Code: "BENEFICIARY_UNKNOWN", Line: -1, Article: "CSS art. L161-32; docs/rules.md#beneficiary-unknown",
			Message: "beneficiary not registered: rights cannot be established",
		})
	}
	var amc []organism.AMCLine
	if c.Mode == claims.ModeAMOAndAMC {
		amc = s.amcPart(&priced, c, snap.Beneficiary.AMCContract)
	}
	if !commit {
		grants, _ := franchise.Consume(snap.Counters, priced.Requests)
		d := s.engine.Finish(priced, grants)
		meta, err := s.meta(c, d, now, snap.FraudRegimes)
		if err != nil {
			return Result{}, err
		}
		meta.AMC = amc
		counters, err := s.claimCounters(c, snap, day)
		if err != nil {
			return Result{}, err
		}
		return Result{Decision: d, ReceivedAt: now, Meta: meta, Counters: &counters}, nil
	}
	// The compact binary record (claimbin), about a tenth of its JSON.
	blob := claimbin.Encode(make([]byte, 0, 1024), priced)
	reqs := make([]CapRequest, len(priced.Requests))
	for i, r := range priced.Requests {
		reqs[i] = CapRequest{Request: r, Debt: priced.Decision.Lines[r.Line].TiersPayant}
	}
	meta, err := s.meta(c, priced.Decision, now, snap.FraudRegimes)
	if err != nil {
		return Result{}, err
	}
	meta.AMC = amc
	rawMeta, err := json.Marshal(meta)
	if err != nil {
		return Result{}, fmt.Errorf("encode claim meta: %w", err)
	}
	cr := CommitRequest{
		ClaimID: c.ID, BeneficiaryRef: snap.BeneficiaryRef, Digest: digest, Blob: blob,
		ReceivedAt: now, Year: day.Year(), Requests: reqs, Meta: rawMeta,
		Professional: c.Professional.ID, ReportBucket: meta.ReportBucket(),
	}
	cr.DueOrganism, cr.DueDate = dueOf(meta)
	var ev Event
	if s.trail != nil {
		ev = event(ctx, now, "claim.commit", c.ID, claimDetails(snap.BeneficiaryRef, priced.Decision))
		if snap.PriorDigest == "" {
			// The call that reserved the id records the commit in the same
			// round trip; a retry that commits records it once it knows.
			cr.Event = &ev
		}
	}
	committing = true
	com, err := s.ledger.Commit(ctx, cr)
	if err != nil {
		return Result{}, err
	}
	if com.Replayed {
		r, err := s.finish(com.Stored)
		r.Replayed = true
		return r, err
	}
	if s.trail != nil && cr.Event == nil {
		if err := s.appendEvent(ctx, ev); err != nil {
			return Result{}, err
		}
	}
	d := s.engine.Finish(priced, toGrants(priced.Requests, com.Grants))
	setDebtBalance(&d, com.DebtBalance)
	return Result{Decision: d, ReceivedAt: now, Meta: meta}, nil
}

// GetClaim returns a committed claim's decision.
func (s *Service) GetClaim(ctx context.Context, claimID string) (Result, error) {
	if _, err := caller(ctx); err != nil {
		return Result{}, err
	}
	r, err := s.stored(ctx, claimID)
	if err != nil {
		return r, hideMissing(ctx, err)
	}
	if err := s.mayReadClaim(ctx, r.Meta, organism.OperationAdjudicate); err != nil {
		return Result{}, err
	}
	return r, nil
}

// CancelClaim reverses a committed claim once (docs/rules.md#cancellation).
func (s *Service) CancelClaim(ctx context.Context, claimID string) (Cancellation, error) {
	r, err := s.GetClaim(ctx, claimID)
	if err != nil {
		return Cancellation{}, err
	}
	c, err := s.archive.Cancel(ctx, claimID, s.clock())
	if err != nil {
		return c, err
	}
	details := "cancelled; restored participation " + c.PFRestored.StringFixed(2) + ", franchise " + c.FRRestored.StringFixed(2)
	if !c.Now {
		details = "already cancelled at " + c.CancelledAt.UTC().Format(time.RFC3339Nano)
	}
	if err := s.Record(ctx, "claim.cancel", claimID, details); err != nil {
		return c, err
	}
	return c, s.settleDue(ctx, r.Meta, claimID)
}

// attributionAllowed checks, once the managing organism on the care date is
// known, that it may adjudicate (a délégataire's convention, R160-26) and,
// for an operator simulating, that the claim is its organism's.
func (s *Service) attributionAllowed(ctx context.Context, p access.Principal, org string, careDate time.Time) error {
	if p.Role == access.RoleOperator && p.Organism != org {
		return access.ErrDenied
	}
	if o, ok := s.organisms.cached(org); ok {
		return o.Permits(organism.OperationAdjudicate, careDate)
	}
	return nil
}

// Params lists the legal parameters in force on a day.
func (s *Service) Params(ctx context.Context, day time.Time) ([]legal.Value, error) {
	if err := s.MayRead(ctx); err != nil {
		return nil, err
	}
	return s.params.InForce(day), nil
}

// Today is the service's current civil date.
func (s *Service) Today() time.Time { return s.civilDate(s.clock()) }

// UpsertBeneficiary registers or replaces a beneficiary.
func (s *Service) UpsertBeneficiary(ctx context.Context, nir string, b Beneficiary) (string, error) {
	if !claims.ValidNIR(nir) {
		return "", &claims.ValidationError{Fields: []claims.FieldViolation{{Field: "beneficiary.nir", Description: "not a valid NIR (13 characters and a matching 2-digit key)"}}}
	}
	p, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if p.Role != access.RoleAdmin && p.Role != access.RoleOperator {
		return "", access.ErrDenied
	}
	if p.Role == access.RoleOperator {
		if err := s.operatorMay(ctx, p, p.Organism, organism.OperationManageBeneficiaries, s.Today()); err != nil {
			return "", err
		}
	}
	var details string
	ref, err := s.bens.Update(ctx, nir, func(old Beneficiary, existed bool) (Beneficiary, error) {
		nb := b
		if p.Role == access.RoleOperator {
			// Only over the periods its organism manages (tenancy.go).
			switch {
			case !existed:
				if err := operatorCreates(nb, p.Organism); err != nil {
					return Beneficiary{}, err
				}
			case !attachedTo(old, p.Organism):
				return Beneficiary{}, access.ErrDenied // another organism's beneficiary
			default:
				var err error
				if nb, err = operatorWrite(old, nb, p.Organism, s.Today()); err != nil {
					return Beneficiary{}, err
				}
			}
		}
		details = changeDetails(old, existed, nb)
		return nb, nil
	})
	if err != nil {
		return "", err
	}
	return ref, s.Record(ctx, "beneficiary.upsert", ref, details)
}

// GetBeneficiary returns a registered beneficiary.
func (s *Service) GetBeneficiary(ctx context.Context, nir string) (string, Beneficiary, error) {
	if !claims.ValidNIR(nir) {
		return "", Beneficiary{}, &claims.ValidationError{Fields: []claims.FieldViolation{{Field: "nir", Description: "not a valid NIR (13 characters and a matching 2-digit key)"}}}
	}
	p, err := caller(ctx)
	if err != nil {
		return "", Beneficiary{}, err
	}
	switch p.Role {
	case access.RoleAdmin:
		return s.bens.Get(ctx, nir)
	case access.RoleOperator:
		if err := s.operatorMay(ctx, p, p.Organism, organism.OperationManageBeneficiaries, s.Today()); err != nil {
			return "", Beneficiary{}, err
		}
		ref, b, err := s.bens.Get(ctx, nir)
		if err != nil {
			return "", Beneficiary{}, hideMissing(ctx, err)
		}
		if !attachedTo(b, p.Organism) {
			return "", Beneficiary{}, access.ErrDenied
		}
		return ref, operatorView(b, p.Organism, s.Today()), nil
	}
	return "", Beneficiary{}, access.ErrDenied
}

func (s *Service) stored(ctx context.Context, claimID string) (Result, error) {
	st, err := s.archive.Get(ctx, claimID)
	if err != nil {
		return Result{}, err
	}
	return s.finish(st)
}

func (s *Service) finish(st Stored) (Result, error) {
	p, err := claimbin.Decode(st.Blob)
	if err != nil {
		return Result{}, fmt.Errorf("decode stored claim: %w", err)
	}
	d := s.engine.Finish(p, toGrants(p.Requests, st.Grants))
	setDebtBalance(&d, st.DebtBalance)
	var m ClaimMeta
	if len(st.Meta) > 0 {
		if err := json.Unmarshal(st.Meta, &m); err != nil {
			return Result{}, fmt.Errorf("decode claim meta: %w", err)
		}
	}
	return Result{Decision: d, ReceivedAt: st.ReceivedAt, Cancelled: st.Cancelled, CancelledAt: st.CancelledAt, Meta: m}, nil
}

// toGrants pairs the store's grants with the requests they answer.
func toGrants(reqs []franchise.Request, raw []RawGrant) []franchise.Grant {
	out := make([]franchise.Grant, len(raw))
	for i, g := range raw {
		r := reqs[i]
		out[i] = franchise.Grant{
			Line: r.Line, Deduction: r.Deduction, Kind: r.Kind, Units: g.Units, Amount: g.Amount,
			Requested: r.UnitAmount.Mul(decimal.NewFromInt(int64(r.Units))), LimitedBy: g.Limits,
		}
	}
	return out
}

func firstCareDate(c claims.Claim) time.Time {
	if len(c.Lines) == 0 {
		return time.Time{}
	}
	return c.Lines[0].CareDate
}

// readRequest names the counters a claim may touch: for each care date the
// daily franchise counters and the professional's PF count.
func readRequest(c claims.Claim, day time.Time, reserve bool, digest string) ReadRequest {
	r := ReadRequest{
		ClaimID: c.ID, Reserve: reserve, Digest: digest, NIR: c.NIR, Professional: c.Professional.ID,
		Identifier: c.Identification.Value, CreatedAt: c.CreatedAt, Year: day.Year(),
	}
	if c.Identification.Kind == claims.IdentificationNone {
		r.Identifier = ""
	}
	seen := map[time.Time]bool{}
	for _, l := range c.Lines {
		if seen[l.CareDate] {
			continue
		}
		seen[l.CareDate] = true
		for _, k := range []franchise.Kind{franchise.KindActeParamedical, franchise.KindTransport, franchise.KindPrestationPharmacien} {
			r.DayKeys = append(r.DayKeys, franchise.DayKey{CareDate: l.CareDate, Kind: k})
		}
		r.ProDays = append(r.ProDays, franchise.ProDayKey{Professional: c.Professional.ID, CareDate: l.CareDate})
	}
	return r
}

// Describe returns a parameter's description.
func (s *Service) Describe(id string) string {
	if sr, ok := s.params.Series(id); ok {
		return sr.Description
	}
	return ""
}

// amcPart computes the complementary part paid by the organism managing the
// beneficiary when it holds the delegation of the beneficiary's contract
// (L161-36-2) and the claim asks for AMO+AMC tiers payant; otherwise the
// decision says why there is none (docs/rules.md#amc-part).
func (s *Service) amcPart(p *claims.Priced, c claims.Claim, contract string) []organism.AMCLine {
	pre := s.engine.Finish(*p, nil) // the patient's share does not depend on the deductions
	shares := make([]organism.LineShare, len(pre.Lines))
	for i, l := range pre.Lines {
		shares[i] = organism.LineShare{LineID: l.LineID, TiersPayant: l.TiersPayant && l.Status == claims.StatusAccepted,
			TicketModerateur: l.TicketModerateur, PatientShare: l.PatientShare}
	}
	if o, ok := s.organisms.cached(pre.Organism); ok {
		if lines, ok := o.AMCLines(contract, firstCareDate(c), shares); ok {
			return lines
		}
	}
	p.Decision.Reasons = append(p.Decision.Reasons, claims.Reason{Code: "AMC_NOT_DELEGATED", Line: -1, Article: "CSS art. L161-36-2; docs/rules.md#amc-part",
		Message: "AMO+AMC asked, but the managing organism holds no complementary delegation for the beneficiary's contract: the AMC part is not paid here"})
	return nil
}

// setDebtBalance replaces the engine's debt balance (read before the commit)
// with the balance the commit script left, which includes concurrent claims.
func setDebtBalance(d *claims.Decision, bal decimal.Decimal) {
	d.DebtBalance = bal
	for i := range d.Trace {
		if d.Trace[i].Amount == "debt_balance" {
			d.Trace[i].Value = bal
		}
	}
}
