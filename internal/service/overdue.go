package service

import (
	"context"
	"sync"
	"time"

	"github.com/tierspayant/tierspayant/internal/store"
)

// DueIndex is the store's index of guaranteed claims by due date.
type DueIndex = store.DueIndex

// dueOf is where a claim is listed in the due index: its organism and due
// date when it is guaranteed and not rejected, nothing otherwise.
func dueOf(m ClaimMeta) (string, time.Time) {
	if !m.Guaranteed || m.Rejected || m.DueDate.IsZero() || m.Organism == "" {
		return "", time.Time{}
	}
	return m.Organism, m.DueDate
}

// settleDue removes a paid or cancelled claim from its organism's due index.
// A failure is returned: the caller's retry (same payment reference, or a
// second cancel) removes it again, and the sweep would find it anyway.
func (s *Service) settleDue(ctx context.Context, m ClaimMeta, claimID string) error {
	org, _ := dueOf(m)
	if s.due == nil || org == "" {
		return nil
	}
	return s.due.SettleDue(ctx, org, claimID)
}

// dueSweepBatch is how many overdue entries of one organism one count checks
// against their claims.
const dueSweepBatch = 500

// dueSweep remembers, per organism, where the next sweep starts: each count
// checks the next dueSweepBatch overdue entries, so that every entry is
// checked in turn however many there are.
type dueSweep struct {
	mu   sync.Mutex
	from map[string]int
}

// OverdueGuaranteed counts, for each registered organism, the guaranteed
// claims neither paid nor cancelled whose due date has passed on the
// service's current day: the claims GetDelayReport reports as overdue_unpaid,
// across every quarter. It costs one ZCOUNT per organism, plus the check of
// at most dueSweepBatch overdue entries per organism against their claims:
// an entry whose claim is in fact paid, cancelled, rejected or gone (a
// removal that failed, a replay that listed a paid claim again, a claim past
// its retention) is removed before the count. Claims attributed to an
// organism that is not registered (UpsertOrganism) are not counted.
func (s *Service) OverdueGuaranteed(ctx context.Context) (map[string]int64, error) {
	if s.due == nil {
		return nil, nil
	}
	orgs, err := s.organisms.store.List(ctx)
	if err != nil {
		return nil, err
	}
	today := s.Today()
	codes := make([]string, 0, len(orgs))
	for _, o := range orgs {
		if err := s.sweepDue(ctx, o.Code, today); err != nil {
			return nil, err
		}
		codes = append(codes, o.Code)
	}
	counts, err := s.due.CountDueBefore(ctx, codes, today)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(codes))
	for i, c := range codes {
		out[c] = counts[i]
	}
	return out, nil
}

// sweepDue checks the next dueSweepBatch entries of org's index due before
// today and removes those whose claim is not overdue and unpaid.
func (s *Service) sweepDue(ctx context.Context, org string, today time.Time) error {
	s.sweep.mu.Lock()
	if s.sweep.from == nil {
		s.sweep.from = map[string]int{}
	}
	from := s.sweep.from[org]
	s.sweep.mu.Unlock()
	ids, err := s.due.DueBefore(ctx, org, today, from, dueSweepBatch)
	if err != nil {
		return err
	}
	next := from + len(ids)
	if len(ids) < dueSweepBatch {
		next = 0 // the end: start again from the oldest next time
	}
	var settled []string
	if len(ids) > 0 {
		recs, err := s.payments.Records(ctx, ids)
		if err != nil {
			return err
		}
		for i, st := range recs {
			if st.Blob == nil {
				settled = append(settled, ids[i]) // gone, or never committed
				continue
			}
			t, err := s.tracking(ids[i], st, today)
			if err != nil {
				return err
			}
			if got, _ := dueOf(t.Meta); got != org || t.State != StateOverdue {
				settled = append(settled, ids[i])
			}
		}
	}
	if err := s.due.SettleDue(ctx, org, settled...); err != nil {
		return err
	}
	s.sweep.mu.Lock()
	s.sweep.from[org] = max(next-len(settled), 0)
	s.sweep.mu.Unlock()
	return nil
}
