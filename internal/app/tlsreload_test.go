package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tierspayant/tierspayant/internal/devcerts"
	"github.com/tierspayant/tierspayant/internal/platform/config"
)

// writeServerCert issues a server certificate from ca into dir and returns
// its serial number.
func writeServerCert(t *testing.T, ca *devcerts.Authority, dir string) *big.Int {
	t.Helper()
	certPEM, keyPEM, err := ca.Server(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The key first, then the certificate, each by rename, as a deployment
	// tool would.
	for _, f := range []struct {
		name string
		data []byte
	}{{"server-key.pem", keyPEM}, {"server.pem", certPEM}} {
		tmp := filepath.Join(dir, f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}

// presentedSerial opens a new TLS connection and returns the serial of the
// certificate the server presents.
func presentedSerial(t *testing.T, addr string, roots *x509.CertPool) *big.Int {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN: negotiated %q, want h2", p)
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestTLSReload: the server presents a replaced certificate to new
// connections after a reload (as on SIGHUP) and after the file poll, keeps
// the current one when the new file is bad, and connections opened before
// keep working.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	ca, err := devcerts.NewAuthority("reload test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	first := writeServerCert(t, ca, dir)
	a, _ := startWith(t, "", func(c *config.Config) {
		c.TLSCert, c.TLSKey, c.TLSClientCA = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem")
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	if got := presentedSerial(t, a.GRPCAddr, roots); got.Cmp(first) != 0 {
		t.Fatalf("first certificate: serial %x, want %x", got, first)
	}

	// A gRPC connection opened before the rotation.
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	check := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%s: health over the old connection: %v %v", what, r.GetStatus(), err)
		}
	}
	check("before rotation")

	// Replaced files, then the reload SIGHUP triggers.
	second := writeServerCert(t, ca, dir)
	if second.Cmp(first) == 0 {
		t.Fatal("the new certificate has the same serial")
	}
	if err := a.ReloadTLS(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := presentedSerial(t, a.GRPCAddr, roots); got.Cmp(second) != 0 {
		t.Fatalf("after reload: serial %x, want the new %x", got, second)
	}
	check("after reload")

	// A bad certificate file: the reload fails, is logged, and the server
	// keeps presenting the current certificate.
	if err := os.WriteFile(filepath.Join(dir, "server.pem"), []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadTLS(); err == nil {
		t.Fatal("reload of a bad certificate file succeeded")
	}
	if got := presentedSerial(t, a.GRPCAddr, roots); got.Cmp(second) != 0 {
		t.Fatalf("after a bad file: serial %x, want the kept %x", got, second)
	}
	if !strings.Contains(logs[t].String(), "TLS reload failed") {
		t.Error("the failed reload was not logged")
	}
	check("after a bad file")

	// No reload call: the poll of the files' mtimes notices the change.
	third := writeServerCert(t, ca, dir)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := presentedSerial(t, a.GRPCAddr, roots)
		if got.Cmp(third) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the poll did not pick the new file up: serial %x, want %x", got, third)
		}
		time.Sleep(200 * time.Millisecond)
	}
	check("after the poll")
}
