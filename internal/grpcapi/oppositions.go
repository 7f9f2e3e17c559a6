package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/service"
)

// OppositionServer implements tierspayant.v1.OppositionService.
type OppositionServer struct {
	tpv1.UnimplementedOppositionServiceServer
	svc *service.Service
	// snapshot bounds how often one caller pulls the whole list (0: never
	// bounded); last holds each caller's latest full pull.
	snapshot time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
}

var _ tpv1.OppositionServiceServer = (*OppositionServer)(nil)

// NewOppositionServer returns the OppositionService on the service's
// opposition use cases (service/oppositions.go).
func NewOppositionServer(svc *service.Service) *OppositionServer {
	return &OppositionServer{svc: svc}
}

// BoundSnapshots lets each caller but an administrator pull the whole list
// (a watch from version 0, or from a version the log no longer holds) at most
// once per interval: the billing software's cache is built once, then kept
// by the watch. Reading 100 000 entries costs the server ~0.7 s of CPU.
func (s *OppositionServer) BoundSnapshots(interval time.Duration) *OppositionServer {
	s.snapshot, s.last = interval, map[string]time.Time{}
	return s
}

// mayPullAll takes one full pull from the caller's allowance, or refuses it
// with the delay until the next one.
func (s *OppositionServer) mayPullAll(ctx context.Context) error {
	if s.snapshot <= 0 {
		return nil
	}
	if p, ok := access.From(ctx); ok && p.Role == access.RoleAdmin {
		return nil
	}
	key, now := clientKey(ctx), time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.last { // forget pulls older than the interval
		if now.Sub(at) >= s.snapshot {
			delete(s.last, k)
		}
	}
	if at, ok := s.last[key]; ok {
		wait := s.snapshot - now.Sub(at)
		return withDetails(codes.ResourceExhausted,
			fmt.Sprintf("one full copy of the opposition list per %s per client: watch from the version you hold, or retry after the RetryInfo delay", s.snapshot),
			&errdetails.RetryInfo{RetryDelay: durationpb.New(wait.Round(time.Second))},
			&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "client", Description: "full copies of the opposition list"}}})
	}
	s.last[key] = now
	return nil
}

const maxIdentifierLen = 64

func checkIdentifier(field, id string) error {
	if id == "" || len(id) > maxIdentifierLen {
		return invalidField(field, "required, at most 64 characters")
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_') {
			return invalidField(field, "letters, digits, '-' and '_' only")
		}
	}
	return nil
}

