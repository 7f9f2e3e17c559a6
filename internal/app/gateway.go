package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/tierspayant/tierspayant/internal/gateway"
	"github.com/tierspayant/tierspayant/internal/platform/config"
)

// startGateway binds ADJ_HTTP_ADDR and serves the JSON/HTTP gateway on it
// (docs/http.md); a.grpc serves the gateway's in-process listener, so every
// request goes through the same authentication and limits as a gRPC call
// (transportCredentials wraps the server's credentials for it).
func (a *App) startGateway(ctx context.Context, cfg config.Config) error {
	gw, err := gateway.New(ctx, gateway.Config{
		TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, TLSClientCA: cfg.TLSClientCA,
		// JSON is larger than the binary message it decodes to; the gRPC
		// listener applies ADJ_MAX_RECV_MSG_BYTES to that message.
		MaxBodyBytes: 8 * int64(cfg.MaxRecvMsgBytes),
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		_ = gw.Close()
		return fmt.Errorf("listen HTTP gateway: %w", err)
	}
	a.HTTPAddr, a.gw, a.gwServer = lis.Addr().String(), gw, gw.Server(slog.NewLogLogger(a.log.Handler(), slog.LevelWarn))
	if !cfg.AuthOpen() && cfg.TLSCert == "" {
		a.log.Warn("bearer tokens over plain HTTP on the gateway: set ADJ_TLS_CERT and ADJ_TLS_KEY outside a loopback test", "http", a.HTTPAddr)
	}
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		// The listener closes on shutdown (stopGateway or GracefulStop).
		if err := a.grpc.Serve(gw.Listener()); err != nil && !errors.Is(err, net.ErrClosed) {
			a.errs <- err
		}
	}()
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
