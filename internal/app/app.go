// Package app wires the adjudicator together: store, service, gRPC server
// with its interceptors, health and reflection, and the admin HTTP server with
// /metrics, /healthz and /readyz. cmd/adjudicator only calls it.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/gateway"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/legal"
	tpmetrics "github.com/tierspayant/tierspayant/internal/metrics"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/service"
	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// ReadinessService is the health service name that reports whether claims can
// be adjudicated (Redis reachable). The empty name reports liveness.
const ReadinessService = "tierspayant.v1.ClaimService"

// App is a running adjudicator.
type App struct {
	GRPCAddr  string
	AdminAddr string
	// HTTPAddr is the JSON/HTTP gateway's bound address; empty when
	// ADJ_HTTP_ADDR is off (gateway.go).
	HTTPAddr string
	// Embedded is set when the in-process store is used.
	Embedded *miniredis.Miniredis
	// gw and gwServer are the JSON/HTTP gateway, nil when off.
	gw       *gateway.Gateway
	gwServer *http.Server

	log    *slog.Logger
	grpc   *grpc.Server
	admin  *http.Server
	health *health.Server
	rdb    redis.UniversalClient
	store  *redisstore.Store
	// storeKind is embedded, single, sentinel or cluster; clusterUnchecked
	// is set while a single node could not yet be asked whether it is a
	// Cluster node (it was down at startup).
	storeKind        string
	domain           *tpmetrics.Metrics
	clusterUnchecked bool
	clusterMismatch  atomic.Bool
	// keyChecked is set once the store confirmed the HMAC key's fingerprint;
	// keyMismatch once it refused it (docs/OPERATIONS.md#hmac-key).
	keyChecked  atomic.Bool
	keyMismatch atomic.Bool
	// tls reloads the server certificate on SIGHUP or file change
	// (tlsreload.go); nil without TLS.
	tls   *tlsReloader
	stop  context.CancelFunc
	wg    sync.WaitGroup
	grace time.Duration
	errs  chan error
}

