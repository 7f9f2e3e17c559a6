package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tierspayant/tierspayant/internal/opposition"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// natl is an administrator: the national list.
var natl = opposition.Actor{ID: "test-admin"}

func TestStoreOppositions(t *testing.T) {
	tgs := targets(t)
	// The opposition list is global: on the shared server, other test binaries
	// add oppositions and trim the change log. Use a private one.
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	private := redis.NewUniversalClient(opts(srv.Addr))
	defer private.Close()
	tgs[0] = target{"redis", private}
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			// A log long enough to keep every change of this test (the
			// trimming itself is TestStoreOppositionLogTrimmed's).
			list := redisstore.NewOppositions(tg.rdb).WithLogRetention(1 << 20)
			id := fmt.Sprintf("card%d", time.Now().UnixNano())
			eff := time.Date(2025, 5, 28, 14, 0, 0, 0, time.UTC)
			v0, err := list.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, v1, err := list.Add(ctx, id, opposition.ReasonTheft, eff, now, natl)
			if err != nil || v1 <= v0 {
				t.Fatalf("add: version %d after %d, %v", v1, v0, err)
			}
			if _, _, err := list.Add(ctx, id, opposition.ReasonLoss, eff, now, natl); !errors.Is(err, opposition.ErrAlreadyOpposed) {
				t.Fatalf("second add: %v", err)
			}
			e, err := list.Entry(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				at   time.Time
				want bool
			}{{eff.Add(-time.Millisecond), false}, {eff, true}, {eff.Add(time.Hour), true}} {
				if _, got := e.OpposedAt(c.at); got != c.want {
					t.Errorf("opposed at %v = %v, want %v", c.at, got, c.want)
				}
			}
			lift := eff.Add(48 * time.Hour)
			if _, _, err := list.Lift(ctx, id, lift, now, natl); err != nil {
				t.Fatal(err)
			}
			if _, _, err := list.Lift(ctx, id, lift, now, natl); !errors.Is(err, opposition.ErrNotOpposed) {
				t.Fatalf("second lift: %v", err)
			}
			e, _ = list.Entry(ctx, id)
			if _, got := e.OpposedAt(lift.Add(-time.Millisecond)); !got {
				t.Error("opposed just before the lift")
			}
			if _, got := e.OpposedAt(lift); got {
				t.Error("not opposed from the lift time on")
			}

			// Bulk import, then watch from the version before it.
			n := 100000
			if tg.name == "embedded" {
				n = 10000
			}
			items := make([]redisstore.ImportItem, n)
			for i := range items {
				items[i] = redisstore.ImportItem{Identifier: fmt.Sprintf("%s-i%07d", id, i), Reason: opposition.ReasonLoss, Effective: eff}
			}
			vBefore, _ := list.Version(ctx)
			start := time.Now()
			added, vAfter, err := list.Import(ctx, items, now, natl)
			if err != nil || added != n {
				t.Fatalf("import: %d of %d, %v", added, n, err)
			}
			t.Logf("%s: imported %d entries in %v (%.0f entries/s)", tg.name, n, time.Since(start), float64(n)/time.Since(start).Seconds())
			if vAfter < vBefore+uint64(n) {
				t.Fatalf("version %d after import from %d", vAfter, vBefore)
			}
			again, _, err := list.Import(ctx, items[:10], now, natl)
			if err != nil || again != 0 {
				t.Fatalf("re-import of opposed identifiers added %d (%v)", again, err)
			}
			e, _ = list.Entry(ctx, items[n-1].Identifier)
			if _, got := e.OpposedAt(eff); !got {
				t.Error("imported identifier not opposed")
			}
			changes, err := list.Changes(ctx, v0, 3, 0)
			if err != nil || len(changes) != 3 {
				t.Fatalf("changes after %d: %v %v", v0, changes, err)
			}
			if changes[0].Version != v1 || changes[0].Identifier != id || changes[0].Lifted {
				t.Errorf("first change %+v, want the add at version %d", changes[0], v1)
			}
			if !changes[1].Lifted || changes[1].Version <= changes[0].Version {
				t.Errorf("second change %+v, want the lift", changes[1])
			}
			tail, err := list.Changes(ctx, vAfter-1, 10, 0)
			if err != nil || len(tail) != 1 || tail[0].Version != vAfter {
				t.Fatalf("tail after %d: %v %v", vAfter-1, tail, err)
			}
			// A blocking read returns the next change as it happens.
			got := make(chan []redisstore.Change, 1)
			go func() {
				c, _ := list.Changes(ctx, vAfter, 10, 3*time.Second)
				got <- c
			}()
			time.Sleep(100 * time.Millisecond)
			if _, _, err := list.Add(ctx, id, opposition.ReasonCompromise, now, now, natl); err != nil {
				t.Fatal(err)
			}
			if c := <-got; len(c) == 0 || c[0].Identifier != id {
				t.Fatalf("blocking watch: %v", c)
			}
		})
	}
}

