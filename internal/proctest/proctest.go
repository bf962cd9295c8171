// Package proctest runs programs as processes in end-to-end tests: each with
// a deadline, its output kept for the failure message, and stopped at the
// test's cleanup. It also hands out loopback addresses and ports that no
// other test is using, so that tests run in parallel.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running program.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error // valid once done is closed
}

// Start runs bin with args until the test ends or limit passes, whichever
// comes first. env adds variables to this process's environment. At cleanup
// the program gets SIGTERM, then SIGKILL if it has not exited within 5 s;
// its output is logged when the test failed.
func Start(t testing.TB, limit time.Duration, env []string, bin string, args ...string) *Proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so that a test's Ctrl-C reaches only the test
	// binary and the cleanup below decides how the program stops.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second
	p := &Proc{Name: shortName(bin, args), cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", p.Name, err)
	}
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.Name, tail(p.Output(), 20000))
		}
	})
	return p
}

func shortName(bin string, args []string) string {
	s := bin
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if len(args) > 0 {
		s += " " + args[0]
	}
	return s
}

// Stop ends the program (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Signal sends sig to the program.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Output returns everything the program wrote so far, stdout and stderr
// interleaved.
func (p *Proc) Output() string { return p.out.String() }

// Exited reports whether the program has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// WaitOutput waits until the program's output contains s, failing the test
// after limit or when the program exits first.
func (p *Proc) WaitOutput(t testing.TB, limit time.Duration, s string) {
	t.Helper()
	Eventually(t, limit, 100*time.Millisecond, fmt.Sprintf("%s to print %q", p.Name, s), func() bool {
		if exited, err := p.Exited(); exited && !strings.Contains(p.Output(), s) {
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.Name, err, s, tail(p.Output(), 4000))
		}
		return strings.Contains(p.Output(), s)
	})
}

// Eventually polls cond every interval until it holds, failing the test
// after limit.
func Eventually(t testing.TB, limit, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(interval)
	}
}

// Loopback returns a random address in 127.0.0.0/8, away from 127.0.0.1 and
// the addresses resolvers and other tests conventionally use, so that
// parallel tests (and their fixed-port programs) do not meet.
func Loopback() string {
	return fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(150), rand.IntN(256), 1+rand.IntN(254))
}

// FreePort returns a port that is free for both UDP and TCP on addr now.
func FreePort(t testing.TB, addr string) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("no port free for both UDP and TCP on %s", addr)
	return 0
}

// HostPort joins addr and port.
func HostPort(addr string, port int) string { return net.JoinHostPort(addr, fmt.Sprint(port)) }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
