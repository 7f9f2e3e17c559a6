// Package config reads the adjudicator's configuration from the environment
// (ADJ_* variables) into a typed struct with defaults. It is the only package
// that reads the environment; Load takes a lookup function so tests can pass
// a map.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the adjudicator's configuration.
type Config struct {
	// GRPCAddr is the gRPC listen address (ADJ_GRPC_ADDR).
	GRPCAddr string
	// AdminAddr serves /metrics and /healthz over HTTP (ADJ_ADMIN_ADDR).
	AdminAddr string
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
	// authentication: the embedded try-out default) (ADJ_AUTH).
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
	// GRPCWorkers is the number of long-lived goroutines that serve gRPC
	// calls (ADJ_GRPC_WORKERS). A worker keeps the stack it grew on earlier
	// calls, where a goroutine per call grows a fresh one every time; calls
	// beyond the workers still get a goroutine of their own.
	GRPCWorkers int
	// Pprof mounts net/http/pprof on the admin port (ADJ_PPROF=true; off by
	// default).
	Pprof bool
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		GRPCAddr:        "127.0.0.1:50051",
		AdminAddr:       "127.0.0.1:9090",
		RedisTimeout:    500 * time.Millisecond,
		MaxRecvMsgBytes: 1 << 20,
		RateLimit:       1000,
		RateBurst:       2000,
		MaxStreamClaims: 10000,
		GRPCWorkers:     256,
		LogLevel:        "info",
		ShutdownGrace:   10 * time.Second,
	}
}

// Embedded reports whether the configuration asks for the in-process store.
func (c Config) Embedded() bool { return len(c.RedisAddrs) == 0 }

// Load reads the configuration. It reports every problem at once.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	str("ADJ_GRPC_ADDR", &c.GRPCAddr)
	str("ADJ_ADMIN_ADDR", &c.AdminAddr)
	str("ADJ_REDIS_MASTER_NAME", &c.RedisMasterName)
	str("ADJ_REDIS_PASSWORD", &c.RedisPassword)
	str("ADJ_HMAC_SECRET", &c.HMACSecret)
	str("ADJ_LOG_LEVEL", &c.LogLevel)
	str("ADJ_AUTH", &c.Auth)
	str("ADJ_TLS_CERT", &c.TLSCert)
	str("ADJ_TLS_KEY", &c.TLSKey)
	str("ADJ_TLS_CLIENT_CA", &c.TLSClientCA)
	str("ADJ_AUTH_TOKENS_FILE", &c.TokensFile)
	if v, ok := lookup("ADJ_REDIS_ADDRS"); ok && v != "" {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.RedisAddrs = append(c.RedisAddrs, a)
			}
		}
	}
	if v, ok := lookup("ADJ_PPROF"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ADJ_PPROF: %q is not a boolean", v))
		}
		c.Pprof = b
	}
	if v, ok := lookup("ADJ_REDIS_CLUSTER"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ADJ_REDIS_CLUSTER: %q is not a boolean", v))
		}
		c.RedisCluster = b
	}
	dur := func(name string, dst *time.Duration) {
		if v, ok := lookup(name); ok && v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
				return
			}
			*dst = d
		}
	}
	dur("ADJ_REDIS_TIMEOUT", &c.RedisTimeout)
	dur("ADJ_SHUTDOWN_GRACE", &c.ShutdownGrace)
	if v, ok := lookup("ADJ_MAX_RECV_MSG_BYTES"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 {
			errs = append(errs, fmt.Errorf("ADJ_MAX_RECV_MSG_BYTES: %q is not an integer ≥ 1024", v))
		} else {
			c.MaxRecvMsgBytes = n
		}
	}
	if v, ok := lookup("ADJ_HMAC_SECRET_FILE"); ok && v != "" {
		if c.HMACSecret != "" {
			errs = append(errs, errors.New("ADJ_HMAC_SECRET and ADJ_HMAC_SECRET_FILE: give one"))
		} else if b, err := readFile(v); err != nil {
			errs = append(errs, fmt.Errorf("ADJ_HMAC_SECRET_FILE: cannot read %q", v))
		} else {
			c.HMACSecret = strings.TrimSpace(string(b))
		}
	}
	if v, ok := lookup("ADJ_RATE_LIMIT"); ok && v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			errs = append(errs, fmt.Errorf("ADJ_RATE_LIMIT: %q is not a non-negative number of calls per second", v))
		} else {
			c.RateLimit = f
		}
	}
	positive := func(name string, dst *int) {
		if v, ok := lookup(name); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive integer", name, v))
				return
			}
			*dst = n
		}
	}
	positive("ADJ_RATE_BURST", &c.RateBurst)
	positive("ADJ_MAX_STREAM_CLAIMS", &c.MaxStreamClaims)
	positive("ADJ_GRPC_WORKERS", &c.GRPCWorkers)
	if v, ok := lookup("ADJ_CLOCK"); ok && v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ADJ_CLOCK: %q is not an RFC 3339 instant", v))
		}
		c.Clock = t
	}
	if c.Auth == "" {
		c.Auth = "on"
		if c.AuthOpen() {
			c.Auth = "open"
		}
	}
	errs = append(errs, c.Validate()...)
	return c, errors.Join(errs...)
}

// AuthOpen reports whether calls go unauthenticated: ADJ_AUTH=open, or by
// default the embedded try-out with no client CA and no tokens configured.
func (c Config) AuthOpen() bool {
	if c.Auth != "" {
		return c.Auth == "open"
	}
	return c.Embedded() && c.TLSClientCA == "" && c.TokensFile == ""
}

// Validate checks the cross-field rules.
func (c Config) Validate() []error {
	var errs []error
	for name, addr := range map[string]string{"ADJ_GRPC_ADDR": c.GRPCAddr, "ADJ_ADMIN_ADDR": c.AdminAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", name, addr))
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
			errs = append(errs, errors.New("ADJ_AUTH=on needs ADJ_TLS_CLIENT_CA (mutual TLS) and/or ADJ_AUTH_TOKENS_FILE (bearer tokens)"))
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
	if !c.Embedded() && len(c.HMACSecret) < 32 {
		errs = append(errs, errors.New("ADJ_HMAC_SECRET: required with a real Redis, at least 32 characters (the value is never logged)"))
	}
	return errs
}

// readFile reads a secret file; the path, not the content, goes into errors.
var readFile = os.ReadFile
