package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/store"
)

// The audit trail (docs/OPERATIONS.md#audit-trail) is trailShards streams,
// each in its own hash slot so that the claims' commits spread over a
// Cluster; an event goes to the shard of its subject. A page merges the
// shards in the order (stream id, shard): the stream id is the instant
// Redis received the event.
const trailShards = 16

// DefaultTrailRetention is how long the trail keeps an event when
// ADJ_AUDIT_RETENTION is not set.
const DefaultTrailRetention = 90 * 24 * time.Hour

// trailScan bounds the events one page examines: a filter that matches few
// answers a short page with a cursor instead of reading the whole trail.
const trailScan = 20000

func trailKey(shard int) string { return "trail:{t:" + strconv.Itoa(shard) + "}" }

func trailShard(subject string) int {
	h := fnv.New32a()
	h.Write([]byte(subject))
	return int(h.Sum32() % trailShards)
}

// Trail is the audit trail kept in the store's Redis.
type Trail struct{ s *Store }

var _ store.Trail = Trail{}

// Trail returns the store's audit trail.
func (s *Store) Trail() Trail { return Trail{s: s} }

// WithTrailRetention sets how long the trail keeps events (at least a day;
// DefaultTrailRetention otherwise).
func (s *Store) WithTrailRetention(d time.Duration) *Store {
	if d >= 24*time.Hour {
		s.retention = d
	}
	return s
}

// addEvent queues the XADD of e on pipe, trimming the shard of the events older
// than the retention (approximately: whole stream nodes at a time).
func (s *Store) addEvent(ctx context.Context, pipe redis.Pipeliner, e store.Event) *redis.StringCmd {
	ret := s.retention
	if ret <= 0 {
		ret = DefaultTrailRetention
	}
	return pipe.XAdd(ctx, &redis.XAddArgs{
		Stream: trailKey(trailShard(e.Subject)),
		// Stream ids are Redis's clock, so the bound is the wall clock's,
		// not the service's (which may be fixed to replay history).
		MinID:  strconv.FormatInt(time.Now().Add(-ret).UnixMilli(), 10),
		Approx: true,
		Values: []string{"at", strconv.FormatInt(e.At.UnixMilli(), 10), "by", e.By, "role", e.Role, "ten", e.Tenant,
			"op", e.Op, "sub", e.Subject, "d", e.Details},
	})
}

// Append records one event.
func (t Trail) Append(ctx context.Context, e store.Event) error {
	pipe := t.s.rdb.Pipeline()
	t.s.addEvent(ctx, pipe, e)
	_, err := pipe.Exec(ctx)
	return wrap(err)
}

// trailPos is an event's place in the merged trail.
type trailPos struct {
	ms, seq uint64
	shard   int
}

func (p trailPos) before(q trailPos) bool {
	if p.ms != q.ms {
		return p.ms < q.ms
	}
	if p.seq != q.seq {
		return p.seq < q.seq
	}
	return p.shard < q.shard
}

func (p trailPos) id() string {
	return strconv.FormatUint(p.ms, 10) + "-" + strconv.FormatUint(p.seq, 10)
}

// String is the cursor: "<ms>-<seq>.<shard>".
func (p trailPos) String() string { return p.id() + "." + strconv.Itoa(p.shard) }

func parseStreamID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, store.ErrBadCursor
	}
	if ms, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, store.ErrBadCursor
	}
	if seq, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, store.ErrBadCursor
	}
	return ms, seq, nil
}

func parseCursor(c string) (trailPos, error) {
	id, sh, ok := strings.Cut(c, ".")
	if !ok {
		return trailPos{}, store.ErrBadCursor
	}
	ms, seq, err := parseStreamID(id)
	if err != nil {
		return trailPos{}, err
	}
	n, err := strconv.Atoi(sh)
	if err != nil || n < 0 || n >= trailShards {
		return trailPos{}, store.ErrBadCursor
	}
	return trailPos{ms: ms, seq: seq, shard: n}, nil
}

