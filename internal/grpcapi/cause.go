package grpcapi

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// causedError is a gRPC status that keeps the error it came from. The client
// gets the status alone (gRPC reads GRPCStatus); the access log, at the edge,
// reads the cause with CauseOf, so a failure is logged once with what made
// it (a Redis error, a MOVED redirection) and the client never sees it.
type causedError struct {
	st    *status.Status
	cause error
}

func (e *causedError) Error() string              { return e.st.Err().Error() }
func (e *causedError) GRPCStatus() *status.Status { return e.st }

// withCause attaches cause to a status error for the server-side failures
// (internal, unknown, unavailable, deadline, data loss): the errors whose
// cause an operator needs. Client mistakes keep their status alone: their
// cause may quote the request.
func withCause(statusErr, cause error) error {
	st, ok := status.FromError(statusErr)
	if !ok || cause == nil {
		return statusErr
	}
	switch st.Code() {
	case codes.Internal, codes.Unknown, codes.Unavailable, codes.DeadlineExceeded, codes.DataLoss:
		return &causedError{st: st, cause: cause}
	}
	return statusErr
}

// CauseOf returns the error a status was made from, or nil.
func CauseOf(err error) error {
	var ce *causedError
	if errors.As(err, &ce) {
		return ce.cause
	}
	return nil
}
