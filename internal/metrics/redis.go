package metrics

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisCommands are the command labels; any other command counts as other.
// The set is the commands the store and the app send, plus a few neighbours.
var redisCommands = setOf(
	"get", "set", "setnx", "del", "exists", "expire", "pexpire", "ttl", "pttl", "incr", "incrby",
	"hget", "hset", "hmget", "hgetall", "hincrby", "hdel",
	"sadd", "srem", "smembers", "sismember",
	"zadd", "zrem", "zrange", "zrevrange", "zrangebyscore", "zscore", "zcard", "zcount",
	"xadd", "xrange", "xrevrange", "xread", "xlen", "xtrim",
	"eval", "evalsha", "script", "multi", "exec", "watch", "unwatch",
	"ping", "info", "cluster", "config", "memory", "keys", "scan", "hello", "client", "select", "auth",
)

func commandLabel(name string) string {
	name = strings.ToLower(name)
	if redisCommands[name] {
		return name
	}
	return "other"
}

// redisHook times every command and pipeline. go-redis's
// extra/redisprometheus only exports the connection pool's statistics, not
// the latency or the failures of commands, hence this small hook.
type redisHook struct{ m *Metrics }

// RedisHook is the go-redis hook that feeds redis_command_duration_seconds and
// redis_command_errors_total; add it with rdb.AddHook.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(commandLabel(cmd.Name()), time.Since(start), err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.observe("pipeline", time.Since(start), err)
		return err
	}
}

func (h redisHook) observe(command string, d time.Duration, err error) {
	h.m.redisDuration.WithLabelValues(command).Observe(d.Seconds())
	errs := h.m.redisErrors.WithLabelValues(command) // the series exists from the first command
	if failed(err) {
		errs.Inc()
	}
}

// failed is false for a nil reply and for a WATCH transaction that lost its
// race (both are answers, not failures).
func failed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr)
}