type trailEntry struct {
	pos trailPos
	ev  store.Event
}

func decodeEvent(shard int, m redis.XMessage) (trailEntry, error) {
	ms, seq, err := parseStreamID(m.ID)
	if err != nil {
		return trailEntry{}, fmt.Errorf("trail entry %s: %w", m.ID, err)
	}
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, err := strconv.ParseInt(str("at"), 10, 64)
	if err != nil {
		return trailEntry{}, fmt.Errorf("trail entry %s: bad instant", m.ID)
	}
	p := trailPos{ms: ms, seq: seq, shard: shard}
	return trailEntry{pos: p, ev: store.Event{ID: p.String(), At: time.UnixMilli(at).UTC(), By: str("by"), Role: str("role"),
		Tenant: str("ten"), Op: str("op"), Subject: str("sub"), Details: str("d")}}, nil
}

func (q queryMatch) match(e store.Event) bool {
	return (q.Op == "" || q.Op == e.Op) && (q.By == "" || q.By == e.By) && (q.Subject == "" || q.Subject == e.Subject)
}

type queryMatch store.EventQuery

// Events returns a page of the trail: the events received by Redis in
// [From, To) that match, after the cursor, in order. A page examines at most
// trailScan events; the cursor it returns goes on from the last one.
func (t Trail) Events(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	shards := make([]int, 0, trailShards)
	if q.Subject != "" {
		shards = append(shards, trailShard(q.Subject))
	} else {
		for i := 0; i < trailShards; i++ {
			shards = append(shards, i)
		}
	}
	var cur trailPos
	hasCur := q.After != ""
	if hasCur {
		var err error
		if cur, err = parseCursor(q.After); err != nil {
			return nil, "", err
		}
	}
	from, to := "-", "+"
	if !q.From.IsZero() {
		from = strconv.FormatInt(q.From.UnixMilli(), 10) + "-0"
	}
	if !q.To.IsZero() {
		to = "(" + strconv.FormatInt(q.To.UnixMilli(), 10) + "-0"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.MaxEventPage
	}
	batch := int64(limit + 1)
	if batch < 100 {
		batch = 100
	}
	var out []store.Event
	examined := 0
	for {
		pipe := t.s.rdb.Pipeline()
		cmds := make([]*redis.XMessageSliceCmd, len(shards))
		for i, sh := range shards {
			lo := from
			if hasCur {
				// After the cursor in (id, shard) order: a shard before or at
				// the cursor's starts after its id, a later one at it.
				lo = cur.id()
				if sh <= cur.shard {
					lo = "(" + lo
				}
				if !q.From.IsZero() && uint64(q.From.UnixMilli()) > cur.ms {
					lo = from
				}
			}
			cmds[i] = pipe.XRangeN(ctx, trailKey(sh), lo, to, batch)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", wrap(err)
		}
		var entries []trailEntry
		var horizon trailPos
		full := false
		for i, cmd := range cmds {
			ms := cmd.Val()
			for _, m := range ms {
				e, err := decodeEvent(shards[i], m)
				if err != nil {
					return nil, "", err
				}
				entries = append(entries, e)
			}
			if int64(len(ms)) == batch {
				// This shard has more: nothing after its last entry can be
				// placed yet.
				last := entries[len(entries)-1].pos
				if !full || last.before(horizon) {
					horizon, full = last, true
				}
			}
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].pos.before(entries[j].pos) })
		for _, e := range entries {
			if full && horizon.before(e.pos) {
				break
			}
			examined++
			cur, hasCur = e.pos, true
			if queryMatch(q).match(e.ev) {
				out = append(out, e.ev)
				if len(out) == limit {
					return out, cur.String(), nil
				}
			}
		}
		if !full {
			return out, "", nil
		}
		if examined >= trailScan {
			return out, cur.String(), nil
		}
	}
}
