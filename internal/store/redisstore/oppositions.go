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
	"github.com/tierspayant/tierspayant/internal/store"
)

// Layout of the opposition list (small hashes stay in Redis's compact listpack
// encoding, about ten bytes an entry instead of eighty for a key each; the
// rules are in docs/rules.md#opposition).
//
//   - Buckets: hash keys "opp:{opp}:<n>". A numeric identifier (a card serial:
//     digits, no leading zero, at most 15 of them) goes to bucket id mod
//     oppositionBuckets under the integer field (id div oppositionBuckets)×8+k,
//     which listpack stores as a 3-byte integer; any other identifier (an app
//     identifier) goes to bucket "s<fnv mod oppositionBuckets>" under the
//     field "<id>|<k>".
//   - k is 1..5, the reason, for the common case of one opposition still in
//     force: the value is its effective instant in whole seconds since
//     oppositionEpoch (a 4-byte integer). Effective instants are rounded up to
//     the second, so a claim created in the same second as the opposition is
//     not defeated by it.
//   - k = 0 holds the full history (lifted oppositions, re-oppositions) in
//     opposition.Entry.Encode form; an identifier has either one k=0 field or
//     one k=1..5 field.
//   - The change log is a stream "opp:{opp}:log". A single change (add or
//     lift through the API) is one stream entry whose id is its version:
//     fields k (A or L), id, v (the entry's text), t (recorded-at, ms). An
//     import batch is one stream entry whose id is the batch's last version:
//     fields k = B, from (its first version), t, and d, the batch's changes
//     in version order, one "identifier TAB entry text" per line (identifiers
//     have no tab or newline: the API allows letters, digits, '-' and '_',
//     and Import refuses the rest). One entry per batch
//     instead of one per change halves Redis's work on an import.
//   - The log is trimmed by version (XADD MINID) to the last
//     oppositionLogRetention changes (20 000; a batch that straddles the
//     limit stays whole); a watcher older than that gets a snapshot first.
//
// All keys share the {opp} hash tag: a change and its log entry commit in one
// script even on Cluster (the list is reference data pinned to one shard; a
// claim reads it with one HMGET).
const (
	oppositionBuckets      = 16384
	oppositionLogRetention = 20000
	oppVersionKey          = "opp:{opp}:ver"
	oppLogKey              = "opp:{opp}:log"
)

// oppositionEpoch is the origin of the compact effective instants.
var oppositionEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// slot is where an identifier lives: its bucket and its six field names
// (index k = 0 history, 1..5 reason).
type slot struct {
	bucket string
	fields [6]string
}

func locate(identifier string) slot {
	var s slot
	if n, ok := numericID(identifier); ok {
		s.bucket = "opp:{opp}:" + strconv.FormatUint(n%oppositionBuckets, 10)
		base := (n / oppositionBuckets) * 8
		for k := range s.fields {
			s.fields[k] = strconv.FormatUint(base+uint64(k), 10)
		}
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(identifier))
	s.bucket = "opp:{opp}:s" + strconv.FormatUint(uint64(h.Sum32()%oppositionBuckets), 10)
	for k := range s.fields {
		s.fields[k] = identifier + "|" + strconv.Itoa(k)
	}
	return s
}

func numericID(id string) (uint64, bool) {
	if len(id) == 0 || len(id) > 15 || id[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}

// encodeSlot is the compact form of an entry: the field index it uses and
// its value.
func encodeSlot(e opposition.Entry) (int, string) {
	if len(e.Periods) == 1 && e.Periods[0].Lifted.IsZero() && e.Periods[0].Owner == "" {
		p := e.Periods[0]
		return int(p.Reason), strconv.FormatInt(ceilSeconds(p.Effective)-oppositionEpoch.Unix(), 10)
	}
	return 0, e.Encode()
}

func ceilSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// decodeSlot reads the six field values of an identifier.
func decodeSlot(vals []any) (opposition.Entry, error) {
	for k, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if k == 0 {
			return opposition.Decode(s)
		}
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return opposition.Entry{}, fmt.Errorf("bad opposition value %q", s)
		}
		return opposition.Entry{Periods: []opposition.Period{{Reason: opposition.Reason(k),
			Effective: time.Unix(oppositionEpoch.Unix()+sec, 0).UTC()}}}, nil
	}
	return opposition.Entry{}, nil
}

// snapshot is the canonical text of the six values, for compare-and-set.
func snapshot(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i], _ = v.(string)
	}
	return strings.Join(parts, "\x1f")
}

// Oppositions is the opposition list in Redis.
type Oppositions struct {
	rdb       redis.UniversalClient
	retention int
}

