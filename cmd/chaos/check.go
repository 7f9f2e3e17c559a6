package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// ack is what a client was told about a claim: the decision (with replayed
// cleared) and the beneficiary it concerns.
type ack struct {
	decision *tpv1.Decision
	ben      int
}

var reconciledRE = regexp.MustCompile(`reconciled (\d+) beneficiaries: (\d+) commits, (\d+) cancels, (\d+) differences`)

// check verifies the state after a phase:
//   - `adjudicator reconcile` exits 0 (counters and debt = the sums of the
//     claim records, so no claim counted twice) and it finds exactly one
//     committed record per acknowledged claim;
//   - every acknowledged claim reads back (GetClaim) with the decision the
//     client received, replayed flag aside;
//   - every beneficiary's outstanding debt is the sum of the patient debt of
//     its acknowledged claims, and the highest debt balance they announced.
func check(ctx context.Context, label, bin, redisAddr string, cc tpv1.ClaimServiceClient, bc tpv1.BeneficiaryServiceClient, acked map[string]ack) (mismatches int, err error) {
	out, rerr := exec.CommandContext(ctx, bin, "reconcile", "--redis", redisAddr, "--since-year", strconv.Itoa(time.Now().Year()-1)).CombinedOutput()
	fmt.Printf("chaos: [%s] reconcile: %s", label, indentAfterFirst(string(out)))
	if rerr != nil {
		return 0, fmt.Errorf("[%s] reconcile failed: %w", label, rerr)
	}
	m := reconciledRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("[%s] reconcile: unexpected output", label)
	}
	if commits, _ := strconv.Atoi(m[2]); commits != len(acked) {
		return 0, fmt.Errorf("[%s] the beneficiaries list %d committed claims for %d acknowledged claims", label, commits, len(acked))
	}

	// Read back every acknowledged claim, 16 at a time.
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var (
		mu       sync.Mutex
		reports  []string
		readErrs []string
		wg       sync.WaitGroup
	)
	next := make(chan string)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				got, err := retry(ctx, func(cctx context.Context) (*tpv1.GetClaimResponse, error) {
					return cc.GetClaim(cctx, &tpv1.GetClaimRequest{ClaimId: id})
				})
				mu.Lock()
				switch {
				case err != nil:
					readErrs = append(readErrs, fmt.Sprintf("%s: %v", id, err))
				case !proto.Equal(clearReplayed(got.GetDecision()), acked[id].decision):
					mismatches++
					reports = append(reports, fmt.Sprintf("MISMATCH %s (replayed=%v on read)\n  acknowledged: %s\n  stored:       %s", id,
						got.GetDecision().GetReplayed(), oneLine(acked[id].decision), oneLine(got.GetDecision())))
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	sort.Strings(reports)
	for i, r := range reports {
		if i == 5 {
			fmt.Printf("chaos: [%s] ... %d more mismatches\n", label, len(reports)-5)
			break
		}
		fmt.Printf("chaos: [%s] %s\n", label, r)
	}
	fmt.Printf("chaos: [%s] %d acknowledged claims read back: %d identical, %d mismatches, %d unreadable\n",
		label, len(ids), len(ids)-mismatches-len(readErrs), mismatches, len(readErrs))
	if len(readErrs) > 0 {
		sort.Strings(readErrs)
		return mismatches, fmt.Errorf("[%s] %d acknowledged claims not readable, first: %s", label, len(readErrs), readErrs[0])
	}
	if mismatches > 0 {
		return mismatches, fmt.Errorf("[%s] %d acknowledged decisions differ from the stored ones", label, mismatches)
	}

	// Debt per beneficiary: the sum of what the acknowledged claims recorded.
	type sums struct{ debt, maxBalance int64 }
	want := map[int]*sums{}
	for id, a := range acked {
		s := want[a.ben]
		if s == nil {
			s = &sums{}
			want[a.ben] = s
		}
		d, err1 := cents(a.decision.GetTotals().GetPatientDebt())
		bal, err2 := cents(a.decision.GetDebtBalance())
		if err := errors.Join(err1, err2); err != nil {
			return 0, fmt.Errorf("[%s] claim %s: %w", label, id, err)
		}
		s.debt += d
		s.maxBalance = max(s.maxBalance, bal)
	}
	bens := make([]int, 0, len(want))
	for b := range want {
		bens = append(bens, b)
	}
	sort.Ints(bens)
	var debtErrs []string
	var total int64
	for _, b := range bens {
		got, err := retry(ctx, func(cctx context.Context) (*tpv1.GetBeneficiaryResponse, error) {
			return bc.GetBeneficiary(cctx, &tpv1.GetBeneficiaryRequest{Nir: nir(b)})
		})
		if err != nil {
			return 0, fmt.Errorf("[%s] beneficiary %d: %w", label, b, err)
		}
		debt, err := cents(got.GetBeneficiary().GetOutstandingDebt())
		if err != nil {
			return 0, fmt.Errorf("[%s] beneficiary %d: %w", label, b, err)
		}
		total += debt
		if s := want[b]; debt != s.debt || debt != s.maxBalance {
			debtErrs = append(debtErrs, fmt.Sprintf("beneficiary %d (%s): outstanding debt %s, sum of its acknowledged claims' patient debt %s, highest announced balance %s",
				b, got.GetBeneficiaryRef(), euros(debt), euros(s.debt), euros(s.maxBalance)))
		}
	}
	for i, e := range debtErrs {
		if i == 5 {
			break
		}
		fmt.Printf("chaos: [%s] DEBT %s\n", label, e)
	}
	fmt.Printf("chaos: [%s] %d beneficiaries: outstanding debt %s in all, %d differ from their acknowledged claims\n", label, len(bens), euros(total), len(debtErrs))
	if len(debtErrs) > 0 {
		return 0, fmt.Errorf("[%s] %d beneficiaries' debt differs from their acknowledged claims", label, len(debtErrs))
	}
	return 0, nil
}

// retry calls f with a 2 s deadline until it succeeds, 20 times at most.
func retry[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for attempt := 0; attempt < 20 && ctx.Err() == nil; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err = f(cctx)
		cancel()
		if err == nil {
			return v, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		err = ctx.Err()
	}
	return v, err
}

func clearReplayed(d *tpv1.Decision) *tpv1.Decision {
	d = proto.Clone(d).(*tpv1.Decision)
	d.Replayed = false
	return d
}

func oneLine(m proto.Message) string {
	return prototext.MarshalOptions{Multiline: false}.Format(m)
}

// cents parses a decimal euro amount ("12.30", "-1.5", "0") into cents.
func cents(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q has more than two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	if neg {
		return -(w*100 + f), nil
	}
	return w*100 + f, nil
}

func euros(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

func indentAfterFirst(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
