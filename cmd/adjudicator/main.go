// Command adjudicator serves the tiers-payant adjudication API over gRPC, and
// carries the operator's client commands. Run `adjudicator help` for the
// sub-commands and every ADJ_* variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
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

// env is what the commands read of their environment.
type env struct {
	lookup  func(string) (string, bool)
	environ []string // NAME=value pairs, for the unknown-variable check
}

func osEnv() env { return env{lookup: os.LookupEnv, environ: os.Environ()} }

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], osEnv(), os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err and maps it to the exit status: 0 for none (and for a
// help request), 2 for a usage mistake, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "adjudicator:", err)
		fmt.Fprintln(stderr, "run 'adjudicator help' for the commands and their options")
		return 2
	case errors.Is(err, errDifferences):
		fmt.Fprintln(stderr, "adjudicator:", err)
		return 1
	default:
		fmt.Fprintln(stderr, "adjudicator:", err)
		return 1
	}
}

// command is a sub-command.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "[flags]", "serve the API (the default command); configured by the ADJ_* variables below", serve},
		{"params", "[--at YYYY-MM-DD]", "list the legal parameters in force on a date, with their references", func(_ context.Context, a []string, _ env, out, errw io.Writer) error {
			return params(a, out, errw)
		}},
		{"report delays", "--organism CODE --quarter YYYYQn [client options] [--out FILE]", "write an organism's quarterly delay report (L161-36-3) as CSV", reportDelays},
		{"audit export", "[--since T] [--before T] [--op OP] [--by ID] [--subject S] [client options] [--out FILE]", "write the audit trail (administrators) as JSON lines, oldest first", auditExport},
		{"oppositions import", "FILE [--format csv|jsonl] [--batch N] [--resume] [client options]", "import opposition entries from CSV or JSON lines over ImportOppositions (docs/files.md)", oppositionsImport},
		{"oppositions export", "[--format csv|jsonl] [--all] [client options] [-o FILE]", "write the opposition list, from WatchOppositions (docs/files.md)", oppositionsExport},
		{"beneficiaries import", "FILE [--format csv|jsonl] [--concurrency N] [client options]", "create or replace beneficiaries from CSV or JSON lines, UpsertBeneficiary calls (docs/files.md)", beneficiariesImport},
		{"claims export", "--professional ID [--from D] [--to D] [--format csv|jsonl] [client options] [-o FILE]", "write a professional's claims, decisions and payment state (docs/files.md)", claimsExport},
		{"reconcile", "[--redis ADDRS] [--since-year YYYY]", "recompute counters and debts from the claim records; exit 1 on any difference", reconcile},
		{"version", "", "print the module version, the commit and the Go version", func(_ context.Context, a []string, _ env, out, _ io.Writer) error {
			if len(a) > 0 {
				return usagef("version takes no argument, got %q", a[0])
			}
			return printVersion(out)
		}},
		{"help", "", "this help", func(_ context.Context, _ []string, _ env, out, _ io.Writer) error { return printHelp(out) }},
	}
}

func run(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			return printHelp(stdout)
		case "-version", "--version":
			return printVersion(stdout)
		}
	}
	cmd, rest, err := pick(args)
	if err != nil {
		return err
	}
	if cmd.name != "help" && cmd.name != "version" {
		if err := config.CheckEnviron(e.environ); err != nil {
			return fmt.Errorf("environment:\n%w", err)
		}
	}
	return cmd.run(ctx, rest, e, stdout, stderr)
}

// pick finds the sub-command that args name; flags alone mean serve.
func pick(args []string) (command, []string, error) {
	cmds := commands()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return cmds[0], args, nil
	}
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], nil
		}
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	if args[0] == "audit" {
		return command{}, nil, usagef("unknown audit command %q (audit commands: export)", strings.Join(args[1:], " "))
	}
	switch args[0] {
	case "oppositions":
		return command{}, nil, usagef("unknown oppositions command %q (oppositions commands: import, export)", strings.Join(args[1:], " "))
	case "beneficiaries":
		return command{}, nil, usagef("unknown beneficiaries command %q (beneficiaries commands: import)", strings.Join(args[1:], " "))
	case "claims":
		return command{}, nil, usagef("unknown claims command %q (claims commands: export)", strings.Join(args[1:], " "))
	}
	if args[0] == "report" {
		return command{}, nil, usagef("unknown report %q (reports: delays)", strings.Join(args[1:], " "))
	}
	return command{}, nil, usagef("unknown command %q (commands: %s)", args[0], strings.Join(names, ", "))
}

// parseFlags parses a sub-command's flags; extra arguments are a usage error.
// A help request prints the sub-command's options to w.
func parseFlags(fs *flag.FlagSet, args []string, w io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "Usage: adjudicator %s [options]\n\nOptions:\n", fs.Name())
			flagHelp(tw, fs)
			_ = tw.Flush()
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// flagHelp prints a flag set's options for --help.
func flagHelp(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "      --%s\t%s%s\n", f.Name, f.Usage, def)
	})
}

