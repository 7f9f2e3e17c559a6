package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// imageBudget bounds the whole image test: installing podman when missing,
// building the binary and the image, running it.
const imageBudget = 6 * time.Minute

// podman runs podman with the storage options the build used.
type podman struct {
	bin     string
	storage []string
}

func (p podman) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, p.bin, append(append([]string(nil), p.storage...), args...)...)
}

func (p podman) output(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	c := p.cmd(ctx, args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// canInstall reports whether scripts/image.sh can install podman here.
func canInstall() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, err := exec.LookPath("apt-get")
	return err == nil
}

// repoRoot is the module's root (the test runs in deploy/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestImage builds the image with scripts/image.sh (make image), checks its
// configuration and its file system, and where the machine lets a container
// run, starts it against a private redis-server and probes /healthz and
// /readyz. It runs when podman is installed or installable (root with
// apt-get), and always with CI=true.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the image build takes a minute")
	}
	ci := os.Getenv("CI") == "true"
	_, errPodman := exec.LookPath("podman")
	switch {
	case errPodman == nil:
	case canInstall():
		t.Log("podman is missing: scripts/image.sh installs it (Debian package)")
	case ci:
		t.Fatal("CI=true but podman is missing and cannot be installed here (not root, or no apt-get)")
	default:
		t.Skip("podman is missing and cannot be installed here (not root, or no apt-get): install Debian's podman package to run this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), imageBudget)
	defer cancel()

	root := repoRoot(t)
	ref := fmt.Sprintf("localhost/tierspayant/adjudicator-test-%d:latest", os.Getpid())
	repo, _, _ := strings.Cut(ref, ":latest")
	build := exec.CommandContext(ctx, filepath.Join(root, "scripts", "image.sh"))
	build.Dir = root
	build.Env = append(os.Environ(), "IMAGE="+repo, "TAG=latest")
	var buildOut bytes.Buffer
	build.Stdout, build.Stderr = &buildOut, &buildOut
	start := time.Now()
	if err := build.Run(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, buildOut.String())
	}
	t.Logf("image %s built in %s", ref, time.Since(start).Round(time.Second))

	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is still missing after scripts/image.sh: %v", err)
	}
	p := podman{bin: bin}
	// The same storage choice as scripts/image.sh.
	if os.Getenv("STORAGE_DRIVER") == "vfs" || exec.CommandContext(ctx, bin, "info").Run() != nil {
		p.storage = []string{"--storage-driver", "vfs"}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = p.output(ctx, "rmi", "-f", ref)
	})

	t.Run("config", func(t *testing.T) { checkImageConfig(ctx, t, p, ref) })
	t.Run("files", func(t *testing.T) { checkImageFiles(ctx, t, p, ref) })
	t.Run("run", func(t *testing.T) { runImage(ctx, t, p, ref, ci) })
}

// imageInspect is the part of `podman image inspect` the test reads.
type imageInspect struct {
	Size   int64
	Config struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		Env          []string
		Labels       map[string]string
		ExposedPorts map[string]struct{}
	}
}

func inspectImage(ctx context.Context, t *testing.T, p podman, ref string) imageInspect {
	t.Helper()
	out, err := p.output(ctx, "image", "inspect", ref)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []imageInspect
	if err := json.Unmarshal(out, &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("podman image inspect: %v (%d images)", err, len(imgs))
	}
	return imgs[0]
}

// defaultPort is the port of a config variable's default address.
func defaultPort(t *testing.T, name string) string {
	t.Helper()
	for _, v := range config.Variables {
		if v.Name == name {
			_, port, err := net.SplitHostPort(v.Default)
			if err != nil {
				t.Fatalf("%s default %q: %v", name, v.Default, err)
			}
			return port
		}
	}
	t.Fatalf("%s is not in config.Variables", name)
	return ""
}

func knownVariable(name string) bool {
	for _, v := range config.Variables {
		if v.Name == name {
			return true
		}
	}
	return false
}

func checkImageConfig(ctx context.Context, t *testing.T, p podman, ref string) {
	img := inspectImage(ctx, t, p, ref)
	c := img.Config
	t.Logf("image size %d bytes, user %q, entrypoint %q, cmd %q", img.Size, c.User, c.Entrypoint, c.Cmd)
	if strings.Join(c.Entrypoint, " ") != "/adjudicator" {
		t.Errorf("entrypoint %q, want [/adjudicator]", c.Entrypoint)
	}
	uid, _, _ := strings.Cut(c.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("user %q: want a numeric non-root uid (scratch has no /etc/passwd)", c.User)
	}
	for _, l := range []string{"title", "source", "version", "revision", "created"} {
		if c.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("label org.opencontainers.image.%s missing (labels %v)", l, c.Labels)
		}
	}
	if got := c.Labels["org.opencontainers.image.title"]; got != "adjudicator" {
		t.Errorf("title label %q, want adjudicator", got)
	}
	if rev := c.Labels["org.opencontainers.image.revision"]; !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rev) {
		t.Errorf("revision label %q is not a commit", rev)
	}
	env := map[string]string{}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		if strings.HasPrefix(k, "ADJ_") && !knownVariable(k) {
			t.Errorf("image sets %s, which is not in config.Variables", k)
		}
	}
	for _, name := range []string{"ADJ_GRPC_ADDR", "ADJ_ADMIN_ADDR"} {
		want := "0.0.0.0:" + defaultPort(t, name)
		if env[name] != want {
			t.Errorf("image env %s=%q, want %q", name, env[name], want)
		}
		if _, ok := c.ExposedPorts[defaultPort(t, name)+"/tcp"]; !ok {
			t.Errorf("port %s/tcp (%s) not exposed: %v", defaultPort(t, name), name, c.ExposedPorts)
		}
	}
}

