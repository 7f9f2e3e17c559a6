package app_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// nirWithKey appends the control key to a 13-digit NIR.
func nirWithKey(t *testing.T, first13 string) string {
	t.Helper()
	n, err := strconv.ParseInt(first13, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s%02d", first13, 97-n%97)
}

// copyDir copies the regular files of src (one level of subfolders, as
// Redis 7's appendonlydir) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			copyDir(t, from, to)
			continue
		}
		copyFile(t, from, to)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitPersistence waits until Redis has no RDB save or AOF rewrite running.
func waitPersistence(t *testing.T, rdb *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		info := rdb.Info(context.Background(), "persistence").Val()
		if strings.Contains(info, "rdb_bgsave_in_progress:0") && strings.Contains(info, "aof_rewrite_in_progress:0") &&
			strings.Contains(info, "aof_rewrite_scheduled:0") && !strings.Contains(info, "rdb_last_bgsave_status:err") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("Redis did not finish its save")
}

// TestRestore is the backup and restore procedure of
// docs/OPERATIONS.md#backups-and-restore: claims adjudicated on a Redis with
// appendonly yes, a copy of its files (the RDB after BGSAVE, the AOF folder
// after BGREWRITEAOF), a fresh redis-server started on the copy: reconcile
// finds 0 differences and the service reads the claims back.
func TestRestore(t *testing.T) {
	src, err := redistest.Start("--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)
	var secret string
	_, conn := startWith(t, src.Addr, func(c *config.Config) { secret = c.HMACSecret })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	bc, cc := tpv1.NewBeneficiaryServiceClient(conn), tpv1.NewClaimServiceClient(conn)
	var ids []string
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	for b := 1; b <= 4; b++ {
		n := nirWithKey(t, fmt.Sprintf("1850578006%03d", b))
		if _, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{
			Nir: n, BirthDate: "1985-05-20", Rights: []*tpv1.DatePeriod{{Start: "2020-01-01"}},
			Organisms:          []*tpv1.OrganismAttachment{{OrganismCode: "CPAM75", Period: &tpv1.DatePeriod{Start: "2020-01-01"}}},
			HasMedecinTraitant: true,
		}}); err != nil {
			t.Fatalf("beneficiary %d: %v", b, err)
		}
		for k := 1; k <= 3; k++ {
			c := gpClaim(fmt.Sprintf("R%s-%d-%d", nonce, b, k))
			c.Nir = n
			if _, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c}); err != nil {
				t.Fatalf("claim %s: %v", c.GetClaimId(), err)
			}
			ids = append(ids, c.GetClaimId())
		}
	}
	// One cancel, so that the records hold a cancel too.
	if _, err := cc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: ids[1], Reason: "restore test"}); err != nil {
		t.Fatal(err)
	}

	// The backup: an RDB snapshot and an AOF rewrite, then a copy of the files.
	rdb := src.Client(t)
	dir := rdb.ConfigGet(ctx, "dir").Val()["dir"]
	aofDir := rdb.ConfigGet(ctx, "appenddirname").Val()["appenddirname"]
	waitPersistence(t, rdb)
	if err := rdb.BgSave(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitPersistence(t, rdb)
	if err := rdb.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitPersistence(t, rdb)
	backup := t.TempDir()
	copyFile(t, filepath.Join(dir, "dump.rdb"), filepath.Join(backup, "rdb", "dump.rdb"))
	copyDir(t, filepath.Join(dir, aofDir), filepath.Join(backup, "aof", aofDir))
	wantKeys := rdb.DBSize(ctx).Val()

	for _, kind := range []struct {
		name  string
		extra []string
	}{{"rdb", []string{"--appendonly", "no"}}, {"aof", []string{"--appendonly", "yes"}}} {
		t.Run(kind.name, func(t *testing.T) {
			port, err := redistest.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			// StartOn removes its folder on Stop: give it a copy.
			restoreDir := filepath.Join(t.TempDir(), "data")
			copyDir(t, filepath.Join(backup, kind.name), restoreDir)
			dst, err := redistest.StartOn(port, restoreDir, kind.extra...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(dst.Stop)
			rc := dst.Client(t)
			var got int64
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				// Redis answers LOADING while it reads its files.
				if got, err = rc.DBSize(ctx).Result(); err == nil {
					break
				}
			}
			if got != wantKeys {
				t.Fatalf("restored %d keys, the source had %d", got, wantKeys)
			}

			// reconcile, as `adjudicator reconcile` runs it.
			diffs := 0
			stats, err := redisstore.New(rc, redisstore.NewKeyer(nil)).Reconcile(ctx, clock.Year()-1, func(d redisstore.Difference) {
				diffs++
				t.Errorf("DIFFERENCE %v", d)
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("reconciled %d beneficiaries: %d commits, %d cancels, %d differences", stats.Beneficiaries, stats.Commits, stats.Cancels, diffs)
			if stats.Beneficiaries != 4 || stats.Commits != len(ids) || stats.Cancels != 1 || diffs != 0 {
				t.Fatalf("reconcile: %+v, %d differences; want 4 beneficiaries, %d commits, 1 cancel, 0 differences", stats, diffs, len(ids))
			}

			// The service, with the same HMAC key, reads the claims back.
			_, rconn := startWith(t, dst.Addr, func(c *config.Config) { c.HMACSecret = secret })
			rcc := tpv1.NewClaimServiceClient(rconn)
			for i, id := range ids {
				r, err := rcc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: id})
				if err != nil {
					t.Fatalf("GetClaim %s after restore: %v", id, err)
				}
				if r.GetDecision() == nil {
					t.Fatalf("GetClaim %s after restore: no decision", id)
				}
				if i == 1 {
					if _, err := rcc.CancelClaim(ctx, &tpv1.CancelClaimRequest{ClaimId: id, Reason: "again"}); err != nil {
						t.Fatalf("second cancel after restore: %v", err)
					}
				}
			}
		})
	}
}
