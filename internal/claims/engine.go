package claims

import (
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/money"
)

// ErrNatureNotSupported is returned for a work-injury or occupational-disease
// (AT/MP) claim: the service adjudicates maladie and maternité only
// (docs/rules.md#insurance-nature).
var ErrNatureNotSupported = errors.New("insurance nature not supported")

// Input is what one adjudication needs besides the legal table.
type Input struct {
	Claim  Claim
	Rights Rights
	// Opposed is true when the identifier used was on the opposition list at
	// Claim.CreatedAt (docs/rules.md#opposition), as decided by the caller.
	Opposed bool
	// OppositionBound is set when the claim declared a creation older than
	// the bound of P-OPP-1 (OppositionBoundParam working days before
	// receipt): the caller judged the opposition list at OppositionBound
	// instead, and the decision says so (docs/rules.md#opposition).
	OppositionBound      time.Time
	OppositionBoundParam legal.Value
	// BeneficiaryUnknown is set when the registry does not know the
	// beneficiary at all: the claim cannot be attributed, and a card does not
	// make its lines payable (docs/rules.md#beneficiary-unknown).
	BeneficiaryUnknown bool
	// ReceivedAt is the receipt instant on the service clock. Its calendar
	// date in its own location is the adjudication date (annual counters,
	// docs/rules.md#dates) and the time-bar reference (docs/rules.md#time-bar):
	// pass it in Europe/Paris, or as the Paris calendar date at 00:00 UTC as
	// the service does. It is not converted to UTC first: a claim received on
	// 1 January at 00:30 in Paris (31 December, 23:30 UTC) counts against the
	// new year's caps.
	ReceivedAt time.Time
}

// Engine prices claims against a legal table. It is pure and safe for
// concurrent use.
type Engine struct {
	table *legal.Table
	full  decimal.Decimal // 100 %: the rate of a care exonerated of ticket modérateur
}

// NewEngine returns an engine reading its parameters from t.
func NewEngine(t *legal.Table) *Engine {
	return &Engine{table: t, full: decimal.NewFromInt(1)}
}

// Priced is a claim priced up to the cap consumption: the decision without
// participation forfaitaire and franchise, and the deductions to request. It
// round-trips through encoding/json, so the store can keep it between Price
// and Finish.
type Priced struct {
	Decision Decision
	// Requests are the deductions to consume, in claim order
	// (docs/rules.md#order). Empty for an opposed claim and for rejected
	// lines.
	Requests []franchise.Request
	// Sources says, for each request (same index), which parameters it used,
	// so that Finish can trace the deduction without the legal table.
	Sources []DeductionSource
	// Debt is the beneficiary's PF and franchise debt before the claim
	// (docs/rules.md#patient-debt).
	Debt decimal.Decimal
}

// DeductionSource records the parameters behind one deduction request.
type DeductionSource struct {
	Article string     // legal basis and docs/rules.md anchor of the deduction
	Unit    ParamValue // unit amount (P-PF-1, P-FR-1…)
	Daily   ParamValue // franchise daily cap or PF daily count; empty when none
	Annual  ParamValue // annual cap: the PF count (P-PF-2), the franchise amount (P-FR-6)
	// AnnualAmount is the PF annual amount cap (P-PF-2-AMOUNT, 2024 only);
	// empty when none.
	AnnualAmount ParamValue
	LineLimit    string // the line's AMO amount, as a string
	// FeeLine is 1 + the index of the dispensing fee whose AMO the pack's
	// limit includes (D160-9 a), 0 when none: out of tiers payant, the part
	// of the franchise above the pack's own AMO is taken from the fee's
	// reimbursement (docs/rules.md#dispensing-fee).
	FeeLine int `json:",omitempty"`
}

// ParamValue is a parameter as used: its parameter id (docs/rules.md#parameters)
// and its value.
type ParamValue struct {
	ID    string
	Value string
}

