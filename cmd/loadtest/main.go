// Command loadtest is `make loadtest`: it starts a real redis-server, the
// adjudicator and the floor server (same proto, a precomputed answer), loads
// realistic data through the API (beneficiaries with a mix of ages, CSS, ALD
// and pregnancies; an opposition list of a million identifiers), then drives
// both servers with ghz and the same flags: closed loop at concurrency 50 (the
// knee) and a fixed rate (latency). It prints RPS, p50/p95/p99, server CPU µs
// per request (from /proc), Redis commands per claim (INFO commandstats) and
// the adjudicator/floor ratios, and keeps ghz's JSON and HTML reports and a
// CPU profile of the adjudicator. ghz reads pre-serialised claims (-B), one
// file per run with unique claim ids, so that it spends its CPU on sending.
// Loopback only; bounded in time; every process it starts is killed on exit.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/harness"
)

var (
	adjBin   = flag.String("adjudicator", ".tmp/loadtest/adjudicator", "adjudicator binary")
	floorBin = flag.String("floor", ".tmp/loadtest/floor", "floor server binary")
	ghzBin   = flag.String("ghz", ".tmp/bin/ghz", "ghz binary")
	outDir   = flag.String("out", "loadtest/out", "reports folder (git-ignored)")
	nBen     = flag.Int("beneficiaries", 100000, "beneficiaries")
	nOpp     = flag.Int("oppositions", 1000000, "opposition entries")
	dur      = flag.Duration("duration", 10*time.Second, "length of each ghz run")
	rate     = flag.Int("rate", 2000, "fixed rate of the latency runs, claims/s")
	maxRPS   = flag.Int("max-rps", 6000, "highest closed-loop rate the claim files must cover without reusing a claim id")
	logLevel = flag.String("log-level", "info", "the adjudicator's ADJ_LOG_LEVEL (info, its default, logs one line per call)")
	profile  = flag.Bool("profile", true, "keep a CPU profile of the adjudicator's closed-loop run (adjudicator-cpu.pprof)")
)

func main() {
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 290*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: FAILED:", err)
		os.Exit(1)
	}
}

// freePort is a free loopback port (the harness stops on the rare failure).
func freePort() int {
	p, err := harness.FreePort()
	if err != nil {
		panic(err)
	}
	return p
}

var children []*harness.Proc

// start runs a child pinned to a CPU (taskset, when installed), its output
// appended to logPath.
func start(name, cpu string, env []string, logPath string, args ...string) (*harness.Proc, error) {
	p := harness.New(name, logPath, args, env).Pin(cpu)
	if err := p.Start(); err != nil {
		return nil, err
	}
	children = append(children, p)
	return p, nil
}

func killAll() {
	for _, p := range children {
		p.Kill9()
	}
}

// waitServing waits until the server of p at addr says SERVING.
func waitServing(ctx context.Context, p *harness.Proc, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	return harness.WaitServing(ctx, p, healthpb.NewHealthClient(conn), 60*time.Second)
}

// cpuTime is a process's user+system CPU time, from /proc (its children
// included: taskset execs the program itself).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100 // USER_HZ
}

func redisCalls(ctx context.Context, rdb *redis.Client) int64 {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0
	}
	var total int64
	for _, l := range strings.Split(info, "\r\n") {
		if !strings.HasPrefix(l, "cmdstat_") || strings.HasPrefix(l, "cmdstat_info") {
			continue
		}
		if i := strings.Index(l, "calls="); i >= 0 {
			n, _ := strconv.ParseInt(strings.SplitN(l[i+6:], ",", 2)[0], 10, 64)
			total += n
		}
	}
	return total
}

func nir(n int) string {
	body := fmt.Sprintf("%d%02d%02d75%06d", 1+n%2, (n/7)%100, 1+n%12, n%1000000)
	v, _ := strconv.ParseInt(body, 10, 64)
	return fmt.Sprintf("%s%02d", body, 97-v%97)
}

