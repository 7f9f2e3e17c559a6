package grpcapi

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
)

// RateLimiter is a token bucket per client (the authenticated caller, or the
// peer's address when authentication is off), for the go-grpc-middleware
// ratelimit interceptor.
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

// Limit refuses the call when the client's bucket is empty; the ratelimit
// interceptor turns that into RESOURCE_EXHAUSTED carrying the retry hint.
func (l *RateLimiter) Limit(ctx context.Context) error {
	key := clientKey(ctx)
	now := time.Now()
	l.mu.Lock()
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
	ok := b.lim.AllowN(now, 1)
	l.mu.Unlock()
	if ok {
		return nil
	}
	// The ratelimit interceptor answers RESOURCE_EXHAUSTED with this text.
	return fmt.Errorf("client over %g calls per second (bursts of %d): retry in %v",
		float64(l.limit), l.burst, time.Duration(float64(time.Second)/float64(l.limit)).Round(time.Millisecond))
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