// Price validates the claim, prices every line, decides the guarantee, the
// status and the reasons, and lists the cap consumption to request. It returns
// a *ValidationError for a malformed claim, ErrNatureNotSupported for AT/MP,
// and an error wrapping legal.ErrNoValueAt when a parameter has no value on a
// date it needs.
func (e *Engine) Price(in Input) (Priced, error) {
	// The amount bounds and the profession check are the service's policy
	// (Limits.Validate, before Price); the engine checks the form only.
	vs := Limits{}.validate(in.Claim, in.ReceivedAt)
	if len(vs) == 0 {
		var err error
		if vs, err = e.productRates(in.Claim); err != nil {
			return Priced{}, err
		}
	}
	if len(vs) > 0 {
		return Priced{}, &ValidationError{Fields: vs}
	}
	if in.Claim.Nature == NatureATMP {
		return Priced{}, ErrNatureNotSupported
	}
	p := &pricer{e: e, in: &in, adj: calendar.Day(in.ReceivedAt)}
	out := Priced{Debt: in.Rights.Debt}
	p.out = &out
	d := &out.Decision
	d.ClaimID = in.Claim.ID
	d.Organism = in.Rights.Organism
	d.AdjudicatedOn = p.adj
	d.Lines = make([]LineDecision, len(in.Claim.Lines))
	d.Trace = make([]Trace, 0, len(in.Claim.Lines)*traceEntriesPerLine+1)

	if err := p.claimLevel(); err != nil {
		return Priced{}, err
	}
	if err := p.heavySessions(); err != nil {
		return Priced{}, err
	}
	// Dispensing fees follow their pack or their prescription's packs
	// (docs/rules.md#dispensing-fee): they are priced after every other line.
	fees := false
	for i := range in.Claim.Lines {
		if in.Claim.Lines[i].Category == CategoryDispensingFee {
			fees = true
			continue
		}
		if err := p.line(i); err != nil {
			return Priced{}, err
		}
	}
	if fees {
		for i := range in.Claim.Lines {
			if in.Claim.Lines[i].Category != CategoryDispensingFee {
				continue
			}
			if err := p.line(i); err != nil {
				return Priced{}, err
			}
		}
		p.packFeeLimits()
		// Reasons and traces in claim order, as without fees (fees request
		// nothing: the requests already are).
		sort.SliceStable(d.Reasons, func(a, b int) bool { return d.Reasons[a].Line < d.Reasons[b].Line })
		sort.SliceStable(d.Trace, func(a, b int) bool { return d.Trace[a].Line < d.Trace[b].Line })
	}
	if len(p.violations) > 0 {
		return Priced{}, &ValidationError{Fields: p.violations}
	}
	d.Guarantee = p.guarantee()
	d.Proof = in.Claim.Identification.Kind
	d.Status = claimStatus(d.Lines)
	return out, nil
}

