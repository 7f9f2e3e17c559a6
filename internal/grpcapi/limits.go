package grpcapi

import (
	"context"
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
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if d, ok := l.wait(ss.Context()); !ok {
			return l.refusal(d)
		}
		return h(srv, ss)
	}
	return unary, stream
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
