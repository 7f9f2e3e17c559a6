// Package redistest gives tests a real redis-server. Unless
// TIERSPAYANT_TEST_REDIS names one that answers, it starts a private
// redis-server on a free loopback port for the test binary and stops it at
// the end. It never fakes Redis.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tierspayant/tierspayant/internal/harness"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

var (
	once   sync.Once
	shared *Server
	err    error
)

// Shared returns the test binary's redis-server, starting it on first use.
// Call Stop from TestMain after m.Run.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	once.Do(func() {
		if addr := os.Getenv("TIERSPAYANT_TEST_REDIS"); addr != "" && answers(addr) {
			shared = &Server{Addr: addr}
			return
		}
		shared, err = Start()
	})
	if err != nil {
		tb.Fatalf("redis-server: %v (install it with `apt-get install redis-server`, or run `make test`, which does)", err)
	}
	return shared
}

// DBFor is a fresh database (NewDB) when addr is the shared server's, 0
// for any other server (a test's private one is its own already).
func DBFor(tb testing.TB, addr string) int {
	tb.Helper()
	if shared != nil && shared.Addr == addr {
		return shared.NewDB(tb)
	}
	return 0
}

// StopShared stops the shared server if this binary started it.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// FreePort returns a free loopback TCP port.
func FreePort() (int, error) { return harness.FreePort() }

// Start starts a private redis-server on a free loopback port, with extra
// arguments appended to the command line.
func Start(extra ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "tierspayant-redis-")
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		if s, err := StartOn(port, dir, extra...); err == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("redis-server did not start (see %s)", dir)
}

// StartOn starts redis-server on a given loopback port with its files in dir
// (so that a test can restart it on the same data).
func StartOn(port int, dir string, extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH")
	}
	{
		args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "yes", "--logfile", filepath.Join(dir, "redis.log"),
			"--databases", strconv.Itoa(databases)}, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, dir: dir}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if answers(s.Addr) {
				return s, nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return nil, fmt.Errorf("redis-server did not start on port %d (see %s)", port, dir)
}

// Kill stops the server abruptly (SIGKILL) and keeps its folder.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Stop kills the server and removes its folder.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	_ = os.RemoveAll(s.dir)
}

// databases is how many logical databases a private server has: one per
// service a test binary starts (NewDB).
const databases = 4096

var nextDB atomic.Int64

// NewDB returns a logical database of the server that no other test of this
// binary uses, emptied: a service started on it has a store of its own (its
// HMAC key's fingerprint included) on the shared server. Database 0 stays
// the store tests' own.
func (s *Server) NewDB(tb testing.TB) int {
	tb.Helper()
	n := int(nextDB.Add(1))
	if n >= databases {
		tb.Fatalf("redis %s: more than %d databases asked of one test binary", s.Addr, databases-1)
	}
	c := s.ClientDB(tb, n)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("redis %s: FLUSHDB %d: %v (a server named by TIERSPAYANT_TEST_REDIS needs --databases %d)", s.Addr, n, err, databases)
	}
	return n
}

// Client returns a go-redis client for the server, closed with the test.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	return s.ClientDB(tb, 0)
}

// ClientDB is Client on logical database db.
func (s *Server) ClientDB(tb testing.TB, db int) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DB: db, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	tb.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redis %s: %v", s.Addr, err)
	}
	return c
}
