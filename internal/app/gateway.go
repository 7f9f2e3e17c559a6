package app

import (
	"context"
	"fmt"
	"net"

	"github.com/tierspayant/tierspayant/internal/gateway"
	"github.com/tierspayant/tierspayant/internal/platform/config"
)

// startGateway binds ADJ_HTTP_ADDR and serves the JSON/HTTP gateway on it
// (docs/http.md); the gateway dials the gRPC listener a.GRPCAddr, so every
// request goes through the same authentication and limits as a gRPC call.
func (a *App) startGateway(ctx context.Context, cfg config.Config) error {
	gw, err := gateway.New(ctx, gateway.Config{
		GRPCAddr: a.GRPCAddr, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey,
		// JSON is larger than the binary message it decodes to; the gRPC
		// listener applies ADJ_MAX_RECV_MSG_BYTES to that message.
		MaxBodyBytes: 8 * int64(cfg.MaxRecvMsgBytes),
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		gw.Close()
		return fmt.Errorf("listen HTTP gateway: %w", err)
	}
	a.HTTPAddr, a.gw, a.gwServer = lis.Addr().String(), gw, gw.Server()
	if !cfg.AuthOpen() && cfg.TLSCert == "" {
		a.log.Warn("bearer tokens over plain HTTP on the gateway: set ADJ_TLS_CERT and ADJ_TLS_KEY outside a loopback test", "http", a.HTTPAddr)
	}
	if cfg.TLSClientCA != "" {
		a.log.Info("the HTTP gateway authenticates bearer tokens only: client certificates are not passed on (docs/http.md#authentication)")
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := gw.Serve(a.gwServer, lis); err != nil {
			a.errs <- err
		}
	}()
	return nil
}

// stopGateway stops the gateway first, while the gRPC listener still serves
// its in-flight requests.
func (a *App) stopGateway(ctx context.Context) {
	if a.gwServer == nil {
		return
	}
	if err := a.gwServer.Shutdown(ctx); err != nil {
		_ = a.gwServer.Close()
	}
	_ = a.gw.Close()
}
