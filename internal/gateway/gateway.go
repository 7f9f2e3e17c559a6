// Package gateway is the JSON/HTTP gateway for billing software without
// gRPC (docs/http.md): grpc-gateway v2 handlers generated from proto/ (REST
// paths in proto/gateway.yaml, every other method at
// POST /tierspayant.v1.<Service>/<Method>) and the OpenAPI v2 document at
// /openapi.json.
//
// The gateway does not call the service directly: it is a gRPC client of the
// server, over an in-process listener the server also serves (Listener), so
// every HTTP request goes through the same interceptors as a gRPC call
// (authentication, rate and size limits, logging, metrics). The
// Authorization header travels as the call's "authorization" metadata: a
// bearer token authenticates an HTTP request exactly as it does a gRPC call.
// With mutual TLS, the client certificate the HTTP client presented (and the
// gateway verified against the same CA) reaches the authenticator as the
// connection's TLS information (ServerCredentials): one in-process
// connection per client certificate.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tierspayant/tierspayant/gen/openapi"
	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

// OpenAPIPath is where the OpenAPI v2 document is served.
const OpenAPIPath = "/openapi.json"

// Config says how to serve HTTP.
type Config struct {
	// TLSCert and TLSKey are the server's certificate and key files
	// (ADJ_TLS_CERT, ADJ_TLS_KEY): HTTPS when set.
	TLSCert, TLSKey string
	// TLSClientCA is the CA file that signs client certificates
	// (ADJ_TLS_CLIENT_CA): a certificate an HTTP client gives must verify
	// against it, and authenticates its calls as over gRPC.
	TLSClientCA string
	// MaxBodyBytes caps a request body (0: no cap). The gRPC server still
	// applies its own message limit to the decoded request.
	MaxBodyBytes int64
}

// Gateway is the HTTP handler and the in-process connections behind it.
type Gateway struct {
	lis     *pipeListener
	router  *router
	handler http.Handler
	tls     *tls.Config
}

// New builds the gateway. The gRPC server must serve Listener (with
// ServerCredentials around its own credentials) for calls to get through.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	g := &Gateway{lis: newPipeListener()}
	g.router = &router{lis: g.lis, conns: map[[32]byte]*routed{}}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("gateway: server certificate: %w", err)
		}
		g.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.TLSClientCA != "" {
			pemCA, err := os.ReadFile(cfg.TLSClientCA)
			if err != nil {
				return nil, fmt.Errorf("gateway: client CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemCA) {
				return nil, fmt.Errorf("gateway: client CA: no certificate in %s", cfg.TLSClientCA)
			}
			// As on the gRPC listener: a given certificate must verify; a
			// request without one needs a bearer token.
			g.tls.ClientCAs, g.tls.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
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
	cc := g.router
	for _, err := range []error{
		tpv1.RegisterClaimServiceHandlerClient(ctx, mux, tpv1.NewClaimServiceClient(cc)),
		tpv1.RegisterOppositionServiceHandlerClient(ctx, mux, tpv1.NewOppositionServiceClient(cc)),
		tpv1.RegisterBeneficiaryServiceHandlerClient(ctx, mux, tpv1.NewBeneficiaryServiceClient(cc)),
		tpv1.RegisterParameterServiceHandlerClient(ctx, mux, tpv1.NewParameterServiceClient(cc)),
		tpv1.RegisterPaymentServiceHandlerClient(ctx, mux, tpv1.NewPaymentServiceClient(cc)),
		tpv1.RegisterOrganismServiceHandlerClient(ctx, mux, tpv1.NewOrganismServiceClient(cc)),
		tpv1.RegisterAuditServiceHandlerClient(ctx, mux, tpv1.NewAuditServiceClient(cc)),
	} {
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	root := http.NewServeMux()
	root.HandleFunc("GET "+OpenAPIPath, serveOpenAPI)
	root.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.MaxBodyBytes > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, cfg.MaxBodyBytes)
		}
		mux.ServeHTTP(w, r.WithContext(withClientState(r.Context(), r.TLS)))
	}))
	g.handler = root
	return g, nil
}

// Listener is the in-process listener the gRPC server must serve.
func (g *Gateway) Listener() net.Listener { return g.lis }

// Handler is the gateway's HTTP handler: the API and /openapi.json.
func (g *Gateway) Handler() http.Handler { return g.handler }

// TLS is the HTTPS configuration (nil: plain HTTP).
func (g *Gateway) TLS() *tls.Config { return g.tls }

// Server returns an HTTP server for the gateway; errLog gets the server's
// own errors (failed TLS handshakes), nil: the log package's.
func (g *Gateway) Server(errLog *log.Logger) *http.Server {
	return &http.Server{
		ErrorLog:          errLog,
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

// Close closes the in-process connections and the listener.
func (g *Gateway) Close() error {
	g.router.close()
	return g.lis.Close()
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.JSON)
}
