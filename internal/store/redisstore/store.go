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

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/service"
)

// Retention of a committed claim: at least the time bar of L160-11 (two
// years from the quarter after the care) plus the time a claim may take to
// arrive, rounded up (docs/rules.md#claim-id-reuse). Product setting, not a
// legal number.
const (
	claimTTL    = 3 * 366 * 24 * time.Hour
	countersTTL = 2 * 366 * 24 * time.Hour
)

// Store implements the service's ports on Redis.
type Store struct {
	rdb   redis.UniversalClient
	keyer Keyer
	opp   *Oppositions
}

var (
	_ service.ClaimLedger   = (*Store)(nil)
	_ service.ClaimArchive  = (*Store)(nil)
	_ service.Beneficiaries = Registry{}
)

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, keyer Keyer) *Store {
	return &Store{rdb: rdb, keyer: keyer, opp: NewOppositions(rdb)}
}

// Oppositions returns the opposition list kept in the same Redis.
func (s *Store) Oppositions() *Oppositions { return s.opp }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return wrap(s.rdb.Ping(ctx).Err()) }

// wrap turns transport failures into service.ErrUnavailable, keeping the
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
		strings.Contains(err.Error(), "pool timeout") || strings.HasPrefix(err.Error(), "LOADING") ||
		strings.HasPrefix(err.Error(), "CLUSTERDOWN") || strings.HasPrefix(err.Error(), "TRYAGAIN") ||
		strings.HasPrefix(err.Error(), "MASTERDOWN") {
		return fmt.Errorf("%w: %w", service.ErrUnavailable, err)
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
	Rights             claims.Rights        `json:"rights"`
	Attachments        []service.Attachment `json:"attachments,omitempty"`
	HasMedecinTraitant bool                 `json:"mt,omitempty"`
	AMCContract        string               `json:"amc,omitempty"`
}

func (r beneficiaryRecord) beneficiary() service.Beneficiary {
	return service.Beneficiary{Rights: r.Rights, Attachments: r.Attachments, HasMedecinTraitant: r.HasMedecinTraitant, AMCContract: r.AMCContract}
}

