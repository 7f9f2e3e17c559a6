// Command chaos is the crash test behind `make chaos`: a real redis-server
// with AOF (appendfsync always) and the adjudicator, 10 000 claims over many
// beneficiaries sent by clients that retry every failed call with the same
// claim id and content, the adjudicator killed (-9) and restarted several
// times, then Redis itself killed and restarted from its AOF while the
// adjudicator keeps running, and at last both killed at once. After each
// phase `adjudicator reconcile` must find no difference and one audit commit
// per acknowledged claim, every claim acknowledged to a client must read back
// with the same decision, and every beneficiary's debt must be the sum of its
// acknowledged claims. Loopback only, bounded in time; every process it
// starts is killed on exit. See docs/CHAOS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"

	"github.com/tierspayant/tierspayant/internal/harness"
)

func main() {
	ok := run()
	if !ok {
		fmt.Println("chaos: FAILED")
		os.Exit(1)
	}
	fmt.Println("chaos: PASSED")
}

type config struct {
	bin                string
	claims, bens       int
	workers            int
	adjKills, rdsKills int
	limit              time.Duration
	aofLoadTruncated   string
	keep               bool
}

// test is one run: the processes, the client and what it was told.
type test struct {
	cfg       config
	dir       string
	redisAddr string
	redis     *harness.Proc
	adj       *harness.Proc
	hc        healthpb.HealthClient
	cc        tpv1.ClaimServiceClient
	bc        tpv1.BeneficiaryServiceClient
	runID     string
	now       time.Time

	mu        sync.Mutex
	acked     map[string]ack
	permanent []string // claims refused with a code a retry cannot change

	sent, retries, replays, repairs atomic.Int64
	codes                           [17]atomic.Int64 // failed calls by gRPC code
	example                         map[codes.Code]string
	kills                           map[string]int
	mismatches                      int
}

func run() (ok bool) {
	var cfg config
	flag.StringVar(&cfg.bin, "adjudicator", ".tmp/chaos/adjudicator", "adjudicator binary")
	flag.IntVar(&cfg.claims, "claims", 10000, "claims to send (half in each phase)")
	flag.IntVar(&cfg.bens, "beneficiaries", 500, "beneficiaries registered")
	flag.IntVar(&cfg.workers, "workers", 16, "client workers")
	flag.IntVar(&cfg.adjKills, "adjudicator-kills", 8, "kill -9 of the adjudicator during phase 1")
	flag.IntVar(&cfg.rdsKills, "redis-kills", 10, "kill -9 of redis-server during phase 2")
	flag.DurationVar(&cfg.limit, "timeout", 270*time.Second, "bound of the whole run")
	flag.StringVar(&cfg.aofLoadTruncated, "aof-load-truncated", "no", "redis-server aof-load-truncated (yes is Redis's default; see docs/CHAOS.md)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the working directory (AOF, logs) even when the run passes")
	flag.Parse()
	began := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	t := &test{cfg: cfg, acked: map[string]ack{}, kills: map[string]int{}, example: map[codes.Code]string{}, now: time.Now().UTC(),
		runID: strconv.FormatInt(time.Now().Unix()%1e6, 36)}
	var err error
	if t.dir, err = os.MkdirTemp("", "tierspayant-chaos-"); err != nil {
		fmt.Println("chaos:", err)
		return false
	}
	defer func() {
		if !ok || cfg.keep {
			fmt.Println("chaos: working directory kept (AOF, redis.log, adjudicator.log):", t.dir)
		} else {
			os.RemoveAll(t.dir)
		}
	}()
	// Children die with us; this also runs when run panics.
	defer func() {
		if t.adj != nil {
			t.adj.Kill9()
		}
		if t.redis != nil {
			t.redis.Kill9()
		}
	}()

	err = t.main(ctx)
	t.summary(time.Since(began))
	if err != nil {
		fmt.Println("chaos: ERROR:", err)
		if t.adj != nil {
			fmt.Printf("chaos: last lines of %s:\n%s\n", t.adj.LogPath(), t.adj.LogTail(15))
		}
		if t.redis != nil {
			fmt.Printf("chaos: last lines of %s:\n%s\n", t.redis.LogPath(), t.redis.LogTail(15))
		}
		return false
	}
	return true
}

