// Package harness runs the child processes of the load and crash harnesses
// (cmd/loadtest, cmd/chaos): redis-server, the adjudicator, the floor server.
// Each child runs in its own process group, optionally pinned to CPUs with
// taskset, with its log appended to one file, and receives SIGKILL when the
// harness dies (Pdeathsig), so a harness never leaves a server behind.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ErrExited says that a process exited while we waited for it to come up.
var ErrExited = errors.New("process exited")

// Proc is one child process that a harness starts, kills with SIGKILL and
// may start again, with its log appended to one file. Every child runs in its
// own process group (a ^C in the terminal reaches only the harness, which
// kills them) and receives SIGKILL when the harness dies, even by a panic or
// a SIGKILL of its own (Pdeathsig).
type Proc struct {
	name    string
	args    []string
	env     []string
	logPath string
	cpus    string // taskset CPU list; empty: not pinned

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the current process has exited
	starts     int
	unexpected []string // exits that were not our kill -9
	died       chan string
}

// New is a process not yet started: args[0] run with args[1:], the
// harness's environment plus env, its output appended to logPath.
func New(name, logPath string, args, env []string) *Proc {
	return &Proc{name: name, args: args, env: env, logPath: logPath, died: make(chan string, 64)}
}

// Pin runs the process on the CPUs of list (taskset -c) when taskset is
// installed.
func (p *Proc) Pin(list string) *Proc {
	p.cpus = list
	return p
}

// Start starts the process.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== harness: start #%d of %s at %s\n", p.starts+1, p.name, time.Now().Format(time.StampMilli))
	args := p.args
	if p.cpus != "" {
		if _, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{"taskset", "-c", p.cpus}, args...)
		}
	}
	c := exec.Command(args[0], args[1:]...)
	c.Env, c.Stdout, c.Stderr = append(os.Environ(), p.env...), logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.starts++
	exited := make(chan struct{})
	p.cmd, p.exited = c, exited
	go func() {
		werr := c.Wait()
		p.mu.Lock()
		if p.cmd == c { // not killed by kill9
			p.cmd = nil
			msg := fmt.Sprintf("%s (pid %d) exited by itself: %v", p.name, c.Process.Pid, werr)
			p.unexpected = append(p.unexpected, msg)
			select {
			case p.died <- msg:
			default:
			}
		}
		p.mu.Unlock()
		fmt.Fprintf(logf, "==== harness: %s pid %d ended at %s: %v\n", p.name, c.Process.Pid, time.Now().Format(time.StampMilli), werr)
		logf.Close()
		close(exited)
	}()
	return nil
}

// Kill9 kills the process (its whole group) with SIGKILL and waits for it.
func (p *Proc) Kill9() {
	p.mu.Lock()
	c, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if c == nil {
		return
	}
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Running reports whether the process runs (it was started and neither
// killed nor exited).
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Exited is closed when the current process exits (nil when none runs).
func (p *Proc) Exited() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	return p.exited
}

// ForgetLastExit drops the last unexpected exit (one the caller handled).
func (p *Proc) ForgetLastExit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.unexpected); n > 0 {
		p.unexpected = p.unexpected[:n-1]
	}
	select {
	case <-p.died:
	default:
	}
}

// Died receives a message each time the process exits by itself.
func (p *Proc) Died() <-chan string { return p.died }

// Pid is the current process's id (0 when none runs).
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// UnexpectedExits lists the exits that were not a Kill9.
func (p *Proc) UnexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

// Name is the process's name in messages and logs.
func (p *Proc) Name() string { return p.name }

// LogPath is the file the process's output is appended to.
func (p *Proc) LogPath() string { return p.logPath }

// LogTail returns the last n lines of the process log, indented.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// FreePort is a loopback TCP port free at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitRedis waits until redis-server answers PONG (not LOADING: it accepts
// connections while it replays its AOF), or exits, or limit passes.
func WaitRedis(ctx context.Context, p *Proc, addr string, limit time.Duration) error {
	last := ""
	return waitFor(ctx, p, limit, 20*time.Millisecond, func() bool {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Write([]byte("PING\r\n")); err == nil {
				line, _ := bufio.NewReader(c).ReadString('\n')
				last = strings.TrimSpace(line)
			}
			c.Close()
		}
		return last == "+PONG"
	}, func() error { return fmt.Errorf("redis not ready after %v (last answer %q)", limit, last) })
}

// WaitServing waits until the adjudicator's readiness (ClaimService) says
// SERVING, or the process exits, or limit passes.
func WaitServing(ctx context.Context, p *Proc, hc healthpb.HealthClient, limit time.Duration) error {
	return waitFor(ctx, p, limit, 30*time.Millisecond, func() bool {
		cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer ccancel()
		r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: "tierspayant.v1.ClaimService"})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}, func() error { return fmt.Errorf("adjudicator not serving after %v", limit) })
}

// waitFor probes every pause until ready says so, the process exits
// (ErrExited), ctx ends, or limit passes (late's error).
func waitFor(ctx context.Context, p *Proc, limit, pause time.Duration, ready func() bool, late func() error) error {
	timeout := time.After(limit)
	exited := p.Exited()
	if exited == nil {
		return ErrExited
	}
	for {
		select {
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return late()
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(pause)
	}
}
