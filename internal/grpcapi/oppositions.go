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
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// OppositionList is what the OppositionService needs of the store.
type OppositionList interface {
	Add(ctx context.Context, identifier string, r opposition.Reason, effective, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error)
	Lift(ctx context.Context, identifier string, t, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error)
	Entry(ctx context.Context, identifier string) (opposition.Entry, error)
	Import(ctx context.Context, items []redisstore.ImportItem, now time.Time, by opposition.Actor) (int, uint64, error)
	Changes(ctx context.Context, after uint64, count int64, block time.Duration) ([]redisstore.Change, error)
	Snapshot(ctx context.Context, f func(version uint64, identifier string, e opposition.Entry) error) (uint64, error)
}

// OppositionGuard says who may change and read the list.
type OppositionGuard interface {
	MayManageOppositions(ctx context.Context) error
	MayRead(ctx context.Context) error
	// Record appends a change to the audit trail.
	Record(ctx context.Context, op, subject, details string) error
}

// OppositionServer implements tierspayant.v1.OppositionService.
type OppositionServer struct {
	tpv1.UnimplementedOppositionServiceServer
	list  OppositionList
	guard OppositionGuard
	clock func() time.Time
	// snapshot bounds how often one caller pulls the whole list (0: never
	// bounded); last holds each caller's latest full pull.
	snapshot time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
}

var _ tpv1.OppositionServiceServer = (*OppositionServer)(nil)

