// Package pythonclient_test runs client.py, a Python client written against
// stubs that Debian's protoc generates from proto/, against the real
// adjudicator on a real Redis: the API is usable from Python as shipped.
package pythonclient_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// python is Debian's interpreter: the python3 on PATH may be another one
// (pyenv) without Debian's python3-grpcio.
const python = "/usr/bin/python3"

// debianPackages are what the test needs: protoc with the well-known .proto
// files (libprotobuf-dev), and gRPC and protobuf for Debian's Python.
var debianPackages = []string{"protobuf-compiler", "libprotobuf-dev", "python3-grpcio", "python3-protobuf"}

// rpcStatusProto declares google.rpc.Status and google.rpc.BadRequest with
// the field numbers and types of googleapis' google/rpc/status.proto and
// error_details.proto, under a package of its own so that it never collides
// with a real copy: decoding the grpc-status-details-bin trailer and the
// value of its Any details needs only the wire format, and Debian ships no
// Python module for google.rpc.
const rpcStatusProto = `syntax = "proto3";

package tpclient.rpc;

import "google/protobuf/any.proto";

// google.rpc.Status.
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}

// google.rpc.BadRequest.
message BadRequest {
  // google.rpc.BadRequest.FieldViolation.
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
`

func TestPythonClient(t *testing.T) {
	ensureDebianPackages(t)
	stubs := generateStubs(t)

	srv := redistest.Shared(t)
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Auth = "127.0.0.1:0", "127.0.0.1:0", "open"
	cfg.Clock = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC) // the day after the care of the README's walk-through
	cfg.RedisAddrs, cfg.RedisDB = []string{srv.Addr}, srv.NewDB(t)
	// A secret of this run: the beneficiary's keys are new even on a Redis
	// shared with other tests and earlier runs.
	cfg.HMACSecret = "python-client-test-" + strings.Repeat("k", 16) + time.Now().Format(time.RFC3339Nano)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	a, err := app.Start(ctx, cfg, logging.New(&logs, "info"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		a.Shutdown()
		if t.Failed() {
			t.Logf("adjudicator logs:\n%s", logs.String())
		}
	})

	runCtx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()
	cmd := exec.CommandContext(runCtx, python, "client.py", a.GRPCAddr, stubs)
	cmd.Env = pythonEnv()
	out, err := cmd.CombinedOutput()
	t.Logf("%s client.py %s %s:\n%s", python, a.GRPCAddr, stubs, out)
	if err != nil {
		t.Fatalf("client.py: %v", err)
	}
	for _, want := range []string{"registered beneficiary", "AMO 21.00", "field violations", "all checks passed"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("client.py's output lacks %q", want)
		}
	}
}

// ensureDebianPackages installs the missing packages as root (CI runs as
// root), and skips the test otherwise.
func ensureDebianPackages(t *testing.T) {
	t.Helper()
	if len(missing()) == 0 {
		return
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skipf("missing %v and no apt-get to install %v", missing(), debianPackages)
	}
	if os.Geteuid() != 0 {
		t.Skipf("missing %v: run as root to install them, or `apt-get install %s`", missing(), strings.Join(debianPackages, " "))
	}
	t.Logf("installing %v (missing: %v)", debianPackages, missing())
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=300", "update", "-qq"},
		append([]string{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends"}, debianPackages...),
	} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("still missing after installing %v: %v", debianPackages, m)
	}
}

// missing lists what is not there yet.
func missing() []string {
	var m []string
	for _, path := range []string{"/usr/bin/protoc", "/usr/include/google/protobuf/timestamp.proto", python} {
		if _, err := os.Stat(path); err != nil {
			m = append(m, path)
		}
	}
	if len(m) == 0 {
		cmd := exec.Command(python, "-c", "import grpc, google.protobuf")
		cmd.Env = pythonEnv()
		if err := cmd.Run(); err != nil {
			m = append(m, "Python modules grpc and google.protobuf")
		}
	}
	return m
}

// pythonEnv is the environment without what would point Debian's Python at
// another installation's modules.
func pythonEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYTHONPATH=") || strings.HasPrefix(kv, "PYTHONHOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONDONTWRITEBYTECODE=1")
}

// generateStubs runs protoc --python_out on every file of proto/ and on the
// declaration of google.rpc.Status, into a temporary folder.
func generateStubs(t *testing.T) string {
	t.Helper()
	protoRoot, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(protoRoot, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".proto") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no .proto file under %s: %v", protoRoot, err)
	}
	rpcRoot := t.TempDir()
	rpcFile := filepath.Join(rpcRoot, "tpclient", "rpc_status.proto")
	if err := os.MkdirAll(filepath.Dir(rpcFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rpcFile, []byte(rpcStatusProto), 0o644); err != nil {
		t.Fatal(err)
	}
	stubs := t.TempDir()
	args := append([]string{"-I", protoRoot, "-I", rpcRoot, "-I", "/usr/include", "--python_out=" + stubs, rpcFile}, files...)
	if out, err := exec.Command("/usr/bin/protoc", args...).CombinedOutput(); err != nil {
		t.Fatalf("protoc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return stubs
}
