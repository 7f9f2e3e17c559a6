package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/store"
)

// The opposition list's use cases (CSS art. L161-31; docs/rules.md#opposition):
// who may change and read it, the audit of each change, the batching of a
// bulk import and the watch that follows the change log. The transport
// checks the wire input and converts; the store keeps the list.

// The opposition list's port and records (internal/store).
type (
	OppositionList   = store.OppositionList
	OppositionItem   = store.OppositionItem
	OppositionChange = store.OppositionChange
)

// ErrLogTrimmed: the change log no longer holds the versions asked for.
var ErrLogTrimmed = store.ErrLogTrimmed

// OppositionImportBatch is how many entries one write of a bulk import
// carries.
const OppositionImportBatch = 4096

// PartialImportError is an import whose write failed after earlier batches
// were stored: a replay of the whole file adds only the rest (entries
// already opposed are skipped).
type PartialImportError struct {
	Stored, Total int
	Version       uint64 // the list's version after the last stored batch
	Err           error
}

func (e *PartialImportError) Error() string { return e.Err.Error() + "; " + e.Advice() }

// Advice says what was stored and what to do.
func (e *PartialImportError) Advice() string {
	return fmt.Sprintf("%d entries of %d were stored before the failure: replay the whole file (entries already opposed are skipped)", e.Stored, e.Total)
}

func (e *PartialImportError) Unwrap() error { return e.Err }

// oppositionActor is who changes the list: an administrator enters the
// national list, an operator its organism's entries.
func oppositionActor(ctx context.Context) opposition.Actor {
	p, _ := access.From(ctx)
	a := opposition.Actor{ID: p.ID}
	if p.Role != access.RoleAdmin {
		a.Organism = p.Organism
	}
	return a
}

// AddOpposition opposes an identifier from effective (now when zero) and
// records who did it. It returns the entry, the list's version and the
// instant recorded.
func (s *Service) AddOpposition(ctx context.Context, identifier string, r opposition.Reason, effective time.Time) (opposition.Entry, uint64, time.Time, error) {
	if err := s.MayManageOppositions(ctx); err != nil {
		return opposition.Entry{}, 0, time.Time{}, err
	}
	now := s.clock()
	if effective.IsZero() {
		effective = now
	}
	e, v, err := s.opps.Add(ctx, identifier, r, effective, now, oppositionActor(ctx))
	if err != nil {
		return e, v, now, err
	}
	err = s.Record(ctx, "opposition.add", identifier, fmt.Sprintf("%s from %s, version %d",
		r, e.Latest().Effective.UTC().Format(time.RFC3339), v))
	return e, v, now, err
}

// LiftOpposition ends an identifier's opposition at at (now when zero).
func (s *Service) LiftOpposition(ctx context.Context, identifier string, at time.Time) (opposition.Entry, uint64, error) {
	if err := s.MayManageOppositions(ctx); err != nil {
		return opposition.Entry{}, 0, err
	}
	now := s.clock()
	if at.IsZero() {
		at = now
	}
	e, v, err := s.opps.Lift(ctx, identifier, at, now, oppositionActor(ctx))
	if err != nil {
		return e, v, err
	}
	err = s.Record(ctx, "opposition.lift", identifier, fmt.Sprintf("lifted at %s, version %d", e.Latest().Lifted.UTC().Format(time.RFC3339), v))
	return e, v, err
}

// CheckOpposition says whether an identifier was opposed at at (now when
// zero), with the deciding period.
func (s *Service) CheckOpposition(ctx context.Context, identifier string, at time.Time) (opposition.Period, bool, error) {
	if err := s.MayRead(ctx); err != nil {
		return opposition.Period{}, false, err
	}
	e, err := s.opps.Entry(ctx, identifier)
	if err != nil {
		return opposition.Period{}, false, err
	}
	if at.IsZero() {
		at = s.clock()
	}
	p, ok := e.OpposedAt(at)
	return p, ok, nil
}

// ImportOppositions adds the items not already opposed, in batches, and
// records one audit event for the import (each entry is in the change log
// with its owner and author). A failure after a stored batch is a
// *PartialImportError.
func (s *Service) ImportOppositions(ctx context.Context, items []OppositionItem) (added int, version uint64, err error) {
	if err := s.MayManageOppositions(ctx); err != nil {
		return 0, 0, err
	}
	by, all := oppositionActor(ctx), len(items)
	for len(items) > 0 {
		part := items[:min(OppositionImportBatch, len(items))]
		n, v, err := s.opps.Import(ctx, part, s.clock(), by)
		if err != nil {
			if added == 0 && len(part) == all {
				return 0, 0, err
			}
			return added, version, &PartialImportError{Stored: added, Total: all, Version: version, Err: err}
		}
		added, version, items = added+n, v, items[len(part):]
	}
	if all == 0 { // an empty file: the version as it stands
		if _, version, err = s.opps.Import(ctx, nil, s.clock(), by); err != nil {
			return 0, 0, err
		}
	}
	owner := by.Organism
	if owner == "" {
		owner = "national"
	}
	err = s.Record(ctx, "opposition.import", owner, fmt.Sprintf("%d entries added, version %d", added, version))
	return added, version, err
}

// WatchOptions tune WatchOppositions.
type WatchOptions struct {
	// BeforeFullCopy is called before the whole list is sent (a watch from
	// version 0, or from a version the log no longer holds); its error ends
	// the watch. The transport bounds full copies per caller with it.
	BeforeFullCopy func() error
	// Page is the most changes read at once (1000 when zero); Wait how long
	// one read waits for a new change (2 s when zero).
	Page int64
	Wait time.Duration
}

// WatchOppositions sends the changes after a version, then follows new ones
// until ctx ends (then it returns nil). A version older than the retained
// log gets a full copy first: each entry as a change carrying the copy's
// version and no RecordedAt.
func (s *Service) WatchOppositions(ctx context.Context, after uint64, o WatchOptions, send func(OppositionChange) error) error {
	if err := s.MayRead(ctx); err != nil {
		return err
	}
	if o.Page <= 0 {
		o.Page = 1000
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Second
	}
	fullCopy := func() error {
		if o.BeforeFullCopy != nil {
			return o.BeforeFullCopy()
		}
		return nil
	}
	pulled := after == 0
	if pulled {
		if err := fullCopy(); err != nil {
			return err
		}
	}
	for {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // the caller went away: the watch ends, nothing to report
		}
		changes, err := s.opps.Changes(ctx, after, o.Page, 0)
		if err == nil && len(changes) == 0 {
			changes, err = s.opps.Changes(ctx, after, o.Page, o.Wait)
		}
		if errors.Is(err, ErrLogTrimmed) {
			if !pulled {
				if err := fullCopy(); err != nil {
					return err
				}
				pulled = true
			}
			var sendErr error
			v, err := s.opps.Snapshot(ctx, func(version uint64, id string, e opposition.Entry) error {
				sendErr = send(OppositionChange{Version: version, Lifted: !e.Latest().Lifted.IsZero(), Identifier: id, Entry: e})
				return sendErr
			})
			if sendErr != nil {
				return sendErr
			}
			if err != nil {
				return err
			}
			after = v
			continue
		}
		if err != nil {
			if callOver(ctx) {
				return nil
			}
			return err
		}
		for _, c := range changes {
			if err := send(c); err != nil {
				return err
			}
			after = c.Version
		}
	}
}

// callOver reports whether the call is over: cancelled, or past its deadline
// (a store read cut by that deadline may report it before the context does).
func callOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl.Add(-10*time.Millisecond))
}
