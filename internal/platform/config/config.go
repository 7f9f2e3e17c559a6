// Package config reads the adjudicator's configuration from the environment
// (ADJ_* variables) into a typed struct with defaults. It is the only package
// that reads the environment; Load takes a lookup function so tests can pass
// a map.
//
// Every variable is declared once, in Variables, with its default and its
// help text: `adjudicator --help` prints that table, and an ADJ_* variable
// that is not in it is a startup error naming the closest known one (a
// misspelt ADJ_REDIS_ADDRS must not silently start the in-memory store).
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Config is the adjudicator's configuration.
type Config struct {
	// GRPCAddr is the gRPC listen address (ADJ_GRPC_ADDR).
	GRPCAddr string
	// AdminAddr serves /metrics and /healthz over HTTP (ADJ_ADMIN_ADDR).
	AdminAddr string
	// HTTPAddr serves the JSON/HTTP gateway (ADJ_HTTP_ADDR, docs/http.md);
	// empty: no gateway (ADJ_HTTP_ADDR=off, the default).
	HTTPAddr string
	// RedisAddrs is the Redis address list (ADJ_REDIS_ADDRS, comma
	// separated): one address for a single node, several for a Cluster.
	// Empty means the embedded in-process store.
	RedisAddrs []string
	// RedisMasterName selects Sentinel when set (ADJ_REDIS_MASTER_NAME).
	RedisMasterName string
	// RedisCluster forces the Cluster client with a single seed address
	// (ADJ_REDIS_CLUSTER).
	RedisCluster bool
	// RedisPassword authenticates to Redis (ADJ_REDIS_PASSWORD).
	RedisPassword string
	// RedisDB is the logical database of a single node or Sentinel
	// deployment (ADJ_REDIS_DB); a Cluster has only 0.
	RedisDB int
	// RedisTimeout bounds every Redis command (ADJ_REDIS_TIMEOUT).
	RedisTimeout time.Duration
	// HMACSecret keys the hash that replaces the NIR in every Redis key
	// (ADJ_HMAC_SECRET). Required with a real Redis; generated for the
	// embedded store.
	HMACSecret string
	// Clock fixes the service's clock to an instant (ADJ_CLOCK, RFC 3339), so
	// historical claims can be replayed and tests are deterministic.
	Clock time.Time
	// MaxRecvMsgBytes caps an incoming message (ADJ_MAX_RECV_MSG_BYTES).
	MaxRecvMsgBytes int
	// LogLevel is debug, info, warn or error (ADJ_LOG_LEVEL).
	LogLevel string
	// ShutdownGrace bounds the graceful stop (ADJ_SHUTDOWN_GRACE).
	ShutdownGrace time.Duration
	// Auth is "on" (every call authenticated) or "open" (no
	// authentication) (ADJ_AUTH). Empty means the default: open for the
	// embedded store with no credentials configured, on otherwise.
	Auth string
	// TLSCert and TLSKey are the server's certificate and key files
	// (ADJ_TLS_CERT, ADJ_TLS_KEY).
	TLSCert, TLSKey string
	// TLSClientCA is the CA file that signs client certificates: mutual TLS
	// (ADJ_TLS_CLIENT_CA).
	TLSClientCA string
	// TokensFile lists the accepted bearer tokens by SHA-256
	// (ADJ_AUTH_TOKENS_FILE).
	TokensFile string
	// RateLimit is the sustained number of calls per second each client may
	// make (ADJ_RATE_LIMIT; 0 turns the limit off), RateBurst the calls it may
	// make at once (ADJ_RATE_BURST).
	RateLimit float64
	RateBurst int
	// MaxStreamClaims bounds the claims of one AdjudicateStream call
	// (ADJ_MAX_STREAM_CLAIMS).
	MaxStreamClaims int
	// MaxStreams and MaxStreamsPerClient bound the streams open at once
	// (ADJ_MAX_STREAMS, ADJ_MAX_STREAMS_PER_CLIENT); StreamIdleTimeout ends a
	// stream with no message either way (ADJ_STREAM_IDLE_TIMEOUT);
	// SnapshotInterval bounds each caller's full copies of the opposition
	// list (ADJ_SNAPSHOT_INTERVAL).
	MaxStreams, MaxStreamsPerClient     int
	StreamIdleTimeout, SnapshotInterval time.Duration
	// OverdueInterval is how often the gauge of overdue guaranteed claims is
	// counted (ADJ_OVERDUE_INTERVAL).
	OverdueInterval time.Duration
	// AuditRetention is how long the audit trail keeps an event
	// (docs/OPERATIONS.md#audit-trail).
	AuditRetention time.Duration
	// MaxLineAmount and MaxClaimAmount bound a claim line's amount and a
	// claim's total, in euros (ADJ_MAX_LINE_AMOUNT, ADJ_MAX_CLAIM_AMOUNT):
	// plausibility limits (docs/rules.md#identifiers).
	MaxLineAmount, MaxClaimAmount decimal.Decimal
	// GRPCWorkers is the number of long-lived goroutines that serve gRPC
	// calls (ADJ_GRPC_WORKERS). A worker keeps the stack it grew on earlier
	// calls, where a goroutine per call grows a fresh one every time; calls
	// beyond the workers still get a goroutine of their own.
	GRPCWorkers int
	// Pprof mounts net/http/pprof on the admin port (ADJ_PPROF=true; off by
	// default).
	Pprof bool
}