// instant is ts, or the zero time (the service's now) when absent.
func instant(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func oppositionToProto(id string, p opposition.Period) *tpv1.Opposition {
	o := &tpv1.Opposition{Identifier: id, Reason: tpv1.OppositionReason(p.Reason), EffectiveAt: timestamppb.New(p.Effective), Owner: p.Owner}
	if !p.Lifted.IsZero() {
		o.LiftedAt = timestamppb.New(p.Lifted)
	}
	return o
}

// AddOpposition records an opposition.
func (s *OppositionServer) AddOpposition(ctx context.Context, req *tpv1.AddOppositionRequest) (*tpv1.AddOppositionResponse, error) {
	if err := s.svc.MayManageOppositions(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	if req.GetReason() <= 0 || req.GetReason() > tpv1.OppositionReason_OPPOSITION_REASON_END_OF_RIGHTS {
		return nil, invalidField("reason", "required: one of the documented values")
	}
	e, v, at, err := s.svc.AddOpposition(ctx, req.GetIdentifier(), opposition.Reason(req.GetReason()), instant(req.GetEffectiveAt()))
	if err != nil {
		return nil, toStatus(err)
	}
	o := oppositionToProto(req.GetIdentifier(), e.Latest())
	o.RecordedAt = timestamppb.New(at)
	return &tpv1.AddOppositionResponse{Opposition: o, Version: v}, nil
}

// LiftOpposition ends an opposition.
func (s *OppositionServer) LiftOpposition(ctx context.Context, req *tpv1.LiftOppositionRequest) (*tpv1.LiftOppositionResponse, error) {
	if err := s.svc.MayManageOppositions(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	e, v, err := s.svc.LiftOpposition(ctx, req.GetIdentifier(), instant(req.GetLiftedAt()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.LiftOppositionResponse{Opposition: oppositionToProto(req.GetIdentifier(), e.Latest()), Version: v}, nil
}

// CheckOpposition says whether an identifier was opposed at an instant.
func (s *OppositionServer) CheckOpposition(ctx context.Context, req *tpv1.CheckOppositionRequest) (*tpv1.CheckOppositionResponse, error) {
	if err := s.svc.MayRead(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	p, ok, err := s.svc.CheckOpposition(ctx, req.GetIdentifier(), instant(req.GetAt()))
	if err != nil {
		return nil, toStatus(err)
	}
	if !ok {
		return &tpv1.CheckOppositionResponse{}, nil
	}
	return &tpv1.CheckOppositionResponse{Opposed: true, Opposition: oppositionToProto(req.GetIdentifier(), p)}, nil
}

// ImportOppositions loads entries in bulk.
func (s *OppositionServer) ImportOppositions(stream tpv1.OppositionService_ImportOppositionsServer) error {
	if err := s.svc.MayManageOppositions(stream.Context()); err != nil {
		return toStatus(err)
	}
	// Every entry is received and checked before the first write: a bad
	// entry anywhere in the file refuses the whole import, and nothing is
	// stored (issue 14: entry 5000 of 5001 bad used to leave 4096 in force).
	var (
		items []service.OppositionItem
		bad   []claims.FieldViolation
		n     int
	)
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if n++; n > MaxImportEntries {
			return invalidField("opposition", fmt.Sprintf("more than %d entries in one import: split the file (nothing was stored)", MaxImportEntries))
		}
		o, entry := req.GetOpposition(), "entry "+itoa(n-1)+": "
		ok := true
		if err := checkIdentifier("opposition.identifier", o.GetIdentifier()); err != nil {
			bad, ok = append(bad, claims.FieldViolation{Field: "opposition.identifier", Description: entry + "letters, digits, '-' and '_' only, 1 to 64 characters"}), false
		}
		if o.GetReason() <= 0 || o.GetReason() > tpv1.OppositionReason_OPPOSITION_REASON_END_OF_RIGHTS {
			bad, ok = append(bad, claims.FieldViolation{Field: "opposition.reason", Description: entry + "required, one of the documented values"}), false
		}
		if o.GetEffectiveAt() == nil || o.GetEffectiveAt().CheckValid() != nil {
			bad, ok = append(bad, claims.FieldViolation{Field: "opposition.effective_at", Description: entry + "required"}), false
		}
		if ok && len(bad) == 0 {
			items = append(items, service.OppositionItem{Identifier: o.GetIdentifier(), Reason: opposition.Reason(o.GetReason()), Effective: o.GetEffectiveAt().AsTime()})
		}
	}
	if len(bad) > 0 {
		bad[0].Description += " (nothing was stored)"
		return invalid(bad...)
	}
	total, version, err := s.svc.ImportOppositions(stream.Context(), items)
	var partial *service.PartialImportError
	if errors.As(err, &partial) {
		// A write failed after earlier batches were stored: say how many, so
		// that the operator replays the file.
		st := status.Convert(toStatus(partial.Err))
		return withDetails(st.Code(), st.Message()+"; "+partial.Advice(),
			&errdetails.ErrorInfo{Reason: "IMPORT_PARTIAL", Domain: errDomain, Metadata: map[string]string{"imported": itoa(partial.Stored), "version": strconv.FormatUint(partial.Version, 10)}})
	}
	if err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&tpv1.ImportOppositionsResponse{Imported: uint64(total), Version: version})
}

// MaxImportEntries bounds one ImportOppositions call: the entries are held
// in memory until all are checked (about 100 bytes each).
const MaxImportEntries = 200000

// WatchOppositions streams the changes after a version, then follows new ones
// until the client goes away. A version older than the retained change log
// gets a snapshot of the whole list first (each entry sent as a change
// carrying the snapshot's version), then the changes after it.
func (s *OppositionServer) WatchOppositions(req *tpv1.WatchOppositionsRequest, stream tpv1.OppositionService_WatchOppositionsServer) error {
	ctx := stream.Context()
	err := s.svc.WatchOppositions(ctx, req.GetAfterVersion(), service.WatchOptions{BeforeFullCopy: func() error { return s.mayPullAll(ctx) }},
		func(c service.OppositionChange) error {
			p := c.Entry.Latest()
			kind := tpv1.OppositionChangeKind_OPPOSITION_CHANGE_KIND_ADDED
			if !p.Lifted.IsZero() {
				kind = tpv1.OppositionChangeKind_OPPOSITION_CHANGE_KIND_LIFTED
			}
			o := oppositionToProto(c.Identifier, p)
			if !c.RecordedAt.IsZero() {
				o.RecordedAt = timestamppb.New(c.RecordedAt)
			}
			return stream.Send(&tpv1.WatchOppositionsResponse{Version: c.Version, Kind: kind, Opposition: o})
		})
	if _, ok := status.FromError(err); ok || err == nil {
		return err // nil, a status already (the full-copy bound), or the stream's own error
	}
	return toStatus(err)
}