// NewOppositions returns the opposition list kept in rdb.
func NewOppositions(rdb redis.UniversalClient) *Oppositions {
	return &Oppositions{rdb: rdb, retention: oppositionLogRetention}
}

var _ store.OppositionList = (*Oppositions)(nil)

// WithLogRetention returns the list keeping about n changes in its log.
func (o *Oppositions) WithLogRetention(n int) *Oppositions {
	return &Oppositions{rdb: o.rdb, retention: n}
}

// Change is one entry of the change log (store.OppositionChange).
type Change = store.OppositionChange

// ErrConcurrentChange is returned when an identifier changed while a change
// to it was being written; the caller may retry.
var ErrConcurrentChange = errors.New("opposition changed concurrently")

// ErrLogTrimmed is returned by Changes when the versions asked for are older
// than the retained change log: the caller needs a Snapshot first.
var ErrLogTrimmed = store.ErrLogTrimmed

// casScript replaces an identifier's fields if they still hold the expected
// values, bumps the version and appends the change to the log.
// KEYS: bucket, version, log. ARGV: 6 field names, expected snapshot, new
// field index (0-5), new value, kind (A/L), identifier, recorded-at (ms),
// full entry text, log retention, actor id.
var casScript = redis.NewScript(casLua)

// importScript adds a batch of oppositions; an identifier already opposed
// and not lifted is left as it is.
// KEYS: version, log, then one bucket per entry. ARGV: recorded-at, log
// retention, actor id, then per entry 9 values: identifier, 6 field names, reason,
// compact value (seconds since the epoch), and the period text "eff.reason".
var importScript = redis.NewScript(importLua)

func (o *Oppositions) lookup(ctx context.Context, p redis.Pipeliner, identifier string) *redis.SliceCmd {
	s := locate(identifier)
	return p.HMGet(ctx, s.bucket, s.fields[:]...)
}

func decodeEntry(cmd *redis.SliceCmd) (opposition.Entry, error) {
	vals, err := cmd.Result()
	if err != nil {
		return opposition.Entry{}, wrap(err)
	}
	return decodeSlot(vals)
}

// Entry returns an identifier's history.
func (o *Oppositions) Entry(ctx context.Context, identifier string) (opposition.Entry, error) {
	s := locate(identifier)
	return decodeEntry(o.rdb.HMGet(ctx, s.bucket, s.fields[:]...))
}

// change applies f to an identifier's entry atomically (compare and set).
func (o *Oppositions) change(ctx context.Context, identifier, kind string, now time.Time, by opposition.Actor, f func(opposition.Entry) (opposition.Entry, error)) (opposition.Entry, uint64, error) {
	s := locate(identifier)
	for attempt := 0; attempt < 5; attempt++ {
		vals, err := o.rdb.HMGet(ctx, s.bucket, s.fields[:]...).Result()
		if err != nil {
			return opposition.Entry{}, 0, wrap(err)
		}
		cur, err := decodeSlot(vals)
		if err != nil {
			return opposition.Entry{}, 0, err
		}
		next, err := f(cur)
		if err != nil {
			return cur, 0, err
		}
		k, val := encodeSlot(next)
		args := make([]any, 0, 14)
		for _, fl := range s.fields {
			args = append(args, fl)
		}
		args = append(args, snapshot(vals), k, val, kind, identifier, now.UnixMilli(), next.Encode(), o.retention, by.ID)
		v, err := casScript.Run(ctx, o.rdb, []string{s.bucket, oppVersionKey, oppLogKey}, args...).Int64()
		if err != nil {
			return opposition.Entry{}, 0, wrap(err)
		}
		if v >= 0 {
			// Read back what the compact form keeps (effective instants in whole seconds).
			stored, err := decodeSlot(compactValues(k, val))
			return stored, uint64(v), err
		}
	}
	return opposition.Entry{}, 0, ErrConcurrentChange
}

func compactValues(k int, val string) []any {
	vals := make([]any, 6)
	vals[k] = val
	return vals
}

// Add opposes an identifier from effective, owned by the actor's organism
// (none: the national list); the log records the actor.
func (o *Oppositions) Add(ctx context.Context, identifier string, r opposition.Reason, effective, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error) {
	return o.change(ctx, identifier, "A", now, by, func(e opposition.Entry) (opposition.Entry, error) { return e.Add(r, effective, by.Organism) })
}

// Lift ends an identifier's opposition at t: the actor's organism must own
// it, unless the actor is an administrator; the log records the actor.
func (o *Oppositions) Lift(ctx context.Context, identifier string, t, now time.Time, by opposition.Actor) (opposition.Entry, uint64, error) {
	return o.change(ctx, identifier, "L", now, by, func(e opposition.Entry) (opposition.Entry, error) { return e.Lift(t, by.Organism) })
}

