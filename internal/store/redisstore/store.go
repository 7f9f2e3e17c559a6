package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/store"
)

// Lifetimes, set (and renewed) by every commit that writes the key; measured
// on the Redis server's clock. Product settings, not legal numbers.
//
//   - claimTTL, a committed claim and its id: at least the time bar of
//     L160-11 (two years from the quarter after the care) plus the time a
//     claim may take to arrive, rounded up (docs/rules.md#claim-id-reuse).
//   - countersTTL, the annual counters of an adjudication year: only claims
//     received that year read them; two years leave room for cancellations
//     and the reconciliation. A claim outlives them: cancelling it then gives
//     nothing back (cancelScript).
//   - dailyTTL, the daily counters of a care year (dailyKey): a care date can
//     be claimed until the time bar, at most 2 years and 3 months after it
//     (care on 1 January, quarter after from 1 April, admissible through the
//     anniversary day, docs/rules.md#time-bar). A care date's counter is only
//     ever written on or after that date (a care date after receipt is
//     refused), so a key renewed for 3 × 366 days at each write outlives
//     every claim still admissible for each of its care dates by more than
//     nine months, and every claim that wrote it (claimTTL from a commit that
//     is at most the key's last write): a cancellation always finds it.
const (
	claimTTL    = 3 * 366 * 24 * time.Hour
	countersTTL = 2 * 366 * 24 * time.Hour
	dailyTTL    = 3 * 366 * 24 * time.Hour
)

// Store implements the service's ports on Redis.
type Store struct {
	rdb   redis.UniversalClient
	keyer Keyer
	opp   *Oppositions
	// retention is how long the audit trail keeps an event (trail.go).
	retention time.Duration
}

var (
	_ store.ClaimLedger   = (*Store)(nil)
	_ store.ClaimArchive  = (*Store)(nil)
	_ store.Beneficiaries = Registry{}
)

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, keyer Keyer) *Store {
	return &Store{rdb: rdb, keyer: keyer, opp: NewOppositions(rdb)}
}

// Oppositions returns the opposition list kept in the same Redis.
func (s *Store) Oppositions() *Oppositions { return s.opp }

// readinessProbe is the key Ping writes: a Redis that answers PING but
// refuses writes (out of memory under noeviction, a read-only replica, a
// script running too long) cannot commit a claim, so it is not ready.
const readinessProbe = "tp:readiness-probe"

// Ping checks that Redis answers and accepts a write.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.rdb.Set(ctx, readinessProbe, "1", 10*time.Second).Err())
}

// unavailableReplies are the Redis error replies that mean "not now" rather
// than "wrong request": the same call may succeed later or elsewhere, so they
// are store.ErrUnavailable (UNAVAILABLE with RetryInfo), never INTERNAL.
var unavailableReplies = []string{
	"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "OOM", "READONLY", "BUSY", "NOREPLICAS",
	"MOVED", "ASK", "MISCONF",
}

func unavailableReply(msg string) bool {
	for _, p := range unavailableReplies {
		if msg == p || strings.HasPrefix(msg, p+" ") {
			return true
		}
	}
	return false
}

// wrap turns transport failures into store.ErrUnavailable, keeping the
// cause for the logs. Context errors are returned as they are.
func wrap(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || strings.Contains(err.Error(), "connection") ||
		strings.Contains(err.Error(), "pool timeout") || unavailableReply(err.Error()) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func cents(d decimal.Decimal) string { return d.Shift(2).Round(0).String() }

func fromCents(s string) (decimal.Decimal, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("bad stored amount %q", s)
	}
	return decimal.New(n, -2), nil
}

func dayField(k franchise.DayKey) string {
	return "fd:" + k.CareDate.Format(time.DateOnly) + ":" + strconv.Itoa(int(k.Kind))
}

func countField(k franchise.ProDayKey) string {
	return "pc:" + k.Professional + ":" + k.CareDate.Format(time.DateOnly)
}

// beneficiaryRecord is how a beneficiary is stored (field "r", in the
// binary form of record.go).
type beneficiaryRecord struct {
	Rights             claims.Rights      `json:"rights"`
	Attachments        []store.Attachment `json:"attachments,omitempty"`
	HasMedecinTraitant bool               `json:"mt,omitempty"`
	AMCContract        string             `json:"amc,omitempty"`
}

func (r beneficiaryRecord) beneficiary() store.Beneficiary {
	return store.Beneficiary{Rights: r.Rights, Attachments: r.Attachments, HasMedecinTraitant: r.HasMedecinTraitant, AMCContract: r.AMCContract}
}

