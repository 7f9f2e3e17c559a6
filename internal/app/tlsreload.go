package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certPollInterval is how often the reloader looks at the files' mtimes.
const certPollInterval = 3 * time.Second

// tlsReloader holds the server's certificate and client CA pool and swaps
// them without a restart: on SIGHUP and when a file's mtime or size changes
// (docs/OPERATIONS.md#certificate-rotation). A file that does not load keeps
// the previous material and is logged. Handshakes read the current material
// through GetConfigForClient; established connections are not affected.
type tlsReloader struct {
	certFile, keyFile, caFile string
	base                      *tls.Config
	log                       *slog.Logger
	cur                       atomic.Pointer[tls.Config]
	stamp                     atomic.Pointer[string]
}

// newTLSReloader loads the files once; an error here fails the start.
func newTLSReloader(certFile, keyFile, caFile string, base *tls.Config, log *slog.Logger) (*tlsReloader, error) {
	r := &tlsReloader{certFile: certFile, keyFile: keyFile, caFile: caFile, base: base, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// config is the tls.Config to give the server: every handshake asks the
// reloader for the current one.
func (r *tlsReloader) config() *tls.Config {
	return &tls.Config{
		MinVersion: r.base.MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.cur.Load(), nil
		},
	}
}

// load reads the files and, if they make a valid configuration, installs it.
func (r *tlsReloader) load() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	tc := r.base.Clone()
	tc.Certificates = []tls.Certificate{cert}
	if len(tc.NextProtos) == 0 {
		// gRPC negotiates HTTP/2 by ALPN; the config returned per
		// handshake must offer it itself.
		tc.NextProtos = []string{"h2"}
	}
	if r.caFile != "" {
		pemCA, err := os.ReadFile(r.caFile)
		if err != nil {
			return fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCA) {
			return fmt.Errorf("client CA: no certificate in %s", r.caFile)
		}
		tc.ClientCAs = pool
	}
	r.cur.Store(tc)
	r.stamp.Store(&stamp)
	return nil
}

// Reload re-reads the files; on failure the current certificate stays.
func (r *tlsReloader) Reload() error {
	if err := r.load(); err != nil {
		r.log.Error("TLS reload failed: keeping the previous certificate", "error", err.Error())
		return err
	}
	leaf := r.cur.Load().Certificates[0].Leaf
	if leaf != nil {
		r.log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16),
			"not_after", leaf.NotAfter.Format(time.RFC3339))
	} else {
		r.log.Info("TLS certificate reloaded")
	}
	return nil
}

// ReloadTLS re-reads the server certificate, key and client CA now, as
// SIGHUP does; without TLS it does nothing. A file that does not load keeps
// the previous certificate and returns the error.
func (a *App) ReloadTLS() error {
	if a.tls == nil {
		return nil
	}
	return a.tls.Reload()
}

// fileStamp is the files' mtimes and sizes, to notice a change.
func (r *tlsReloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile, r.caFile} {
		if f == "" {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			s += f + ":missing;"
			continue
		}
		s += fmt.Sprintf("%s:%d:%d;", f, fi.ModTime().UnixNano(), fi.Size())
	}
	return s
}

// changed reports whether the files differ from the last load attempt's.
func (r *tlsReloader) changed() bool {
	old := r.stamp.Load()
	return old == nil || *old != r.fileStamp()
}

// poll reloads when the files changed; a failed load is retried only once
// the files change again.
func (r *tlsReloader) poll() {
	if !r.changed() {
		return
	}
	if err := r.Reload(); err != nil {
		stamp := r.fileStamp()
		r.stamp.Store(&stamp)
	}
}

// notifyHUP catches SIGHUP from now on; Start calls it before serving, so a
// SIGHUP sent once the server answers never meets the default action (exit).
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// run reloads on each signal of hup and on file changes every interval,
// until ctx ends; then it stops catching hup's signals.
func (r *tlsReloader) run(ctx context.Context, hup chan os.Signal, interval time.Duration) {
	defer signal.Stop(hup)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.Reload()
		case <-t.C:
			r.poll()
		}
	}
}