// Read reads, in one pipelined round trip, everything a claim needs: the
// claim-id reservation, the beneficiary, the counters it may touch and the
// opposition entry of its identifier.
func (s *Store) Read(ctx context.Context, r service.ReadRequest) (service.Snapshot, error) {
	ref := s.keyer.Ref(r.NIR)
	snap := service.Snapshot{BeneficiaryRef: ref}
	fields := []string{"pf", "fr"}
	for _, k := range r.DayKeys {
		fields = append(fields, dayField(k))
	}
	for _, k := range r.ProDays {
		fields = append(fields, countField(k))
	}
	pipe := s.rdb.Pipeline()
	var reserve *redis.StatusCmd
	if r.Reserve {
		reserve = pipe.SetArgs(ctx, claimIndexKey(r.ClaimID), ref+"|"+r.Digest, redis.SetArgs{Mode: "NX", Get: true, TTL: claimTTL})
	}
	ben := pipe.HMGet(ctx, beneficiaryKey(ref), "r", "debt")
	cnt := pipe.HMGet(ctx, countersKey(ref, r.Year), fields...)
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
	cv := cnt.Val()
	num := func(i int) (int64, error) {
		raw, ok := cv[i].(string)
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(raw, 10, 64)
	}
	var err error
	var n int64
	if n, err = num(0); err != nil {
		return snap, err
	}
	st.PFYear = decimal.New(n, -2)
	if n, err = num(1); err != nil {
		return snap, err
	}
	st.FranchiseYear = decimal.New(n, -2)
	for i, k := range r.DayKeys {
		if n, err = num(2 + i); err != nil {
			return snap, err
		}
		st.FranchiseDay[k] = decimal.New(n, -2)
	}
	for i, k := range r.ProDays {
		if n, err = num(2 + len(r.DayKeys) + i); err != nil {
			return snap, err
		}
		st.PFCount[k] = int(n)
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

// Commit runs the commit script and, in the same pipelined round trip, adds
// the claim to the professional's and the organism's quarter indexes (ZADD NX:
// an index entry whose claim did not commit is skipped by the readers).
func (s *Store) Commit(ctx context.Context, c service.CommitRequest) (service.Committed, error) {
	keys := []string{claimKey(c.BeneficiaryRef, c.ClaimID), countersKey(c.BeneficiaryRef, c.Year),
		beneficiaryKey(c.BeneficiaryRef), auditKey(c.BeneficiaryRef)}
	args := make([]any, 0, 9+10*len(c.Requests))
	args = append(args, c.Digest, c.Blob, c.ReceivedAt.UnixMilli(), int64(claimTTL/time.Second), c.Year, c.ClaimID,
		int64(countersTTL/time.Second), len(c.Requests), c.Meta)
	for _, r := range c.Requests {
		ded, dayf, daycap, cntf, cntcap := "fr", "", "-1", "", 0
		if r.Deduction == franchise.DeductionPF {
			ded = "pf"
			if r.DailyCount > 0 {
				cntf, cntcap = countField(franchise.ProDayKey{Professional: r.Professional, CareDate: r.CareDate}), r.DailyCount
			}
		} else if r.HasDailyCap {
			dayf, daycap = dayField(franchise.DayKey{CareDate: r.CareDate, Kind: r.Kind}), cents(r.DailyCap)
		}
		debt := "0"
		if r.Debt {
			debt = "1"
		}
		args = append(args, ded, r.Units, cents(r.UnitAmount), cents(r.LineLimit), dayf, daycap, cntf, cntcap, cents(r.AnnualCap), debt)
	}
	score := float64(c.ReceivedAt.UnixMilli())
	run := func() (*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		cmd := commitScript.EvalSha(ctx, pipe, keys, args...)
		if c.Professional != "" {
			pipe.ZAddNX(ctx, professionalIndexKey(c.Professional), redis.Z{Score: score, Member: c.ClaimID})
		}
		if c.ReportBucket != "" {
			pipe.ZAddNX(ctx, reportIndexKey(c.ReportBucket), redis.Z{Score: score, Member: c.ClaimID})
		}
		_, err := pipe.Exec(ctx)
		return cmd, err
	}
	cmd, err := run()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := commitScript.Load(ctx, s.rdb).Err(); err != nil {
			return service.Committed{}, wrap(err)
		}
		cmd, err = run()
	}
	if err != nil {
		return service.Committed{}, wrap(err)
	}
	res, err := cmd.StringSlice()
	if err != nil {
		return service.Committed{}, wrap(err)
	}
	switch res[0] {
	case "NEW":
		grants, err := parseGrants(res[1])
		if err != nil {
			return service.Committed{}, err
		}
		bal, err := fromCents(res[2])
		if err != nil {
			return service.Committed{}, err
		}
		return service.Committed{Stored: service.Stored{BeneficiaryRef: c.BeneficiaryRef, Blob: c.Blob, Meta: c.Meta, Grants: grants,
			DebtBalance: bal, ReceivedAt: c.ReceivedAt}}, nil
	case "DUP":
		st, err := storedFrom(c.BeneficiaryRef, res[1], res[2], res[3], res[4], res[5], "")
		st.Meta, st.Payment = bytesOrNil(res[6]), bytesOrNil(res[7])
		return service.Committed{Stored: st, Replayed: true}, err
	case "CONFLICT":
		return service.Committed{}, service.ErrClaimIDReused
	}
	return service.Committed{}, fmt.Errorf("commit script: unexpected reply %q", res[0])
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func parseGrants(s string) ([]service.RawGrant, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]service.RawGrant, len(parts))
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
		g := service.RawGrant{Units: units, Amount: decimal.New(amount, -2), Request: i}
		// In the order the caps are applied, as franchise.Consume lists them.
		for _, b := range []struct {
			bit int
			l   franchise.Limit
		}{{4, franchise.LimitDailyCount}, {1, franchise.LimitLineAMO}, {2, franchise.LimitDailyCap}, {8, franchise.LimitAnnualCap}} {
			if mask&b.bit != 0 {
				g.Limits = append(g.Limits, b.l)
			}
		}
		out[i] = g
	}
	return out, nil
}

func storedFrom(ref, blob, grants, bal, at, state, cancelledAt string) (service.Stored, error) {
	g, err := parseGrants(grants)
	if err != nil {
		return service.Stored{}, err
	}
	b, err := fromCents(bal)
	if err != nil {
		return service.Stored{}, err
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return service.Stored{}, fmt.Errorf("bad stored time %q", at)
	}
	st := service.Stored{BeneficiaryRef: ref, Blob: []byte(blob), Grants: g, DebtBalance: b, ReceivedAt: time.UnixMilli(ms).UTC(), Cancelled: state == "X"}
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
		return "", service.ErrNotFound
	}
	if err != nil {
		return "", wrap(err)
	}
	ref, _, _ := strings.Cut(v, "|")
	return ref, nil
}

