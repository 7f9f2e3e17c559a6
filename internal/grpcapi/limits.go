package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
)

// RateLimiter is a token bucket per client (the authenticated caller, or the
// peer's address when authentication is off). Its interceptors answer
// RESOURCE_EXHAUSTED with a RetryInfo delay a client can honour.
type RateLimiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter allows each client perSecond calls per second, burst at once.
func NewRateLimiter(perSecond float64, burst int) *RateLimiter {
	return &RateLimiter{limit: rate.Limit(perSecond), burst: burst, by: map[string]*bucket{}}
}

func clientKey(ctx context.Context) string {
	if p, ok := access.From(ctx); ok && p.ID != access.Open.ID {
		return "principal:" + p.ID
	}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		if host, _, err := net.SplitHostPort(pr.Addr.String()); err == nil {
			return "peer:" + host
		}
		return "peer:" + pr.Addr.String()
	}
	return "unknown"
}

// minRetryDelay is the shortest delay RetryInfo advises: a client that
// waits less only spends its next call on another refusal.
const minRetryDelay = 100 * time.Millisecond

// wait takes one call from the client's bucket, or says how long until the
// bucket holds one again.
func (l *RateLimiter) wait(ctx context.Context) (time.Duration, bool) {
	key := clientKey(ctx)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.by[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.by[key] = b
	}
	b.seen = now
	if now.Sub(l.swept) > time.Minute { // forget clients idle for ten minutes
		for k, x := range l.by {
			if now.Sub(x.seen) > 10*time.Minute {
				delete(l.by, k)
			}
		}
		l.swept = now
	}
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 || !r.OK() {
		r.CancelAt(now)
		return max(d, minRetryDelay), false
	}
	return 0, true
}

// refusal is the RESOURCE_EXHAUSTED status of a client over its budget, with
// the RetryInfo delay after which its next call is accepted.
func (l *RateLimiter) refusal(delay time.Duration) error {
	return withDetails(codes.ResourceExhausted,
		fmt.Sprintf("client over %g calls per second (bursts of %d): retry after the RetryInfo delay", float64(l.limit), l.burst),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(delay.Round(time.Millisecond))},
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "client", Description: "calls per second"}}})
}

// Interceptors refuse a call, before its handler, when the caller's bucket is
// empty. They run after authentication so that the bucket is the caller's.
func (l *RateLimiter) Interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if d, ok := l.wait(ctx); !ok {
			return nil, l.refusal(d)
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if d, ok := l.wait(ss.Context()); !ok {
			return l.refusal(d)
		}
		if info.FullMethod == tpv1.OppositionService_ImportOppositions_FullMethodName {
			// A list import is one operation of a manager, bounded by
			// MaxImportEntries, not a call per entry.
			return h(srv, ss)
		}
		return h(srv, &pacedStream{ServerStream: ss, l: l})
	}
	return unary, stream
}

// maxPace is the longest a stream message waits for its caller's budget;
// beyond it the stream ends with RESOURCE_EXHAUSTED and its RetryInfo.
const maxPace = time.Second

// pacedStream takes one call from the caller's bucket for every message it
// receives: a stream is not a way around the rate limit. A message over
// budget waits for its token up to maxPace (back-pressure on the client).
type pacedStream struct {
	grpc.ServerStream
	l *RateLimiter
}

func (s *pacedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	for {
		d, ok := s.l.wait(s.Context())
		if ok {
			return nil
		}
		if d > maxPace {
			return s.l.refusal(d)
		}
		t := time.NewTimer(d)
		select {
		case <-s.Context().Done():
			t.Stop()
			return s.Context().Err()
		case <-t.C:
		}
	}
}

// StreamLimiter bounds the streams open at once, per client and in all, and
// ends a stream on which nothing was sent or received for its idle timeout
// (issue 14: ten thousand health watches, idle streams living forever).
type StreamLimiter struct {
	total, perClient int
	idle             time.Duration
	mu               sync.Mutex
	open             int
	by               map[string]int
}

// NewStreamLimiter allows perClient streams per client and total in all; a
// stream idle for idle is ended (0: never).
func NewStreamLimiter(total, perClient int, idle time.Duration) *StreamLimiter {
	return &StreamLimiter{total: total, perClient: perClient, idle: idle, by: map[string]int{}}
}

func (l *StreamLimiter) acquire(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total > 0 && l.open >= l.total:
		return l.refusal(fmt.Sprintf("the server has %d streams open, its limit", l.open), "streams open on the server")
	case l.perClient > 0 && l.by[key] >= l.perClient:
		return l.refusal(fmt.Sprintf("client has %d streams open, its limit", l.by[key]), "streams open per client")
	}
	l.open++
	l.by[key]++
	return nil
}

func (l *StreamLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.by[key]--; l.by[key] <= 0 {
		delete(l.by, key)
	}
}

func (l *StreamLimiter) refusal(msg, what string) error {
	return withDetails(codes.ResourceExhausted, msg+": close one, or retry after the RetryInfo delay",
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)},
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: "client", Description: what}}})
}

// Open reports the streams open now (metrics, tests).
func (l *StreamLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Interceptor counts the stream against its client (the caller once
// authenticated, else its address: health watches need no credentials) and
// arms the idle timer.
func (l *StreamLimiter) Interceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		key := clientKey(ss.Context())
		if err := l.acquire(key); err != nil {
			return err
		}
		defer l.release(key)
		if l.idle <= 0 {
			return h(srv, ss)
		}
		ctx, cancel := context.WithCancelCause(ss.Context())
		defer cancel(nil)
		is := &idleStream{ServerStream: ss, ctx: ctx, idle: l.idle}
		is.timer = time.AfterFunc(l.idle, func() { cancel(errIdle) })
		defer is.timer.Stop()
		err := h(srv, is)
		if errors.Is(context.Cause(ctx), errIdle) {
			return withDetails(codes.DeadlineExceeded, fmt.Sprintf("stream idle for %s: ended by the server; open a new one (watches resume from their last version)", l.idle))
		}
		return err
	}
}

var errIdle = errors.New("stream idle")

// idleStream is a stream whose context ends when no message went either way
// for the limiter's idle timeout.
type idleStream struct {
	grpc.ServerStream
	ctx   context.Context
	timer *time.Timer
	idle  time.Duration
}

func (s *idleStream) Context() context.Context { return s.ctx }

func (s *idleStream) touch() {
	if s.idle > 0 {
		s.timer.Reset(s.idle)
	}
}

func (s *idleStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	s.touch()
	return err
}

func (s *idleStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	s.touch()
	return err
}

// MaxRequestBytes refuses, with INVALID_ARGUMENT naming the request, any
// message larger than n bytes. (gRPC itself refuses much larger ones with
// RESOURCE_EXHAUSTED before decoding them.)
func MaxRequestBytes(n int) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	check := func(m any) error {
		if pm, ok := m.(proto.Message); ok {
			if size := proto.Size(pm); size > n {
				return invalid(claims.FieldViolation{Field: "request", Description: fmt.Sprintf("message of %d bytes exceeds the limit of %d", size, n)})
			}
		}
		return nil
	}
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := check(req); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, &sizedStream{ServerStream: ss, check: check})
	}
	return unary, stream
}

type sizedStream struct {
	grpc.ServerStream
	check func(any) error
}

func (s *sizedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.check(m)
}