// ImportItem is one entry of a bulk import (store.OppositionItem).
type ImportItem = store.OppositionItem

// importBatch is the number of entries per script call, and importPipeline
// the number of calls per pipelined round trip: each round trip stays a few
// milliseconds long, well inside the Redis timeout (a timed-out pipeline would
// be retried by go-redis; the script skips entries already added, so a retry
// cannot double-apply).
const (
	importBatch    = 100
	importPipeline = 4
	importWorkers  = 4
)

// Import adds oppositions in batches, pipelining the batches. It returns the
// number of entries added and the version after the import. Identifiers
// already opposed (and not lifted) are skipped, so an import can be replayed.
func (o *Oppositions) Import(ctx context.Context, items []ImportItem, now time.Time, by opposition.Actor) (int, uint64, error) {
	if len(items) == 0 {
		v, err := o.Version(ctx)
		return 0, v, err
	}
	for _, it := range items {
		if it.Identifier == "" || strings.ContainsAny(it.Identifier, "\t\n|") {
			return 0, 0, fmt.Errorf("opposition identifier %q: empty or with a tab, newline or '|'", it.Identifier)
		}
	}
	// Rounds run on importWorkers connections at once: Redis executes the
	// scripts one after the other, the round trips overlap.
	type result struct {
		n   int
		v   uint64
		err error
	}
	chunk := importBatch * importPipeline
	jobs := make(chan []ImportItem)
	results := make(chan result)
	workers := min(importWorkers, (len(items)+chunk-1)/chunk)
	for w := 0; w < workers; w++ {
		go func() {
			for part := range jobs {
				n, v, err := o.importRound(ctx, part, now, by)
				results <- result{n, v, err}
			}
		}()
	}
	go func() {
		for start := 0; start < len(items); start += chunk {
			jobs <- items[start:min(start+chunk, len(items))]
		}
		close(jobs)
	}()
	total, version := 0, uint64(0)
	var firstErr error
	for range (len(items) + chunk - 1) / chunk {
		r := <-results
		total += r.n
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		version = max(version, r.v)
	}
	return total, version, firstErr
}

func (o *Oppositions) importRound(ctx context.Context, items []ImportItem, now time.Time, by opposition.Actor) (int, uint64, error) {
	type batch struct {
		keys []string
		args []any
	}
	var batches []batch
	for start := 0; start < len(items); start += importBatch {
		end := min(start+importBatch, len(items))
		b := batch{keys: make([]string, 0, 2+end-start), args: make([]any, 0, 3+10*(end-start))}
		b.keys = append(b.keys, oppVersionKey, oppLogKey)
		b.args = append(b.args, now.UnixMilli(), o.retention, by.ID)
		for _, it := range items[start:end] {
			s := locate(it.Identifier)
			b.keys = append(b.keys, s.bucket)
			p := opposition.Period{Reason: it.Reason, Effective: time.Unix(ceilSeconds(it.Effective), 0).UTC(), Owner: by.Organism}
			b.args = append(b.args, it.Identifier)
			for _, f := range s.fields {
				b.args = append(b.args, f)
			}
			text := opposition.Entry{Periods: []opposition.Period{p}}.Encode()
			if by.Organism == "" {
				b.args = append(b.args, int(it.Reason), strconv.FormatInt(p.Effective.Unix()-oppositionEpoch.Unix(), 10), text)
			} else {
				// An owned opposition has no compact form: its full text at k = 0.
				b.args = append(b.args, 0, text, text)
			}
		}
		batches = append(batches, b)
	}
	total, version := 0, uint64(0)
	for attempt := 0; len(batches) > 0; attempt++ {
		pipe := o.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(batches))
		for i, b := range batches {
			cmds[i] = importScript.EvalSha(ctx, pipe, b.keys, b.args...)
		}
		_, _ = pipe.Exec(ctx) // each command's own error is examined below
		var again []batch
		for i, c := range cmds {
			res, err := c.Int64Slice()
			switch {
			case err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") && attempt == 0:
				// Only the batches that did not run are sent again, once
				// the script is loaded: the others must not be counted twice.
				again = append(again, batches[i])
			case err != nil:
				return total, version, wrap(err)
			default:
				total += int(res[0])
				version = max(version, uint64(res[1]))
			}
		}
		if len(again) > 0 {
			if err := importScript.Load(ctx, o.rdb).Err(); err != nil {
				return total, version, wrap(err)
			}
		}
		batches = again
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
// the first one when there is none yet (0: no wait). It returns ErrLogTrimmed
// when changes after that version are no longer all in the log. It may
// return fewer than count changes while more are in the log: the caller asks
// again from the last version it got.
func (o *Oppositions) Changes(ctx context.Context, after uint64, count int64, block time.Duration) ([]Change, error) {
	if count <= 0 {
		return nil, nil
	}
	// An import batch holds up to importBatch changes: read the log a few
	// entries at a time so as not to fetch far more than count.
	page := max(1, count/importBatch)
	out := make([]Change, 0, min(count, 1024))
	cursor := strconv.FormatUint(after, 10) + "-1"
	for int64(len(out)) < count {
		msgs, err := o.rdb.XRangeN(ctx, oppLogKey, "("+cursor, "+", page).Result()
		if err != nil {
			return nil, wrap(err)
		}
		if len(msgs) == 0 && len(out) == 0 && block > 0 {
			res, err := o.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{oppLogKey, cursor}, Count: page, Block: block}).Result()
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
		for _, m := range msgs {
			if out, err = appendChanges(out, m, after); err != nil {
				return nil, err
			}
		}
		if int64(len(msgs)) < page {
			break
		}
		cursor = msgs[len(msgs)-1].ID
	}
	if len(out) > 0 && out[0].Version > after+1 {
		return nil, ErrLogTrimmed
	}
	if int64(len(out)) > count {
		out = out[:count]
	}
	return out, nil
}