func (t *test) main(ctx context.Context) error {
	var ports [3]int
	for i := range ports {
		p, err := harness.FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	t.redisAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	t.redis = harness.New("redis-server", filepath.Join(t.dir, "redis.log"), []string{"redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--protected-mode", "yes",
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", t.dir,
		"--aof-load-truncated", t.cfg.aofLoadTruncated}, nil)
	t.adj = harness.New("adjudicator", filepath.Join(t.dir, "adjudicator.log"), []string{t.cfg.bin}, []string{
		"ADJ_REDIS_ADDRS=" + t.redisAddr, "ADJ_HMAC_SECRET=chaos-test-secret-of-at-least-32-characters!", "ADJ_AUTH=open",
		"ADJ_GRPC_ADDR=" + grpcAddr, fmt.Sprintf("ADJ_ADMIN_ADDR=127.0.0.1:%d", ports[2]),
		"ADJ_RATE_LIMIT=0", "ADJ_LOG_LEVEL=warn"})

	if err := t.startRedis(ctx); err != nil {
		return err
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	t.hc, t.cc, t.bc = healthpb.NewHealthClient(conn), tpv1.NewClaimServiceClient(conn), tpv1.NewBeneficiaryServiceClient(conn)
	if err := t.startAdjudicator(ctx); err != nil {
		return err
	}

	for b := range t.cfg.bens {
		if _, err := retry(ctx, func(cctx context.Context) (*tpv1.UpsertBeneficiaryResponse, error) {
			return t.bc.UpsertBeneficiary(cctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: beneficiary(b)})
		}); err != nil {
			return fmt.Errorf("register beneficiary %d: %w", b, err)
		}
	}
	fmt.Printf("chaos: redis-server %s (AOF, appendfsync always, aof-load-truncated %s, dir %s), adjudicator %s; %d beneficiaries registered\n",
		t.redisAddr, t.cfg.aofLoadTruncated, t.dir, grpcAddr, t.cfg.bens)

	half := t.cfg.claims / 2
	if err := t.phase(ctx, "phase 1: adjudicator killed -9", 0, half, t.adj, t.cfg.adjKills, t.startAdjudicator); err != nil {
		return err
	}
	if err := t.verify(ctx, "phase 1"); err != nil {
		return err
	}
	if err := t.phase(ctx, "phase 2: redis-server killed -9, restarted from its AOF", half, t.cfg.claims, t.redis, t.cfg.rdsKills, t.startRedis); err != nil {
		return err
	}
	if err := t.verify(ctx, "phase 2"); err != nil {
		return err
	}

	// Last: both killed at once, both started again from the AOF alone.
	t.adj.Kill9()
	t.redis.Kill9()
	t.kills[t.adj.Name()]++
	t.kills[t.redis.Name()]++
	if err := t.startRedis(ctx); err != nil {
		return err
	}
	if err := t.startAdjudicator(ctx); err != nil {
		return err
	}
	fmt.Println("chaos: both killed -9 at once and started again")
	if err := t.verify(ctx, "cold restart"); err != nil {
		return err
	}
	if len(t.acked) != t.cfg.claims {
		return fmt.Errorf("%d claims acknowledged of %d", len(t.acked), t.cfg.claims)
	}
	if exits := append(t.adj.UnexpectedExits(), t.redis.UnexpectedExits()...); len(exits) > 0 {
		return fmt.Errorf("%d processes exited by themselves (not killed by the test)", len(exits))
	}
	return t.capsHit()
}

// startRedis starts redis-server on its port and dir and waits until it has
// loaded its AOF. With aof-load-truncated no, Redis refuses an AOF torn by
// the kill; it is then repaired as an operator would (redis-check-aof --fix
// cuts it before the incomplete MULTI/EXEC block) and started again.
func (t *test) startRedis(ctx context.Context) error {
	if t.redis.Running() {
		return nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		if err := t.redis.Start(); err != nil {
			return err
		}
		err := harness.WaitRedis(ctx, t.redis, t.redisAddr, 60*time.Second)
		if err == nil {
			return nil
		}
		if !errors.Is(err, harness.ErrExited) {
			return err
		}
		t.redis.ForgetLastExit()
		manifest := filepath.Join(t.dir, "appendonlydir", "appendonly.aof.manifest")
		fix := exec.CommandContext(ctx, "redis-check-aof", "--fix", manifest)
		fix.Stdin = strings.NewReader("y\n")
		out, ferr := fix.CombinedOutput()
		t.repairs.Add(1)
		fmt.Printf("chaos: redis-server refused its AOF:\n%s\nchaos: redis-check-aof --fix:\n    %s\n", t.redis.LogTail(4),
			strings.ReplaceAll(strings.TrimSpace(lastLines(string(out), 4)), "\n", "\n    "))
		if ferr != nil {
			return fmt.Errorf("redis-check-aof --fix: %w", ferr)
		}
	}
	return errors.New("redis-server does not start from its AOF")
}

func (t *test) startAdjudicator(ctx context.Context) error {
	if t.adj.Running() {
		return nil
	}
	if err := t.adj.Start(); err != nil {
		return err
	}
	if err := harness.WaitServing(ctx, t.adj, t.hc, 30*time.Second); err != nil {
		return fmt.Errorf("adjudicator does not start: %w", err)
	}
	return nil
}

// retryable says whether a failed Adjudicate may succeed when sent again.
// The others mean the service refused the very claim it accepted before.
func retryable(c codes.Code) bool {
	switch c {
	case codes.InvalidArgument, codes.AlreadyExists, codes.FailedPrecondition, codes.NotFound,
		codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.OutOfRange:
		return false
	}
	return true
}

// phase sends claims [from, to) from the workers while victim is killed -9
// and restarted kills times, spread over the phase by progress.
func (t *test) phase(ctx context.Context, name string, from, to int, victim *harness.Proc, kills int, restart func(context.Context) error) error {
	began := time.Now()
	pctx, pcancel := context.WithCancelCause(ctx)
	defer pcancel(nil)
	var done, lastAck atomic.Int64
	lastAck.Store(time.Now().UnixNano())
	retriesBefore := t.retries.Load()

	// The killer.
	killerDone := make(chan error, 1)
	phaseKills := 0
	go func() {
		r := rand.New(rand.NewPCG(uint64(from), 9))
		n := to - from
		for k := range kills {
			step := n / (kills + 1)
			threshold := int64((k+1)*step + r.IntN(step/2+1) - step/4)
			for done.Load() < threshold {
				select {
				case <-pctx.Done():
					killerDone <- nil
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
			// A random moment between two acknowledgements.
			time.Sleep(time.Duration(r.IntN(15)) * time.Millisecond)
			victim.Kill9()
			phaseKills++
			time.Sleep(time.Duration(50+r.IntN(250)) * time.Millisecond) // down time
			if err := restart(pctx); err != nil {
				killerDone <- fmt.Errorf("restart %s: %w", victim.Name(), err)
				return
			}
		}
		killerDone <- nil
	}()

	// The watchdogs: no progress for 30 s is a hang; an adjudicator that
	// exits by itself is a failure (in phase 2 it must ride out the Redis
	// restarts without one).
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case msg := <-t.adj.Died():
				pcancel(errors.New(msg))
				return
			case <-tick.C:
				if idle := time.Since(time.Unix(0, lastAck.Load())); idle > 30*time.Second {
					pcancel(fmt.Errorf("no claim acknowledged for %v (%d of %d done): the service hangs", idle.Round(time.Second), done.Load(), to-from))
					return
				}
			}
		}
	}()

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range t.cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t.send(pctx, i)
				done.Add(1)
				lastAck.Store(time.Now().UnixNano())
			}
		}()
	}