// Finish applies the grants of the cap consumption (from franchise.Consume or
// the store's script) to a priced claim and completes the participation
// forfaitaire, franchise, payable-to-patient and debt of each line, the totals
// and the debt balance, with their traces. Grants are matched to requests by
// line and deduction, in any order. It is deterministic, does not modify p,
// and needs nothing beyond p and grants (no legal table).
func (e *Engine) Finish(p Priced, grants []franchise.Grant) Decision {
	d := p.Decision
	d.Lines = append([]LineDecision(nil), d.Lines...)
	d.Reasons = append([]Reason(nil), d.Reasons...)
	d.Trace = append(make([]Trace, 0, len(d.Trace)+len(d.Lines)*4+1), d.Trace...)

	// Deductions granted per line, with their trace. A grant is matched to
	// its request by line and deduction (at most one request of each per
	// line), so the grants may come in any order.
	for _, g := range grants {
		if g.Line < 0 || g.Line >= len(d.Lines) {
			continue
		}
		ld := &d.Lines[g.Line]
		var src DeductionSource
		for j, r := range p.Requests {
			if r.Line == g.Line && r.Deduction == g.Deduction && j < len(p.Sources) {
				src = p.Sources[j]
				break
			}
		}
		amount := money.Cents(g.Amount)
		t := Trace{Line: g.Line, Value: amount, Article: src.Article, ParameterID: src.Unit.ID, Parameter: src.Unit.Value}
		if t.Article == "" { // a Priced stored without its sources
			t.Article = deductionCite(g.Deduction)
		}
		if g.Deduction == franchise.DeductionPF {
			ld.ParticipationForfaitaire = money.Cents(ld.ParticipationForfaitaire.Add(amount))
			t.Amount, t.Rule = AmountPF, "PF_UNIT_AMOUNT"
		} else {
			ld.Franchise = money.Cents(ld.Franchise.Add(amount))
			t.Amount, t.Rule = AmountFranchise, "FRANCHISE_UNIT_AMOUNT"
		}
		for _, l := range g.LimitedBy {
			d.Reasons = append(d.Reasons, limitReason(g, l))
		}
		if n := len(g.LimitedBy); n > 0 {
			t.Rule = limitRule(g.Deduction, g.LimitedBy[n-1])
			t.Article = limitCite(g.Deduction, g.LimitedBy[n-1])
			switch g.LimitedBy[n-1] {
			case franchise.LimitLineAMO:
				t.ParameterID, t.Parameter = "", src.LineLimit
				if src.Article == citeFeePackLimit {
					t.Article = citeFeePackLimit // the pack's and its fee's AMO (D160-9 a)
				}
			case franchise.LimitDailyCap, franchise.LimitDailyCount:
				t.ParameterID, t.Parameter = src.Daily.ID, src.Daily.Value
			case franchise.LimitAnnualCount:
				t.ParameterID, t.Parameter = src.Annual.ID, src.Annual.Value
			case franchise.LimitAnnualCap:
				t.ParameterID, t.Parameter = src.Annual.ID, src.Annual.Value
				if g.Deduction == franchise.DeductionPF {
					t.ParameterID, t.Parameter = src.AnnualAmount.ID, src.AnnualAmount.Value
				}
			}
		}
		d.Trace = append(d.Trace, t)
	}

	var tot Totals
	for i := range d.Lines {
		ld := &d.Lines[i]
		ded := ld.ParticipationForfaitaire.Add(ld.Franchise)
		switch {
		case ld.Status != StatusAccepted:
			ld.PayableToPatient, ld.PatientDebt = decimal.Zero, decimal.Zero
		case ld.TiersPayant:
			// L160-13 II last para.: under tiers payant the deductions become
			// the beneficiary's debt, the professional is paid in full
			// (docs/rules.md#patient-debt).
			ld.PayableToPatient, ld.PatientDebt = decimal.Zero, ded
		default:
			// Out of tiers payant the insurer reimburses the patient, less
			// the deductions.
			ld.PayableToPatient, ld.PatientDebt = money.Cents(ld.AMO.Sub(ded)), decimal.Zero
		}
	}
	// D160-9 a: a pack's franchise may exceed its own AMO by its fee's; out
	// of tiers payant that part comes off the fee's reimbursement (or is the
	// beneficiary's debt when the fee is paid under tiers payant).
	for k, src := range p.Sources {
		if src.FeeLine <= 0 || src.FeeLine > len(d.Lines) || k >= len(p.Requests) {
			continue
		}
		pack, fee := &d.Lines[p.Requests[k].Line], &d.Lines[src.FeeLine-1]
		if pack.Status != StatusAccepted || pack.TiersPayant || pack.PayableToPatient.Sign() >= 0 {
			continue
		}
		excess := pack.PayableToPatient.Neg()
		pack.PayableToPatient = decimal.Zero
		if fee.Status == StatusAccepted && !fee.TiersPayant {
			fee.PayableToPatient = money.Cents(decimal.Max(decimal.Zero, fee.PayableToPatient.Sub(excess)))
		} else {
			pack.PatientDebt = excess
		}
	}
	for i := range d.Lines {
		ld := &d.Lines[i]
		d.Trace = append(d.Trace,
			Trace{Line: i, Amount: AmountPayableToPatient, Value: ld.PayableToPatient, Rule: "PAYABLE_TO_PATIENT", Article: citePayableToPatient},
			Trace{Line: i, Amount: AmountPatientDebt, Value: ld.PatientDebt, Rule: "PATIENT_DEBT", Article: citePatientDebt},
		)
		tot.Base = tot.Base.Add(ld.Base)
		tot.AMO = tot.AMO.Add(ld.AMO)
		tot.TicketModerateur = tot.TicketModerateur.Add(ld.TicketModerateur)
		tot.ParticipationForfaitaire = tot.ParticipationForfaitaire.Add(ld.ParticipationForfaitaire)
		tot.Franchise = tot.Franchise.Add(ld.Franchise)
		tot.Excess = tot.Excess.Add(ld.Excess)
		tot.PayableToProfessional = tot.PayableToProfessional.Add(ld.PayableToProfessional)
		tot.PayableToPatient = tot.PayableToPatient.Add(ld.PayableToPatient)
		tot.PatientShare = tot.PatientShare.Add(ld.PatientShare)
		tot.PatientDebt = tot.PatientDebt.Add(ld.PatientDebt)
		tot.AmountToRecover = tot.AmountToRecover.Add(ld.AmountToRecover)
		tot.HorsParcoursMajoration = tot.HorsParcoursMajoration.Add(ld.HorsParcoursMajoration)
		tot.RegimeLocal = tot.RegimeLocal.Add(ld.RegimeLocal)
	}
	d.Totals = tot
	d.DebtBalance = money.Cents(p.Debt.Add(tot.PatientDebt))
	d.Trace = append(d.Trace, Trace{Line: -1, Amount: AmountDebtBalance, Value: d.DebtBalance, Rule: "DEBT_BALANCE", Article: citePatientDebt})
	sort.SliceStable(d.Trace, func(a, b int) bool { return d.Trace[a].Line < d.Trace[b].Line })
	return d
}