// Read reads, in one pipelined round trip, everything a claim needs: the
// claim-id reservation, the beneficiary, the counters it may touch (the
// annual ones of r.Year, the daily ones in the key of each care date's year)
// and the opposition entry of its identifier.
func (s *Store) Read(ctx context.Context, r store.ReadRequest) (store.Snapshot, error) {
	ref := s.keyer.Ref(r.NIR)
	snap := store.Snapshot{BeneficiaryRef: ref}
	// Daily fields grouped by care year, in first-seen order.
	type dailyRead struct {
		year   int
		fields []string
		days   []franchise.DayKey    // fields[i] for i < len(days)
		pros   []franchise.ProDayKey // then these
		cmd    *redis.SliceCmd
	}
	var daily []*dailyRead
	byYear := map[int]*dailyRead{}
	group := func(careDate time.Time) *dailyRead {
		y := careDate.Year()
		d := byYear[y]
		if d == nil {
			d = &dailyRead{year: y}
			byYear[y] = d
			daily = append(daily, d)
		}
		return d
	}
	for _, k := range r.DayKeys {
		d := group(k.CareDate)
		d.days = append(d.days, k)
	}
	for _, k := range r.ProDays {
		d := group(k.CareDate)
		d.pros = append(d.pros, k)
	}
	pipe := s.rdb.Pipeline()
	var reserve *redis.StatusCmd
	if r.Reserve {
		reserve = pipe.SetArgs(ctx, claimIndexKey(r.ClaimID), ref+"|"+r.Digest, redis.SetArgs{Mode: "NX", Get: true, TTL: claimTTL})
	}
	ben := pipe.HMGet(ctx, beneficiaryKey(ref), "r", "debt")
	cnt := pipe.HMGet(ctx, countersKey(ref, r.Year), "pf", "fr", "pfn")
	for _, d := range daily {
		for _, k := range d.days {
			d.fields = append(d.fields, dayField(k))
		}
		for _, k := range d.pros {
			d.fields = append(d.fields, countField(k))
		}
		d.cmd = pipe.HMGet(ctx, dailyKey(ref, d.year), d.fields...)
	}
	var fraud *redis.StringCmd
	if r.Professional != "" {
		fraud = pipe.HGet(ctx, fraudKey, r.Professional)
	}
	var opp *redis.SliceCmd
	if r.Identifier != "" {
		opp = s.opp.lookup(ctx, pipe, r.Identifier)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return snap, wrap(err)
	}
	if reserve != nil {
		prior, err := reserve.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return snap, wrap(err)
		default:
			pref, pdigest, _ := strings.Cut(prior, "|")
			if pref != ref {
				snap.PriorDigest = "other-beneficiary"
			} else {
				snap.PriorDigest = pdigest
			}
		}
	}
	bv := ben.Val()
	if raw, ok := bv[0].(string); ok {
		rec, err := decodeRecord(raw)
		if err != nil {
			return snap, err
		}
		snap.Known = true
		snap.Beneficiary = rec.beneficiary()
	}
	if raw, ok := bv[1].(string); ok {
		d, err := fromCents(raw)
		if err != nil {
			return snap, err
		}
		snap.Beneficiary.Rights.Debt = d
	}
	st := franchise.State{Year: r.Year, FranchiseDay: map[franchise.DayKey]decimal.Decimal{}, PFCount: map[franchise.ProDayKey]int{}}
	num := func(cv []any, i int) (int64, error) {
		raw, ok := cv[i].(string)
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad stored counter %q", raw)
		}
		return n, nil
	}
	var err error
	var n int64
	cv := cnt.Val()
	if n, err = num(cv, 0); err != nil {
		return snap, err
	}
	st.PFYear = decimal.New(n, -2)
	if n, err = num(cv, 1); err != nil {
		return snap, err
	}
	st.FranchiseYear = decimal.New(n, -2)
	if n, err = num(cv, 2); err != nil {
		return snap, err
	}
	st.PFYearCount = int(n)
	for _, d := range daily {
		dv := d.cmd.Val()
		for i, k := range d.days {
			if n, err = num(dv, i); err != nil {
				return snap, err
			}
			st.FranchiseDay[k] = decimal.New(n, -2)
		}
		for i, k := range d.pros {
			if n, err = num(dv, len(d.days)+i); err != nil {
				return snap, err
			}
			st.PFCount[k] = int(n)
		}
	}
	snap.Counters = st
	if fraud != nil {
		if raw, err := fraud.Result(); err == nil {
			if err := json.Unmarshal([]byte(raw), &snap.FraudRegimes); err != nil {
				return snap, fmt.Errorf("decode fraud regimes: %w", err)
			}
		} else if !errors.Is(err, redis.Nil) {
			return snap, wrap(err)
		}
	}
	if opp != nil {
		op, err := decodeEntry(opp)
		if err != nil {
			return snap, err
		}
		_, snap.Opposed = op.OpposedAt(r.CreatedAt)
	}
	return snap, nil
}