feed:
	for i := from; i < to; i++ {
		select {
		case jobs <- i:
		case <-pctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if pctx.Err() == nil {
		pcancel(nil) // stops the killer if it still waits for its threshold
	}
	kerr := <-killerDone
	if cause := context.Cause(pctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("%s: %w", name, cause)
	}
	if kerr != nil {
		return fmt.Errorf("%s: %w", name, kerr)
	}
	t.kills[victim.Name()] += phaseKills
	// Everything up again before checking.
	if err := errors.Join(t.startRedis(ctx), t.startAdjudicator(ctx)); err != nil {
		return err
	}
	fmt.Printf("chaos: %s: %d claims in %v, %d kills, %d retried calls\n", name, to-from,
		time.Since(began).Round(time.Millisecond), phaseKills, t.retries.Load()-retriesBefore)
	if phaseKills < min(5, kills) {
		return fmt.Errorf("%s: only %d kills", name, phaseKills)
	}
	return nil
}

// send adjudicates claim i until the service acknowledges it, retrying every
// failure with the same claim (same id, same content) after a backoff.
func (t *test) send(ctx context.Context, i int) {
	c, b := claimFor(t.runID, i, t.cfg.bens, t.now)
	req := &tpv1.AdjudicateRequest{Claim: c}
	t.sent.Add(1)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := t.cc.Adjudicate(cctx, req)
		cancel()
		if err == nil {
			if r.GetDecision().GetReplayed() {
				t.replays.Add(1)
			}
			t.mu.Lock()
			t.acked[c.GetClaimId()] = ack{decision: clearReplayed(r.GetDecision()), ben: b}
			t.mu.Unlock()
			return
		}
		code := status.Code(err)
		if ctx.Err() != nil && (code == codes.Canceled || code == codes.DeadlineExceeded) {
			return // the run is over, not the call
		}
		if int(code) < len(t.codes) {
			t.codes[code].Add(1)
		}
		if code != codes.Unavailable {
			t.mu.Lock()
			if _, seen := t.example[code]; !seen {
				t.example[code] = fmt.Sprintf("claim %s: %v", c.GetClaimId(), err)
			}
			t.mu.Unlock()
		}
		if !retryable(code) {
			t.mu.Lock()
			t.permanent = append(t.permanent, fmt.Sprintf("claim %s (attempt %d): %v", c.GetClaimId(), attempt+1, err))
			t.mu.Unlock()
			return
		}
		t.retries.Add(1)
		backoff := time.Duration(20<<min(attempt, 4)) * time.Millisecond // 20 ms … 320 ms
		time.Sleep(backoff/2 + rand.N(backoff))
	}
}