// Start builds and starts the adjudicator. It returns once both listeners are
// bound; Wait blocks until the servers stop.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	params, err := legal.Load()
	if err != nil {
		return nil, fmt.Errorf("legal parameters: %w", err)
	}
	zone, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, fmt.Errorf("time zone: %w", err)
	}
	a := &App{log: log, grace: cfg.ShutdownGrace, errs: make(chan error, 4)}
	secret := []byte(cfg.HMACSecret)
	addrs := cfg.RedisAddrs
	if cfg.Embedded() {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
		a.Embedded = m
		addrs = []string{m.Addr()}
		if len(secret) == 0 {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			secret = []byte(hex.EncodeToString(b))
			log.Warn("EMBEDDED STORE: generated a random HMAC secret for beneficiary keys; set ADJ_HMAC_SECRET to keep references stable")
		}
		log.Warn("EMBEDDED STORE: no ADJ_REDIS_ADDRS given, running on an in-process Redis (miniredis); ALL DATA IS LOST ON EXIT. Do not use in production.",
			"embedded_redis", m.Addr())
	}
	redis.SetLogger(redisLogger{log})
	a.rdb, a.storeKind, a.clusterUnchecked = connectRedis(ctx, cfg, addrs, log)
	a.store = redisstore.New(a.rdb, redisstore.NewKeyer(secret)).WithTrailRetention(cfg.AuditRetention)
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
	if err := a.store.LoadScripts(lctx); err != nil {
		log.Warn("could not preload the Lua scripts; they will load on first use", "error", err.Error())
	}
	lcancel()
	// The HMAC key must be the one the store was written with: with another,
	// every beneficiary looks unknown and every claim id taken.
	kctx, kcancel := context.WithTimeout(ctx, 2*time.Second)
	err = a.checkKey(kctx)
	kcancel()
	if errors.Is(err, redisstore.ErrKeyMismatch) {
		a.closeStore()
		return nil, fmt.Errorf("%w: refusing to start; see docs/OPERATIONS.md#hmac-key", err)
	}
	if err != nil {
		log.Warn("could not check the HMAC key's fingerprint in Redis; every call checks it until the store answers", "error", err.Error())
	}
	clock := time.Now
	if !cfg.Clock.IsZero() {
		fixed := cfg.Clock
		clock = func() time.Time { return fixed }
		log.Warn("service clock fixed", "clock", fixed.Format(time.RFC3339))
	}
	keyer := redisstore.NewKeyer(secret)
	svc := service.New(service.Deps{
		Params: params, Ledger: a.store, Archive: a.store, Bens: a.store.Registry(),
		Payments: a.store, Fraud: a.store.Fraud(), Organisms: a.store.Organisms(),
		Digest: keyer.Digest, Clock: clock, Zone: zone,
		Limits: claims.Limits{MaxLineAmount: cfg.MaxLineAmount, MaxClaimAmount: cfg.MaxClaimAmount},
		Trail:  a.store.Trail(), Due: a.store, Oppositions: a.store.Oppositions(),
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1})))
	reg.MustRegister(metrics)
	a.domain = tpmetrics.New(reg)
	a.rdb.AddHook(a.domain.RedisHook())

	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	var tokens []byte
	if cfg.TokensFile != "" {
		if tokens, err = os.ReadFile(cfg.TokensFile); err != nil {
			a.closeStore()
			return nil, fmt.Errorf("tokens file: %w", err)
		}
	}
	authn, err := grpcapi.NewAuthenticator(cfg.AuthOpen(), tokens)
	if err != nil {
		a.closeStore()
		return nil, err
	}
	if cfg.AuthOpen() {
		log.Warn("AUTHENTICATION OFF: every caller is an administrator (embedded try-out mode). Set ADJ_TLS_CLIENT_CA and/or ADJ_AUTH_TOKENS_FILE.")
	} else if cfg.TLSCert == "" {
		log.Warn("bearer tokens over plaintext gRPC: set ADJ_TLS_CERT and ADJ_TLS_KEY outside a loopback test")
	}
	serverOpts, err := transportCredentials(cfg, a)
	if err != nil {
		a.closeStore()
		return nil, err
	}
	sizeUnary, sizeStream := grpcapi.MaxRequestBytes(cfg.MaxRecvMsgBytes)
	limitUnary, limitStream := grpc.UnaryServerInterceptor(passUnary), grpc.StreamServerInterceptor(passStream)
	if cfg.RateLimit > 0 {
		lim := grpcapi.NewRateLimiter(cfg.RateLimit, cfg.RateBurst)
		u, st := lim.Interceptors()
		limitUnary = selector.UnaryServerInterceptor(u, selector.MatchFunc(grpcapi.NeedsAuth))
		limitStream = selector.StreamServerInterceptor(st, selector.MatchFunc(grpcapi.NeedsAuth))
	}
	streams := grpcapi.NewStreamLimiter(cfg.MaxStreams, cfg.MaxStreamsPerClient, cfg.StreamIdleTimeout)
	authenticate := recordCaller(authn.Authenticate)
	authUnary := selector.UnaryServerInterceptor(grpcauth.UnaryServerInterceptor(authenticate), selector.MatchFunc(grpcapi.NeedsAuth))
	authStream := selector.StreamServerInterceptor(grpcauth.StreamServerInterceptor(authenticate), selector.MatchFunc(grpcapi.NeedsAuth))
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall), logging.WithLevels(codeToLevel),
		logging.WithFieldsFromContextAndCallMeta(callFields), logging.WithErrorFields(errorFields)}
	onPanic := recovery.WithRecoveryHandler(func(p any) error {
		log.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	a.grpc = grpc.NewServer(append(serverOpts,
		grpc.ChainUnaryInterceptor(callSlotUnary, metrics.UnaryServerInterceptor(), logging.UnaryServerInterceptor(logger, logOpts...), recovery.UnaryServerInterceptor(onPanic), a.domain.UnaryServerInterceptor(), authUnary, limitUnary, sizeUnary, a.keyGateUnary),
		grpc.ChainStreamInterceptor(callSlotStream, metrics.StreamServerInterceptor(), logging.StreamServerInterceptor(logger, logOpts...), recovery.StreamServerInterceptor(onPanic), a.domain.StreamServerInterceptor(), authStream, limitStream, streams.Interceptor(), sizeStream, a.keyGateStream),
		// Requests up to 4× the limit are decoded so that MaxRequestBytes can
		// name the problem; beyond that gRPC refuses them itself.
		grpc.MaxRecvMsgSize(4*cfg.MaxRecvMsgBytes),
		grpc.NumStreamWorkers(uint32(cfg.GRPCWorkers)),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)...)
	tpv1.RegisterClaimServiceServer(a.grpc, grpcapi.NewClaimServer(svc, cfg.MaxStreamClaims))
	tpv1.RegisterOppositionServiceServer(a.grpc, grpcapi.NewOppositionServer(svc).BoundSnapshots(cfg.SnapshotInterval))
	tpv1.RegisterBeneficiaryServiceServer(a.grpc, grpcapi.NewBeneficiaryServer(svc))
	tpv1.RegisterParameterServiceServer(a.grpc, grpcapi.NewParameterServer(svc))
	tpv1.RegisterPaymentServiceServer(a.grpc, grpcapi.NewPaymentServer(svc))
	tpv1.RegisterOrganismServiceServer(a.grpc, grpcapi.NewOrganismServer(svc))
	tpv1.RegisterAuditServiceServer(a.grpc, grpcapi.NewAuditServer(svc))
	a.health = health.NewServer()
	healthpb.RegisterHealthServer(a.grpc, a.health)
	registerReflection(a.grpc)
	metrics.InitializeMetrics(a.grpc)

	glis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		a.closeStore()
		return nil, fmt.Errorf("listen gRPC: %w", err)
	}
	alis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		glis.Close()
		a.closeStore()
		return nil, fmt.Errorf("listen admin: %w", err)
	}
	a.GRPCAddr, a.AdminAddr = glis.Addr().String(), alis.Addr().String()

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.Ping(r.Context()); err != nil {
			http.Error(w, "state store unavailable", http.StatusServiceUnavailable)
			return
		}
		if a.clusterMismatch.Load() {
			http.Error(w, "state store is a Redis Cluster: set ADJ_REDIS_CLUSTER=true", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		log.Warn("pprof enabled on the admin port", "admin", a.AdminAddr)
	}
	a.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if cfg.HTTPAddr != "" {
		if err := a.startGateway(ctx, cfg); err != nil {
			glis.Close()
			alis.Close()
			a.closeStore()
			return nil, err
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	a.stop = stop
	a.setReady(runCtx)
	a.wg.Add(4)
	if a.tls != nil {
		hup := notifyHUP()
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.tls.run(runCtx, hup, certPollInterval) }()
	}
	go func() { defer a.wg.Done(); refreshOrganisms(runCtx, svc, log) }()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.domain.WatchOverdue(runCtx, svc, cfg.OverdueInterval, 5*time.Second, log)
	}()
	go func() { defer a.wg.Done(); a.errs <- a.grpc.Serve(glis) }()
	go func() {
		defer a.wg.Done()
		if err := a.admin.Serve(alis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errs <- err
		}
	}()
	go func() { defer a.wg.Done(); a.watchStore(runCtx) }()
	clockDesc := "system"
	if !cfg.Clock.IsZero() {
		clockDesc = "fixed at " + cfg.Clock.Format(time.RFC3339)
	}
	authDesc := "open (no authentication: every caller is an administrator)"
	if !cfg.AuthOpen() {
		authDesc = authMode(cfg)
	}
	storeAddrs := cfg.RedisAddrs
	if cfg.Embedded() {
		storeAddrs = addrs
	}
	log.Info("adjudicator serving", "grpc", a.GRPCAddr, "admin", a.AdminAddr, "http", a.HTTPAddr, "store", a.storeKind, "store_addrs", storeAddrs,
		"auth", authDesc, "tls", cfg.TLSCert != "", "clock", clockDesc)
	return a, nil
}

