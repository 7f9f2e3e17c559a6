// Package service is the adjudicator's use case: it reads what a claim needs
// from the store, calls the pure pricing engine, commits the consumption
// atomically and returns the decision. The interfaces it consumes are the
// store's ports (internal/store); store/redisstore implements them.
package service

import "github.com/tierspayant/tierspayant/internal/store"

// Errors the store and the service return. grpcapi maps them to status codes.
var (
	// ErrNotFound: no such claim or beneficiary.
	ErrNotFound = store.ErrNotFound
	// ErrClaimIDReused: the claim id is already used by a claim with other
	// content (docs/rules.md#claim-id-reuse).
	ErrClaimIDReused = store.ErrClaimIDReused
	// ErrConcurrentChange: a record kept changing while it was being
	// updated; the call may be retried.
	ErrConcurrentChange = store.ErrConcurrentChange
	// ErrUnavailable: the store cannot be reached or did not answer in time.
	ErrUnavailable = store.ErrUnavailable
)

// The ports and records of the store, under the names the service has
// always used.
type (
	ReadRequest      = store.ReadRequest
	Snapshot         = store.Snapshot
	CapRequest       = store.CapRequest
	CommitRequest    = store.CommitRequest
	RawGrant         = store.RawGrant
	Stored           = store.Stored
	Committed        = store.Committed
	Cancellation     = store.Cancellation
	ClaimLedger      = store.ClaimLedger
	IndexEntry       = store.IndexEntry
	ClaimArchive     = store.ClaimArchive
	Attachment       = store.Attachment
	Beneficiary      = store.Beneficiary
	PaymentLedger    = store.PaymentLedger
	FraudRegistry    = store.FraudRegistry
	OrganismRegistry = store.OrganismRegistry
	Beneficiaries    = store.Beneficiaries
)
