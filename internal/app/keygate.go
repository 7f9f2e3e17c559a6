package app

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tierspayant/tierspayant/internal/store/redisstore"
)

// checkKey asks the store whether the HMAC key is the one it was written
// with, and remembers a confirmation or a refusal.
func (a *App) checkKey(ctx context.Context) error {
	err := a.store.CheckKey(ctx)
	switch {
	case err == nil:
		a.keyChecked.Store(true)
	case errors.Is(err, redisstore.ErrKeyMismatch):
		if !a.keyMismatch.Swap(true) {
			a.log.Error("HMAC KEY MISMATCH: refusing every call; restore the ADJ_HMAC_SECRET this Redis was written with (docs/OPERATIONS.md#hmac-key)", "error", err.Error())
		}
	}
	return err
}

// errKeyRefused answers every call while the key is refused or unchecked:
// another replica, with the right key or a store that answers, may serve it.
var errKeyRefused = status.Error(codes.Unavailable, "the service's HMAC key does not match the store's: this replica does not serve (docs/OPERATIONS.md#hmac-key)")

// keyGate lets a call through once the store confirmed the key; until then
// it checks the key itself, so that no call is served with an unchecked key.
func (a *App) keyGate(ctx context.Context, method string) error {
	if strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.") || a.keyChecked.Load() {
		return nil
	}
	if a.keyMismatch.Load() {
		return errKeyRefused
	}
	if err := a.checkKey(ctx); err != nil {
		if errors.Is(err, redisstore.ErrKeyMismatch) {
			return errKeyRefused
		}
		return status.Error(codes.Unavailable, "state store unavailable: the HMAC key could not be checked, retry")
	}
	return nil
}

func (a *App) keyGateUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.keyGate(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a *App) keyGateStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.keyGate(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}