// transportCredentials is TLS when a server certificate is configured, with
// client certificates verified against ADJ_TLS_CLIENT_CA.
func transportCredentials(cfg config.Config, a *App) ([]grpc.ServerOption, error) {
	if cfg.TLSCert == "" {
		if cfg.HTTPAddr != "" {
			return []grpc.ServerOption{grpc.Creds(gateway.ServerCredentials(insecure.NewCredentials()))}, nil
		}
		return nil, nil
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		// A certificate that is given must verify (expired or foreign ones
		// fail the handshake); calls without one are refused by the auth
		// interceptor unless they carry a token, and health and reflection
		// stay reachable for probes.
		base.ClientAuth = tls.VerifyClientCertIfGiven
	}
	// The certificate, key and client CA are reloaded on SIGHUP or file
	// change (tlsreload.go).
	r, err := newTLSReloader(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA, base, a.log)
	if err != nil {
		return nil, err
	}
	a.tls = r
	tc := r.config()
	creds := credentials.NewTLS(tc)
	if cfg.HTTPAddr != "" {
		// The gateway's in-process connections carry their HTTP client's
		// certificate (internal/gateway).
		creds = gateway.ServerCredentials(creds)
	}
	return []grpc.ServerOption{grpc.Creds(creds)}, nil
}

func passUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(ctx, req)
}

func passStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, ss)
}

// refreshOrganisms keeps the service's copy of the organisms fresh.
func refreshOrganisms(ctx context.Context, svc *service.Service, log *slog.Logger) {
	every(ctx, service.OrganismRefresh, func() {
		if err := svc.RefreshOrganisms(ctx); err != nil && ctx.Err() == nil {
			log.Warn("could not refresh organisms", "error", err.Error())
		}
	})
}

func codeToLevel(c codes.Code) logging.Level {
	switch c {
	case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition, codes.Canceled:
		return logging.LevelInfo
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return logging.LevelError
	default:
		return logging.LevelWarn
	}
}

// setReady sets readiness from one ping of the store.
func (a *App) setReady(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st := healthpb.HealthCheckResponse_SERVING
	if err := a.store.Ping(pctx); err != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	} else if a.clusterUnchecked {
		// The node was down at startup: ask it now whether it is a Cluster
		// node, which the single-node client cannot serve.
		if isCluster, err := clusterEnabled(pctx, a.rdb); err == nil {
			a.clusterUnchecked = false
			if isCluster {
				a.clusterMismatch.Store(true)
				a.log.Error("ADJ_REDIS_ADDRS names a Redis Cluster node but the service started with the single-node client (the node was down at startup): every call would fail with MOVED; restart with ADJ_REDIS_CLUSTER=true")
			}
		}
	}
	if st == healthpb.HealthCheckResponse_SERVING && !a.keyChecked.Load() {
		if err := a.checkKey(pctx); err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
	}
	if a.clusterMismatch.Load() || a.keyMismatch.Load() {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	a.health.SetServingStatus(ReadinessService, st)
	a.domain.SetReady(st == healthpb.HealthCheckResponse_SERVING)
}

// watchStore flips readiness when the store stops or starts answering.
func (a *App) watchStore(ctx context.Context) {
	every(ctx, 500*time.Millisecond, func() { a.setReady(ctx) })
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// Shutdown stops serving: readiness goes NOT_SERVING, in-flight calls get the
// grace period, then everything closes.
func (a *App) Shutdown() {
	a.health.Shutdown()
	a.stop()
	gctx, gcancel := context.WithTimeout(context.Background(), a.grace)
	a.stopGateway(gctx)
	gcancel()
	done := make(chan struct{})
	go func() { a.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.grace):
		a.grpc.Stop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.grace)
	defer cancel()
	_ = a.admin.Shutdown(sctx)
	a.wg.Wait()
	a.closeStore()
}

func (a *App) closeStore() {
	_ = a.rdb.Close()
	if a.Embedded != nil {
		a.Embedded.Close()
	}
}

// Wait returns when ctx ends (then shuts down) or a server fails.
func (a *App) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
		a.Shutdown()
		return nil
	case err := <-a.errs:
		a.Shutdown()
		return err
	}
}