// NewOppositionServer returns the OppositionService on list.
func NewOppositionServer(list OppositionList, guard OppositionGuard, clock func() time.Time) *OppositionServer {
	return &OppositionServer{list: list, guard: guard, clock: clock}
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

func instant(ts *timestamppb.Timestamp, def time.Time) time.Time {
	if ts == nil {
		return def
	}
	return ts.AsTime()
}

// actor is who changes the list: an administrator enters the national list,
// an operator its organism's entries.
func actor(ctx context.Context) opposition.Actor {
	p, _ := access.From(ctx)
	a := opposition.Actor{ID: p.ID}
	if p.Role != access.RoleAdmin {
		a.Organism = p.Organism
	}
	return a
}

func oppositionToProto(id string, p opposition.Period) *tpv1.Opposition {
	o := &tpv1.Opposition{Identifier: id, Reason: tpv1.OppositionReason(p.Reason), EffectiveAt: timestamppb.New(p.Effective), Owner: p.Owner}
	if !p.Lifted.IsZero() {
		o.LiftedAt = timestamppb.New(p.Lifted)
	}
	return o
}

func last(e opposition.Entry) opposition.Period {
	if len(e.Periods) == 0 {
		return opposition.Period{}
	}
	return e.Periods[len(e.Periods)-1]
}

// AddOpposition records an opposition.
func (s *OppositionServer) AddOpposition(ctx context.Context, req *tpv1.AddOppositionRequest) (*tpv1.AddOppositionResponse, error) {
	if err := s.guard.MayManageOppositions(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	if req.GetReason() <= 0 || req.GetReason() > tpv1.OppositionReason_OPPOSITION_REASON_END_OF_RIGHTS {
		return nil, invalidField("reason", "required: one of the documented values")
	}
	now := s.clock()
	e, v, err := s.list.Add(ctx, req.GetIdentifier(), opposition.Reason(req.GetReason()), instant(req.GetEffectiveAt(), now), now, actor(ctx))
	if err != nil {
		return nil, toStatus(err)
	}
	o := oppositionToProto(req.GetIdentifier(), last(e))
	o.RecordedAt = timestamppb.New(now)
	if err := s.guard.Record(ctx, "opposition.add", req.GetIdentifier(), fmt.Sprintf("%s from %s, version %d",
		req.GetReason(), last(e).Effective.UTC().Format(time.RFC3339), v)); err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.AddOppositionResponse{Opposition: o, Version: v}, nil
}

// LiftOpposition ends an opposition.
func (s *OppositionServer) LiftOpposition(ctx context.Context, req *tpv1.LiftOppositionRequest) (*tpv1.LiftOppositionResponse, error) {
	if err := s.guard.MayManageOppositions(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	now := s.clock()
	e, v, err := s.list.Lift(ctx, req.GetIdentifier(), instant(req.GetLiftedAt(), now), now, actor(ctx))
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.guard.Record(ctx, "opposition.lift", req.GetIdentifier(), fmt.Sprintf("lifted at %s, version %d",
		last(e).Lifted.UTC().Format(time.RFC3339), v)); err != nil {
		return nil, toStatus(err)
	}
	return &tpv1.LiftOppositionResponse{Opposition: oppositionToProto(req.GetIdentifier(), last(e)), Version: v}, nil
}

// CheckOpposition says whether an identifier was opposed at an instant.
func (s *OppositionServer) CheckOpposition(ctx context.Context, req *tpv1.CheckOppositionRequest) (*tpv1.CheckOppositionResponse, error) {
	if err := s.guard.MayRead(ctx); err != nil {
		return nil, toStatus(err)
	}
	if err := checkIdentifier("identifier", req.GetIdentifier()); err != nil {
		return nil, err
	}
	e, err := s.list.Entry(ctx, req.GetIdentifier())
	if err != nil {
		return nil, toStatus(err)
	}
	p, ok := e.OpposedAt(instant(req.GetAt(), s.clock()))
	if !ok {
		return &tpv1.CheckOppositionResponse{}, nil
	}
	return &tpv1.CheckOppositionResponse{Opposed: true, Opposition: oppositionToProto(req.GetIdentifier(), p)}, nil
}

// importBatch is how many entries are written per pipelined flush.
const importBatch = 4096

// ImportOppositions loads entries in bulk.
func (s *OppositionServer) ImportOppositions(stream tpv1.OppositionService_ImportOppositionsServer) error {
	if err := s.guard.MayManageOppositions(stream.Context()); err != nil {
		return toStatus(err)
	}
	// Every entry is received and checked before the first write: a bad
	// entry anywhere in the file refuses the whole import, and nothing is
	// stored (issue 14: entry 5000 of 5001 bad used to leave 4096 in force).
	var (
		items []redisstore.ImportItem
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
			items = append(items, redisstore.ImportItem{Identifier: o.GetIdentifier(), Reason: opposition.Reason(o.GetReason()), Effective: o.GetEffectiveAt().AsTime()})
		}
	}
	if len(bad) > 0 {
		bad[0].Description += " (nothing was stored)"
		return invalid(bad...)
	}
	total, version := 0, uint64(0)
	for len(items) > 0 {
		part := items[:min(importBatch, len(items))]
		added, v, err := s.list.Import(stream.Context(), part, s.clock(), actor(stream.Context()))
		if err != nil {
			// A write failed after earlier batches were stored: say how many,
			// so that the operator replays the file (entries already in force
			// are skipped, so a replay adds only the rest).
			st := status.Convert(toStatus(err))
			return withDetails(st.Code(), fmt.Sprintf("%s; %d entries of %d were stored before the failure: replay the whole file (entries already opposed are skipped)", st.Message(), total, total+len(items)),
				&errdetails.ErrorInfo{Reason: "IMPORT_PARTIAL", Domain: errDomain, Metadata: map[string]string{"imported": itoa(total), "version": strconv.FormatUint(version, 10)}})
		}
		total, version, items = total+added, v, items[len(part):]
	}
	if version == 0 { // an empty file: the version as it stands
		_, v, err := s.list.Import(stream.Context(), nil, s.clock(), actor(stream.Context()))
		if err != nil {
			return toStatus(err)
		}
		version = v
	}
	// One event per import; each entry is in the list's change log with its
	// owner and author (WatchOppositions).
	owner := actor(stream.Context()).Organism
	if owner == "" {
		owner = "national"
	}
	if err := s.guard.Record(stream.Context(), "opposition.import", owner, fmt.Sprintf("%d entries added, version %d", total, version)); err != nil {
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
	if err := s.guard.MayRead(stream.Context()); err != nil {
		return toStatus(err)
	}
	after := req.GetAfterVersion()
	ctx := stream.Context()
	if after == 0 {
		if err := s.mayPullAll(ctx); err != nil {
			return err
		}
	}
	pulled := after == 0
	send := func(version uint64, id string, e opposition.Entry, recorded time.Time) error {
		p := last(e)
		kind := tpv1.OppositionChangeKind_OPPOSITION_CHANGE_KIND_ADDED
		if !p.Lifted.IsZero() {
			kind = tpv1.OppositionChangeKind_OPPOSITION_CHANGE_KIND_LIFTED
		}
		o := oppositionToProto(id, p)
		if !recorded.IsZero() {
			o.RecordedAt = timestamppb.New(recorded)
		}
		return stream.Send(&tpv1.WatchOppositionsResponse{Version: version, Kind: kind, Opposition: o})
	}
	for {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // the caller went away: the watch ends, nothing to report
		}
		changes, err := s.list.Changes(ctx, after, 1000, 0)
		if err == nil && len(changes) == 0 {
			changes, err = s.list.Changes(ctx, after, 1000, 2*time.Second)
		}
		if errors.Is(err, redisstore.ErrLogTrimmed) {
			if !pulled {
				if err := s.mayPullAll(ctx); err != nil {
					return err
				}
				pulled = true
			}
			var snapErr error
			v, err := s.list.Snapshot(ctx, func(version uint64, id string, e opposition.Entry) error {
				snapErr = send(version, id, e, time.Time{})
				return snapErr
			})
			if snapErr != nil {
				return snapErr
			}
			if err != nil {
				return toStatus(err)
			}
			after = v
			continue
		}
		if err != nil {
			if done(ctx) {
				return nil
			}
			return toStatus(err)
		}
		for _, c := range changes {
			if err := send(c.Version, c.Identifier, c.Entry, c.RecordedAt); err != nil {
				return err
			}
			after = c.Version
		}
	}
}

// done reports whether the call is over: cancelled, or past its deadline (a
// Redis read cut by that deadline may report it before the context does).
func done(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl.Add(-10*time.Millisecond))
}