func run(ctx context.Context) error {
	defer killAll()
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(*outDir, "processes.log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		return err
	}
	rdir, err := os.MkdirTemp("", "tierspayant-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(rdir)
	redisAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	adjAddr, floorAddr := fmt.Sprintf("127.0.0.1:%d", freePort()), fmt.Sprintf("127.0.0.1:%d", freePort())
	if _, err := start("redis-server", "0", nil, logPath, "redis-server", "--bind", "127.0.0.1", "--port", redisAddr[10:], "--save", "", "--appendonly", "no", "--dir", rdir); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DisableIdentity: true})
	defer rdb.Close()
	for rdb.Ping(ctx).Err() != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(30 * time.Millisecond)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	adj, err := start("adjudicator", "0", []string{"ADJ_PPROF=" + strconv.FormatBool(*profile), "ADJ_ADMIN_ADDR=" + adminAddr, "ADJ_REDIS_ADDRS=" + redisAddr, "ADJ_HMAC_SECRET=loadtest-secret-of-at-least-32-characters!!",
		"ADJ_AUTH=open", "ADJ_RATE_LIMIT=0", "ADJ_LOG_LEVEL=" + *logLevel, "ADJ_GRPC_ADDR=" + adjAddr,
	}, logPath, *adjBin)
	if err != nil {
		return err
	}
	fl, err := start("floor", "0", nil, logPath, *floorBin, "-addr", floorAddr)
	if err != nil {
		return err
	}
	if err := waitServing(ctx, adj, adjAddr); err != nil {
		return fmt.Errorf("adjudicator: %w", err)
	}
	if err := waitServing(ctx, fl, floorAddr); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	began := time.Now()
	if err := loadData(ctx, adjAddr); err != nil {
		return err
	}
	mem, _ := rdb.Info(ctx, "memory").Result()
	fmt.Printf("loadtest: %d beneficiaries and %d oppositions loaded in %v (Redis %s)\n", *nBen, *nOpp, time.Since(began).Round(time.Second), usedMemory(mem))
	// One data file per adjudicator run, each with its own claim-id prefix,
	// so that no run replays another's claims; the floor run before it uses
	// the same file (the floor ignores ids).
	closedN := int(dur.Seconds())*(*maxRPS) + 500
	fixedN := int(dur.Seconds())*(*rate)*11/10 + 500
	htmlN := 3*(*maxRPS) + 500
	files := map[string]int{"closed": closedN, "fixed": fixedN, "html-closed": htmlN, "html-fixed": 3*(*rate)*11/10 + 500,
		"simple": closedN, "html-simple": htmlN}
	runID := strconv.FormatInt(time.Now().Unix(), 36)
	began = time.Now()
	for name, n := range files {
		if err := writeClaims(filepath.Join(*outDir, name+".bin"), "LT"+runID+"-"+name, n, strings.HasSuffix(name, "simple")); err != nil {
			return err
		}
	}
	fmt.Printf("loadtest: claim files written in %v (%d claims for a closed-loop run, %d for a fixed-rate run)\n",
		time.Since(began).Round(100*time.Millisecond), closedN, fixedN)
	type result struct {
		name                   string
		count                  int64
		rps                    float64
		p50, p95, p99          time.Duration
		errors                 int64
		cpuPerReq, redisPerReq float64
		clientCPU              float64
		redisCPUPerReq         float64
		reused                 bool
	}
	var results []result
	for _, r := range []struct {
		name, addr, data string
		pid              int
		fixed, adj       bool
	}{
		{"floor closed-loop c=50", floorAddr, "closed", fl.Pid(), false, false},
		{"adjudicator closed-loop c=50", adjAddr, "closed", adj.Pid(), false, true},
		{fmt.Sprintf("floor fixed %d/s", *rate), floorAddr, "fixed", fl.Pid(), true, false},
		{fmt.Sprintf("adjudicator fixed %d/s", *rate), adjAddr, "fixed", adj.Pid(), true, true},
		{"adjudicator one-line GP c=50", adjAddr, "simple", adj.Pid(), false, true},
	} {
		file := filepath.Join(*outDir, strings.NewReplacer(" ", "-", "/", "", "=", "").Replace(r.name))
		ghzArgs := func(data, d, format, out string) []string {
			a := []string{"-c", "1", *ghzBin, "--insecure", "--call", "tierspayant.v1.ClaimService/Adjudicate",
				"-B", filepath.Join(*outDir, data+".bin"), "-c", "50", "--connections", "4",
				"-z", d, "--skipFirst", "500", "--duration-stop", "wait", "--cpus", "1", "-O", format, "-o", out}
			if r.fixed {
				a = append(a, "--rps", strconv.Itoa(*rate))
			}
			return append(a, r.addr)
		}
		if r.adj {
			// Per-command statistics of this run alone (kept for the closed loop).
			_ = rdb.ConfigResetStat(ctx).Err()
		}
		cpu0, calls0, rcpu0 := cpuTime(r.pid), redisCalls(ctx, rdb), redisCPU(ctx, rdb)
		var prof sync.WaitGroup
		if r.adj && !r.fixed && r.data == "closed" && *profile {
			// A CPU profile of the adjudicator over most of the closed-loop run.
			prof.Add(1)
			go func() {
				defer prof.Done()
				if err := fetchProfile(ctx, adminAddr, dur.Seconds()-3, filepath.Join(*outDir, "adjudicator-cpu.pprof")); err != nil {
					fmt.Fprintln(os.Stderr, "loadtest: profile:", err)
				}
			}()
		}
		cmd := exec.CommandContext(ctx, "taskset", ghzArgs(r.data, dur.String(), "json", file+".json")...)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ghz %s: %w: %s", r.name, err, out)
		}
		// The client's share of its one CPU: near 100 % means the figure is
		// the client's limit, not the server's.
		clientCPU := 100 * (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / time.Since(t0).Seconds()
		cpu1, calls1, rcpu1 := cpuTime(r.pid), redisCalls(ctx, rdb), redisCPU(ctx, rdb)
		prof.Wait()
		if r.adj && !r.fixed && r.data == "closed" {
			if stats, err := rdb.Info(ctx, "commandstats").Result(); err == nil {
				_ = os.WriteFile(filepath.Join(*outDir, "redis-commandstats.txt"), []byte(stats), 0o644)
			}
		}
		var rep struct {
			Count   int64   `json:"count"`
			RPS     float64 `json:"rps"`
			Latency []struct {
				Percentage int   `json:"percentage"`
				Latency    int64 `json:"latency"`
			} `json:"latencyDistribution"`
			Status map[string]int64 `json:"statusCodeDistribution"`
		}
		raw, err := os.ReadFile(file + ".json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			return err
		}
		res := result{name: r.name, count: rep.Count, rps: rep.RPS, clientCPU: clientCPU, reused: r.adj && int(rep.Count)+500 > files[r.data]}
		for _, l := range rep.Latency {
			switch l.Percentage {
			case 50:
				res.p50 = time.Duration(l.Latency)
			case 95:
				res.p95 = time.Duration(l.Latency)
			case 99:
				res.p99 = time.Duration(l.Latency)
			}
		}
		for code, n := range rep.Status {
			if code != "OK" {
				res.errors += n
			}
		}
		if rep.Count > 0 {
			// ghz's count leaves out the skipped warm-up requests, which the
			// server served too.
			res.cpuPerReq = float64((cpu1 - cpu0).Microseconds()) / float64(rep.Count+500)
			res.redisPerReq = float64(calls1-calls0) / float64(rep.Count+500)
			res.redisCPUPerReq = (rcpu1 - rcpu0) * 1e6 / float64(rep.Count+500)
		}
		results = append(results, res)
		// A short HTML report of the same kind of run for people, on its
		// own claims.
		_ = exec.CommandContext(ctx, "taskset", ghzArgs("html-"+r.data, "3s", "html", file+".html")...).Run()
	}
	fmt.Printf("\n%-32s %8s %9s %9s %9s %9s %7s %11s %12s %12s %9s\n", "run", "requests", "rps", "p50", "p95", "p99", "errors", "cpu µs/req", "redis cmd/req", "redis µs/req", "ghz cpu")
	for _, r := range results {
		note := ""
		if r.reused {
			note = "  (more requests than claims in its file: some were replays; raise -max-rps)"
		}
		fmt.Printf("%-32s %8d %9.0f %9v %9v %9v %7d %11.1f %12.2f %12.1f %8.0f%%%s\n", r.name, r.count, r.rps, r.p50.Round(10*time.Microsecond),
			r.p95.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, r.cpuPerReq, r.redisPerReq, r.redisCPUPerReq, r.clientCPU, note)
	}
	fmt.Printf("\nadjudicator/floor throughput (closed loop): %.2f   p99 ratio at %d/s: %.2f   adjudicator CPU per claim: %.1f µs   Redis commands per claim: %.2f\n",
		results[1].rps/results[0].rps, *rate, float64(results[3].p99)/float64(results[2].p99), results[1].cpuPerReq, results[1].redisPerReq)
	fmt.Printf("real-invoice mix against one-line GP claims (closed loop, same run): CPU per claim %.2f, Redis commands per claim %.2f, throughput %.2f\n",
		results[1].cpuPerReq/results[4].cpuPerReq, results[1].redisPerReq/results[4].redisPerReq, results[1].rps/results[4].rps)
	fmt.Printf("reports: %s\n", *outDir)
	return nil
}

