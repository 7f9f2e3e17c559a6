package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// errDifferences makes the command exit non-zero.
var errDifferences = errors.New("reconcile: the counters differ from the claim records")

// reconcile recomputes every beneficiary's PF and franchise counters and
// patient debt from the claim records and compares them with the state.
func reconcile(ctx context.Context, args []string, e env, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	redisAddrs := fs.String("redis", "", "Redis addresses, comma separated (default ADJ_REDIS_ADDRS)")
	since := fs.Int("since-year", time.Now().Year()-1, "oldest adjudication year to compare (older counters have expired)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	// It reads the claim records alone: no NIR, no HMAC key, nothing served.
	cfg, err := config.LoadRedis(func(k string) (string, bool) {
		if k == "ADJ_REDIS_ADDRS" && *redisAddrs != "" {
			return *redisAddrs, true
		}
		return e.lookup(k)
	})
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.Embedded() {
		return errors.New("reconcile: give the Redis address (--redis or ADJ_REDIS_ADDRS)")
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cfg.RedisAddrs, IsClusterMode: cfg.RedisCluster,
		MasterName: cfg.RedisMasterName, Password: cfg.RedisPassword, DB: cfg.RedisDB, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer rdb.Close()
	n := 0
	stats, err := redisstore.New(rdb, redisstore.NewKeyer(nil)).Reconcile(ctx, *since, func(d redisstore.Difference) {
		n++
		fmt.Fprintln(stdout, "DIFFERENCE", d)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reconciled %d beneficiaries: %d commits, %d cancels, %d differences\n", stats.Beneficiaries, stats.Commits, stats.Cancels, n)
	if n > 0 {
		return errDifferences
	}
	return nil
}
