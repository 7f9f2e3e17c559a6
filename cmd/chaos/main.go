// Command chaos is the crash test behind `make chaos`: a real redis-server
// with AOF (appendfsync always) and the adjudicator, 10 000 claims over many
// beneficiaries sent by clients that retry every failed call with the same
// claim id, the adjudicator killed (-9) and restarted several times, then
// Redis itself killed and restarted from its AOF. After each phase
// `adjudicator reconcile` must find no difference, and every claim
// acknowledged to a client must read back with the same decision. Loopback
// only, bounded in time; every process it starts is killed on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("chaos: PASSED")
}

type proc struct {
	name string
	args []string
	env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *os.File
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := exec.Command(p.args[0], p.args[1:]...)
	c.Env, c.Stdout, c.Stderr = append(os.Environ(), p.env...), p.log, p.log
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return err
	}
	p.cmd = c
	return nil
}

// kill9 kills the process abruptly and waits for it.
func (p *proc) kill9() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitTCP(ctx context.Context, addr string) error {
	for ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(30 * time.Millisecond)
	}
	return ctx.Err()
}

func waitServing(ctx context.Context, hc healthpb.HealthClient) error {
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: "tierspayant.v1.ClaimService"})
		cancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ctx.Err()
}

// nir returns a valid NIR for beneficiary n.
func nir(n int) string {
	body := fmt.Sprintf("1800575%06d", n)
	v, _ := strconv.ParseInt(body, 10, 64)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

func claim(i, beneficiaries int, today string, created time.Time) *tpv1.Claim {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	b := r.IntN(beneficiaries)
	c := &tpv1.Claim{
		ClaimId: fmt.Sprintf("CHAOS-%06d", i), CreatedAt: timestamppb.New(created), Nir: nir(b),
		Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: fmt.Sprintf("%010d", 1000000000+b)},
		Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE, Mode: tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY,
	}
	switch i % 3 {
	case 0:
		c.Professional = &tpv1.Professional{Id: fmt.Sprintf("GP%d", r.IntN(20)), Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"}
		c.Lines = []*tpv1.ClaimLine{{LineId: "1", Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: today, UnitPrice: "30.00", Quantity: 1}}
	case 1:
		c.Professional = &tpv1.Professional{Id: fmt.Sprintf("PH%d", r.IntN(20)), Profession: tpv1.Profession_PROFESSION_PHARMACIST, Departement: "75"}
		for l := 0; l <= r.IntN(3); l++ {
			c.Lines = append(c.Lines, &tpv1.ClaimLine{LineId: strconv.Itoa(l + 1), Code: "3400930000000", Category: tpv1.Category_CATEGORY_MEDICINE,
				CareDate: today, UnitPrice: fmt.Sprintf("%d.%02d", 2+r.IntN(30), r.IntN(100)), Quantity: int32(1 + r.IntN(3)), ProductRate: "0.65"})
		}
	default:
		c.Professional = &tpv1.Professional{Id: fmt.Sprintf("N%d", r.IntN(20)), Profession: tpv1.Profession_PROFESSION_NURSE, Departement: "75"}
		c.Lines = []*tpv1.ClaimLine{{LineId: "1", Code: "AMI", Category: tpv1.Category_CATEGORY_AUXILIARY, CareDate: today, UnitPrice: "9.00", Quantity: int32(1 + r.IntN(3))}}
	}
	return c
}

func run() error {
	bin := flag.String("adjudicator", ".tmp/chaos/adjudicator", "adjudicator binary")
	total := flag.Int("claims", 10000, "claims to send (half per phase)")
	nben := flag.Int("beneficiaries", 500, "beneficiaries")
	workers := flag.Int("workers", 16, "client workers")
	limit := flag.Duration("timeout", 4*time.Minute, "bound of the whole run")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "tierspayant-chaos-")
	if err != nil {
		return err
	}
	defer func() {
		if os.Getenv("CHAOS_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			fmt.Println("chaos: kept", dir)
		}
	}()
	logf, err := os.Create(filepath.Join(dir, "processes.log"))
	if err != nil {
		return err
	}
	redisPort, grpcPort, adminPort := freePort(), freePort(), freePort()
	redisAddr, grpcAddr := fmt.Sprintf("127.0.0.1:%d", redisPort), fmt.Sprintf("127.0.0.1:%d", grpcPort)
	redis := &proc{name: "redis", log: logf, args: []string{"redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(redisPort),
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", dir,
		// A torn AOF stops the start instead of loading a partial MULTI
		// block: redis-check-aof --fix then cuts it before that block.
		"--aof-load-truncated", "no"}}
	adj := &proc{name: "adjudicator", log: logf, args: []string{*bin}, env: []string{
		"ADJ_REDIS_ADDRS=" + redisAddr, "ADJ_HMAC_SECRET=chaos-test-secret-of-at-least-32-characters", "ADJ_AUTH=open",
		"ADJ_GRPC_ADDR=" + grpcAddr, fmt.Sprintf("ADJ_ADMIN_ADDR=127.0.0.1:%d", adminPort), "ADJ_RATE_LIMIT=0", "ADJ_LOG_LEVEL=error",
		"ADJ_REDIS_TIMEOUT=300ms"}}
	defer redis.kill9()
	defer adj.kill9()
	if err := redis.start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	if err := waitTCP(ctx, redisAddr); err != nil {
		return err
	}
	if err := adj.start(); err != nil {
		return fmt.Errorf("adjudicator: %w", err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc, cc, bc := healthpb.NewHealthClient(conn), tpv1.NewClaimServiceClient(conn), tpv1.NewBeneficiaryServiceClient(conn)
	if err := waitServing(ctx, hc); err != nil {
		return fmt.Errorf("adjudicator never served: %w", err)
	}

	// Beneficiaries.
	for b := 0; b < *nben; b++ {
		req := &tpv1.UpsertBeneficiaryRequest{Beneficiary: &tpv1.Beneficiary{Nir: nir(b), BirthDate: "1970-06-15",
			Rights: []*tpv1.DatePeriod{{From: "2000-01-01"}}, Organisms: []*tpv1.OrganismAttachment{{OrganismCode: "CPAM75", Period: &tpv1.DatePeriod{From: "2000-01-01"}}}}}
		if _, err := bc.UpsertBeneficiary(ctx, req); err != nil {
			return fmt.Errorf("beneficiary %d: %w", b, err)
		}
	}
	fmt.Printf("chaos: redis %s (AOF, appendfsync always), adjudicator %s, %d beneficiaries registered\n", redisAddr, grpcAddr, *nben)

	var (
		mu    sync.Mutex
		acked = map[string]*tpv1.Decision{}
	)
	var retries, sent, repairs atomic.Int64
	today := time.Now().UTC().Format(time.DateOnly)
	created := time.Now().Add(-time.Minute)
	// pause is the least time between two kills: Redis reloads its growing
	// AOF at each start, so it is killed less often than the adjudicator.
	phase := func(name string, from, to int, victim *proc, pause time.Duration, restart func() error) error {
		var kills atomic.Int64
		done := make(chan struct{})
		killerDone := make(chan error, 1)
		go func() { // the killer
			r := rand.New(rand.NewPCG(uint64(from), 9))
			for {
				select {
				case <-done:
					killerDone <- nil
					return
				case <-ctx.Done():
					killerDone <- ctx.Err()
					return
				case <-time.After(pause + time.Duration(r.IntN(300))*time.Millisecond):
				}
				victim.kill9()
				kills.Add(1)
				time.Sleep(time.Duration(50+r.IntN(150)) * time.Millisecond)
				if err := restart(); err != nil {
					killerDone <- err
					return
				}
			}
		}()
		jobs := make(chan int)
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					c := claim(i, *nben, today, created)
					sent.Add(1)
					for attempt := 0; ; attempt++ {
						if ctx.Err() != nil {
							firstErr.CompareAndSwap(nil, ctx.Err())
							return
						}
						cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
						r, err := cc.Adjudicate(cctx, &tpv1.AdjudicateRequest{Claim: c})
						cancel()
						if err == nil {
							d := proto.Clone(r.GetDecision()).(*tpv1.Decision)
							d.Replayed = false
							mu.Lock()
							acked[c.GetClaimId()] = d
							mu.Unlock()
							break
						}
						retries.Add(1)
						time.Sleep(time.Duration(20+10*min(attempt, 20)) * time.Millisecond)
					}
				}
			}()
		}
		began := time.Now()
		for i := from; i < to; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(done)
		if err := <-killerDone; err != nil {
			return err
		}
		if v := firstErr.Load(); v != nil {
			return v.(error)
		}
		// Make sure everything is up again before checking.
		if err := restart(); err != nil {
			return err
		}
		if err := waitServing(ctx, hc); err != nil {
			return err
		}
		fmt.Printf("chaos: phase %q: %d claims in %v, %d %s kills, %d retried calls so far\n", name, to-from, time.Since(began).Round(time.Millisecond), kills.Load(), victim.name, retries.Load())
		if kills.Load() < 3 {
			return fmt.Errorf("phase %q: only %d kills", name, kills.Load())
		}
		return check(ctx, *bin, redisAddr, cc, &mu, acked)
	}

	restartAdj := func() error {
		adj.mu.Lock()
		running := adj.cmd != nil
		adj.mu.Unlock()
		if running {
			return nil
		}
		if err := adj.start(); err != nil {
			return err
		}
		return waitServing(ctx, hc)
	}
	restartRedis := func() error {
		redis.mu.Lock()
		running := redis.cmd != nil
		redis.mu.Unlock()
		if running {
			return nil
		}
		if err := redis.start(); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := waitTCP(wctx, redisAddr); err == nil {
			return nil
		}
		// Redis refused its torn AOF: repair it as an operator would, restart.
		redis.kill9()
		fix := exec.CommandContext(ctx, "redis-check-aof", "--fix", filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"))
		fix.Stdin = strings.NewReader("y\n")
		out, err := fix.CombinedOutput()
		repairs.Add(1)
		if err != nil {
			return fmt.Errorf("redis-check-aof --fix: %w: %s", err, out)
		}
		if err := redis.start(); err != nil {
			return err
		}
		return waitTCP(ctx, redisAddr)
	}
	half := *total / 2
	if err := phase("adjudicator killed -9", 0, half, adj, 150*time.Millisecond, restartAdj); err != nil {
		return err
	}
	if err := phase("redis killed -9, restarted from its AOF", half, *total, redis, 700*time.Millisecond, restartRedis); err != nil {
		return err
	}
	fmt.Printf("chaos: %d claims sent, %d acknowledged, %d retried calls, %d torn AOF repaired with redis-check-aof --fix\n", sent.Load(), len(acked), retries.Load(), repairs.Load())
	if len(acked) != *total {
		return fmt.Errorf("%d claims acknowledged of %d", len(acked), *total)
	}
	return nil
}