// BenchmarkOppositionImport imports b.N oppositions (10-digit card serials)
// into a fresh redis-server and reports entries/s and Redis bytes per entry
// (used_memory delta). `go test -run X -bench OppositionImport -benchtime 1000000x`
// gives the figures at 1M entries.
func BenchmarkOppositionImport(b *testing.B) { benchImport(b, 0) }

// BenchmarkOppositionImportShortLog is the same with a change log of about
// 1 000 changes: what the buckets alone cost.
func BenchmarkOppositionImportShortLog(b *testing.B) { benchImport(b, 1000) }

func benchImport(b *testing.B, retention int) {
	srv, err := redistest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	rdb := srv.Client(b)
	ctx := context.Background()
	mem := func() int64 {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		b.Fatal("no used_memory")
		return 0
	}
	list := redisstore.NewOppositions(rdb)
	if retention > 0 {
		list = list.WithLogRetention(retention)
	}
	items := make([]redisstore.ImportItem, b.N)
	eff := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range items {
		items[i] = redisstore.ImportItem{Identifier: strconv.Itoa(1000000000 + i*7919%900000000), Reason: opposition.ReasonLoss, Effective: eff.Add(time.Duration(i) * time.Second)}
	}
	redisCPU := func() float64 {
		info, err := rdb.Info(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		var total float64
		for _, l := range strings.Split(info, "\r\n") {
			for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
				if v, ok := strings.CutPrefix(l, k); ok {
					f, _ := strconv.ParseFloat(v, 64)
					total += f
				}
			}
		}
		return total
	}
	before, rcpu0, cpu0 := mem(), redisCPU(), processCPU()
	b.ResetTimer()
	const chunk = 50000
	for start := 0; start < len(items); start += chunk {
		if _, _, err := list.Import(ctx, items[start:min(start+chunk, len(items))], now, natl); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(mem()-before)/float64(b.N), "redis-bytes/entry")
	// Where an entry's cost lies: Redis's CPU and the importing process's.
	b.ReportMetric((redisCPU()-rcpu0)*1e6/float64(b.N), "redis-cpu-µs/entry")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "client-cpu-µs/entry")
}

