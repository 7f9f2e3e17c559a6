// Package service is the adjudicator's use case: it reads what a claim needs
// from the store, calls the pure pricing engine, commits the consumption
// atomically and returns the decision. It owns the small interfaces it
// consumes; store/redisstore implements them.
package service

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/payment"
)

// Errors the store and the service return. grpcapi maps them to status codes.
var (
	// ErrNotFound: no such claim or beneficiary.
	ErrNotFound = errors.New("not found")
	// ErrClaimIDReused: the claim id is already used by a claim with other
	// content (docs/rules.md#claim-id-reuse).
	ErrClaimIDReused = errors.New("claim id already used by another claim")
	// ErrConcurrentChange: a record kept changing while it was being
	// updated; the call may be retried.
	ErrConcurrentChange = errors.New("the record changed while it was being updated: retry")
	// ErrUnavailable: the store cannot be reached or did not answer in time.
	ErrUnavailable = errors.New("store unavailable")
)

// ReadRequest names everything one claim needs, read in one round trip.
type ReadRequest struct {
	ClaimID string
	// Reserve claims the claim id for Digest (Adjudicate); Simulate does not.
	Reserve bool
	Digest  string
	NIR     string
	// Identifier is checked against the opposition list at CreatedAt
	// (docs/rules.md#opposition).
	Identifier string
	CreatedAt  time.Time
	// Professional's fraud regimes are read with the claim
	// (docs/rules.md#fraud-regime).
	Professional string
	// Year, DayKeys and ProDays select the counters the claim may consume.
	Year    int
	DayKeys []franchise.DayKey
	ProDays []franchise.ProDayKey
}

// Snapshot is what a ReadRequest returns.
type Snapshot struct {
	BeneficiaryRef string
	Known          bool // the beneficiary is registered
	Beneficiary    Beneficiary
	Opposed        bool
	Counters       franchise.State
	// PriorDigest is the digest the claim id was already reserved with, empty
	// when the id was free.
	PriorDigest string
	// FraudRegimes of the professional (docs/rules.md#fraud-regime).
	FraudRegimes []payment.FraudRegime
}

// CapRequest is one deduction to grant against the caps; Debt says whether
// the amount becomes the beneficiary's debt (line under tiers payant,
// docs/rules.md#patient-debt).
type CapRequest struct {
	franchise.Request
	Debt bool
}

// CommitRequest commits one priced claim.
type CommitRequest struct {
	ClaimID        string
	BeneficiaryRef string
	Digest         string
	Blob           []byte // the encoded priced claim
	ReceivedAt     time.Time
	Year           int
	Requests       []CapRequest
	// Meta is the encoded ClaimMeta (payment tracking).
	Meta []byte
	// Professional and ReportBucket ("<organism>|<quarter>") index the claim
	// for listings and the delay report.
	Professional string
	ReportBucket string
	// DueOrganism and DueDate list a guaranteed claim in its organism's due
	// index (overdue.go); DueDate is zero for a claim without one.
	DueOrganism string
	DueDate     time.Time
	// Event, when set, is appended to the audit trail in the commit's round
	// trip.
	Event *Event
}

// RawGrant is what the store granted for one request.
type RawGrant struct {
	Units   int
	Amount  decimal.Decimal
	Limits  []franchise.Limit
	Request int
}

// Stored is a committed claim as the store keeps it.
type Stored struct {
	BeneficiaryRef string
	Blob           []byte
	Meta           []byte
	Payment        []byte
	Grants         []RawGrant
	DebtBalance    decimal.Decimal
	ReceivedAt     time.Time
	Cancelled      bool
	CancelledAt    time.Time
}

// Committed is the result of a commit: either this call committed it, or it
// was committed before with the same content (Replayed).
type Committed struct {
	Stored
	Replayed bool
}

// Cancellation is the result of CancelClaim.
type Cancellation struct {
	Now         bool // false when it had already been cancelled
	CancelledAt time.Time
	PFRestored  decimal.Decimal
	FRRestored  decimal.Decimal
}

