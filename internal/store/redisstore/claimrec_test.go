package redisstore

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// recordSamples have fields of every length class, at their bounds.
func recordSamples() [][recFields][]byte {
	var out [][recFields][]byte
	for _, n := range []int{0, 1, 127, 128, 129, 16383, 16384, 70000} {
		var f [recFields][]byte
		for k := range f {
			if k%3 == 0 {
				f[k] = bytes.Repeat([]byte{byte('a' + k)}, n)
			} else {
				f[k] = []byte(strings.Repeat("x", k))
			}
		}
		out = append(out, f)
	}
	return out
}

func TestClaimRecordRoundTrip(t *testing.T) {
	for _, f := range recordSamples() {
		b := encodeClaimRecord(f)
		got, err := decodeClaimRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		for k := range f {
			if !bytes.Equal(got[k], f[k]) {
				t.Fatalf("field %d: %d bytes back for %d", k, len(got[k]), len(f[k]))
			}
		}
		// Every strict prefix and any trailing byte is refused.
		for _, cut := range []int{0, 1, len(b) / 2, len(b) - 1} {
			if _, err := decodeClaimRecord(b[:cut]); err == nil {
				t.Fatalf("a record cut at %d of %d bytes was accepted", cut, len(b))
			}
		}
		if _, err := decodeClaimRecord(append(b, 0)); err == nil {
			t.Fatal("a record with a trailing byte was accepted")
		}
	}
}

// TestClaimRecordLuaAgrees: lua/claimrec.lua writes the bytes Go writes and
// reads them back, on the real redis-server and on the embedded store.
func TestClaimRecordLuaAgrees(t *testing.T) {
	srv, emb := redistest.Shared(t), miniredis.RunT(t)
	script := redis.NewScript(claimrecLua + `
local f = {}
for k = 1, REC_NFIELDS do f[k] = ARGV[k] end
local packed = rec_pack(f)
local back = rec_unpack(packed)
for k = 1, REC_NFIELDS do
  if back[k] ~= f[k] then return redis.error_reply('field ' .. k .. ' differs') end
end
return packed`)
	for _, addr := range []string{srv.Addr, emb.Addr()} {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		luaAgrees(t, rdb, script)
	}
}

func luaAgrees(t *testing.T, rdb *redis.Client, script *redis.Script) {
	for _, f := range recordSamples() {
		args := make([]any, recFields)
		for k := range f {
			args[k] = f[k]
		}
		got, err := script.Run(context.Background(), rdb, nil, args...).Text()
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeClaimRecord(f); got != string(want) {
			t.Fatalf("Lua packed %d bytes, Go %d", len(got), len(want))
		}
	}
}

func FuzzDecodeClaimRecord(f *testing.F) {
	for _, s := range recordSamples()[:4] {
		f.Add(encodeClaimRecord(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := decodeClaimRecord(b)
		if err != nil {
			return
		}
		if again := encodeClaimRecord(fields); !bytes.Equal(again, b) && len(again) >= len(b) {
			// A decodable record re-encodes to itself or to a shorter form
			// (a length written in more bytes than it needs).
			t.Fatalf("re-encoded %d bytes to %d", len(b), len(again))
		}
	})
}