// check runs reconcile and reads back every acknowledged claim.
func check(ctx context.Context, bin, redisAddr string, cc tpv1.ClaimServiceClient, mu *sync.Mutex, acked map[string]*tpv1.Decision) error {
	out, err := exec.CommandContext(ctx, bin, "reconcile", "--redis", redisAddr, "--since-year", strconv.Itoa(time.Now().Year()-1)).CombinedOutput()
	fmt.Printf("chaos: reconcile: %s", out)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	mismatches := 0
	for id, want := range acked {
		var got *tpv1.GetClaimResponse
		for attempt := 0; ; attempt++ {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			got, err = cc.GetClaim(cctx, &tpv1.GetClaimRequest{ClaimId: id})
			cancel()
			if err == nil || attempt > 20 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("claim %s acknowledged but not readable: %w", id, err)
		}
		if !proto.Equal(got.GetDecision(), want) {
			mismatches++
			if mismatches <= 3 {
				fmt.Printf("chaos: MISMATCH %s:\n acknowledged %v\n stored       %v\n", id, want, got.GetDecision())
			}
		}
	}
	fmt.Printf("chaos: %d acknowledged claims read back, %d mismatches\n", len(acked), mismatches)
	if mismatches > 0 {
		return errors.New("acknowledged decisions differ from the stored ones")
	}
	return nil
}