// Get returns a committed claim.
func (s *Store) Get(ctx context.Context, claimID string) (service.Stored, error) {
	ref, err := s.locate(ctx, claimID)
	if err != nil {
		return service.Stored{}, err
	}
	v, err := s.rdb.HMGet(ctx, claimKey(ref, claimID), claimFields...).Result()
	if err != nil {
		return service.Stored{}, wrap(err)
	}
	st, ok, err := storedFromValues(ref, v)
	if err == nil && !ok {
		err = service.ErrNotFound
	}
	return st, err
}

// Cancel reverses a committed claim once.
func (s *Store) Cancel(ctx context.Context, claimID string, at time.Time) (service.Cancellation, error) {
	ref, err := s.locate(ctx, claimID)
	if err != nil {
		return service.Cancellation{}, err
	}
	y, err := s.rdb.HGet(ctx, claimKey(ref, claimID), "y").Result()
	if errors.Is(err, redis.Nil) {
		return service.Cancellation{}, service.ErrNotFound
	}
	if err != nil {
		return service.Cancellation{}, wrap(err)
	}
	year, err := strconv.Atoi(y)
	if err != nil {
		return service.Cancellation{}, fmt.Errorf("bad stored year %q", y)
	}
	keys := []string{claimKey(ref, claimID), countersKey(ref, year), beneficiaryKey(ref), auditKey(ref)}
	res, err := cancelScript.Run(ctx, s.rdb, keys, at.UnixMilli(), claimID).StringSlice()
	if err != nil {
		return service.Cancellation{}, wrap(err)
	}
	if res[0] == "NOTFOUND" {
		return service.Cancellation{}, service.ErrNotFound
	}
	out := service.Cancellation{Now: res[0] == "CANCELLED"}
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

// Registry is the beneficiary registry kept in the same Redis.
type Registry struct{ s *Store }

// Registry returns the beneficiary registry.
func (s *Store) Registry() Registry { return Registry{s: s} }

// Upsert registers or replaces a beneficiary's rights; the debt is kept.
func (g Registry) Upsert(ctx context.Context, nir string, b service.Beneficiary) (string, error) {
	ref := g.s.keyer.Ref(nir)
	b.Rights.Debt = decimal.Decimal{}
	b.Rights.Organism = ""
	raw := encodeRecord(beneficiaryRecord{Rights: b.Rights, Attachments: b.Attachments, HasMedecinTraitant: b.HasMedecinTraitant, AMCContract: b.AMCContract})
	if err := g.s.rdb.HSet(ctx, beneficiaryKey(ref), "r", raw).Err(); err != nil {
		return "", wrap(err)
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
func (g Registry) Get(ctx context.Context, nir string) (string, service.Beneficiary, error) {
	ref := g.s.keyer.Ref(nir)
	v, err := g.s.rdb.HMGet(ctx, beneficiaryKey(ref), "r", "debt").Result()
	if err != nil {
		return ref, service.Beneficiary{}, wrap(err)
	}
	raw, ok := v[0].(string)
	if !ok {
		return ref, service.Beneficiary{}, service.ErrNotFound
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return ref, service.Beneficiary{}, err
	}
	b := rec.beneficiary()
	if d, ok := v[1].(string); ok {
		if b.Rights.Debt, err = fromCents(d); err != nil {
			return ref, b, err
		}
	}
	return ref, b, nil
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

// claimFields are the fields of a claim hash that make a service.Stored.
var claimFields = []string{"p", "g", "bal", "at", "st", "xat", "m", "pay"}

func storedFromValues(ref string, v []any) (service.Stored, bool, error) {
	str := make([]string, len(v))
	for i, x := range v {
		str[i], _ = x.(string)
	}
	if str[0] == "" {
		return service.Stored{}, false, nil
	}
	st, err := storedFrom(ref, str[0], str[1], str[2], str[3], str[4], str[5])
	st.Meta, st.Payment = bytesOrNil(str[6]), bytesOrNil(str[7])
	return st, true, err
}

// Release frees a claim id reserved by Read with digest, when the claim did
// not commit (best effort: a reservation left behind only makes a retry with
// the same content succeed and a different content fail, as for a committed
// claim).
func (s *Store) Release(ctx context.Context, claimID, digest string) {
	_ = releaseScript.Run(ctx, s.rdb, []string{claimIndexKey(claimID)}, "|"+digest).Err()
}

// ManagedBy returns every beneficiary ever attached to org.
func (g Registry) ManagedBy(ctx context.Context, org string) ([]service.Beneficiary, error) {
	refs, err := g.s.rdb.SMembers(ctx, managedKey(org)).Result()
	if err != nil {
		return nil, wrap(err)
	}
	var out []service.Beneficiary
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
