// Command adjudicator serves the tiers-payant adjudication API over gRPC.
//
//	adjudicator                       serve (configuration from ADJ_* variables and flags)
//	adjudicator params --at 2024-04-01   list the legal parameters in force on a date
//	adjudicator report delays --organism CPAM75 --quarter 2026Q3 [--server 127.0.0.1:50051] [--out delays.csv]
//	                                     write the quarterly delay report (L161-36-3) as CSV
//	adjudicator reconcile [--redis ADDR] recompute counters and debts from the audit streams;
//	                                     exit status 1 on any difference
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // Europe/Paris even on machines without a zoneinfo database

	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set
// (Go's own default is 100).
const defaultGCPercent = 400

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adjudicator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "params" {
		return params(args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "reconcile" {
		return reconcile(ctx, args[1:], lookup, stdout)
	}
	if len(args) > 1 && args[0] == "report" && args[1] == "delays" {
		return reportDelays(ctx, args[2:], stdout)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("adjudicator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grpcAddr := fs.String("grpc-addr", "", "gRPC listen address (ADJ_GRPC_ADDR, default 127.0.0.1:50051)")
	adminAddr := fs.String("admin-addr", "", "admin HTTP address for /metrics, /healthz, /readyz (ADJ_ADMIN_ADDR, default 127.0.0.1:9090)")
	redisAddrs := fs.String("redis", "", "Redis addresses, comma separated (ADJ_REDIS_ADDRS); empty: embedded in-process store")
	clock := fs.String("clock", "", "fix the service clock to an RFC 3339 instant (ADJ_CLOCK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	overrides := map[string]string{"ADJ_GRPC_ADDR": *grpcAddr, "ADJ_ADMIN_ADDR": *adminAddr, "ADJ_REDIS_ADDRS": *redisAddrs, "ADJ_CLOCK": *clock}
	cfg, err := config.Load(func(k string) (string, bool) {
		if v := overrides[k]; v != "" {
			return v, true
		}
		return lookup(k)
	})
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.Embedded() {
		fmt.Fprint(stderr, embeddedBanner)
	}
	if _, set := lookup("GOGC"); !set {
		// The service's live heap is small (tens of MB: the state is in
		// Redis) and it allocates per claim: at Go's default (100) the
		// collector runs every few milliseconds under load, and each cycle
		// also shrinks the stacks the serving goroutines then grow again.
		debug.SetGCPercent(defaultGCPercent)
	}
	log := logging.New(stderr, cfg.LogLevel)
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Wait(ctx)
}

// params prints the legal parameters in force on a date.
func params(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("params", flag.ContinueOnError)
	at := fs.String("at", time.Now().Format(time.DateOnly), "date YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, *at)
	if err != nil {
		return fmt.Errorf("--at: %q is not a date YYYY-MM-DD", *at)
	}
	t, err := legal.Load()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "parameters in force on %s\n", day.Format(time.DateOnly))
	fmt.Fprintln(w, "ID\tVALUE\tUNIT\tFROM\tTO\tDESCRIPTION\tREFERENCE")
	for _, v := range t.InForce(day) {
		fmt.Fprintln(w, strings.Join(paramRow(t, v), "\t"))
	}
	return w.Flush()
}

func paramRow(t *legal.Table, v legal.Value) []string {
	desc := ""
	if s, ok := t.Series(v.ID); ok {
		desc = s.Description
	}
	to := ""
	if !v.To.IsZero() {
		to = v.To.Format(time.DateOnly)
	}
	return []string{v.ID, v.Text, v.Unit, v.From.Format(time.DateOnly), to, desc, v.RefID + ": " + v.RefTitle}
}

const embeddedBanner = `
************************************************************************
*  EMBEDDED STORE: no Redis address given (ADJ_REDIS_ADDRS / -redis).  *
*  Running on an in-process Redis: ALL DATA IS LOST ON EXIT.           *
*  For anything but a try-out, point the service at a real Redis.      *
************************************************************************

`