func printHelp(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "adjudicator: real-time adjudication of French health-insurance claims under tiers payant.")
	fmt.Fprintln(tw, "\nUsage: adjudicator [command] [options]")
	fmt.Fprintln(tw, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(tw, "\nServe flags (each overrides its variable):")
	flagHelp(tw, serveFlags(new(serveOpts)))
	fmt.Fprintln(tw, "\nClient options of the client commands (report delays, audit export…):")
	flagHelp(tw, clientFlagSet(new(clientOpts), osEnv()))
	fmt.Fprintln(tw, "\nServer variables (ADJ_*; an unknown ADJ_* variable refuses to start):")
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, v := range config.Variables {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, orDash(v.Default), v.Help)
	}
	fmt.Fprintln(tw, "\nClient variables:")
	for _, v := range config.ClientVariables {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, orDash(v.Default), v.Help)
	}
	fmt.Fprintln(tw, "\nWith no ADJ_REDIS_ADDRS the service runs on an embedded in-process store, open to every caller:")
	fmt.Fprintln(tw, "a try-out only. Documentation: README.md, docs/rules.md, docs/API.md; file formats of the import and export commands: docs/files.md.")
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printVersion prints what the build recorded: module version, VCS commit
// and time, Go version.
func printVersion(w io.Writer) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		_, err := fmt.Fprintln(w, "adjudicator (no build information)")
		return err
	}
	fmt.Fprintf(w, "adjudicator %s\n", versionLine(bi))
	return nil
}

func versionLine(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	commit := settings["vcs.revision"]
	if commit == "" {
		commit = "unknown"
	}
	if settings["vcs.modified"] == "true" {
		commit += "+modified"
	}
	parts := []string{bi.Main.Version, "commit " + commit}
	if t := settings["vcs.time"]; t != "" {
		parts = append(parts, t)
	}
	parts = append(parts, bi.GoVersion)
	return strings.Join(parts, " ")
}

// serveOpts are the serve flags.
type serveOpts struct{ grpcAddr, adminAddr, redisAddrs, clock string }

func serveFlags(o *serveOpts) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&o.grpcAddr, "grpc-addr", "", "gRPC listen address (ADJ_GRPC_ADDR)")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "admin HTTP address for /metrics, /healthz, /readyz (ADJ_ADMIN_ADDR)")
	fs.StringVar(&o.redisAddrs, "redis", "", "Redis addresses, comma separated (ADJ_REDIS_ADDRS); empty: embedded in-process store")
	fs.StringVar(&o.clock, "clock", "", "fix the service clock to an RFC 3339 instant (ADJ_CLOCK)")
	return fs
}

func serve(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	var o serveOpts
	if err := parseFlags(serveFlags(&o), args, stdout); err != nil {
		return err
	}
	overrides := map[string]string{"ADJ_GRPC_ADDR": o.grpcAddr, "ADJ_ADMIN_ADDR": o.adminAddr, "ADJ_REDIS_ADDRS": o.redisAddrs, "ADJ_CLOCK": o.clock}
	cfg, err := config.Load(func(k string) (string, bool) {
		if v := overrides[k]; v != "" {
			return v, true
		}
		return e.lookup(k)
	})
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.Embedded() {
		fmt.Fprint(stderr, banner(cfg.AuthOpen()))
	}
	if _, set := e.lookup("GOGC"); !set {
		// The service's live heap is small (tens of MB: the state is in
		// Redis) and it allocates per claim: at Go's default (100) the
		// collector runs every few milliseconds under load, and each cycle
		// also shrinks the stacks the serving goroutines then grow again.
		debug.SetGCPercent(defaultGCPercent)
	}
	log := logging.New(stderr, cfg.LogLevel)
	if bi, ok := debug.ReadBuildInfo(); ok {
		log.Info("adjudicator starting", "version", versionLine(bi))
	}
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Wait(ctx)
}

// params prints the legal parameters in force on a date.
func params(args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("params", flag.ContinueOnError)
	at := fs.String("at", time.Now().Format(time.DateOnly), "date YYYY-MM-DD")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, *at)
	if err != nil {
		return usagef("--at: %q is not a date YYYY-MM-DD", *at)
	}
	t, err := legal.Load()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "parameters in force on %s\n", day.Format(time.DateOnly))
	fmt.Fprintln(w, "ID\tVALUE\tUNIT\tFROM\tTO\tDESCRIPTION\tREFERENCE")
	rows := t.InForce(day)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, v := range rows {
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

// banner is the loud warning of the embedded store.
func banner(open bool) string {
	lines := []string{
		"EMBEDDED STORE: no Redis address given (ADJ_REDIS_ADDRS / -redis).",
		"Running on an in-process Redis: ALL DATA IS LOST ON EXIT.",
	}
	if open {
		lines = append(lines, "Authentication is OFF: every caller is an administrator.")
	}
	lines = append(lines, "For anything but a try-out, point the service at a real Redis.")
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	var b strings.Builder
	rule := strings.Repeat("*", width+6)
	b.WriteString("\n" + rule + "\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "*  %s%s  *\n", l, strings.Repeat(" ", width-len([]rune(l))))
	}
	b.WriteString(rule + "\n\n")
	return b.String()
}
