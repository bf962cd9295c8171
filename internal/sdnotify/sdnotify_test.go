package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen binds a datagram socket in a temporary directory, points
// NOTIFY_SOCKET at it, and returns it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

func TestMessages(t *testing.T) {
	conn := listen(t)
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"watchdog", Watchdog, "WATCHDOG=1"},
		{"status", func() error { return Status("GPS: 9 sats\nPPS locked") }, "STATUS=GPS: 9 sats PPS locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, conn); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReloading(t *testing.T) {
	conn := listen(t)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	got := recv(t, conn)
	first, rest, _ := strings.Cut(got, "\n")
	usec, err := strconv.ParseInt(strings.TrimPrefix(rest, "MONOTONIC_USEC="), 10, 64)
	if first != "RELOADING=1" || !strings.HasPrefix(rest, "MONOTONIC_USEC=") || err != nil || usec <= 0 {
		t.Errorf("got %q, want RELOADING=1 and a MONOTONIC_USEC", got)
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "@stratum1-sdnotify-test-" + strconv.Itoa(os.Getpid())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn); got != "READY=1" {
		t.Errorf("got %q", got)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Errorf("Notify without NOTIFY_SOCKET = %v, %v; want a silent no-op", sent, err)
	}
	t.Setenv("NOTIFY_SOCKET", "relative/path")
	if _, err := Notify("READY=1"); err == nil {
		t.Error("relative NOTIFY_SOCKET accepted")
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if sent, err := Notify("READY=1"); sent || err == nil {
		t.Errorf("Notify to a missing socket = %v, %v; want an error", sent, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"garbage", "", 0, false},
		{"0", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", me, 30 * time.Second, true},
		{"30000000", "1", 0, false}, // meant for another process
	}
	for _, tt := range tests {
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		got, ok := WatchdogInterval()
		if got != tt.want || ok != tt.ok {
			t.Errorf("USEC=%q PID=%q: %v, %v; want %v, %v", tt.usec, tt.pid, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWatchdogLoop(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "40000") // 40ms: keep-alives every 20ms
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WatchdogLoop(ctx) }()
	start := time.Now()
	for range 4 {
		if got := recv(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}
	// Four keep-alives at 20ms intervals take at least 60ms.
	if el := time.Since(start); el < 55*time.Millisecond {
		t.Errorf("4 keep-alives in %v: faster than half the interval", el)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchdogLoop = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WatchdogLoop did not stop on cancel")
	}
}

func TestWatchdogLoopUnhealthy(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000")
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := WatchdogLoopHealthy(ctx, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 64)); err == nil {
		t.Errorf("unhealthy loop sent a keep-alive (%d bytes)", n)
	}
}

func TestWatchdogLoopDisabled(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	done := make(chan error, 1)
	go func() { done <- WatchdogLoop(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WatchdogLoop without a watchdog did not return")
	}
}
