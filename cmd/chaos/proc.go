package main

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

// errExited says that a process exited while we waited for it to come up.
var errExited = errors.New("process exited")

// proc is one child process (redis-server or the adjudicator) that the test
// kills with SIGKILL and starts again, with its log appended to one file.
// Every child runs in its own process group (a ^C in the terminal reaches
// only this program, which kills them) and receives SIGKILL when this
// program dies, even by a panic or a SIGKILL of its own (Pdeathsig).
type proc struct {
	name    string
	args    []string
	env     []string
	logPath string

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the current process has exited
	starts     int
	unexpected []string // exits that were not our kill -9
	died       chan string
}

func newProc(name, logPath string, args, env []string) *proc {
	return &proc{name: name, args: args, env: env, logPath: logPath, died: make(chan string, 64)}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== chaos: start #%d of %s at %s\n", p.starts+1, p.name, time.Now().Format(time.StampMilli))
	c := exec.Command(p.args[0], p.args[1:]...)
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
		fmt.Fprintf(logf, "==== chaos: %s pid %d ended at %s: %v\n", p.name, c.Process.Pid, time.Now().Format(time.StampMilli), werr)
		logf.Close()
		close(exited)
	}()
	return nil
}

// kill9 kills the process (its whole group) with SIGKILL and waits for it.
func (p *proc) kill9() {
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

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// exitedChan is closed when the current process exits (nil when none runs).
func (p *proc) exitedChan() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	return p.exited
}

// forgetLastExit drops the last unexpected exit (one the caller handled).
func (p *proc) forgetLastExit() {
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

func (p *proc) unexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

// logTail returns the last n lines of the process log.
func (p *proc) logTail(n int) string {
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitRedis waits until redis-server answers PONG (not LOADING: it accepts
// connections while it replays its AOF), or exits, or limit passes.
func waitRedis(ctx context.Context, p *proc, addr string, limit time.Duration) error {
	timeout := time.After(limit)
	exited := p.exitedChan()
	if exited == nil {
		return errExited
	}
	last := ""
	for {
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("redis not ready after %v (last answer %q)", limit, last)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Write([]byte("PING\r\n")); err == nil {
				line, _ := bufio.NewReader(c).ReadString('\n')
				last = strings.TrimSpace(line)
			}
			c.Close()
			if last == "+PONG" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitServing waits until the adjudicator's readiness (ClaimService) says
// SERVING, or the process exits, or limit passes.
func waitServing(ctx context.Context, p *proc, hc healthpb.HealthClient, limit time.Duration) error {
	timeout := time.After(limit)
	exited := p.exitedChan()
	if exited == nil {
		return errExited
	}
	for {
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("adjudicator not serving after %v", limit)
		default:
		}
		cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
		r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: "tierspayant.v1.ClaimService"})
		ccancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(30 * time.Millisecond)
	}
}