// appendChanges appends the changes of one log entry whose version is above
// after: the entry's own change, or those of an import batch.
func appendChanges(out []Change, m redis.XMessage, after uint64) ([]Change, error) {
	vs, _, _ := strings.Cut(m.ID, "-")
	v, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return out, fmt.Errorf("bad change id %q", m.ID)
	}
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	ms, _ := strconv.ParseInt(str("t"), 10, 64)
	at := time.UnixMilli(ms).UTC()
	if str("k") != "B" {
		e, err := opposition.Decode(str("v"))
		if err != nil {
			return out, err
		}
		return append(out, Change{Version: v, Lifted: str("k") == "L", Identifier: str("id"), Entry: e, RecordedAt: at, By: str("by")}), nil
	}
	from, err := strconv.ParseUint(str("from"), 10, 64)
	if err != nil || from > v {
		return out, fmt.Errorf("bad import batch %q in the change log", m.ID)
	}
	d := str("d")
	for version := from; version <= v; version++ {
		line, rest, _ := strings.Cut(d, "\n")
		d = rest
		id, text, ok := strings.Cut(line, "\t")
		if !ok {
			return out, fmt.Errorf("bad import batch %q in the change log", m.ID)
		}
		if version <= after {
			continue
		}
		e, err := opposition.Decode(text)
		if err != nil {
			return out, err
		}
		out = append(out, Change{Version: version, Identifier: id, Entry: e, RecordedAt: at, By: str("by")})
	}
	if d != "" {
		return out, fmt.Errorf("bad import batch %q in the change log", m.ID)
	}
	return out, nil
}

// Snapshot walks the whole list, calling f for each identifier with its
// history and the version the walk started from, and returns the version the walk started from: every change after
// it is in the log or was already seen by the walk (a cache that applies the
// snapshot, then the changes after that version, ends up exact).
func (o *Oppositions) Snapshot(ctx context.Context, f func(version uint64, identifier string, e opposition.Entry) error) (uint64, error) {
	v, err := o.Version(ctx)
	if err != nil {
		return 0, err
	}
	for b := 0; b < oppositionBuckets; b++ {
		for _, prefix := range []string{"", "s"} {
			key := "opp:{opp}:" + prefix + strconv.Itoa(b)
			all, err := o.rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return 0, wrap(err)
			}
			for field, val := range all {
				id, k, err := identifierOf(prefix == "", uint64(b), field)
				if err != nil {
					return 0, err
				}
				vals := make([]any, 6)
				vals[k] = val
				e, err := decodeSlot(vals)
				if err != nil {
					return 0, err
				}
				if err := f(v, id, e); err != nil {
					return 0, err
				}
			}
		}
	}
	return v, nil
}

// identifierOf inverts locate for one field.
func identifierOf(numeric bool, bucket uint64, field string) (string, int, error) {
	if numeric {
		n, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return "", 0, fmt.Errorf("bad opposition field %q", field)
		}
		return strconv.FormatUint((n/8)*oppositionBuckets+bucket, 10), int(n % 8), nil
	}
	i := strings.LastIndexByte(field, '|')
	if i < 0 {
		return "", 0, fmt.Errorf("bad opposition field %q", field)
	}
	k, err := strconv.Atoi(field[i+1:])
	if err != nil || k < 0 || k > 5 {
		return "", 0, fmt.Errorf("bad opposition field %q", field)
	}
	return field[:i], k, nil
}
