package main

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

func TestCmdStatus(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	p := statustest.NewProvider(statustest.Snapshot(now))
	h := status.NewHandler(p, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	var out, errb strings.Builder
	if err := cmdStatus(context.Background(), []string{"--server", srv.URL}, &out, &errb); err != nil {
		t.Fatalf("cmdStatus: %v (%s)", err, errb.String())
	}
	for _, want := range []string{"Reference ID    : PPS", "State           : LOCKED for 2h03m00s", "System time     : 0.000000143 seconds slow of PPS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}

	out.Reset()
	if err := cmdStatus(context.Background(), []string{"--server", srv.URL + "/", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"state": "LOCKED"`) {
		t.Errorf("--json: %s", out.String())
	}

	// Starting up: the server runs but has no provider yet.
	h.SetProvider(nil)
	err := cmdStatus(context.Background(), []string{"--server", srv.URL}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "starting") {
		t.Errorf("without a provider: %v", err)
	}
}

func TestCmdStatusNoDaemon(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()

	var out, errb strings.Builder
	err = cmdStatus(context.Background(), []string{"--server", url}, &out, &errb)
	if !errors.Is(err, status.ErrNoDaemon) {
		t.Fatalf("err = %v, want ErrNoDaemon", err)
	}
	if !strings.Contains(err.Error(), "no stratum1 daemon is running") || !strings.Contains(err.Error(), url) {
		t.Errorf("unclear message: %v", err)
	}
	if code := runMain(context.Background(), []string{"status", "--server", url}, &out, &errb); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}
