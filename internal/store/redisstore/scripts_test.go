package redisstore

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLuaLimitBits: commit.lua's limit bits are store.go's, which
// parseGrants reads.
func TestLuaLimitBits(t *testing.T) {
	m := regexp.MustCompile(`(?m)^local (LIMIT_[A-Z_, ]+) = ([0-9, ]+)$`).FindStringSubmatch(commitLua)
	if m == nil {
		t.Fatal("commit.lua names no LIMIT_* constants")
	}
	names, values := strings.Split(m[1], ", "), strings.Split(m[2], ", ")
	want := map[string]string{"LIMIT_LINE_AMO": "1", "LIMIT_DAILY_CAP": "2", "LIMIT_DAILY_COUNT": "4", "LIMIT_ANNUAL_CAP": "8", "LIMIT_ANNUAL_COUNT": "16"}
	goBits := map[string]int{"LIMIT_LINE_AMO": limitBitLineAMO, "LIMIT_DAILY_CAP": limitBitDailyCap, "LIMIT_DAILY_COUNT": limitBitDailyCount,
		"LIMIT_ANNUAL_CAP": limitBitAnnualCap, "LIMIT_ANNUAL_COUNT": limitBitAnnualCount}
	if len(names) != len(values) || len(names) != len(want) {
		t.Fatalf("commit.lua limits %q = %q", names, values)
	}
	for i, n := range names {
		if values[i] != want[n] || values[i] != strconv.Itoa(goBits[n]) {
			t.Errorf("%s is %s in commit.lua, %d in Go", n, values[i], goBits[n])
		}
	}
	for _, s := range []string{commitLua, cancelLua, paymentLua, releaseLua, casLua, importLua} {
		if !strings.HasPrefix(s, "-- ") {
			t.Errorf("a script without its header comment: %.40q", s)
		}
	}
}
