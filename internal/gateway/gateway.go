// Package gateway is the JSON/HTTP gateway for billing software without
// gRPC (docs/http.md): grpc-gateway v2 handlers generated from proto/ (REST
// paths in proto/gateway.yaml, every other method at
// POST /tierspayant.v1.<Service>/<Method>) and the OpenAPI v2 document at
// /openapi.json.
//
// The gateway does not call the service directly: it dials the server's own
// gRPC listener over loopback, so every HTTP request goes through the same
// interceptors as a gRPC call (authentication, rate and size limits, logging,
// metrics). The Authorization header travels as the call's "authorization"
// metadata: a bearer token authenticates an HTTP request exactly as it does a
// gRPC call. Client certificates are not passed on (the loopback connection
// is the gateway's own): with mutual TLS only, the gateway answers 401 and
// billing software needs a bearer token (ADJ_AUTH_TOKENS_FILE).
package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tierspayant/tierspayant/gen/openapi"
	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// OpenAPIPath is where the OpenAPI v2 document is served.
const OpenAPIPath = "/openapi.json"

// Config says how to reach the gRPC listener and how to serve HTTP.
type Config struct {
	// GRPCAddr is the gRPC listener's bound address; an unspecified host
	// (0.0.0.0, ::) is dialled on loopback.
	GRPCAddr string
	// TLSCert and TLSKey are the server's certificate and key files
	// (ADJ_TLS_CERT, ADJ_TLS_KEY). When set, the gRPC listener speaks TLS:
	// the gateway dials it trusting exactly this certificate, and serves
	// HTTPS with it.
	TLSCert, TLSKey string
	// MaxBodyBytes caps a request body (0: no cap). The gRPC listener still
	// applies its own message limit to the decoded request.
	MaxBodyBytes int64
}

// Gateway is the HTTP handler and the loopback connection behind it.
type Gateway struct {
	conn    *grpc.ClientConn
	handler http.Handler
	tls     *tls.Config
}

// New builds the gateway. It does not connect yet: the loopback connection
// is made on the first request.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	target, err := loopback(cfg.GRPCAddr)
	if err != nil {
		return nil, err
	}
	g := &Gateway{}
	creds := insecure.NewCredentials()
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("gateway: server certificate: %w", err)
		}
		creds = credentials.NewTLS(pinned(cert))
		g.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	g.conn, err = grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	mux := runtime.NewServeMux(
		// protojson as the gRPC tools read and write it, except that an
		// unknown (misspelt) field is refused rather than dropped: a claim
		// must not be priced without a field its sender meant to give.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
	)
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		tpv1.RegisterClaimServiceHandler,
		tpv1.RegisterOppositionServiceHandler,
		tpv1.RegisterBeneficiaryServiceHandler,
		tpv1.RegisterParameterServiceHandler,
		tpv1.RegisterPaymentServiceHandler,
		tpv1.RegisterOrganismServiceHandler,
		tpv1.RegisterAuditServiceHandler,
	} {
		if err := register(ctx, mux, g.conn); err != nil {
			g.conn.Close()
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	root := http.NewServeMux()
	root.HandleFunc("GET "+OpenAPIPath, serveOpenAPI)
	var api http.Handler = mux
	if cfg.MaxBodyBytes > 0 {
		api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, cfg.MaxBodyBytes)
			mux.ServeHTTP(w, r)
		})
	}
	root.Handle("/", api)
	g.handler = root
	return g, nil
}

// Handler is the gateway's HTTP handler: the API and /openapi.json.
func (g *Gateway) Handler() http.Handler { return g.handler }

// TLS is the HTTPS configuration (nil: plain HTTP).
func (g *Gateway) TLS() *tls.Config { return g.tls }

// Server returns an HTTP server for the gateway.
func (g *Gateway) Server() *http.Server {
	return &http.Server{
		Handler:           g.handler,
		TLSConfig:         g.tls,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Serve serves the gateway on lis (HTTPS when a certificate is configured)
// until srv is shut down; it returns nil then.
func (g *Gateway) Serve(srv *http.Server, lis net.Listener) error {
	var err error
	if g.tls != nil {
		err = srv.ServeTLS(lis, "", "")
	} else {
		err = srv.Serve(lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the loopback connection.
func (g *Gateway) Close() error { return g.conn.Close() }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.JSON)
}

// loopback is the address to dial for a listener bound to addr.
func loopback(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("gateway: gRPC address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}

// pinned is the TLS client configuration of the loopback connection: the
// peer must present exactly the server's own certificate (whatever name or
// CA it has: the gateway dials its own process).
func pinned(own tls.Certificate) *tls.Config {
	leaf := own.Certificate[0]
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Chain and name checks are replaced by the exact match below.
		InsecureSkipVerify: true, //nolint:gosec // pinned to the server's own certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
				return errors.New("gateway: the gRPC listener did not present the server's own certificate")
			}
			return nil
		},
	}
}
