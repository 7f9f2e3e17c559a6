package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"google.golang.org/grpc"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/platform/config"
)

// connectRedis builds the Redis client the configuration asks for. A single
// seed address that turns out to be a Cluster node gets the Cluster client
// (with a warning): the single-node client would answer every call with a
// MOVED redirection. unchecked is set when the node could not be asked (down
// at startup); readiness asks again once it answers.
func connectRedis(ctx context.Context, cfg config.Config, addrs []string, log *slog.Logger) (rdb redis.UniversalClient, kind string, unchecked bool) {
	opts := &redis.UniversalOptions{
		Addrs: addrs, MasterName: cfg.RedisMasterName, IsClusterMode: cfg.RedisCluster, Password: cfg.RedisPassword, DB: cfg.RedisDB,
		ReadTimeout: cfg.RedisTimeout, WriteTimeout: cfg.RedisTimeout, DialTimeout: time.Second,
		ContextTimeoutEnabled: true, PoolSize: 32, MinIdleConns: 4, PoolTimeout: cfg.RedisTimeout,
		// Every write is idempotent (claim digest, cancel state, compare and
		// set), so one go-redis retry cannot double-apply anything.
		MaxRetries: 1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	kind = cfg.StoreKind()
	rdb = redis.NewUniversalClient(opts)
	if kind != "single" {
		return rdb, kind, false
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	isCluster, err := clusterEnabled(cctx, rdb)
	if err != nil {
		log.Warn("could not ask the Redis node whether it is a Cluster node; readiness asks again once it answers", "redis", addrs, "error", err.Error())
		return rdb, kind, true
	}
	if !isCluster {
		return rdb, kind, false
	}
	if cfg.RedisDB != 0 {
		log.Error("ADJ_REDIS_DB is set but ADJ_REDIS_ADDRS names a Redis Cluster node, which has only database 0: using database 0", "redis", addrs)
	}
	log.Warn("ADJ_REDIS_ADDRS names a Redis Cluster node: using the Cluster client (set ADJ_REDIS_CLUSTER=true to say so)", "redis", addrs)
	_ = rdb.Close()
	opts.IsClusterMode = true
	return redis.NewUniversalClient(opts), "cluster", false
}

// clusterEnabled asks a node whether Cluster mode is on (INFO cluster).
func clusterEnabled(ctx context.Context, rdb redis.UniversalClient) (bool, error) {
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return true, nil
	}
	info, err := rdb.Info(ctx, "cluster").Result()
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_enabled:"); ok {
			return v == "1", nil
		}
	}
	return false, nil
}

// redisLogger sends go-redis's own messages (reconnections, pool errors)
// through the service's JSON log instead of the standard logger.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// callSlot is what the access log learns of a call after it starts: the
// authenticated caller. The first interceptor puts an empty one in the
// context; authentication fills it; the access log reads it when the call
// finishes.
type callSlot struct{ caller access.Principal }

type callSlotKey struct{}

func slotOf(ctx context.Context) *callSlot {
	s, _ := ctx.Value(callSlotKey{}).(*callSlot)
	return s
}

func callSlotUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(context.WithValue(ctx, callSlotKey{}, &callSlot{}), req)
}

func callSlotStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &slotStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), callSlotKey{}, &callSlot{})})
}

type slotStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *slotStream) Context() context.Context { return s.ctx }

// recordCaller wraps the authentication function so that the access log
// knows who called.
func recordCaller(auth func(context.Context) (context.Context, error)) func(context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		ctx, err := auth(ctx)
		if err == nil {
			if p, ok := access.From(ctx); ok {
				if s := slotOf(ctx); s != nil {
					s.caller = p
				}
			}
		}
		return ctx, err
	}
}

// callFields are the access log's fields of a call: the caller (id, role,
// tenant) and the claim id when the request names one. Never a NIR.
func callFields(ctx context.Context, c interceptors.CallMeta) logging.Fields {
	var f logging.Fields
	if s := slotOf(ctx); s != nil && s.caller.Role != access.RoleNone {
		f = append(f, "caller", s.caller.ID, "role", s.caller.Role.String())
		if t := s.caller.Organism + s.caller.Professional; t != "" {
			f = append(f, "tenant", t)
		}
	}
	if id := claimID(c.ReqOrNil); id != "" {
		f = append(f, "claim_id", id)
	}
	return f
}

// claimID finds the claim id of a request: its claim_id field, or its
// claim's.
func claimID(req any) string {
	if r, ok := req.(interface{ GetClaimId() string }); ok && r.GetClaimId() != "" {
		return r.GetClaimId()
	}
	if r, ok := req.(interface{ GetClaim() *tpv1.Claim }); ok {
		return r.GetClaim().GetClaimId()
	}
	return ""
}

// errorFields adds the cause of a server-side failure to the access log, the
// one place the error is logged.
func errorFields(err error) logging.Fields {
	if cause := grpcapi.CauseOf(err); cause != nil {
		return logging.Fields{"cause", cause.Error()}
	}
	return nil
}

// authMode describes the authentication that is on.
func authMode(cfg config.Config) string {
	var modes []string
	if cfg.TLSClientCA != "" {
		modes = append(modes, "mutual TLS")
	}
	if cfg.TokensFile != "" {
		modes = append(modes, "bearer tokens")
	}
	return "on (" + strings.Join(modes, ", ") + ")"
}