// fetchProfile saves a CPU profile of the adjudicator from its admin port.
func fetchProfile(ctx context.Context, admin string, seconds float64, path string) error {
	if seconds < 1 {
		seconds = 1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, int(seconds)), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// redisCPU is the CPU time Redis has used, in seconds (INFO cpu).
func redisCPU(ctx context.Context, rdb *redis.Client) float64 {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, l := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(l, k); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				total += f
			}
		}
	}
	return total
}

func usedMemory(info string) string {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "used_memory_human:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// loadData registers the beneficiaries and imports the opposition list
// through the API.
func loadData(ctx context.Context, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	bc, oc := tpv1.NewBeneficiaryServiceClient(conn), tpv1.NewOppositionServiceClient(conn)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				r := rand.New(rand.NewPCG(uint64(b), 1))
				ben := &tpv1.Beneficiary{Nir: nir(b), BirthDate: fmt.Sprintf("%d-%02d-15", 1930+r.IntN(95), 1+r.IntN(12)),
					Rights:    []*tpv1.DatePeriod{{Start: "2015-01-01"}},
					Organisms: []*tpv1.OrganismAttachment{{OrganismCode: "CPAM75", Period: &tpv1.DatePeriod{Start: "2015-01-01"}}}}
				if r.IntN(100) < 8 {
					ben.Css = []*tpv1.DatePeriod{{Start: "2024-01-01"}}
				}
				if r.IntN(100) < 15 {
					ben.Ald = []*tpv1.DatePeriod{{Start: "2020-01-01"}}
				}
				if r.IntN(100) < 1 {
					ben.Pregnancies = []*tpv1.Pregnancy{{ExpectedDeliveryDate: time.Now().AddDate(0, 2, 0).Format(time.DateOnly)}}
				}
				if r.IntN(100) < 4 { // Bas-Rhin, Haut-Rhin, Moselle: about 4 % of the insured
					ben.RegimeLocal = []*tpv1.DatePeriod{{Start: "2015-01-01"}}
				}
				if r.IntN(100) < 3 {
					ben.Statuses = []*tpv1.BeneficiaryStatus{{Kind: tpv1.StatusKind_STATUS_KIND_INVALIDITY_PENSION, Period: &tpv1.DatePeriod{Start: "2018-01-01"}}}
				}
				if _, err := bc.UpsertBeneficiary(ctx, &tpv1.UpsertBeneficiaryRequest{Beneficiary: ben}); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for b := 0; b < *nBen; b++ {
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("beneficiaries: %w", firstErr)
	}
	// One import call holds at most MaxImportEntries (200 000) entries.
	eff := timestamppb.New(time.Now().AddDate(0, -1, 0))
	var imported uint64
	for from := 0; from < *nOpp; from += grpcapi.MaxImportEntries {
		st, err := oc.ImportOppositions(ctx)
		if err != nil {
			return err
		}
		for i := from; i < min(from+grpcapi.MaxImportEntries, *nOpp); i++ {
			if err := st.Send(&tpv1.ImportOppositionsRequest{Opposition: &tpv1.Opposition{Identifier: strconv.Itoa(2000000000 + i),
				Reason: tpv1.OppositionReason(1 + i%4), EffectiveAt: eff}}); err != nil {
				return err
			}
		}
		res, err := st.CloseAndRecv()
		if err != nil {
			return fmt.Errorf("oppositions: %w", err)
		}
		imported += res.GetImported()
	}
	if imported != uint64(*nOpp) {
		return fmt.Errorf("oppositions: %d imported of %d", imported, *nOpp)
	}
	return nil
}

// writeClaims writes a ghz binary data file (-B): n AdjudicateRequest
// messages, each with a varint length prefix, cycled round-robin by ghz. Every
// claim id is unique (prefix and index), so nothing ghz sends within n requests
// is a replay; ghz parses the file once before the run and renders no template
// per request, which keeps the client's CPU for sending. The mix (real
// invoices): 60 % pharmacy invoices of 1-5 packs, most with their dispensing
// fee, some with a device and a prescription fee; 25 % physician, a fifth
// with a complement; 10 % nurse rounds with a travel allowance; 5 %
// transport; 2 % on opposed cards, over the loaded beneficiaries (4 % under
// the régime local, 3 % invalidity pensioners). simple writes one-line GP
// consultations instead, the baseline of the richer claims' cost.
func writeClaims(path, prefix string, n int, simple bool) error {
	today := time.Now().UTC().Format(time.DateOnly)
	created := timestamppb.New(time.Now().Add(-time.Minute).Truncate(time.Second))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(uint64(len(prefix)), 2))
	for i := 0; i < n; i++ {
		b := r.IntN(*nBen)
		card := strconv.Itoa(1000000000 + b)
		if r.IntN(100) < 2 {
			card = strconv.Itoa(2000000000 + r.IntN(*nOpp))
		}
		line := func(id int, cat tpv1.Category, price string, qty int) *tpv1.ClaimLine {
			return &tpv1.ClaimLine{LineId: strconv.Itoa(id), Code: "X", Category: cat, CareDate: today, UnitPrice: price, Quantity: int32(qty)}
		}
		c := &tpv1.Claim{ClaimId: fmt.Sprintf("%s-%d", prefix, i), CreatedAt: created, Nir: nir(b),
			Identification: &tpv1.Identification{Kind: tpv1.IdentificationKind_IDENTIFICATION_KIND_VITALE_CARD, Value: card},
			Nature:         tpv1.InsuranceNature_INSURANCE_NATURE_MALADIE, Mode: tpv1.TiersPayantMode_TIERS_PAYANT_MODE_AMO_ONLY}
		k := r.IntN(100)
		if simple {
			k = 70 // a one-line GP consultation
		}
		switch {
		case k < 60:
			c.Professional = &tpv1.Professional{Id: fmt.Sprintf("PH%d", r.IntN(2000)), Profession: tpv1.Profession_PROFESSION_PHARMACIST, Departement: "75"}
			id := 0
			next := func() int { id++; return id }
			for l := 0; l < 1+r.IntN(5); l++ {
				pack := line(next(), tpv1.Category_CATEGORY_MEDICINE, fmt.Sprintf("%d.%02d", 2+r.IntN(40), r.IntN(100)), 1+r.IntN(3))
				pack.ProductRate = []string{"0.65", "0.65", "0.30", "1", "0.15"}[r.IntN(5)]
				pack.SpecialtyCode = strconv.Itoa(60000 + r.IntN(500))
				c.Lines = append(c.Lines, pack)
				if r.IntN(100) < 80 { // the pack's dispensing fee
					fee := line(next(), tpv1.Category_CATEGORY_DISPENSING_FEE, "1.02", 1)
					fee.AttachedTo = pack.LineId
					c.Lines = append(c.Lines, fee)
				}
			}
			if r.IntN(100) < 15 {
				dev := line(next(), tpv1.Category_CATEGORY_MEDICAL_DEVICE, fmt.Sprintf("%d.%02d", 3+r.IntN(60), r.IntN(100)), 1)
				dev.ProductRate = "0.60"
				c.Lines = append(c.Lines, dev)
			}
			if r.IntN(100) < 50 {
				c.Lines = append(c.Lines, line(next(), tpv1.Category_CATEGORY_DISPENSING_FEE, "0.51", 1))
			}
		case k < 85:
			c.Professional = &tpv1.Professional{Id: fmt.Sprintf("GP%d", r.IntN(2000)), Profession: tpv1.Profession_PROFESSION_PHYSICIAN, Departement: "75"}
			ln := line(1, tpv1.Category_CATEGORY_PHYSICIAN, "30.00", 1)
			ln.Parcours = tpv1.Parcours_PARCOURS_RESPECTED
			c.Lines = append(c.Lines, ln)
			if !simple && r.IntN(100) < 20 { // a night or Sunday majoration
				mj := line(2, tpv1.Category_CATEGORY_PHYSICIAN, "19.06", 1)
				mj.Parcours, mj.Kind = tpv1.Parcours_PARCOURS_RESPECTED, tpv1.LineKind_LINE_KIND_COMPLEMENT
				c.Lines = append(c.Lines, mj)
			}
		case k < 95:
			c.Professional = &tpv1.Professional{Id: fmt.Sprintf("N%d", r.IntN(2000)), Profession: tpv1.Profession_PROFESSION_NURSE, Departement: "75"}
			c.Lines = append(c.Lines, line(1, tpv1.Category_CATEGORY_AUXILIARY, "9.00", 1+r.IntN(3)))
			if r.IntN(100) < 70 { // the travel allowance (IFD)
				ifd := line(2, tpv1.Category_CATEGORY_AUXILIARY, "2.75", 1)
				ifd.Kind = tpv1.LineKind_LINE_KIND_COMPLEMENT
				c.Lines = append(c.Lines, ifd)
			}
		default:
			c.Professional = &tpv1.Professional{Id: fmt.Sprintf("T%d", r.IntN(500)), Profession: tpv1.Profession_PROFESSION_TRANSPORTER, Departement: "75"}
			c.Lines = append(c.Lines, line(1, tpv1.Category_CATEGORY_TRANSPORT, "98.60", 1+r.IntN(2)))
		}
		if _, err := protodelim.MarshalTo(w, &tpv1.AdjudicateRequest{Claim: c}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
