package redisstore

import (
	"errors"
	"fmt"
)

// A committed claim is one string value at claimKey: a version byte, then
// recFields fields in a fixed order, each its length and its bytes (a length
// below 128 in one byte, below 16384 in two with high bits 10, else in four
// with high bits 11); an empty field is an absent one. lua/claimrec.lua
// reads and writes the same layout (its F_* constants are these indexes plus
// one). One value instead of a hash of 12 to 15 fields: a hash with a value
// longer than hash-max-listpack-value (64 bytes, the priced claim is ~700)
// leaves Redis's compact encoding for a table costing about 60 bytes a field.
const (
	recVersion = 1
	recFields  = 15
)

// The fields of the claim record, in their order.
const (
	recDigest = iota // content digest (docs/rules.md#claim-id-reuse)
	recBlob          // the priced claim (claimbin)
	recGrants        // "units:amount:limits,…" in request order
	recInc           // annual increments "f=d;…" of year recYear
	recDinc          // daily increments "careyear|f=d;…"
	recYear          // adjudication year
	recDebt          // patient debt the claim added, cents
	recBal           // the beneficiary's debt balance after it, cents
	recAt            // receipt, Unix ms
	recState         // "C" committed, "X" cancelled
	recMeta          // ClaimMeta (payment tracking)
	recPay           // the payment, once recorded
	recXat           // cancellation instant, Unix ms
	recXinc          // annual amounts the cancellation gave back
	recXdinc         // daily amounts the cancellation gave back
)

var errClaimRecord = errors.New("claim record: malformed")

// decodeClaimRecord splits a claim record into its fields (sub-slices of b).
func decodeClaimRecord(b []byte) ([recFields][]byte, error) {
	var f [recFields][]byte
	if len(b) == 0 || b[0] != recVersion {
		return f, fmt.Errorf("%w: version", errClaimRecord)
	}
	i := 1
	for k := range f {
		if i >= len(b) {
			return f, fmt.Errorf("%w: field %d missing", errClaimRecord, k)
		}
		n, c := 0, b[i]
		switch {
		case c < 0x80:
			n, i = int(c), i+1
		case c < 0xC0:
			if i+1 >= len(b) {
				return f, errClaimRecord
			}
			n, i = int(c&0x3F)<<8|int(b[i+1]), i+2
		default:
			if i+3 >= len(b) {
				return f, errClaimRecord
			}
			n, i = int(c&0x3F)<<24|int(b[i+1])<<16|int(b[i+2])<<8|int(b[i+3]), i+4
		}
		if n > len(b)-i {
			return f, fmt.Errorf("%w: field %d overruns", errClaimRecord, k)
		}
		f[k] = b[i : i+n : i+n]
		i += n
	}
	if i != len(b) {
		return f, fmt.Errorf("%w: trailing bytes", errClaimRecord)
	}
	return f, nil
}

// encodeClaimRecord is the Go mirror of lua/claimrec.lua's rec_pack, for tests
// and tools; the scripts write the records.
func encodeClaimRecord(f [recFields][]byte) []byte {
	out := []byte{recVersion}
	for _, v := range f {
		switch n := len(v); {
		case n < 0x80:
			out = append(out, byte(n))
		case n < 0x4000:
			out = append(out, 0x80|byte(n>>8), byte(n))
		default:
			out = append(out, 0xC0|byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		out = append(out, v...)
	}
	return out
}
