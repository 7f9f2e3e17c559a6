package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/service"
)

// AuditServer implements tierspayant.v1.AuditService.
type AuditServer struct {
	tpv1.UnimplementedAuditServiceServer
	svc *service.Service
}

var _ tpv1.AuditServiceServer = (*AuditServer)(nil)

// NewAuditServer returns the AuditService on svc.
func NewAuditServer(svc *service.Service) *AuditServer { return &AuditServer{svc: svc} }

// ListAuditEvents returns a page of the audit trail.
func (s *AuditServer) ListAuditEvents(ctx context.Context, req *tpv1.ListAuditEventsRequest) (*tpv1.ListAuditEventsResponse, error) {
	d := &decoder{}
	q := service.EventQuery{Op: req.GetOp(), By: req.GetBy(), Subject: req.GetSubject(), After: req.GetPageToken(), Limit: int(req.GetPageSize())}
	if size := req.GetPageSize(); size < 0 || size > service.MaxEventPage {
		d.bad("page_size", "between 1 and 1000, or 0 for 1000")
	}
	instant := func(field string, ts *timestamppb.Timestamp) time.Time {
		if ts == nil {
			return time.Time{}
		}
		if err := ts.CheckValid(); err != nil {
			d.bad(field, "not a valid timestamp")
			return time.Time{}
		}
		return ts.AsTime()
	}
	q.From, q.To = instant("since", req.GetSince()), instant("before", req.GetBefore())
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		d.bad("before", "after since")
	}
	d.text("op", q.Op, maxShortText, false)
	d.text("by", q.By, maxLongText, false)
	d.text("subject", q.Subject, maxLongText, false)
	d.text("page_token", q.After, maxShortText, false)
	if err := d.err(); err != nil {
		return nil, toStatus(err)
	}
	evs, next, err := s.svc.AuditEvents(ctx, q)
	if errors.Is(err, service.ErrBadCursor) {
		return nil, invalidField("page_token", "not a token returned by this RPC")
	}
	if err != nil {
		return nil, toStatus(err)
	}
	out := &tpv1.ListAuditEventsResponse{NextPageToken: next, Events: make([]*tpv1.AuditEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = &tpv1.AuditEvent{Id: e.ID, At: timestamppb.New(e.At), By: e.By, Role: e.Role, Tenant: e.Tenant,
			Op: e.Op, Subject: e.Subject, Details: e.Details}
	}
	return out, nil
}
