package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tierspayant/tierspayant/internal/devcerts"
	"github.com/tierspayant/tierspayant/internal/harness"
)

// serial is the serial number of a PEM certificate.
func serial(t *testing.T, certPEM []byte) *big.Int {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}

// replaceKeeping writes data to path through a temporary file renamed over
// it, with the modification time mtime: the file's mtime and size (when data
// is as long as before) stay what the server last saw.
func replaceKeeping(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestSIGHUPReloadsCertificate runs the built binary with a TLS certificate,
// replaces the certificate and key files with a new pair of the same sizes
// and modification times (so that the mtime poll cannot notice: only the
// signal can), sends the process SIGHUP, and checks that a new handshake
// presents the new certificate while a connection opened before keeps
// working (docs/OPERATIONS.md#certificate-rotation).
func TestSIGHUPReloadsCertificate(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, err := devcerts.NewAuthority("SIGHUP test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	oldCert, oldKey, err := ca.Server(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, oldKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, oldCert, 0o600); err != nil {
		t.Fatal(err)
	}
	// The new pair, of the same sizes as the old (a serial or a signature
	// may be a byte shorter: draw again).
	var newCert, newKey []byte
	for range 100 {
		c, k, err := ca.Server(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(c) == len(oldCert) && len(k) == len(oldKey) {
			newCert, newKey = c, k
			break
		}
	}
	if newCert == nil {
		t.Fatal("no new certificate of the same size in 100 draws")
	}

	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := harness.New("adjudicator", filepath.Join(dir, "adjudicator.log"),
		[]string{bin, "-grpc-addr", addr, "-admin-addr", "127.0.0.1:0"},
		[]string{"ADJ_TLS_CERT=" + certFile, "ADJ_TLS_KEY=" + keyFile, "ADJ_AUTH=open"})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill9)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	clientTLS := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := harness.WaitServing(ctx, p, hc, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.LogTail(20))
	}
	presented := func() *big.Int {
		t.Helper()
		cfg := clientTLS.Clone()
		cfg.NextProtos = []string{"h2"}
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatalf("TLS handshake: %v\n%s", err, p.LogTail(20))
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber
	}
	check := func(what string) {
		t.Helper()
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		if r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%s: health over the connection opened before: %v %v", what, r.GetStatus(), err)
		}
	}
	if got, want := presented(), serial(t, oldCert); got.Cmp(want) != 0 {
		t.Fatalf("before: serial %x, want %x", got, want)
	}
	check("before the rotation")

	// Replaced with the same sizes and mtimes: the poll (every 3 s) sees no
	// change, and the old certificate stays after two of its rounds.
	for _, f := range []struct {
		path string
		data []byte
	}{{keyFile, newKey}, {certFile, newCert}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		replaceKeeping(t, f.path, f.data, fi.ModTime())
	}
	time.Sleep(6500 * time.Millisecond)
	if got, want := presented(), serial(t, oldCert); got.Cmp(want) != 0 {
		t.Fatalf("the poll reloaded files whose mtime and size did not change: serial %x, want still %x", got, want)
	}

	if err := syscall.Kill(p.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := serial(t, newCert)
	deadline := time.Now().Add(10 * time.Second)
	for presented().Cmp(want) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: the server still presents the old certificate\n%s", p.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	check("after SIGHUP")
	if !p.Running() {
		t.Fatalf("the process exited on SIGHUP:\n%s", p.LogTail(20))
	}
	logs, err := os.ReadFile(p.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs, []byte("TLS certificate reloaded")) || !strings.Contains(string(logs), want.Text(16)) {
		t.Errorf("no reload of serial %x in the log:\n%s", want, p.LogTail(20))
	}
}
