package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/opposition"
)

// The opposition list lives in small hash buckets so that Redis keeps each one
// in its compact listpack encoding (ECOSYSTEM §1.5): field = identifier,
// value = opposition.Entry.Encode(). All its keys share the {opp} hash tag, so
// a change and its change-log entry commit in one script even on Cluster (the
// list is reference data pinned to one shard; a claim reads it with one HGET).
const oppositionBuckets = 16384

const (
	oppVersionKey = "opp:{opp}:ver"
	oppLogKey     = "opp:{opp}:log"
)

func oppBucketKey(identifier string) string {
	h := fnv.New32a()
	h.Write([]byte(identifier))
	return "opp:{opp}:" + strconv.Itoa(int(h.Sum32()%oppositionBuckets))
}

// Oppositions is the opposition list in Redis.
type Oppositions struct {
	rdb redis.UniversalClient
}

// NewOppositions returns the opposition list kept in rdb.
func NewOppositions(rdb redis.UniversalClient) *Oppositions { return &Oppositions{rdb: rdb} }

// Change is one entry of the change log.
type Change struct {
	Version    uint64
	Lifted     bool // false: added
	Identifier string
	Entry      opposition.Entry
	RecordedAt time.Time
}

// ErrConcurrentChange is returned when an identifier changed while a change
// to it was being written; the caller may retry.
var ErrConcurrentChange = errors.New("opposition changed concurrently")

// casScript replaces an identifier's entry if it still holds the expected
// value, bumps the version and appends the change to the log.
// KEYS: bucket, version, log. ARGV: identifier, expected, new, kind (A/L),
// recorded-at (ms).
var casScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local v = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], v .. '-1', 'k', ARGV[4], 'id', ARGV[1], 'v', ARGV[3], 't', ARGV[5])
return v
`)

// importScript adds a batch of oppositions. An identifier whose last
// opposition is still in force is left as it is.
// KEYS: version, log, then one bucket per entry. ARGV: recorded-at, then per
// entry: identifier, encoded period "effective.reason".
var importScript = redis.NewScript(`
local n, v = 0, 0
for i = 3, #KEYS do
  local id, p = ARGV[2 * (i - 3) + 2], ARGV[2 * (i - 3) + 3]
  local cur = redis.call('HGET', KEYS[i], id)
  local nv
  if not cur then
    nv = p
  else
    local last = string.match(cur, '[^|]*$')
    local _, dots = string.gsub(last, '%.', '')
    if dots == 2 then nv = cur .. '|' .. p end
  end
  if nv then
    redis.call('HSET', KEYS[i], id, nv)
    v = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2], v .. '-1', 'k', 'A', 'id', id, 'v', nv, 't', ARGV[1])
    n = n + 1
  end
