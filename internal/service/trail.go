package service

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/store"
)

// The audit trail's types are the store's (store.Event, store.Trail).
type (
	Event      = store.Event
	EventQuery = store.EventQuery
	Trail      = store.Trail
)

// ErrBadCursor: an EventQuery.After that is not an event id.
var ErrBadCursor = store.ErrBadCursor

// MaxEventPage is the most events one ListAuditEvents page returns.
const MaxEventPage = store.MaxEventPage

// event is the trail entry of a change by the caller of ctx, at now.
func event(ctx context.Context, now time.Time, op, subject, details string) Event {
	p, _ := access.From(ctx)
	return Event{At: now, By: p.ID, Role: p.Role.String(), Tenant: p.Organism + p.Professional,
		Op: op, Subject: subject, Details: details}
}

// Record appends the caller's change to the trail. A change is recorded
// after it is made: when the trail cannot be written the call fails
// (UNAVAILABLE) although the change stands, and the caller's retry, which
// changes nothing more, records it. The trail holds every change at least
// once.
func (s *Service) Record(ctx context.Context, op, subject, details string) error {
	if s.trail == nil {
		return nil
	}
	return s.appendEvent(ctx, event(ctx, s.clock().Truncate(time.Millisecond), op, subject, details))
}

// appendEvent writes one event to the trail.
func (s *Service) appendEvent(ctx context.Context, e Event) error {
	if err := s.trail.Append(ctx, e); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}

// AuditEvents lists the trail to an administrator.
func (s *Service) AuditEvents(ctx context.Context, q EventQuery) ([]Event, string, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, "", err
	}
	if s.trail == nil {
		return nil, "", nil
	}
	if q.Limit <= 0 || q.Limit > MaxEventPage {
		q.Limit = MaxEventPage
	}
	return s.trail.Events(ctx, q)
}

// changeDetails names what an upsert of two values of one struct type
// changed: "created", "unchanged" or "changed: " and the fields that differ
// (Rights.ALD, Attachments, Conventions, …).
func changeDetails(old any, existed bool, now any) string {
	if !existed {
		return "created"
	}
	var fields []string
	diffFields("", reflect.ValueOf(old), reflect.ValueOf(now), &fields)
	if len(fields) == 0 {
		return "unchanged"
	}
	return "changed: " + strings.Join(fields, ", ")
}

// diffFields appends the names of the fields of two structs of one type
// whose values differ, one level into Rights.
func diffFields(prefix string, a, b reflect.Value, out *[]string) {
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		x, y := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Name == "Rights" {
			diffFields(prefix+f.Name+".", x, y, out)
			continue
		}
		if prefix == "Rights." && (f.Name == "Debt" || f.Name == "Organism") {
			continue // filled per claim, not stored
		}
		// Printed, not DeepEqual: two equal instants or amounts may differ
		// in representation (a location pointer, a decimal's exponent).
		if fmt.Sprint(x.Interface()) != fmt.Sprint(y.Interface()) {
			*out = append(*out, prefix+f.Name)
		}
	}
}

// claimDetails is what a claim commit records: whose it is (the opaque
// reference), its status and organism, its lines.
func claimDetails(ref string, d claims.Decision) string {
	status := map[claims.Status]string{claims.StatusAccepted: "accepted", claims.StatusPartial: "partial", claims.StatusRejected: "rejected"}[d.Status]
	return fmt.Sprintf("beneficiary %s, %s, organism %s, %d lines", ref, status, d.Organism, len(d.Lines))
}
