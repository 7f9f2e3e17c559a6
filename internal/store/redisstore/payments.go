package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/organism"
	"github.com/tierspayant/tierspayant/internal/payment"
	"github.com/tierspayant/tierspayant/internal/store"
)

var (
	_ store.PaymentLedger    = (*Store)(nil)
	_ store.FraudRegistry    = FraudRegistry{}
	_ store.OrganismRegistry = OrganismRegistry{}
)

// RecordPayment stores a claim's payment once. It returns
// store.ErrClaimCancelled when the claim is cancelled, checked atomically
// with the write (paymentScript).
func (s *Store) RecordPayment(ctx context.Context, claimID, reference string, pay []byte) ([]byte, bool, error) {
	ref, err := s.locate(ctx, claimID)
	if err != nil {
		return nil, false, err
	}
	res, err := paymentScript.Run(ctx, s.rdb, []string{claimKey(ref, claimID)}, pay).StringSlice()
	if err != nil {
		return nil, false, wrap(err)
	}
	switch res[0] {
	case "NEW":
		return []byte(res[1]), true, nil
	case "OLD":
		return []byte(res[1]), false, nil
	case "CANCELLED":
		return nil, false, store.ErrClaimCancelled
	}
	return nil, false, store.ErrNotFound
}

// Records reads many claims: one pipelined round trip for their references,
// one for their records.
func (s *Store) Records(ctx context.Context, claimIDs []string) ([]store.Stored, error) {
	out := make([]store.Stored, len(claimIDs))
	if len(claimIDs) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	idx := make([]*redis.StringCmd, len(claimIDs))
	for i, id := range claimIDs {
		idx[i] = pipe.Get(ctx, claimIndexKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	pipe = s.rdb.Pipeline()
	refs := make([]string, len(claimIDs))
	recs := make([]*redis.StringCmd, len(claimIDs))
	for i, id := range claimIDs {
		v, err := idx[i].Result()
		if err != nil {
			continue
		}
		refs[i], _, _ = strings.Cut(v, "|")
		recs[i] = pipe.Get(ctx, claimKey(refs[i], id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	for i := range claimIDs {
		if recs[i] == nil || recs[i].Err() != nil {
			continue // unknown id, or its record expired
		}
		st, err := storedFromRecord(refs[i], []byte(recs[i].Val()))
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// ClaimsOf lists a professional's claim ids, most recent first.
func (s *Store) ClaimsOf(ctx context.Context, professional string, offset, limit int) ([]string, error) {
	ids, err := s.rdb.ZRevRange(ctx, professionalIndexKey(professional), int64(offset), int64(offset+limit-1)).Result()
	return ids, wrap(err)
}

// ClaimsIn lists the claim ids an organism received in a quarter.
func (s *Store) ClaimsIn(ctx context.Context, org, quarter string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, reportIndexKey(org+"|"+quarter), 0, -1).Result()
	return ids, wrap(err)
}

// ClaimsInPage lists limit of an organism's claim ids received in a quarter
// from offset, in the order of their receipt.
func (s *Store) ClaimsInPage(ctx context.Context, org, quarter string, offset, limit int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, reportIndexKey(org+"|"+quarter), int64(offset), int64(offset+limit-1)).Result()
	return ids, wrap(err)
}

// FraudRegistry keeps the fraud regimes in one hash.
type FraudRegistry struct{ rdb redis.UniversalClient }

// Fraud returns the fraud-regime registry.
func (s *Store) Fraud() FraudRegistry { return FraudRegistry{rdb: s.rdb} }

// Get returns a professional's regimes.
func (f FraudRegistry) Get(ctx context.Context, professional string) ([]payment.FraudRegime, error) {
	raw, err := f.rdb.HGet(ctx, fraudKey, professional).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(err)
	}
	var rs []payment.FraudRegime
	if err := json.Unmarshal([]byte(raw), &rs); err != nil {
		return nil, fmt.Errorf("decode fraud regimes: %w", err)
	}
	return rs, nil
}

// Set replaces a professional's regimes.
func (f FraudRegistry) Set(ctx context.Context, professional string, rs []payment.FraudRegime) error {
	raw, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return wrap(f.rdb.HSet(ctx, fraudKey, professional, raw).Err())
}

// OrganismRegistry keeps the organisms in one hash.
type OrganismRegistry struct{ rdb redis.UniversalClient }

// Organisms returns the organism registry.
func (s *Store) Organisms() OrganismRegistry { return OrganismRegistry{rdb: s.rdb} }

// Upsert records an organism.
func (r OrganismRegistry) Upsert(ctx context.Context, o organism.Organism) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return wrap(r.rdb.HSet(ctx, organismsKey, o.Code, raw).Err())
}

// Get returns an organism.
func (r OrganismRegistry) Get(ctx context.Context, code string) (organism.Organism, error) {
	raw, err := r.rdb.HGet(ctx, organismsKey, code).Result()
	if errors.Is(err, redis.Nil) {
		return organism.Organism{}, store.ErrNotFound
	}
	if err != nil {
		return organism.Organism{}, wrap(err)
	}
	var o organism.Organism
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return o, fmt.Errorf("decode organism: %w", err)
	}
	return o, nil
}

// List returns every organism, sorted by code.
func (r OrganismRegistry) List(ctx context.Context) ([]organism.Organism, error) {
	all, err := r.rdb.HGetAll(ctx, organismsKey).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]organism.Organism, 0, len(all))
	for _, raw := range all {
		var o organism.Organism
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return nil, fmt.Errorf("decode organism: %w", err)
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}