end
if v == 0 then v = tonumber(redis.call('GET', KEYS[1]) or '0') end
return {n, v}
`)

func (o *Oppositions) lookup(ctx context.Context, p redis.Pipeliner, identifier string) *redis.StringCmd {
	return p.HGet(ctx, oppBucketKey(identifier), identifier)
}

func decodeEntry(cmd *redis.StringCmd) (opposition.Entry, error) {
	v, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return opposition.Entry{}, nil
	}
	if err != nil {
		return opposition.Entry{}, wrap(err)
	}
	return opposition.Decode(v)
}

// Entry returns an identifier's history.
func (o *Oppositions) Entry(ctx context.Context, identifier string) (opposition.Entry, error) {
	return decodeEntry(o.rdb.HGet(ctx, oppBucketKey(identifier), identifier))
}

// change applies f to an identifier's entry atomically (compare and set).
func (o *Oppositions) change(ctx context.Context, identifier, kind string, now time.Time, f func(opposition.Entry) (opposition.Entry, error)) (opposition.Entry, uint64, error) {
	for attempt := 0; attempt < 5; attempt++ {
		raw, err := o.rdb.HGet(ctx, oppBucketKey(identifier), identifier).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return opposition.Entry{}, 0, wrap(err)
		}
		cur, err := opposition.Decode(raw)
		if err != nil {
			return opposition.Entry{}, 0, err
		}
		next, err := f(cur)
		if err != nil {
			return cur, 0, err
		}
		v, err := casScript.Run(ctx, o.rdb, []string{oppBucketKey(identifier), oppVersionKey, oppLogKey},
			identifier, raw, next.Encode(), kind, now.UnixMilli()).Int64()
		if err != nil {
			return opposition.Entry{}, 0, wrap(err)
		}
		if v >= 0 {
			return next, uint64(v), nil
		}
	}
	return opposition.Entry{}, 0, ErrConcurrentChange
}

// Add opposes an identifier from effective.
func (o *Oppositions) Add(ctx context.Context, identifier string, r opposition.Reason, effective, now time.Time) (opposition.Entry, uint64, error) {
	return o.change(ctx, identifier, "A", now, func(e opposition.Entry) (opposition.Entry, error) { return e.Add(r, effective) })
}

// Lift ends an identifier's opposition at t.
func (o *Oppositions) Lift(ctx context.Context, identifier string, t, now time.Time) (opposition.Entry, uint64, error) {
	return o.change(ctx, identifier, "L", now, func(e opposition.Entry) (opposition.Entry, error) { return e.Lift(t) })
}

// ImportItem is one entry of a bulk import.
type ImportItem struct {
	Identifier string
	Reason     opposition.Reason
	Effective  time.Time
}

// Import adds oppositions in batches, pipelining the batches. It returns the
// number of entries added and the version after the import.
func (o *Oppositions) Import(ctx context.Context, items []ImportItem, now time.Time) (int, uint64, error) {
	const batch = 256
	pipe := o.rdb.Pipeline()
	var cmds []*redis.Cmd
	for start := 0; start < len(items); start += batch {
		end := min(start+batch, len(items))
		keys := []string{oppVersionKey, oppLogKey}
		args := []any{now.UnixMilli()}
		for _, it := range items[start:end] {
			keys = append(keys, oppBucketKey(it.Identifier))
			p := opposition.Entry{Periods: []opposition.Period{{Reason: it.Reason, Effective: it.Effective}}}
			args = append(args, it.Identifier, p.Encode())
		}
		cmds = append(cmds, importScript.EvalSha(ctx, pipe, keys, args...))
	}
	if len(cmds) == 0 {
		v, err := o.Version(ctx)
		return 0, v, err
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if !strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return 0, 0, wrap(err)
		}
		if err := importScript.Load(ctx, o.rdb).Err(); err != nil {
			return 0, 0, wrap(err)
		}
		return o.Import(ctx, items, now)
	}
	total, version := 0, uint64(0)
	for _, c := range cmds {
		res, err := c.Int64Slice()
		if err != nil {
			return total, version, wrap(err)
		}
		total += int(res[0])
		version = uint64(res[1])
	}
	return total, version, nil
}

// Version is the current version of the change log.
func (o *Oppositions) Version(ctx context.Context) (uint64, error) {
	v, err := o.rdb.Get(ctx, oppVersionKey).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, wrap(err)
}

// Changes returns up to count changes after version, waiting up to block for
// the first one when there is none yet (0: no wait).
func (o *Oppositions) Changes(ctx context.Context, after uint64, count int64, block time.Duration) ([]Change, error) {
	var msgs []redis.XMessage
	if block <= 0 {
		var err error
		msgs, err = o.rdb.XRangeN(ctx, oppLogKey, "("+strconv.FormatUint(after, 10)+"-1", "+", count).Result()
		if err != nil {
			return nil, wrap(err)
		}
	} else {
		res, err := o.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{oppLogKey, strconv.FormatUint(after, 10) + "-1"}, Count: count, Block: block}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, wrap(err)
		}
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
	}
	out := make([]Change, 0, len(msgs))
	for _, m := range msgs {
		vs, _, _ := strings.Cut(m.ID, "-")
		v, err := strconv.ParseUint(vs, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad change id %q", m.ID)
		}
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		e, err := opposition.Decode(str("v"))
		if err != nil {
			return nil, err
		}
		ms, _ := strconv.ParseInt(str("t"), 10, 64)
		out = append(out, Change{Version: v, Lifted: str("k") == "L", Identifier: str("id"), Entry: e, RecordedAt: time.UnixMilli(ms).UTC()})
	}
	return out, nil
}