// Index adds a committed claim to its indexes where it is missing (ZADD NX:
// an entry already there keeps its score).
func (s *Store) Index(ctx context.Context, e store.IndexEntry) error {
	score := float64(e.ReceivedAt.UnixMilli())
	pipe := s.rdb.Pipeline()
	if e.Professional != "" {
		pipe.ZAddNX(ctx, professionalIndexKey(e.Professional), redis.Z{Score: score, Member: e.ClaimID})
	}
	if e.ReportBucket != "" {
		pipe.ZAddNX(ctx, reportIndexKey(e.ReportBucket), redis.Z{Score: score, Member: e.ClaimID})
	}
	addDue(ctx, pipe, e.DueOrganism, e.DueDate, e.ClaimID) // due.go
	if pipe.Len() == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	return wrap(err)
}

// Commit runs the commit script and, in the same pipelined round trip, adds
// the claim to the professional's and the organism's quarter indexes (ZADD NX:
// an index entry whose claim did not commit is skipped by the readers) and
// appends its event to the audit trail.
func (s *Store) Commit(ctx context.Context, c store.CommitRequest) (store.Committed, error) {
	keys := []string{claimKey(c.BeneficiaryRef, c.ClaimID), countersKey(c.BeneficiaryRef, c.Year),
		beneficiaryKey(c.BeneficiaryRef), claimsOfKey(c.BeneficiaryRef)}
	// One daily key per care year with a daily field, numbered from 1 in
	// first-seen order (KEYS[4 + i]).
	var years []int
	keyIndex := map[int]int{}
	dailyIndex := func(careDate time.Time) int {
		y := careDate.Year()
		if i, ok := keyIndex[y]; ok {
			return i
		}
		years = append(years, y)
		keyIndex[y] = len(years)
		keys = append(keys, dailyKey(c.BeneficiaryRef, y))
		return len(years)
	}
	reqs := make([]any, 0, 12*len(c.Requests))
	for _, r := range c.Requests {
		ded, dk, dayf, daycap, cntf, cntcap := "fr", 0, "", "-1", "", 0
		annual, acount := cents(r.AnnualCap), 0
		if r.Deduction == franchise.DeductionPF {
			ded, acount = "pf", r.AnnualCount
			if !r.HasAnnualCap {
				annual = "-1"
			}
			if r.DailyCount > 0 {
				k := franchise.ProDayKey{Professional: r.Professional, CareDate: calendar.Day(r.CareDate)}
				dk, cntf, cntcap = dailyIndex(k.CareDate), countField(k), r.DailyCount
			}
		} else if r.HasDailyCap {
			k := franchise.DayKey{CareDate: calendar.Day(r.CareDate), Kind: r.Kind}
			dk, dayf, daycap = dailyIndex(k.CareDate), dayField(k), cents(r.DailyCap)
		}
		debt := "0"
		if r.Debt {
			debt = "1"
		}
		reqs = append(reqs, ded, r.Units, cents(r.UnitAmount), cents(r.LineLimit), dk, dayf, daycap, cntf, cntcap, annual, debt, acount)
	}
	args := make([]any, 0, 11+len(years)+len(reqs))
	args = append(args, c.Digest, c.Blob, c.ReceivedAt.UnixMilli(), int64(claimTTL/time.Second), c.Year, c.ClaimID,
		int64(countersTTL/time.Second), len(c.Requests), c.Meta, int64(dailyTTL/time.Second), len(years))
	for _, y := range years {
		args = append(args, y)
	}
	args = append(args, reqs...)
	score := float64(c.ReceivedAt.UnixMilli())
	event := c.Event
	run := func() (*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		cmd := commitScript.EvalSha(ctx, pipe, keys, args...)
		if c.Professional != "" {
			pipe.ZAddNX(ctx, professionalIndexKey(c.Professional), redis.Z{Score: score, Member: c.ClaimID})
		}
		if c.ReportBucket != "" {
			pipe.ZAddNX(ctx, reportIndexKey(c.ReportBucket), redis.Z{Score: score, Member: c.ClaimID})
		}
		addDue(ctx, pipe, c.DueOrganism, c.DueDate, c.ClaimID) // due.go
		var added *redis.StringCmd
		if event != nil {
			added = s.addEvent(ctx, pipe, *event)
		}
		_, err := pipe.Exec(ctx)
		if added != nil && added.Err() == nil {
			event = nil // appended: a rerun after NOSCRIPT must not append it twice
		}
		return cmd, err
	}
	cmd, err := run()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := commitScript.Load(ctx, s.rdb).Err(); err != nil {
			return store.Committed{}, wrap(err)
		}
		cmd, err = run()
	}
	if err != nil {
		return store.Committed{}, wrap(err)
	}
	res, err := cmd.StringSlice()
	if err != nil {
		return store.Committed{}, wrap(err)
	}
	switch res[0] {
	case "NEW":
		grants, err := parseGrants(res[1])
		if err != nil {
			return store.Committed{}, err
		}
		bal, err := fromCents(res[2])
		if err != nil {
			return store.Committed{}, err
		}
		return store.Committed{Stored: store.Stored{BeneficiaryRef: c.BeneficiaryRef, Blob: c.Blob, Meta: c.Meta, Grants: grants,
			DebtBalance: bal, ReceivedAt: c.ReceivedAt}}, nil
	case "DUP":
		st, err := storedFrom(c.BeneficiaryRef, res[1], res[2], res[3], res[4], res[5], "")
		st.Meta, st.Payment = bytesOrNil(res[6]), bytesOrNil(res[7])
		return store.Committed{Stored: st, Replayed: true}, err
	case "CONFLICT":
		return store.Committed{}, store.ErrClaimIDReused
	}
	return store.Committed{}, fmt.Errorf("commit script: unexpected reply %q", res[0])
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func parseGrants(s string) ([]store.RawGrant, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]store.RawGrant, len(parts))
	for i, p := range parts {
		f := strings.Split(p, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("bad grant %q", p)
		}
		units, err1 := strconv.Atoi(f[0])
		amount, err2 := strconv.ParseInt(f[1], 10, 64)
		mask, err3 := strconv.Atoi(f[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("bad grant %q", p)
		}
		g := store.RawGrant{Units: units, Amount: decimal.New(amount, -2), Request: i}
		// In the order the caps are applied, as franchise.Consume lists them.
		for _, b := range []struct {
			bit int
			l   franchise.Limit
		}{{limitBitDailyCount, franchise.LimitDailyCount}, {limitBitAnnualCount, franchise.LimitAnnualCount}, {limitBitLineAMO, franchise.LimitLineAMO},
			{limitBitDailyCap, franchise.LimitDailyCap}, {limitBitAnnualCap, franchise.LimitAnnualCap}} {
			if mask&b.bit != 0 {
				g.Limits = append(g.Limits, b.l)
			}
		}
		out[i] = g
	}
	return out, nil
}

