package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/store"
)

// The due index lists, per organism, the guaranteed claims (L161-36-3 CSS)
// not yet paid nor cancelled, by due date (D161-13-3): the member is the
// claim id, the score the due date (a civil date at 00:00 UTC) in Unix
// milliseconds. The commit adds the claim (in its pipeline, beside the
// professional's and the report's indexes) and Index repairs it; the
// service removes it when the claim is paid or cancelled, and its sweep
// removes what it finds settled anyway (service/overdue.go). Counting the
// claims overdue on a day is one ZCOUNT per organism, whatever the number of
// claims stored.

var _ store.DueIndex = (*Store)(nil)

// dueIndexKey is an organism's due index. It has its own hash tag, one slot
// per organism: no NIR, no beneficiary reference, only the organism's code.
func dueIndexKey(org string) string { return "due:{d:" + org + "}" }

func dueScore(due time.Time) float64 { return float64(due.UnixMilli()) }

// addDue queues the ZADD NX of a claim in its organism's due index on pipe;
// nothing for a claim without a due date (not guaranteed, or rejected).
func addDue(ctx context.Context, pipe redis.Pipeliner, org string, due time.Time, claimID string) {
	if org == "" || due.IsZero() {
		return
	}
	pipe.ZAddNX(ctx, dueIndexKey(org), redis.Z{Score: dueScore(due), Member: claimID})
}

// SettleDue removes claims from an organism's due index (paid, cancelled, or
// found settled by the sweep). Removing an absent claim is not an error.
func (s *Store) SettleDue(ctx context.Context, org string, claimIDs ...string) error {
	if org == "" || len(claimIDs) == 0 {
		return nil
	}
	members := make([]any, len(claimIDs))
	for i, id := range claimIDs {
		members[i] = id
	}
	return wrap(s.rdb.ZRem(ctx, dueIndexKey(org), members...).Err())
}

// DueBefore lists up to limit claim ids of an organism's due index whose due
// date is before day, from offset, oldest due date first.
func (s *Store) DueBefore(ctx context.Context, org string, day time.Time, offset, limit int) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, dueIndexKey(org), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(day.UnixMilli(), 10), Offset: int64(offset), Count: int64(limit),
	}).Result()
	return ids, wrap(err)
}

// CountDueBefore counts, for each organism, the claims of its due index whose
// due date is before day: one ZCOUNT each, pipelined (on a Cluster go-redis
// sends each to its organism's slot).
func (s *Store) CountDueBefore(ctx context.Context, orgs []string, day time.Time) ([]int64, error) {
	out := make([]int64, len(orgs))
	if len(orgs) == 0 {
		return out, nil
	}
	upper := "(" + strconv.FormatInt(day.UnixMilli(), 10)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(orgs))
	for i, org := range orgs {
		cmds[i] = pipe.ZCount(ctx, dueIndexKey(org), "-inf", upper)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap(err)
	}
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}
