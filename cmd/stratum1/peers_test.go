package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stratum1/status"
)

func TestPeersTable(t *testing.T) {
	snap := status.Snapshot{Peers: []status.Peer{
		{Name: "PPS", Tally: "*", RefID: "PPS", Stratum: 0, Type: "l", When: 0, Poll: 16 * time.Second, Reach: 0o377},
		{Name: "192.0.2.1:123", Tally: "+", RefID: "192.0.2.9", Stratum: 2, Type: "u", When: 12 * time.Second,
			Poll: 64 * time.Second, Reach: 0o377, Delay: 1500 * time.Microsecond, Offset: -250 * time.Microsecond, Jitter: 80 * time.Microsecond},
		{Name: "127.0.0.5:11123", Tally: "x", RefID: "127.127.1.1", Stratum: 2, Type: "u", When: 3 * time.Hour,
			Poll: 1024 * time.Second, Reach: 0o17, Delay: 42 * time.Microsecond, Offset: 5 * time.Second, Jitter: time.Millisecond, Note: "falseticker"},
		{Name: "2.debian.pool.ntp.org", Tally: " ", RefID: ".POOL.", Stratum: 16, Type: "p"},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(snap)
	}))
	defer srv.Close()

	var out, errb bytes.Buffer
	if err := cmdPeers(context.Background(), []string{"--server", srv.URL}, &out, &errb); err != nil {
		t.Fatalf("cmdPeers: %v (%s)", err, errb.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for _, f := range []string{"remote", "refid", "st", "t", "when", "poll", "reach", "delay", "offset", "jitter"} {
		if !strings.Contains(lines[0], f) {
			t.Errorf("header %q lacks %q", lines[0], f)
		}
	}
	want := []struct {
		line   int
		fields []string
	}{
		{2, []string{"*PPS", "PPS", "0", "l", "0", "16", "377", "0.000", "0.000", "0.000"}},
		{3, []string{"+192.0.2.1", "192.0.2.9", "2", "u", "12", "64", "377", "1.500", "-0.250", "0.080"}},
		{4, []string{"x127.0.0.5:11123", "127.127.1.1", "2", "u", "180m", "1024", "17", "0.042", "5000.000", "1.000", "falseticker"}},
		{5, []string{"2.debian.pool.ntp.org", ".POOL.", "16", "p", "-", "0", "0", "0.000", "0.000", "0.000"}},
	}
	for _, w := range want {
		got := strings.Fields(lines[w.line])
		if strings.Join(got, " ") != strings.Join(w.fields, " ") {
			t.Errorf("line %d = %q\nwant fields %q", w.line, lines[w.line], w.fields)
		}
	}
	// The pool row keeps its blank tally in the first column.
	if !strings.HasPrefix(lines[5], " 2.debian") {
		t.Errorf("pool row %q: tally column lost", lines[5])
	}
	// Columns line up: every row is as wide up to the jitter column.
	if i, j := strings.Index(lines[0], "jitter"), strings.Index(lines[3], "0.080"); i+len("jitter") != j+len("0.080") {
		t.Errorf("jitter column misaligned:\n%s\n%s", lines[0], lines[3])
	}
}

func TestPeersNoDaemon(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	var out, errb bytes.Buffer
	err = cmdPeers(context.Background(), []string{"--server", url}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no stratum1 daemon is running") {
		t.Fatalf("error %v, want one saying no daemon runs", err)
	}
}

func TestPeersEmpty(t *testing.T) {
	var out bytes.Buffer
	writePeers(&out, nil)
	if !strings.Contains(out.String(), "no time sources") {
		t.Errorf("empty list printed %q", out.String())
	}
}
