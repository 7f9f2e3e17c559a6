package redisstore

import (
	"context"
	"errors"
	"fmt"
)

// keyFingerprintKey holds the fingerprint of the HMAC key the store was
// first written with. It names no beneficiary and holds no NIR.
const keyFingerprintKey = "meta:key-fingerprint"

// ErrKeyMismatch: the service's HMAC key is not the one this Redis was
// written with. Every beneficiary would look unknown and every committed
// claim id like another claim: the service must not serve.
var ErrKeyMismatch = errors.New("ADJ_HMAC_SECRET does not match the key this Redis was written with")

// Fingerprint is a public fingerprint of the HMAC key: the keyed hash of a
// fixed label, which tells two keys apart without revealing either.
func (k Keyer) Fingerprint() string {
	return k.Digest([]byte("tierspayant key fingerprint v1"))[:22]
}

// CheckKey records the key's fingerprint in a store that has none and
// compares it with the one recorded otherwise (docs/OPERATIONS.md#hmac-key).
// A mismatch is ErrKeyMismatch; a store that does not answer is
// service.ErrUnavailable.
func (s *Store) CheckKey(ctx context.Context) error {
	fp := s.keyer.Fingerprint()
	if err := s.rdb.SetNX(ctx, keyFingerprintKey, fp, 0).Err(); err != nil {
		return wrap(err)
	}
	got, err := s.rdb.Get(ctx, keyFingerprintKey).Result()
	if err != nil {
		return wrap(err)
	}
	if got != fp {
		return fmt.Errorf("%w (the store's key fingerprint is %s, this service's %s)", ErrKeyMismatch, got, fp)
	}
	return nil
}