// Adjudicate prices the claim, consumes its deductions against s (rolled to
// the adjudication year, see franchise.State.ForYear) and finishes the
// decision. The increments apply to s.ForYear(decision.AdjudicatedOn.Year()).
// Simulations and tests use it; the service splits the three steps around its
// store.
func (e *Engine) Adjudicate(in Input, s franchise.State) (Decision, franchise.Increments, error) {
	p, err := e.Price(in)
	if err != nil {
		return Decision{}, franchise.Increments{}, err
	}
	grants, inc := franchise.Consume(s.ForYear(p.Decision.AdjudicatedOn.Year()), p.Requests)
	return e.Finish(p, grants), inc, nil
}

// claimStatus derives the claim status from its lines: ACCEPTED when every
// line is accepted under tiers payant, REJECTED when none is, PARTIAL
// otherwise (docs/rules.md#claim-status).
func claimStatus(lines []LineDecision) Status {
	tp := 0
	for _, l := range lines {
		if l.Status == StatusAccepted && l.TiersPayant {
			tp++
		}
	}
	switch tp {
	case len(lines):
		return StatusAccepted
	case 0:
		return StatusRejected
	}
	return StatusPartial
}

func limitReason(g franchise.Grant, l franchise.Limit) Reason {
	r := Reason{Line: g.Line, Article: limitCite(g.Deduction, l)}
	r.Code = limitRule(g.Deduction, l)
	switch l {
	case franchise.LimitLineAMO:
		r.Message = "deduction limited to the line's AMO amount"
	case franchise.LimitDailyCap:
		r.Message = "franchise daily cap reached for this category and care date"
	case franchise.LimitDailyCount:
		r.Message = "maximum number of participations for this professional and care date reached"
	case franchise.LimitAnnualCap:
		r.Message = "annual cap reached"
	case franchise.LimitAnnualCount:
		r.Message = "annual number of participations reached"
	}
	return r
}

// limitRule returns the reason code (also the trace rule) of a cap that
// reduced a deduction.
func limitRule(d franchise.Deduction, l franchise.Limit) string {
	pf := d == franchise.DeductionPF
	switch {
	case l == franchise.LimitLineAMO && pf:
		return ReasonPFLimitedToAMO
	case l == franchise.LimitLineAMO:
		return ReasonFranchiseLimitedToAMO
	case l == franchise.LimitDailyCount:
		return ReasonPFDailyCount
	case l == franchise.LimitDailyCap:
		return ReasonFranchiseDailyCap
	case (l == franchise.LimitAnnualCap || l == franchise.LimitAnnualCount) && pf:
		return ReasonPFAnnualCap
	case l == franchise.LimitAnnualCap:
		return ReasonFranchiseAnnualCap
	}
	return ""
}

// limitCite returns the citation of a cap that reduced a deduction.
func limitCite(d franchise.Deduction, l franchise.Limit) string {
	pf := d == franchise.DeductionPF
	switch {
	case l == franchise.LimitLineAMO && pf:
		return citePFLineLimit
	case l == franchise.LimitLineAMO:
		return citeFranchiseLineLimit
	case l == franchise.LimitDailyCount:
		return citePFDailyCount
	case l == franchise.LimitDailyCap:
		return citeFranchiseDailyCap
	case (l == franchise.LimitAnnualCap || l == franchise.LimitAnnualCount) && pf:
		return citePFAnnualCap
	case l == franchise.LimitAnnualCap:
		return citeFranchiseAnnualCap
	}
	return deductionCite(d)
}

// deductionCite returns the citation of a deduction.
func deductionCite(d franchise.Deduction) string {
	if d == franchise.DeductionPF {
		return citePF
	}
	return citeFranchise
}

// productRates checks every medicine and medical-device line's rate against
// the rates allowed on its care date (P-TM-7, docs/rules.md#medicines; P-TM-10,
// docs/rules.md#medical-device), whatever becomes of the
// line afterwards (a line rejected for closed rights is still malformed
// input). A care date with no set in the table is left to the pricing of the
// line: a time-barred line is rejected TIME_BARRED (L160-11) without needing
// it, any other line fails there with legal.ErrNoValueAt.
func (e *Engine) productRates(c Claim) ([]FieldViolation, error) {
	var vs []FieldViolation
	for i, l := range c.Lines {
		id, what := pTMMedicineRates, "medicine"
		switch l.Category {
		case CategoryMedicine:
		case CategoryMedicalDevice:
			id, what = pTMDevice, "medical-device"
		default:
			continue
		}
		v, ok, err := e.table.Lookup(id, l.CareDate)
		if err != nil {
			return nil, err
		}
		if ok && !v.Contains(l.ProductRate) {
			vs = append(vs, FieldViolation{Field: "lines[" + strconv.Itoa(i) + "].product_rate",
				Description: "not a " + what + " reimbursement rate allowed on the care date"})
		}
	}
	return vs, nil
}