func storedFrom(ref, blob, grants, bal, at, state, cancelledAt string) (store.Stored, error) {
	g, err := parseGrants(grants)
	if err != nil {
		return store.Stored{}, err
	}
	b, err := fromCents(bal)
	if err != nil {
		return store.Stored{}, err
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return store.Stored{}, fmt.Errorf("bad stored time %q", at)
	}
	st := store.Stored{BeneficiaryRef: ref, Blob: []byte(blob), Grants: g, DebtBalance: b, ReceivedAt: time.UnixMilli(ms).UTC(), Cancelled: state == "X"}
	if cancelledAt != "" {
		if ms, err := strconv.ParseInt(cancelledAt, 10, 64); err == nil {
			st.CancelledAt = time.UnixMilli(ms).UTC()
		}
	}
	return st, nil
}

// locate finds the beneficiary reference of a claim id.
func (s *Store) locate(ctx context.Context, claimID string) (string, error) {
	v, err := s.rdb.Get(ctx, claimIndexKey(claimID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", wrap(err)
	}
	ref, _, _ := strings.Cut(v, "|")
	return ref, nil
}

// Get returns a committed claim.
func (s *Store) Get(ctx context.Context, claimID string) (store.Stored, error) {
	ref, err := s.locate(ctx, claimID)
	if err != nil {
		return store.Stored{}, err
	}
	raw, err := s.rdb.Get(ctx, claimKey(ref, claimID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Stored{}, store.ErrNotFound
	}
	if err != nil {
		return store.Stored{}, wrap(err)
	}
	return storedFromRecord(ref, raw)
}

// Cancel reverses a committed claim once. The restored amounts are what the
// cancellation actually gave back: nothing of counters that have expired.
func (s *Store) Cancel(ctx context.Context, claimID string, at time.Time) (store.Cancellation, error) {
	ref, err := s.locate(ctx, claimID)
	if err != nil {
		return store.Cancellation{}, err
	}
	raw, err := s.rdb.Get(ctx, claimKey(ref, claimID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Cancellation{}, store.ErrNotFound
	}
	if err != nil {
		return store.Cancellation{}, wrap(err)
	}
	rec, err := decodeClaimRecord(raw)
	if err != nil {
		return store.Cancellation{}, fmt.Errorf("claim %s: %w", claimID, err)
	}
	year, err := strconv.Atoi(string(rec[recYear]))
	if err != nil {
		return store.Cancellation{}, fmt.Errorf("bad stored year %q", rec[recYear])
	}
	keys := []string{claimKey(ref, claimID), countersKey(ref, year), beneficiaryKey(ref)}
	args := []any{at.UnixMilli()}
	years, err := dailyYears(string(rec[recDinc]))
	if err != nil {
		return store.Cancellation{}, err
	}
	for _, cy := range years {
		keys = append(keys, dailyKey(ref, cy))
		args = append(args, cy)
	}
	res, err := cancelScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return store.Cancellation{}, wrap(err)
	}
	switch res[0] {
	case "NOTFOUND":
		return store.Cancellation{}, store.ErrNotFound
	case "PAID":
		return store.Cancellation{}, store.ErrClaimPaid
	}
	out := store.Cancellation{Now: res[0] == "CANCELLED"}
	if ms, err := strconv.ParseInt(res[1], 10, 64); err == nil {
		out.CancelledAt = time.UnixMilli(ms).UTC()
	}
	for _, kv := range strings.Split(res[2], ";") {
		f, d, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			continue
		}
		switch f {
		case "pf":
			out.PFRestored = decimal.New(n, -2)
		case "fr":
			out.FRRestored = decimal.New(n, -2)
		}
	}
	return out, nil
}

// dailyIncrement is one entry of a "dinc" list ("careyear|field=delta").
type dailyIncrement struct {
	Year  int
	Field string
	Delta int64
}

// parseDaily reads a "dinc" list of the commit and cancel scripts.
func parseDaily(dinc string) ([]dailyIncrement, error) {
	if dinc == "" {
		return nil, nil
	}
	var out []dailyIncrement
	for _, e := range strings.Split(dinc, ";") {
		y, rest, ok1 := strings.Cut(e, "|")
		i := strings.LastIndexByte(rest, '=')
		if !ok1 || i < 0 {
			return nil, fmt.Errorf("bad daily increment %q", e)
		}
		year, err1 := strconv.Atoi(y)
		d, err2 := strconv.ParseInt(rest[i+1:], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad daily increment %q", e)
		}
		out = append(out, dailyIncrement{Year: year, Field: rest[:i], Delta: d})
	}
	return out, nil
}

// dailyYears lists the care years of a "dinc" list, in first-seen order.
func dailyYears(dinc string) ([]int, error) {
	incs, err := parseDaily(dinc)
	if err != nil {
		return nil, err
	}
	var years []int
	seen := map[int]bool{}
	for _, d := range incs {
		if !seen[d.Year] {
			seen[d.Year] = true
			years = append(years, d.Year)
		}
	}
	return years, nil
}

// Registry is the beneficiary registry kept in the same Redis.
type Registry struct{ s *Store }

// Registry returns the beneficiary registry.
func (s *Store) Registry() Registry { return Registry{s: s} }

// maxUpdateTries bounds the optimistic retries of Update when the
// beneficiary's record keeps changing under it.
const maxUpdateTries = 8

// Update reads a beneficiary and stores what f makes of it, atomically: if
// the record changes between the read and the write (an administrator's
// transfer, another operator's change, a claim's debt), the write is not
// made and f runs again on the new record (WATCH/MULTI on the
// beneficiary's key). The debt is kept. An error from f is returned as it
// is, and nothing is written.
func (g Registry) Update(ctx context.Context, nir string, f func(old store.Beneficiary, existed bool) (store.Beneficiary, error)) (string, error) {
	ref := g.s.keyer.Ref(nir)
	key := beneficiaryKey(ref)
	var b store.Beneficiary
	for try := 0; ; try++ {
		if try == maxUpdateTries {
			return ref, store.ErrConcurrentChange
		}
		var fErr error
		err := g.s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			v, err := tx.HMGet(ctx, key, "r", "debt").Result()
			if err != nil {
				return err
			}
			old, err := beneficiaryFrom(v)
			existed := err == nil
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if b, fErr = f(old, existed); fErr != nil {
				return fErr
			}
			b.Rights.Debt = decimal.Decimal{}
			b.Rights.Organism = ""
			raw := encodeRecord(beneficiaryRecord{Rights: b.Rights, Attachments: b.Attachments, HasMedecinTraitant: b.HasMedecinTraitant, AMCContract: b.AMCContract})
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, "r", raw)
				return nil
			})
			return err
		}, key)
		if fErr != nil {
			return ref, fErr
		}
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return "", wrap(err)
		}
		break
	}
	// Each organism's set of the beneficiaries it manages or managed (remises
	// de gestion, R160-26 III 4°).
	pipe := g.s.rdb.Pipeline()
	for _, a := range b.Attachments {
		pipe.SAdd(ctx, managedKey(a.Organism), ref)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", wrap(err)
	}
	return ref, nil
}

