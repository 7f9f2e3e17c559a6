package redisstore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
	"github.com/tierspayant/tierspayant/internal/store/storetest"
)

// TestStoreScriptMatchesFranchise: the commit script's Lua cap arithmetic
// grants exactly what franchise.Consume grants, for random sequences of
// claims against the same counters.
func TestStoreScriptMatchesFranchise(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			st := redisstore.New(tg.rdb, redisstore.NewKeyer([]byte("conformance secret of 32 characters")))
			rng := rand.New(rand.NewPCG(7, uint64(len(tg.name))))
			days := []time.Time{day("2025-03-10"), day("2025-03-11")}
			pros := []string{"A", "B"}
			for seq := 0; seq < 20; seq++ {
				ref := fmt.Sprintf("conf-%s-%d-%d", tg.name, seq, time.Now().UnixNano())
				state := franchise.State{Year: 2025}
				for claim := 0; claim < 12; claim++ {
					var reqs []service.CapRequest
					var plain []franchise.Request
					for l := 0; l < 1+rng.IntN(4); l++ {
						r := franchise.Request{Line: l, CareDate: days[rng.IntN(2)], Units: 1 + rng.IntN(5),
							LineLimit: decimal.New(int64(50+rng.IntN(1500)), -2), AnnualCap: decimal.New(5000, -2)}
						if rng.IntN(2) == 0 {
							r.Deduction, r.Professional, r.UnitAmount, r.DailyCount = franchise.DeductionPF, pros[rng.IntN(2)], decimal.New(200, -2), 4
							r.AnnualCount, r.HasAnnualCap = 25, seq%2 == 0 // 2025; or 2024 with its amount cap
						} else {
							r.Deduction = franchise.DeductionFranchise
							r.Kind = []franchise.Kind{franchise.KindMedicament, franchise.KindActeParamedical, franchise.KindTransport}[rng.IntN(3)]
							r.UnitAmount = decimal.New(100, -2)
							if r.Kind == franchise.KindTransport {
								r.UnitAmount = decimal.New(400, -2)
							}
							if r.Kind != franchise.KindMedicament {
								r.HasDailyCap, r.DailyCap = true, decimal.New(400, -2)
								if r.Kind == franchise.KindTransport {
									r.DailyCap = decimal.New(800, -2)
								}
							}
						}
						plain = append(plain, r)
						reqs = append(reqs, service.CapRequest{Request: r, Debt: true})
					}
					want, inc := franchise.Consume(state, plain)
					state = state.Apply(inc)
					got, err := st.Commit(adminCtx(), service.CommitRequest{ClaimID: fmt.Sprintf("c%d", claim), BeneficiaryRef: ref,
						Digest: "d", Blob: []byte("{}"), ReceivedAt: now, Year: 2025, Requests: reqs})
					if err != nil {
						t.Fatal(err)
					}
					for i, g := range got.Grants {
						w := want[i]
						if g.Units != w.Units || !g.Amount.Equal(w.Amount) || fmt.Sprint(g.Limits) != fmt.Sprint(w.LimitedBy) {
							t.Fatalf("seq %d claim %d request %d (%+v): Lua units=%d amount=%s limits=%v, Go units=%d amount=%s limits=%v",
								seq, claim, i, plain[i], g.Units, g.Amount, g.Limits, w.Units, w.Amount, w.LimitedBy)
						}
					}
				}
			}
		})
	}
}

// TestStoreConformance runs the ports' conformance suite (storetest) on
// every target: a real redis-server, the Cluster of make test-cluster, the
// embedded store of make run.
func TestStoreConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Backend {
				st := redisstore.New(tg.rdb, testKeyer)
				if err := st.LoadScripts(adminCtx()); err != nil {
					t.Fatal(err)
				}
				return storetest.Backend{Ledger: st, Archive: st, Payments: st, Bens: st.Registry(), Fraud: st.Fraud(),
					Organisms: st.Organisms(), Trail: st.Trail(), Due: st}
			})
		})
	}
}