// checkImageFiles exports the image's file system (podman create, podman
// export: no container runs) and checks that it holds the binary, static,
// and the CA bundle, and nothing to run a shell with.
func checkImageFiles(ctx context.Context, t *testing.T, p podman, ref string) {
	name := fmt.Sprintf("adj-files-%d", os.Getpid())
	if _, err := p.output(ctx, "create", "--name", name, ref); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = p.output(context.Background(), "rm", "-f", name) }()
	out, err := p.output(ctx, "export", name)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int64{}
	var binary []byte
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		n := strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink {
			files[n] = h.Size
		}
		if n == "adjudicator" {
			if binary, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
			if h.Mode&0o111 == 0 {
				t.Errorf("/adjudicator mode %o is not executable", h.Mode)
			}
		}
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	t.Logf("image files: %v", names)
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, ok := files[shell]; ok {
			t.Errorf("the image has a shell: /%s", shell)
		}
	}
	if files["etc/ssl/certs/ca-certificates.crt"] == 0 {
		t.Error("no CA bundle at /etc/ssl/certs/ca-certificates.crt")
	}
	if binary == nil {
		t.Fatal("no /adjudicator in the image")
	}
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("/adjudicator: %v", err)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("/adjudicator has a dynamic loader (PT_INTERP): not built with CGO_ENABLED=0")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("/adjudicator needs shared libraries %v", libs)
	}
}

// runVariants are the ways tried to start a container, in order: the
// defaults, then for sandboxes that refuse crun's rlimits or cgroups, runc
// with the rlimits kept at or below the sandbox's.
func runVariants() [][]string {
	v := [][]string{nil}
	if _, err := exec.LookPath("runc"); err == nil {
		v = append(v, []string{"--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"})
	}
	v = append(v, []string{"--cgroups", "disabled", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"})
	return v
}

func runImage(ctx context.Context, t *testing.T, p podman, ref string, ci bool) {
	srv, err := redistest.Start()
	if err != nil {
		if ci {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server: %v (install Debian's redis-server; the image's configuration was checked)", err)
	}
	defer srv.Stop()

	dir := t.TempDir()
	secret := filepath.Join(dir, "hmac-secret")
	if err := os.WriteFile(secret, []byte("deploy-test-secret-0123456789abcdef0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	grpcPort, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	adminPort, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	admin := "127.0.0.1:" + strconv.Itoa(adminPort)
	name := fmt.Sprintf("adj-run-%d", os.Getpid())
	// Host networking: the container reaches the private redis-server on
	// loopback, and the test reaches its admin port.
	base := []string{"run", "-d", "--name", name, "--network", "host",
		"-v", secret + ":/run/secrets/adj_hmac_secret:ro",
		"-e", "ADJ_REDIS_ADDRS=" + srv.Addr,
		"-e", "ADJ_HMAC_SECRET_FILE=/run/secrets/adj_hmac_secret",
		"-e", "ADJ_AUTH=open",
		"-e", "ADJ_GRPC_ADDR=127.0.0.1:" + strconv.Itoa(grpcPort),
		"-e", "ADJ_ADMIN_ADDR=" + admin}
	var failures []string
	started := false
	for _, extra := range runVariants() {
		args := append(append(append([]string(nil), base[:2]...), extra...), base[2:]...)
		args = append(args, ref)
		if _, err := p.output(ctx, args...); err != nil {
			failures = append(failures, err.Error())
			_, _ = p.output(ctx, "rm", "-f", name)
			continue
		}
		t.Logf("container started with %q", extra)
		started = true
		break
	}
	if !started {
		msg := "no container can run on this machine; the image's configuration and files were checked:\n" + strings.Join(failures, "\n")
		if ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer func() {
		if t.Failed() {
			logs, _ := p.cmd(context.Background(), "logs", name).CombinedOutput()
			t.Logf("container logs:\n%s", logs)
		}
		_, _ = p.output(context.Background(), "rm", "-f", "-t", "2", name)
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + admin + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	waitFor := func(path string, want int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		var code int
		var body string
		for time.Now().Before(deadline) {
			if code, body = get(path); code == want {
				t.Logf("GET %s: %d %s", path, code, body)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("GET %s: %d %q, want %d within %s", path, code, body, want, within)
	}
	waitFor("/healthz", http.StatusOK, 30*time.Second)
	waitFor("/readyz", http.StatusOK, 10*time.Second)
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "# TYPE") {
		t.Errorf("GET /metrics: %d", code)
	}
	if out, err := p.output(ctx, "top", name, "huser"); err == nil {
		if f := strings.Fields(string(out)); len(f) < 2 || f[1] == "root" || f[1] == "0" {
			t.Errorf("process user: %q, want non-root", out)
		} else {
			t.Logf("process runs as host user %s", f[1])
		}
	}
	// Without its store the process stays alive but is not ready.
	srv.Kill()
	waitFor("/readyz", http.StatusServiceUnavailable, 10*time.Second)
	waitFor("/healthz", http.StatusOK, 5*time.Second)
}