// Get returns a registered beneficiary with its outstanding debt.
func (g Registry) Get(ctx context.Context, nir string) (string, store.Beneficiary, error) {
	ref := g.s.keyer.Ref(nir)
	v, err := g.s.rdb.HMGet(ctx, beneficiaryKey(ref), "r", "debt").Result()
	if err != nil {
		return ref, store.Beneficiary{}, wrap(err)
	}
	b, err := beneficiaryFrom(v)
	return ref, b, err
}

// beneficiaryFrom decodes the "r" and "debt" fields of a beneficiary's key.
func beneficiaryFrom(v []any) (store.Beneficiary, error) {
	raw, ok := v[0].(string)
	if !ok {
		return store.Beneficiary{}, store.ErrNotFound
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return store.Beneficiary{}, err
	}
	b := rec.beneficiary()
	if d, ok := v[1].(string); ok {
		if b.Rights.Debt, err = fromCents(d); err != nil {
			return b, err
		}
	}
	return b, nil
}

// LoadScripts loads the Lua scripts into Redis (on every master of a
// Cluster), so that the first claim needs no EVALSHA → NOSCRIPT → EVAL
// fallback. Scripts still load themselves lazily after a SCRIPT FLUSH.
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{commitScript, cancelScript, casScript, importScript, paymentScript, releaseScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// storedFromRecord decodes a claim record (claimrec.go).
func storedFromRecord(ref string, raw []byte) (store.Stored, error) {
	f, err := decodeClaimRecord(raw)
	if err != nil {
		return store.Stored{}, err
	}
	st, err := storedFrom(ref, string(f[recBlob]), string(f[recGrants]), string(f[recBal]), string(f[recAt]),
		string(f[recState]), string(f[recXat]))
	st.Meta, st.Payment = nonEmpty(f[recMeta]), nonEmpty(f[recPay])
	return st, err
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Release frees a claim id reserved by Read with digest, when the claim did
// not commit (best effort: a reservation left behind only makes a retry with
// the same content succeed and a different content fail, as for a committed
// claim).
func (s *Store) Release(ctx context.Context, claimID, digest string) {
	_ = releaseScript.Run(ctx, s.rdb, []string{claimIndexKey(claimID)}, "|"+digest).Err()
}

// ManagedBy returns every beneficiary ever attached to org.
func (g Registry) ManagedBy(ctx context.Context, org string) ([]store.Beneficiary, error) {
	refs, err := g.s.rdb.SMembers(ctx, managedKey(org)).Result()
	if err != nil {
		return nil, wrap(err)
	}
	var out []store.Beneficiary
	const chunk = 1000
	for start := 0; start < len(refs); start += chunk {
		pipe := g.s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, 0, chunk)
		for _, ref := range refs[start:min(start+chunk, len(refs))] {
			cmds = append(cmds, pipe.HGet(ctx, beneficiaryKey(ref), "r"))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap(err)
		}
		for _, c := range cmds {
			raw, err := c.Result()
			if err != nil {
				continue
			}
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, rec.beneficiary())
		}
	}
	return out, nil
}