// Variable is one ADJ_* environment variable.
type Variable struct {
	Name string
	// Default is the value used when the variable is unset or empty, as
	// text ("" when there is none).
	Default string
	Help    string
	// set parses a non-empty value into the configuration.
	set func(c *Config, v string) error
}

// Variables lists every variable the server reads, in the order of --help.
var Variables = []Variable{
	{"ADJ_GRPC_ADDR", "127.0.0.1:50051", "gRPC listen address", func(c *Config, v string) error { c.GRPCAddr = v; return nil }},
	{"ADJ_ADMIN_ADDR", "127.0.0.1:9090", "admin HTTP address: /metrics, /healthz, /readyz", func(c *Config, v string) error { c.AdminAddr = v; return nil }},
	{"ADJ_HTTP_ADDR", "off", "JSON/HTTP gateway address (docs/http.md), same authentication as gRPC; off: no gateway", setHTTPAddr},
	{"ADJ_REDIS_ADDRS", "", "Redis addresses, comma separated; empty: the embedded in-process store (data lost on exit)", setAddrs},
	{"ADJ_REDIS_MASTER_NAME", "", "Sentinel master name: the addresses are then Sentinels", func(c *Config, v string) error { c.RedisMasterName = v; return nil }},
	{"ADJ_REDIS_CLUSTER", "false", "use the Cluster client even with one seed address (a Cluster node is also detected at startup)", func(c *Config, v string) error { return parseBool(v, &c.RedisCluster) }},
	{"ADJ_REDIS_PASSWORD", "", "Redis password", func(c *Config, v string) error { c.RedisPassword = v; return nil }},
	{"ADJ_REDIS_DB", "0", "logical database of a single node or Sentinel deployment (one service's store per database; not with a Cluster)", setRedisDB},
	{"ADJ_REDIS_TIMEOUT", "500ms", "bound on every Redis command", func(c *Config, v string) error { return parseDuration(v, &c.RedisTimeout) }},
	{"ADJ_HMAC_SECRET", "", "key of the hash that replaces the NIR in Redis keys; required with a real Redis (≥ 32 characters; never logged)", func(c *Config, v string) error { c.HMACSecret = v; return nil }},
	{"ADJ_HMAC_SECRET_FILE", "", "file holding ADJ_HMAC_SECRET instead (give one of the two)", setSecretFile},
	{"ADJ_AUTH", "", "on (every call authenticated) or open (no authentication); default open for the embedded store without credentials, on otherwise", func(c *Config, v string) error { c.Auth = v; return nil }},
	{"ADJ_TLS_CERT", "", "server certificate file (PEM)", func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{"ADJ_TLS_KEY", "", "server private key file (PEM)", func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{"ADJ_TLS_CLIENT_CA", "", "CA file that signs client certificates (mutual TLS)", func(c *Config, v string) error { c.TLSClientCA = v; return nil }},
	{"ADJ_AUTH_TOKENS_FILE", "", "JSON file of accepted bearer tokens by SHA-256", func(c *Config, v string) error { c.TokensFile = v; return nil }},
	{"ADJ_RATE_LIMIT", "1000", "calls per second per client (0: no limit)", setRateLimit},
	{"ADJ_RATE_BURST", "2000", "calls a client may make at once", func(c *Config, v string) error { return parsePositive(v, &c.RateBurst) }},
	{"ADJ_MAX_RECV_MSG_BYTES", "1048576", "largest request accepted, in bytes (≥ 1024)", setMaxRecv},
	{"ADJ_MAX_LINE_AMOUNT", "50000", "largest amount of one claim line in euros (base or billed): plausibility bound", func(c *Config, v string) error { return parseEuros(v, &c.MaxLineAmount) }},
	{"ADJ_MAX_CLAIM_AMOUNT", "100000", "largest total of one claim in euros: plausibility bound", func(c *Config, v string) error { return parseEuros(v, &c.MaxClaimAmount) }},
	{"ADJ_MAX_STREAM_CLAIMS", "10000", "claims in one AdjudicateStream call", func(c *Config, v string) error { return parsePositive(v, &c.MaxStreamClaims) }},
	{"ADJ_MAX_STREAMS", "1000", "streams open at once on the server (watches, batches)", func(c *Config, v string) error { return parsePositive(v, &c.MaxStreams) }},
	{"ADJ_MAX_STREAMS_PER_CLIENT", "16", "streams open at once per client (caller, or address when unauthenticated)", func(c *Config, v string) error { return parsePositive(v, &c.MaxStreamsPerClient) }},
	{"ADJ_STREAM_IDLE_TIMEOUT", "10m", "a stream with no message either way for this long is ended (DEADLINE_EXCEEDED)", func(c *Config, v string) error { return parseDuration(v, &c.StreamIdleTimeout) }},
	{"ADJ_AUDIT_RETENTION", "2160h", "how long the audit trail keeps an event (at least 24h; default 90 days)", func(c *Config, v string) error {
		if err := parseDuration(v, &c.AuditRetention); err != nil {
			return err
		}
		if c.AuditRetention < 24*time.Hour {
			return fmt.Errorf("at least 24h")
		}
		return nil
	}},
	{"ADJ_SNAPSHOT_INTERVAL", "15m", "one full copy of the opposition list per client per interval (administrators unbounded)", func(c *Config, v string) error { return parseDuration(v, &c.SnapshotInterval) }},
	{"ADJ_OVERDUE_INTERVAL", "30s", "how often tierspayant_overdue_guaranteed_claims is counted (one ZCOUNT per registered organism)", func(c *Config, v string) error { return parseDuration(v, &c.OverdueInterval) }},
	{"ADJ_GRPC_WORKERS", "256", "long-lived goroutines serving gRPC calls", func(c *Config, v string) error { return parsePositive(v, &c.GRPCWorkers) }},
	{"ADJ_SHUTDOWN_GRACE", "10s", "bound on the graceful stop", func(c *Config, v string) error { return parseDuration(v, &c.ShutdownGrace) }},
	{"ADJ_CLOCK", "", "fix the service clock to an RFC 3339 instant (replays, examples, tests)", setClock},
	{"ADJ_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"ADJ_PPROF", "false", "serve net/http/pprof on the admin port", func(c *Config, v string) error { return parseBool(v, &c.Pprof) }},
}

// parseEuros reads a positive amount in euros with at most two decimals.
func parseEuros(v string, dst *decimal.Decimal) error {
	d, err := decimal.NewFromString(v)
	if err != nil || d.Sign() <= 0 || !d.Equal(d.Round(2)) {
		return fmt.Errorf("%q is not a positive amount in euros", v)
	}
	*dst = d
	return nil
}

// ClientVariables are read by the client sub-commands (report, reconcile…),
// not by the server; they are listed here so that the unknown-variable check
// knows them.
var ClientVariables = []Variable{
	{Name: "ADJ_CLIENT_SERVER", Default: "127.0.0.1:50051", Help: "client commands: the adjudicator's gRPC address (--server)"},
	{Name: "ADJ_CLIENT_TLS_CA", Help: "client commands: CA file that signs the server certificate; TLS when set (--tls-ca)"},
	{Name: "ADJ_CLIENT_CERT", Help: "client commands: client certificate file for mutual TLS (--cert)"},
	{Name: "ADJ_CLIENT_KEY", Help: "client commands: client private key file (--key)"},
	{Name: "ADJ_CLIENT_TOKEN", Help: "client commands: bearer token (--token); prefer ADJ_CLIENT_TOKEN_FILE"},
	{Name: "ADJ_CLIENT_TOKEN_FILE", Help: "client commands: file holding the bearer token (--token-file)"},
}

// setHTTPAddr reads ADJ_HTTP_ADDR: off leaves the gateway out.
func setHTTPAddr(c *Config, v string) error {
	if v == "off" {
		v = ""
	}
	c.HTTPAddr = v
	return nil
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	var c Config
	for _, v := range Variables {
		if v.Default != "" {
			if err := v.set(&c, v.Default); err != nil {
				panic(fmt.Sprintf("config: default of %s: %v", v.Name, err))
			}
		}
	}
	return c
}

// Embedded reports whether the configuration asks for the in-process store.
func (c Config) Embedded() bool { return len(c.RedisAddrs) == 0 }

// Load reads the configuration. It reports every problem at once.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	for _, v := range Variables {
		if s, ok := lookup(v.Name); ok && s != "" {
			if err := v.set(&c, s); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
			}
		}
	}
	if c.Auth == "" {
		c.Auth = "on"
		if c.Embedded() && c.TLSClientCA == "" && c.TokensFile == "" {
			c.Auth = "open"
		}
	}
	errs = append(errs, c.Validate()...)
	return c, errors.Join(errs...)
}

