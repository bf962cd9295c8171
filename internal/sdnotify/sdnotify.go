// Package sdnotify tells systemd about the daemon's state (the sd_notify
// protocol): readiness, reloads, shutdown, a status line, and watchdog
// keep-alives. A message is one datagram of newline-separated KEY=VALUE
// assignments sent to the unix socket named by $NOTIFY_SOCKET; outside
// systemd the variable is unset and every call is a no-op.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notify sends state (e.g. "READY=1") to the service manager. It reports
// false when $NOTIFY_SOCKET is unset, that is, when not run by systemd
// with Type=notify or a watchdog.
func Notify(state string) (sent bool, err error) {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return false, nil
	}
	// A leading '@' names a socket in the abstract namespace, which
	// net.UnixAddr understands as written.
	if socket[0] != '/' && socket[0] != '@' {
		return false, fmt.Errorf("sd_notify: NOTIFY_SOCKET %q is not a unix socket path", socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("sd_notify: %w", err)
	}
	return true, nil
}

// Ready says start-up is done: for Type=notify, systemd considers the
// service started only now, so units ordered after it (time-sync.target)
// wait for a serving daemon.
func Ready() error { return notify("READY=1") }

// Stopping says shutdown has begun.
func Stopping() error { return notify("STOPPING=1") }

// Reloading says a configuration reload (SIGHUP) has begun; call Ready when
// it is done.
func Reloading() error {
	// systemd 253's Type=notify-reload wants the CLOCK_MONOTONIC time of the
	// reload alongside, to tell this reload from an earlier one.
	usec, ok := monotonicUsec()
	if !ok {
		return notify("RELOADING=1")
	}
	return notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Status sets the one-line status `systemctl status` shows.
func Status(s string) error {
	// A newline would start a new assignment in the datagram.
	return notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// Watchdog sends one keep-alive.
func Watchdog() error { return notify("WATCHDOG=1") }

func notify(state string) error {
	_, err := Notify(state)
	return err
}

// WatchdogInterval returns the watchdog timeout systemd set for this
// process (WatchdogSec= in the unit, passed as $WATCHDOG_USEC), and false
// when there is none or it is meant for another process ($WATCHDOG_PID).
func WatchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond, true
}

// WatchdogLoop sends a keep-alive at half the watchdog interval until ctx
// is done, as sd_watchdog_enabled(3) advises, so one late tick does not get
// the service killed. Without a watchdog it returns nil at once. Run it from
// the goroutine whose progress proves the daemon alive, or gate it on a
// health check: a loop that only proves the Go scheduler runs would keep a
// wedged daemon alive.
func WatchdogLoop(ctx context.Context) error {
	return WatchdogLoopHealthy(ctx, nil)
}

// WatchdogLoopHealthy is WatchdogLoop that skips a keep-alive whenever
// healthy returns false, so systemd restarts a daemon that stays unhealthy
// for the whole watchdog interval. A nil healthy is always healthy.
func WatchdogLoopHealthy(ctx context.Context, healthy func() bool) error {
	interval, ok := WatchdogInterval()
	if !ok {
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		if healthy == nil || healthy() {
			if err := Watchdog(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
