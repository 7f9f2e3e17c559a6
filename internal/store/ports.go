// Package store holds the ports of the adjudicator's storage: the small
// interfaces the service consumes (claims, beneficiaries, payments, the
// audit trail, the due index…), the records they exchange and the errors
// they return. It depends on the domain packages only; store/redisstore
// implements the ports, store/storetest is the conformance suite every
// backend runs.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/opposition"
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
	// ErrClaimCancelled: the claim was cancelled; it cannot be paid.
	ErrClaimCancelled = errors.New("claim cancelled")
	// ErrClaimPaid: the claim's payment is recorded; it cannot be cancelled
	// (a paid claim is reversed by the organism's recovery, not by a cancel).
	ErrClaimPaid = errors.New("claim paid")
	// ErrBadCursor: an EventQuery.After that is not an event id.
	ErrBadCursor = errors.New("not a cursor of the audit trail")
)

// MaxEventPage is the most events one ListAuditEvents page returns.
const MaxEventPage = 1000

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

// ClaimMeta is what payment tracking needs of a committed claim, stored with
// it.
type ClaimMeta struct {
	Professional string               `json:"pro"`
	Profession   claims.Profession    `json:"prf"`
	Organism     string               `json:"org,omitempty"`
	CalendarName string               `json:"cal,omitempty"` // calendar of the paying organism (calendar.Named; docs/rules.md#calendar)
	Receipt      time.Time            `json:"rcv"`           // civil date of receipt (day 0)
	DueDate      time.Time            `json:"due,omitzero"`  // zero when not guaranteed
	Payable      decimal.Decimal      `json:"amt"`           // AMO payable to the professional
	Guaranteed   bool                 `json:"g,omitempty"`
	Rejected     bool                 `json:"rej,omitempty"`
	Fraud        *payment.FraudRegime `json:"fraud,omitempty"`
	// AMC is the complementary part paid by the managing organism (L161-36-2).
	AMC []organism.AMCLine `json:"amc,omitempty"`
}

// ReportBucket is the delay report a claim belongs to: its organism and the
// quarter of its receipt ("<organism>|<quarter>").
func (m ClaimMeta) ReportBucket() string { return m.Organism + "|" + QuarterOf(m.Receipt).String() }

// Calendar is the paying organism's calendar.
func (m ClaimMeta) Calendar() calendar.Calendar {
	if c, ok := calendar.Named(m.CalendarName); ok {
		return c
	}
	return calendar.National()
}

// Quarter is a calendar quarter, "2026Q3".
type Quarter struct {
	Year, Q int
}

// ParseQuarter reads "YYYYQn".
func ParseQuarter(s string) (Quarter, error) {
	if len(s) != 6 || s[4] != 'Q' || s[5] < '1' || s[5] > '4' {
		return Quarter{}, fmt.Errorf("quarter %q: want YYYYQn, e.g. 2026Q3", s)
	}
	y, err := strconv.Atoi(s[:4])
	if err != nil {
		return Quarter{}, fmt.Errorf("quarter %q: want YYYYQn, e.g. 2026Q3", s)
	}
	return Quarter{Year: y, Q: int(s[5] - '0')}, nil
}

// QuarterOf is the quarter of a date.
func QuarterOf(day time.Time) Quarter {
	return Quarter{Year: day.Year(), Q: (int(day.Month())-1)/3 + 1}
}

func (q Quarter) String() string { return fmt.Sprintf("%04dQ%d", q.Year, q.Q) }

// Event is one entry of the audit trail (docs/OPERATIONS.md#audit-trail):
// who changed what, when. Subject names the thing changed without personal
// data: a beneficiary by its opaque reference, never its NIR.
type Event struct {
	// ID is the store's identifier of the event, its place in the trail
	// (set when read).
	ID     string
	At     time.Time
	By     string // the caller's id (certificate name or token id)
	Role   string // admin, operator, professional
	Tenant string // the caller's organism or professional identifier
	// Op is what was done: beneficiary.upsert, opposition.add,
	// opposition.lift, opposition.import, claim.commit, claim.cancel,
	// payment.record, fraud_regime.set, organism.upsert.
	Op      string
	Subject string
	// Details says what changed, in a few words.
	Details string
}

// EventQuery selects events: From ≤ At < To (zero: unbounded), optionally
// of one operation, caller or subject, after a cursor (the ID of the last
// event of the previous page), at most Limit.
type EventQuery struct {
	From, To time.Time
	Op       string
	By       string
	Subject  string
	After    string
	Limit    int
}

// Trail is the append-only audit trail.
type Trail interface {
	Append(ctx context.Context, e Event) error
	// Events returns the events the query selects in the order they were
	// recorded, and the cursor of the next page ("" at the end).
	Events(ctx context.Context, q EventQuery) ([]Event, string, error)
}

// DueIndex lists, per organism, the guaranteed claims (L161-36-3 CSS) not yet
// paid nor cancelled by due date (D161-13-3; docs/rules.md#due-date), so
// that the claims overdue now are counted without reading the claims. The
// commit adds a claim to it (CommitRequest.DueDate, IndexEntry.DueDate); the
// service removes it when the claim is paid or cancelled.
type DueIndex interface {
	// SettleDue removes claims from an organism's index.
	SettleDue(ctx context.Context, org string, claimIDs ...string) error
	// DueBefore lists up to limit of an organism's indexed claims due before
	// day, from offset, oldest due date first.
	DueBefore(ctx context.Context, org string, day time.Time, offset, limit int) ([]string, error)
	// CountDueBefore counts each organism's indexed claims due before day.
	CountDueBefore(ctx context.Context, orgs []string, day time.Time) ([]int64, error)
}

// OppositionItem is one entry of a bulk import of the opposition list.
type OppositionItem struct {
	Identifier string
	Reason     opposition.Reason
	Effective  time.Time
}

// OppositionChange is one entry of the opposition list's change log.
type OppositionChange struct {
	Version    uint64
	Lifted     bool // false: added
	Identifier string
	Entry      opposition.Entry
	RecordedAt time.Time
	By         string // id of the caller who made the change; empty before it was recorded
}

// ErrLogTrimmed is returned by OppositionList.Changes when the versions asked
// for are older than the retained change log: the caller needs a Snapshot
// first.
var ErrLogTrimmed = errors.New("opposition change log trimmed past that version")

// OppositionList is the opposition list (L161-31; docs/rules.md#opposition):
// dated entries per identifier, a version bumped by every change, and a
// bounded log of the changes.
type OppositionList interface {
	Add(ctx context.Context, identifier string, r opposition.Reason, effective, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error)
	Lift(ctx context.Context, identifier string, t, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error)
	Entry(ctx context.Context, identifier string) (opposition.Entry, error)
	// Import adds the items not already opposed; it returns how many it
	// added and the version after them.
	Import(ctx context.Context, items []OppositionItem, now time.Time, by opposition.Actor) (int, uint64, error)
	// Changes returns up to count changes after a version, waiting up to
	// block for one when there is none (0: no wait); ErrLogTrimmed when the
	// log no longer holds the version after.
	Changes(ctx context.Context, after uint64, count int64, block time.Duration) ([]OppositionChange, error)
	// Snapshot calls f on every entry and returns the version they are of.
	Snapshot(ctx context.Context, f func(version uint64, identifier string, e opposition.Entry) error) (uint64, error)
}
