// Package organism describes the bodies that manage beneficiaries: caisses of
// the compulsory scheme and délégataires, mutuelles that run its operations
// under a convention with the national fund (CSS art. L160-17, R160-26). It is
// pure: the store keeps the organisms.
package organism

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/calendar"
)

// Kind of organism.
type Kind int

// Kinds.
const (
	KindUnspecified Kind = iota
	KindCaisse
	KindDelegataire
)

// Operation is an operation a convention may delegate (R160-26 III 2°).
type Operation int

// Operations.
const (
	OperationUnspecified Operation = iota
	OperationAdjudicate
	OperationManageBeneficiaries
	OperationManageOppositions
	OperationRecordPayments
	OperationPayAMC
)

// RemiseRule is an amount of remises de gestion per beneficiary per year,
// from a date (R160-26 III 4°).
type RemiseRule struct {
	From                 time.Time
	AmountPerBeneficiary decimal.Decimal
}

// AMCDelegation is a complementary delegation for a contract (L161-36-2).
type AMCDelegation struct {
	ContractID string
	Rate       decimal.Decimal
	Ceiling    decimal.Decimal // zero: none
}

// Convention is a délégataire's convention (R160-26).
type Convention struct {
	ID                     string
	ValidFrom, ValidTo     time.Time // the COG period (R160-26 II)
	COGRef                 string
	Scopes                 []string // beneficiary categories or schemes (III 1°)
	Departements           []string // geographic districts (III 1°)
	Operations             []Operation
	DelayTargetWorkingDays int
	Remises                []RemiseRule
	AMC                    []AMCDelegation
}

// Organism is a caisse or a délégataire.
type Organism struct {
	Code        string
	Name        string
	Kind        Kind
	Departement string // where it is located: selects its calendar (docs/rules.md#calendar)
	Conventions []Convention
}

// Calendar is the working-day calendar of the organism as a payer
// (docs/rules.md#calendar):
// Alsace-Moselle for organisms located in départements 57, 67 and 68,
// national otherwise.
func (o Organism) Calendar() calendar.Calendar { return calendar.ForDepartement(o.Departement) }

// ConventionOn returns the organism's convention valid on day.
func (o Organism) ConventionOn(day time.Time) (Convention, bool) {
	for _, c := range o.Conventions {
		if !day.Before(c.ValidFrom) && (c.ValidTo.IsZero() || !day.After(c.ValidTo)) {
			return c, true
		}
	}
	return Convention{}, false
}

// Permits says whether the organism may carry out op on day. A caisse may do
// everything for what it manages; a délégataire only what a convention valid
// on that day delegates to it (R160-26 II: validity, the COG period; III 2°:
// the list of delegated operations).
func (o Organism) Permits(op Operation, day time.Time) error {
	if o.Kind != KindDelegataire {
		return nil
	}
	c, ok := o.ConventionOn(day)
	if !ok {
		return &access.ClauseError{Clause: "R160-26 II",
			Message: "no convention of délégataire " + o.Code + " is valid on " + day.Format(time.DateOnly)}
	}
	for _, x := range c.Operations {
		if x == op {
			return nil
		}
	}
	return &access.ClauseError{Clause: "R160-26 III 2°",
		Message: "operation " + op.String() + " is not delegated by convention " + c.ID}
}

// String names an operation as the API does.
func (op Operation) String() string {
	switch op {
	case OperationAdjudicate:
		return "ADJUDICATE"
	case OperationManageBeneficiaries:
		return "MANAGE_BENEFICIARIES"
	case OperationManageOppositions:
		return "MANAGE_OPPOSITIONS"
	case OperationRecordPayments:
		return "RECORD_PAYMENTS"
	case OperationPayAMC:
		return "PAY_AMC"
	}
	return "UNSPECIFIED"
}
