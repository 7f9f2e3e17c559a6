package redisstore

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestClusterKeySlots: every key a script touches hashes to one slot, so the
// scripts run unchanged on Redis Cluster. Checked with CLUSTER KEYSLOT on the
// embedded store and, under `make test-cluster`, on a real Cluster.
func TestClusterKeySlots(t *testing.T) {
	clients := map[string]*redis.Client{}
	m := miniredis.RunT(t)
	clients["embedded"] = redis.NewClient(&redis.Options{Addr: m.Addr()})
	if addrs := os.Getenv("TIERSPAYANT_TEST_CLUSTER"); addrs != "" {
		clients["cluster"] = redis.NewClient(&redis.Options{Addr: strings.Split(addrs, ",")[0]})
	}
	k := NewKeyer([]byte("secret"))
	ref := k.Ref("185057800608491")
	scripts := map[string][]string{
		"commit": {claimKey(ref, "PRO-INV-1"), countersKey(ref, 2026), beneficiaryKey(ref), claimsOfKey(ref),
			dailyKey(ref, 2025), dailyKey(ref, 2026)},
		"cancel": {claimKey(ref, "PRO-INV-1"), countersKey(ref, 2024), beneficiaryKey(ref),
			dailyKey(ref, 2023), dailyKey(ref, 2024)},
		"payment": {claimKey(ref, "PRO-INV-1")},
		"cas":     {locate("1234567890").bucket, oppVersionKey, oppLogKey},
		"import":  {oppVersionKey, oppLogKey, locate("a").bucket, locate("12").bucket, locate("app-zzzz").bucket},
	}
	for name, c := range clients {
		defer c.Close()
		for script, keys := range scripts {
			var first int64 = -1
			for _, key := range keys {
				slot, err := c.ClusterKeySlot(context.Background(), key).Result()
				if err != nil {
					t.Fatalf("%s: CLUSTER KEYSLOT %s: %v", name, key, err)
				}
				if first == -1 {
					first = slot
				} else if slot != first {
					t.Errorf("%s: script %s: key %s in slot %d, first key in %d", name, script, key, slot, first)
				}
			}
		}
	}
	if strings.Contains(claimKey(ref, "x")+countersKey(ref, 2025)+dailyKey(ref, 2025)+beneficiaryKey(ref), "185057800608491") {
		t.Fatal("a key contains the NIR")
	}
}