// TestStoreOppositionLogTrimmed: a watcher older than the retained log is
// told so, and a snapshot gives it the whole list with the version to follow
// from.
func TestStoreOppositionLogTrimmed(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rdb := srv.Client(t)
	ctx := context.Background()
	list := redisstore.NewOppositions(rdb).WithLogRetention(10)
	items := make([]redisstore.ImportItem, 1000)
	for i := range items {
		id := strconv.Itoa(5000000000 + i)
		if i%2 == 1 {
			id = "app-" + id
		}
		items[i] = redisstore.ImportItem{Identifier: id, Reason: opposition.ReasonTheft, Effective: now.Add(time.Duration(i) * time.Second)}
	}
	if _, _, err := list.Import(ctx, items, now, natl); err != nil {
		t.Fatal(err)
	}
	if _, _, err := list.Lift(ctx, items[0].Identifier, now.Add(time.Hour), now, natl); err != nil {
		t.Fatal(err)
	}
	if _, err := list.Changes(ctx, 0, 10, 0); !errors.Is(err, redisstore.ErrLogTrimmed) {
		t.Fatalf("changes from 0 with a trimmed log: %v", err)
	}
	seen := map[string]opposition.Entry{}
	v, err := list.Snapshot(ctx, func(version uint64, id string, e opposition.Entry) error {
		seen[id] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v != 1001 || len(seen) != 1000 {
		t.Fatalf("snapshot: version %d, %d entries", v, len(seen))
	}
	for i, it := range items {
		e := seen[it.Identifier]
		if len(e.Periods) != 1 || !e.Periods[0].Effective.Equal(it.Effective) || e.Periods[0].Reason != opposition.ReasonTheft {
			t.Fatalf("entry %s: %+v", it.Identifier, e)
		}
		if lifted := !e.Periods[0].Lifted.IsZero(); lifted != (i == 0) {
			t.Fatalf("entry %s lifted=%v", it.Identifier, lifted)
		}
	}
	if c, err := list.Changes(ctx, v, 10, 0); err != nil || len(c) != 0 {
		t.Fatalf("changes after the snapshot: %v %v", c, err)
	}
}

// TestStoreOppositionBatchLog: an import logs one entry per batch; a watcher
// still sees every change once, in version order, whatever version it starts
// from and however many it asks for at a time, imports and single changes
// mixed.
func TestStoreOppositionBatchLog(t *testing.T) {
	tgs := targets(t)
	// The list is global: a private server, as in TestStoreOppositions.
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	private := redis.NewUniversalClient(opts(srv.Addr))
	defer private.Close()
	tgs[0] = target{"redis", private}
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			list := redisstore.NewOppositions(tg.rdb)
			v0, err := list.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			items := make([]redisstore.ImportItem, 250)
			want := map[string]time.Time{}
			for i := range items {
				id := fmt.Sprintf("batchlog-%s-%d", runID, i)
				if i%3 == 0 {
					id = strconv.Itoa(7000000000 + int(time.Now().UnixNano()%1000000)*1000 + i)
				}
				items[i] = redisstore.ImportItem{Identifier: id, Reason: opposition.ReasonLoss, Effective: now.Add(-time.Duration(i) * time.Minute)}
				want[id] = time.Unix(items[i].Effective.Unix(), 0).UTC()
			}
			n, vEnd, err := list.Import(ctx, items, now, natl)
			if err != nil || n != len(items) || vEnd != v0+uint64(len(items)) {
				t.Fatalf("import: %d entries, version %d → %d, %v", n, v0, vEnd, err)
			}
			all, err := list.Changes(ctx, v0, 10000, 0)
			if err != nil || len(all) != len(items) {
				t.Fatalf("changes after %d: %d of %d, %v", v0, len(all), len(items), err)
			}
			for i, c := range all {
				eff, ok := want[c.Identifier]
				if c.Version != v0+uint64(i)+1 || !ok || c.Lifted || len(c.Entry.Periods) != 1 || !c.Entry.Periods[0].Effective.Equal(eff) || !c.RecordedAt.Equal(now.Truncate(time.Millisecond)) {
					t.Fatalf("change %d: %+v", i, c)
				}
				delete(want, c.Identifier)
			}
			// From the middle of a batch, a few at a time.
			mid, err := list.Changes(ctx, v0+150, 7, 0)
			if err != nil || len(mid) != 7 || mid[0].Version != v0+151 || mid[6].Version != v0+157 || mid[0].Identifier != all[150].Identifier {
				t.Fatalf("7 changes after %d: %+v %v", v0+150, mid, err)
			}
			// Paging through with a small count sees each change once, in order.
			if _, _, err := list.Add(ctx, items[0].Identifier+"x", opposition.ReasonTheft, now, now, natl); err != nil {
				t.Fatal(err)
			}
			var paged []redisstore.Change
			for after := v0; ; {
				page, err := list.Changes(ctx, after, 30, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				after = page[len(page)-1].Version
			}
			if len(paged) != len(items)+1 || paged[len(items)].Identifier != items[0].Identifier+"x" {
				t.Fatalf("paged: %d changes, want %d", len(paged), len(items)+1)
			}
			for i, c := range paged {
				if c.Version != v0+uint64(i)+1 {
					t.Fatalf("paged change %d has version %d", i, c.Version)
				}
			}
			// A blocked watcher wakes up on an import.
			got := make(chan []redisstore.Change, 1)
			last := v0 + uint64(len(items)) + 1
			go func() {
				c, _ := list.Changes(ctx, last, 100, 3*time.Second)
				got <- c
			}()
			time.Sleep(100 * time.Millisecond)
			more := []redisstore.ImportItem{{Identifier: fmt.Sprintf("batchlog-%s-late", runID), Reason: opposition.ReasonCompromise, Effective: now}}
			if _, _, err := list.Import(ctx, more, now, natl); err != nil {
				t.Fatal(err)
			}
			if c := <-got; len(c) != 1 || c[0].Identifier != more[0].Identifier || c[0].Version != last+1 {
				t.Fatalf("blocked watcher: %+v", c)
			}
		})
	}
}

