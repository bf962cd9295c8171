package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLogShutdown(t *testing.T) {
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated signal received"))
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"signal", cancelled, nil, `level=INFO msg="shutting down" reason="terminated signal received"`},
		{"signal, parts return Canceled", cancelled, context.Canceled, `level=INFO msg="shutting down" reason="terminated signal received"`},
		{"error", context.Background(), errors.New("ntp: listen on 127.0.0.1:123: address in use"),
			`level=ERROR msg="shutting down" reason="ntp: listen on 127.0.0.1:123: address in use"`},
		{"error wins over signal", cancelled, errors.New("gps: device gone"), `level=ERROR msg="shutting down" reason="gps: device gone"`},
		{"nothing", context.Background(), nil, `level=INFO msg="shutting down" reason="every part stopped"`},
	} {
		var buf bytes.Buffer
		logShutdown(slog.New(slog.NewTextHandler(&buf, nil)), tt.ctx, tt.err)
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("%s: logged %q, want %q", tt.name, buf.String(), tt.want)
		}
	}
}

// TestLogShutdownNamesSignal: the context main builds records the signal
// as the cause, which is what the log line reports.
func TestLogShutdownNamesSignal(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("signal not delivered")
	}
	var buf bytes.Buffer
	logShutdown(slog.New(slog.NewTextHandler(&buf, nil)), ctx, nil)
	if !strings.Contains(buf.String(), `reason="user defined signal 1 signal received"`) {
		t.Errorf("logged %q", buf.String())
	}
}

// TestE2EShutdownLogged: `stratum1 run` and `stratum1 sim` say why they
// stop, naming the signal.
func TestE2EShutdownLogged(t *testing.T) {
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		want string
	}{
		{"run", syscall.SIGTERM, `msg="shutting down" reason="terminated signal received"`},
		{"sim", syscall.SIGINT, `msg="shutting down" reason="interrupt signal received"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d *daemon
			if tt.name == "run" {
				d = startRun(t, time.Minute, "--no-gps", "--no-clock-adjust")
			} else {
				d = startSim(t, time.Minute, 0)
			}
			if err := d.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			d.WaitOutput(t, 20*time.Second, tt.want)
		})
	}
}