// ClaimLedger reads a claim's context and commits its consumption.
type ClaimLedger interface {
	Read(ctx context.Context, r ReadRequest) (Snapshot, error)
	Commit(ctx context.Context, c CommitRequest) (Committed, error)
	// Release frees a claim id reserved by Read for digest, best effort, when
	// the claim did not commit.
	Release(ctx context.Context, claimID, digest string)
	// Index adds a committed claim to the professional's and the report's
	// indexes when it is missing from them (a commit whose index writes
	// failed after its script succeeded), keeping an entry already there.
	Index(ctx context.Context, e IndexEntry) error
}

// IndexEntry is where a committed claim is listed: its professional's claims
// and its organism's quarter (ClaimMeta.ReportBucket), by receipt instant.
type IndexEntry struct {
	ClaimID      string
	Professional string
	ReportBucket string
	ReceivedAt   time.Time
	// DueOrganism and DueDate as in CommitRequest.
	DueOrganism string
	DueDate     time.Time
}

// ClaimArchive reads and reverses committed claims.
type ClaimArchive interface {
	Get(ctx context.Context, claimID string) (Stored, error)
	Cancel(ctx context.Context, claimID string, at time.Time) (Cancellation, error)
}

// Attachment is a beneficiary's managing organism over a period (L161-32,
// L160-18).
type Attachment struct {
	Organism string
	Period   claims.Period
}

// Beneficiary is a registered beneficiary: the rights the engine needs and
// the dated attachments to managing organisms. Rights.Organism and
// Rights.Debt are filled per claim, not stored here.
type Beneficiary struct {
	Rights             claims.Rights
	Attachments        []Attachment
	HasMedecinTraitant bool
	// AMCContract is the complementary contract whose delegation the managing
	// organism may hold (L161-36-2).
	AMCContract string
}

// OrganismOn returns the organism managing the beneficiary on day.
func (b Beneficiary) OrganismOn(day time.Time) string {
	for _, a := range b.Attachments {
		if a.Period.Contains(day) {
			return a.Organism
		}
	}
	return ""
}

// PaymentLedger records payments and lists claims for tracking and reports.
type PaymentLedger interface {
	// RecordPayment stores payment unless the claim already has one; it
	// returns the payment stored and whether this call stored it.
	RecordPayment(ctx context.Context, claimID, reference string, payment []byte) (stored []byte, now bool, err error)
	// Records returns the stored claims (Blob nil for an unknown id).
	Records(ctx context.Context, claimIDs []string) ([]Stored, error)
	ClaimsOf(ctx context.Context, professional string, offset, limit int) ([]string, error)
	ClaimsIn(ctx context.Context, organism, quarter string) ([]string, error)
	// ClaimsInPage lists limit of an organism's claim ids received in a
	// quarter from offset, in the order of their receipt.
	ClaimsInPage(ctx context.Context, organism, quarter string, offset, limit int) ([]string, error)
}

// FraudRegistry keeps the professionals' fraud regimes
// (docs/rules.md#fraud-regime).
type FraudRegistry interface {
	Get(ctx context.Context, professional string) ([]payment.FraudRegime, error)
	Set(ctx context.Context, professional string, rs []payment.FraudRegime) error
}

// OrganismRegistry keeps the organisms.
type OrganismRegistry interface {
	Upsert(ctx context.Context, o organism.Organism) error
	Get(ctx context.Context, code string) (organism.Organism, error)
	List(ctx context.Context) ([]organism.Organism, error)
}

// Beneficiaries keeps beneficiaries' rights.
type Beneficiaries interface {
	// Update reads the beneficiary and stores what f makes of it in one
	// atomic step: a change made in between makes f run again on it. An
	// error from f stores nothing and is returned.
	Update(ctx context.Context, nir string, f func(old Beneficiary, existed bool) (Beneficiary, error)) (ref string, err error)
	Get(ctx context.Context, nir string) (ref string, b Beneficiary, err error)
	// ManagedBy returns every beneficiary ever attached to the organism.
	ManagedBy(ctx context.Context, org string) ([]Beneficiary, error)
}