// TestStoreOppositionOwnership (issue 14.2): an opposition belongs to the
// organism whose operator entered it (an administrator's to the national
// list); another organism cannot lift it, its owner and an administrator
// can, an import by an operator is owned the same way, and the log records
// who made each change.
func TestStoreOppositionOwnership(t *testing.T) {
	tgs := targets(t)
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	private := redis.NewUniversalClient(opts(srv.Addr))
	defer private.Close()
	tgs[0] = target{"redis", private}
	mut01 := opposition.Actor{ID: "op-mut01", Organism: "MUT01"}
	mut02 := opposition.Actor{ID: "op-mut02", Organism: "MUT02"}
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			list := redisstore.NewOppositions(tg.rdb).WithLogRetention(1 << 20)
			eff := time.Date(2025, 5, 28, 14, 0, 0, 0, time.UTC)
			base := time.Now().UnixNano() % 1e12
			owned, national, imported := strconv.FormatInt(base*10+1, 10), fmt.Sprintf("app-%d", base), strconv.FormatInt(base*10+3, 10)
			v0, err := list.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			e, _, err := list.Add(ctx, owned, opposition.ReasonTheft, eff, now, mut01)
			if err != nil || e.Periods[0].Owner != "MUT01" {
				t.Fatalf("operator's add: %+v %v", e, err)
			}
			if _, _, err := list.Add(ctx, national, opposition.ReasonLoss, eff, now, natl); err != nil {
				t.Fatal(err)
			}
			if _, _, err := list.Lift(ctx, owned, eff.Add(time.Hour), now, mut02); !errors.Is(err, opposition.ErrNotOwner) {
				t.Errorf("another organism lifts: %v", err)
			}
			if _, _, err := list.Lift(ctx, national, eff.Add(time.Hour), now, mut01); !errors.Is(err, opposition.ErrNotOwner) {
				t.Errorf("an organism lifts the national list's: %v", err)
			}
			if e, _ := list.Entry(ctx, owned); len(e.Periods) != 1 || !e.Periods[0].Lifted.IsZero() || e.Periods[0].Owner != "MUT01" {
				t.Fatalf("entry after the refused lift: %+v", e)
			}
			if _, _, err := list.Lift(ctx, owned, eff.Add(time.Hour), now, mut01); err != nil {
				t.Errorf("owner lifts: %v", err)
			}
			if _, _, err := list.Lift(ctx, national, eff.Add(time.Hour), now, natl); err != nil {
				t.Errorf("administrator lifts: %v", err)
			}
			// An import by MUT02: a fresh identifier and the lifted one,
			// both then MUT02's.
			items := []redisstore.ImportItem{{Identifier: imported, Reason: opposition.ReasonTheft, Effective: eff}, {Identifier: owned, Reason: opposition.ReasonLoss, Effective: eff.Add(2 * time.Hour)}}
			if n, _, err := list.Import(ctx, items, now, mut02); err != nil || n != 2 {
				t.Fatalf("import: %d, %v", n, err)
			}
			for _, id := range []string{imported, owned} {
				e, err := list.Entry(ctx, id)
				if err != nil || e.Periods[len(e.Periods)-1].Owner != "MUT02" || !e.Periods[len(e.Periods)-1].Lifted.IsZero() {
					t.Errorf("%s after MUT02's import: %+v %v", id, e, err)
				}
			}
			if n, _, err := list.Import(ctx, items, now, mut02); err != nil || n != 0 {
				t.Errorf("replayed import added %d, %v", n, err)
			}
			if _, _, err := list.Lift(ctx, imported, eff.Add(time.Hour), now, mut01); !errors.Is(err, opposition.ErrNotOwner) {
				t.Errorf("MUT01 lifts MUT02's import: %v", err)
			}
			changes, err := list.Changes(ctx, v0, 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			var by []string
			for _, c := range changes {
				if c.Identifier == owned || c.Identifier == national || c.Identifier == imported {
					by = append(by, c.By)
				}
			}
			want := []string{"op-mut01", "test-admin", "op-mut01", "test-admin", "op-mut02", "op-mut02"}
			if strings.Join(by, ",") != strings.Join(want, ",") {
				t.Errorf("recorded actors %v, want %v", by, want)
			}
		})
	}
}