// CheckEnviron refuses any ADJ_* variable of environ ("NAME=value" pairs, as
// os.Environ gives them) that neither the server nor the client commands
// know, naming the closest known name.
func CheckEnviron(environ []string) error {
	known := map[string]bool{}
	var names []string
	for _, v := range append(append([]Variable(nil), Variables...), ClientVariables...) {
		known[v.Name] = true
		names = append(names, v.Name)
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ADJ_") || known[name] {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: unknown variable (did you mean %s?)", name, closest(name, names)))
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// closest returns the name of names at the smallest edit distance from s.
func closest(s string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		if d := editDistance(s, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: the
// variable names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// AuthOpen reports whether calls go unauthenticated: ADJ_AUTH=open, or, for
// a Config built in code with Auth empty, the embedded try-out with no
// client CA and no tokens configured.
func (c Config) AuthOpen() bool {
	if c.Auth != "" {
		return c.Auth == "open"
	}
	return c.Embedded() && c.TLSClientCA == "" && c.TokensFile == ""
}

// StoreKind names the kind of store: embedded, single, sentinel or cluster.
func (c Config) StoreKind() string {
	switch {
	case c.Embedded():
		return "embedded"
	case c.RedisMasterName != "":
		return "sentinel"
	case c.RedisCluster || len(c.RedisAddrs) > 1:
		return "cluster"
	}
	return "single"
}

// Validate checks the cross-field rules.
func (c Config) Validate() []error {
	var errs []error
	for _, f := range []struct{ name, addr string }{{"ADJ_GRPC_ADDR", c.GRPCAddr}, {"ADJ_ADMIN_ADDR", c.AdminAddr}, {"ADJ_HTTP_ADDR", c.HTTPAddr}} {
		if f.addr == "" && f.name == "ADJ_HTTP_ADDR" {
			continue
		}
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", f.name, f.addr))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("ADJ_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.Auth {
	case "open", "":
	case "on":
		if c.TLSClientCA == "" && c.TokensFile == "" {
			msg := "ADJ_AUTH=on needs ADJ_TLS_CLIENT_CA (mutual TLS) and/or ADJ_AUTH_TOKENS_FILE (bearer tokens)"
			if !c.Embedded() {
				msg += "; a real Redis requires credentials, or ADJ_AUTH=open said explicitly for a try-out"
			}
			errs = append(errs, errors.New(msg))
		}
	default:
		errs = append(errs, fmt.Errorf("ADJ_AUTH: %q is not on or open", c.Auth))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("ADJ_TLS_CERT and ADJ_TLS_KEY go together"))
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("ADJ_TLS_CLIENT_CA needs ADJ_TLS_CERT and ADJ_TLS_KEY"))
	}
	if c.RedisDB != 0 && (c.RedisCluster || c.Embedded()) {
		errs = append(errs, errors.New("ADJ_REDIS_DB: a Cluster (and the embedded store) has only database 0"))
	}
	if !c.Embedded() && len(c.HMACSecret) < 32 {
		errs = append(errs, errors.New("ADJ_HMAC_SECRET: required with a real Redis, at least 32 characters (the value is never logged)"))
	}
	return errs
}

func setAddrs(c *Config, v string) error {
	c.RedisAddrs = nil
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fmt.Errorf("%q is not host:port", a)
			}
			c.RedisAddrs = append(c.RedisAddrs, a)
		}
	}
	return nil
}