// verify checks the state after a phase (see check).
func (t *test) verify(ctx context.Context, label string) error {
	t.mu.Lock()
	acked := make(map[string]ack, len(t.acked))
	for k, v := range t.acked {
		acked[k] = v
	}
	permanent := append([]string(nil), t.permanent...)
	t.mu.Unlock()
	if len(permanent) > 0 {
		for i, p := range permanent {
			if i == 10 {
				break
			}
			fmt.Println("chaos: REFUSED", p)
		}
		return fmt.Errorf("[%s] %d claims refused for good on a retry of the same content", label, len(permanent))
	}
	n, err := check(ctx, label, t.cfg.bin, t.redisAddr, t.cc, t.bc, acked)
	t.mismatches += n
	return err
}

// capsHit prints which cap reasons the acknowledged decisions carry and fails
// when none was reached: the test must push the counters to their limits.
func (t *test) capsHit() error {
	count := map[string]int{}
	for _, a := range t.acked {
		for _, r := range a.decision.GetReasons() {
			count[r.GetCode()]++
		}
	}
	names := make([]string, 0, len(count))
	for k := range count {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	caps := 0
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d", k, count[k]))
		if strings.HasSuffix(k, "_CAP") {
			caps++
		}
	}
	fmt.Printf("chaos: reasons in the acknowledged decisions: %s\n", strings.Join(parts, ", "))
	if caps == 0 {
		return errors.New("no decision reached a cap")
	}
	return nil
}

func (t *test) summary(elapsed time.Duration) {
	var byCode []string
	for c := range t.codes {
		if n := t.codes[c].Load(); n > 0 {
			byCode = append(byCode, fmt.Sprintf("%s %d", codes.Code(c), n))
		}
	}
	t.mu.Lock()
	acked := len(t.acked)
	for c, e := range t.example {
		fmt.Printf("chaos: first %s: %s\n", c, e)
	}
	t.mu.Unlock()
	fmt.Printf("chaos: summary: %d claims sent, %d acknowledged (%d of them replays of a commit whose answer was lost), %d retried calls (%s), kills: adjudicator %d, redis-server %d, torn AOF repaired %d, mismatches %d, %v\n",
		t.sent.Load(), acked, t.replays.Load(), t.retries.Load(), strings.Join(byCode, ", "),
		t.kills["adjudicator"], t.kills["redis-server"], t.repairs.Load(), t.mismatches, elapsed.Round(time.Second))
	if t.adj != nil {
		for _, e := range append(t.adj.UnexpectedExits(), t.redis.UnexpectedExits()...) {
			fmt.Println("chaos: UNEXPECTED EXIT", e)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
