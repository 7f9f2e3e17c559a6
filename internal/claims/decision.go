package claims

import (
	"time"

	"github.com/shopspring/decimal"
)

// Status is the outcome of a claim or of one of its lines.
type Status int

// Statuses.
const (
	StatusUnspecified Status = iota
	StatusAccepted           // every line accepted for tiers payant
	StatusPartial            // some lines rejected or taken out of tiers payant
	StatusRejected           // nothing payable to the professional under tiers payant
)

// Guarantee is the payment guarantee of CSS art. L161-36-3
// (docs/rules.md#guarantee).
type Guarantee int

// Guarantees.
const (
	GuaranteeUnspecified Guarantee = iota
	GuaranteeGuaranteed            // card or app used and not opposed (D161-13-2), rights open or not
	_                              // 2: formerly "ADRi or attestation", reserved in the API
	GuaranteeNone                  // priced and paid under the ordinary rules, no deadline
)

// Reason explains a rejection, an exemption or a condition that failed. Code is
// stable and machine-readable (e.g. "TIME_BARRED", "CARD_IN_OPPOSITION").
type Reason struct {
	Code    string
	Line    int    // index of the line it concerns, -1 for the whole claim
	Article string // legal reference and rule, e.g. "CSS art. L160-11; docs/rules.md#time-bar"
	Message string // short English explanation, never personal data
}

// Trace records how one amount was produced.
type Trace struct {
	Line        int    // index of the line, -1 for a claim-level amount
	Amount      string // which amount: "base", "amo", "ticket_moderateur", "participation_forfaitaire", "franchise"…
	Value       decimal.Decimal
	Rule        string // rule name, e.g. "TM_RATE", "PF_DAILY_COUNT_CAP"
	Article     string // legal reference and rule, e.g. "CSS art. L160-13 II; docs/rules.md#pf"
	ParameterID string // e.g. "P-PF-1"; empty when no parameter was used
	Parameter   string // the parameter's value as used, e.g. "2.00"
}

// LineDecision is the priced result of one line.
type LineDecision struct {
	LineID string
	Status Status // StatusAccepted or StatusRejected
	// TiersPayant is false when the line is out of tiers payant (generic
	// refused, opposition, rejected line): the patient pays the professional
	// and is reimbursed AMO less deductions.
	TiersPayant      bool
	Base             decimal.Decimal // base de remboursement (after the generic limit)
	Rate             decimal.Decimal // AMO rate applied, as a fraction
	AMO              decimal.Decimal // AMO amount
	TicketModerateur decimal.Decimal // base − AMO (the flat amount of a heavy act)
	HeavyActFlat     bool            // TM replaced by the heavy-act flat amount (docs/rules.md#heavy-act)
	// ParticipationForfaitaire and Franchise are the deductions actually
	// consumed against the caps (docs/rules.md#pf, docs/rules.md#franchise,
	// docs/rules.md#order).
	ParticipationForfaitaire decimal.Decimal
	Franchise                decimal.Decimal
	Excess                   decimal.Decimal // billed − base when positive (dépassement)
	// PayableToProfessional is the AMO amount paid to the professional under
	// tiers payant (docs/rules.md#payable: never reduced by PF or franchise).
	PayableToProfessional decimal.Decimal
	// PayableToPatient is what the insurer reimburses the patient when the
	// line is out of tiers payant: AMO − PF − franchise.
	PayableToPatient decimal.Decimal
	// PatientShare is what the patient pays at the counter: ticket modérateur
	// (unless CSS or AME covers it) plus excess, or the billed amount when the
	// line is out of tiers payant.
	PatientShare decimal.Decimal
	// PatientDebt is the PF and franchise recorded as the beneficiary's debt
	// (lines under tiers payant only, docs/rules.md#patient-debt).
	PatientDebt decimal.Decimal
	// AmountToRecover is what the insurer pays on the card's guarantee for a
	// care date on which the registry shows the rights closed, to be
	// recovered from the insured (docs/rules.md#guarantee).
	AmountToRecover decimal.Decimal
	// HorsParcoursMajoration is the part of the ticket modérateur added
	// because the line is outside the coordinated-care pathway
	// (docs/rules.md#hors-parcours); the patient bears it, CSS or not.
	HorsParcoursMajoration decimal.Decimal
	// RegimeLocal is the part of AMO paid as the régime local
	// d'Alsace-Moselle's complement (docs/rules.md#regime-local); AMO minus
	// it is the general scheme's part.
	RegimeLocal decimal.Decimal
}

// Totals sums the line amounts of a decision (sums of rounded amounts,
// docs/rules.md#rounding).
type Totals struct {
	Base, AMO, TicketModerateur, ParticipationForfaitaire, Franchise, Excess decimal.Decimal
	PayableToProfessional, PayableToPatient, PatientShare, PatientDebt       decimal.Decimal
	AmountToRecover, HorsParcoursMajoration, RegimeLocal                     decimal.Decimal
}

// Decision is the adjudication of a claim.
type Decision struct {
	ClaimID   string
	Status    Status
	Reasons   []Reason
	Guarantee Guarantee
	// Proof is the proof of rights the claim used (D161-13-2: the guarantee
	// follows from it).
	Proof  IdentificationKind
	Lines  []LineDecision
	Totals Totals
	// DebtBalance is the beneficiary's debt after this claim (Rights.Debt +
	// Totals.PatientDebt).
	DebtBalance decimal.Decimal
	Organism    string
	// AdjudicatedOn is the date whose calendar year holds the annual counters
	// (docs/rules.md#dates).
	AdjudicatedOn time.Time
	Trace         []Trace
}
