// Package grpcapi is the gRPC transport: it decodes requests into domain
// values, calls the service, encodes the answers and maps errors to status
// codes. It holds no rule and no Redis: that is the engine's and the store's.
package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/service"
)

const errDomain = "tierspayant.v1"

// toStatus is the one place where a domain error becomes a gRPC status. It
// never forwards err.Error(), which may name a Redis address or worse.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return withCause(statusOf(err), err)
}

// statusOf maps a domain error to its status.
func statusOf(err error) error {
	var ve *claims.ValidationError
	var ce *access.ClauseError
	switch {
	case errors.Is(err, access.ErrDenied):
		// A wrapped denial says why; the bare one says nothing of the object.
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.As(err, &ce):
		return withDetails(codes.FailedPrecondition, "outside the délégataire's convention: "+ce.Error(),
			&errdetails.ErrorInfo{Reason: "CONVENTION_CLAUSE", Domain: errDomain, Metadata: map[string]string{"clause": ce.Clause}})
	case errors.As(err, &ve):
		return invalid(ve.Fields...)
	case errors.Is(err, claims.ErrNatureNotSupported):
		return withDetails(codes.FailedPrecondition, "insurance nature not supported: work-injury (AT/MP) claims go to their own channel",
			&errdetails.ErrorInfo{Reason: "INSURANCE_NATURE_NOT_SUPPORTED", Domain: errDomain})
	case errors.Is(err, legal.ErrNoValueAt):
		return withDetails(codes.FailedPrecondition, "no legal parameter in force on the care date",
			&errdetails.ErrorInfo{Reason: "NO_PARAMETER_FOR_DATE", Domain: errDomain})
	case errors.Is(err, service.ErrClaimIDReused):
		return withDetails(codes.AlreadyExists, "claim id already used by a claim with other content",
			&errdetails.ErrorInfo{Reason: "CLAIM_ID_REUSED", Domain: errDomain})
	case errors.Is(err, service.ErrConcurrentChange):
		return withDetails(codes.Aborted, "the beneficiary changed while it was being updated: read it again and retry",
			&errdetails.ErrorInfo{Reason: "CONCURRENT_CHANGE", Domain: errDomain})
	case errors.Is(err, service.ErrAlreadyPaid):
		return withDetails(codes.AlreadyExists, "claim already paid under another payment reference",
			&errdetails.ErrorInfo{Reason: "ALREADY_PAID", Domain: errDomain})
	case errors.Is(err, service.ErrClaimCancelled):
		return withDetails(codes.FailedPrecondition, "claim cancelled: nothing to pay",
			&errdetails.ErrorInfo{Reason: "CLAIM_CANCELLED", Domain: errDomain})
	case errors.Is(err, service.ErrClaimPaid):
		return withDetails(codes.FailedPrecondition, "claim paid: a paid claim cannot be cancelled",
			&errdetails.ErrorInfo{Reason: "CLAIM_PAID", Domain: errDomain})
	case errors.Is(err, service.ErrClaimRejected):
		return withDetails(codes.FailedPrecondition, "claim rejected: nothing to pay",
			&errdetails.ErrorInfo{Reason: "CLAIM_REJECTED", Domain: errDomain})
	case errors.Is(err, service.ErrPaidBeforeReceipt):
		return invalid(claims.FieldViolation{Field: "paid_at", Description: "before the claim's receipt"})
	case errors.Is(err, service.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	case errors.Is(err, opposition.ErrAlreadyOpposed):
		return withDetails(codes.FailedPrecondition, "identifier already opposed",
			&errdetails.ErrorInfo{Reason: "ALREADY_OPPOSED", Domain: errDomain})
	case errors.Is(err, opposition.ErrNotOpposed):
		return withDetails(codes.FailedPrecondition, "identifier not opposed",
			&errdetails.ErrorInfo{Reason: "NOT_OPPOSED", Domain: errDomain})
	case errors.Is(err, opposition.ErrNotOwner):
		return withDetails(codes.PermissionDenied, opposition.ErrNotOwner.Error(),
			&errdetails.ErrorInfo{Reason: "OPPOSITION_NOT_OWNED", Domain: errDomain})
	case errors.Is(err, opposition.ErrBadTime):
		return invalid(claims.FieldViolation{Field: "lifted_at", Description: "before the opposition's effective time"})
	case errors.Is(err, service.ErrUnavailable):
		return withDetails(codes.Unavailable, "state store unavailable, retry with the same claim id",
			&errdetails.RetryInfo{RetryDelay: durationpb.New(200 * time.Millisecond)})
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	default:
		return status.Error(codes.Internal, "internal error")
	}
}

// MaxFieldViolations bounds the field violations of one BadRequest. A
// request with more problems gets the first ones, and the status message says
// how many there were.
const MaxFieldViolations = 100

// invalid is the INVALID_ARGUMENT status of a request: one BadRequest with a
// field violation per problem (at most MaxFieldViolations), and a message
// quoting the first one and counting the others. Descriptions never contain
// a field's value.
func invalid(fields ...claims.FieldViolation) error {
	listed := fields[:min(len(fields), MaxFieldViolations)]
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(listed))}
	for _, f := range listed {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
	}
	msg := "invalid request"
	switch n := len(fields); {
	case n == 1:
		msg += ": " + fields[0].Field + ": " + fields[0].Description
	case n > MaxFieldViolations:
		msg += fmt.Sprintf(": %s: %s (%d problems; truncated: the BadRequest details list the first %d)",
			fields[0].Field, fields[0].Description, n, MaxFieldViolations)
	case n > 1:
		msg += fmt.Sprintf(": %s: %s (%d problems, all listed in the BadRequest details)", fields[0].Field, fields[0].Description, n)
	}
	return withDetails(codes.InvalidArgument, msg, br)
}

func withDetails(c codes.Code, msg string, d ...protoadapt.MessageV1) error {
	st := status.New(c, msg)
	if ds, err := st.WithDetails(d...); err == nil {
		return ds.Err()
	}
	return st.Err()
}

func invalidField(field, desc string) error {
	return invalid(claims.FieldViolation{Field: field, Description: desc})
}