func setSecretFile(c *Config, v string) error {
	if c.HMACSecret != "" {
		return errors.New("ADJ_HMAC_SECRET is also set: give one")
	}
	b, err := readFile(v)
	if err != nil {
		return fmt.Errorf("cannot read %q", v)
	}
	c.HMACSecret = strings.TrimSpace(string(b))
	return nil
}

func setRateLimit(c *Config, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("%q is not a non-negative number of calls per second", v)
	}
	c.RateLimit = f
	return nil
}

func setMaxRecv(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1024 {
		return fmt.Errorf("%q is not an integer ≥ 1024", v)
	}
	c.MaxRecvMsgBytes = n
	return nil
}

func setClock(c *Config, v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 instant", v)
	}
	c.Clock = t
	return nil
}

func setRedisDB(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a database number (0 or more)", v)
	}
	c.RedisDB = n
	return nil
}

func parseBool(v string, dst *bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not a boolean", v)
	}
	*dst = b
	return nil
}

func parseDuration(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive duration", v)
	}
	*dst = d
	return nil
}

func parsePositive(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not a positive integer", v)
	}
	*dst = n
	return nil
}

// readFile reads a secret file; the path, not the content, goes into errors.
var readFile = os.ReadFile

// redisVariables are the variables LoadRedis reads.
var redisVariables = map[string]bool{"ADJ_REDIS_ADDRS": true, "ADJ_REDIS_MASTER_NAME": true, "ADJ_REDIS_CLUSTER": true,
	"ADJ_REDIS_PASSWORD": true, "ADJ_REDIS_TIMEOUT": true, "ADJ_REDIS_DB": true}

// LoadRedis reads only the Redis connection variables, for the commands that
// talk to Redis directly and serve nothing (reconcile).
func LoadRedis(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	for _, v := range Variables {
		if !redisVariables[v.Name] {
			continue
		}
		if s, ok := lookup(v.Name); ok && s != "" {
			if err := v.set(&c, s); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
			}
		}
	}
	return c, errors.Join(errs...)
}
