package status_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

// serve runs h behind a real loopback listener capped at maxConns and
// returns its address.
func serve(t *testing.T, h http.Handler, maxConns int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- status.Serve(ctx, status.LimitListener(ln, maxConns), h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// getHost fetches /api/status from addr with the given Host header.
func getHost(t *testing.T, addr, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+"/api/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHostHeaderGuardsAgainstRebinding(t *testing.T) {
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	cfg := status.DefaultHTTPConfig()
	cfg.Hosts = []string{"time.home.arpa"}
	h.Configure(cfg)
	addr := serve(t, h, 8)
	_, port, _ := net.SplitHostPort(addr)
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		t.Fatalf("os.Hostname: %q, %v", hostname, err)
	}
	first, _, _ := strings.Cut(hostname, ".")
	for _, tt := range []struct {
		host string
		want int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"rebind.attacker.test:" + port, http.StatusMisdirectedRequest},
		{addr, 200},
		{"localhost:" + port, 200},
		{hostname + ":" + port, 200},
		{first + ".local:" + port, 200},
		{"time.home.arpa:" + port, 200},
	} {
		code, body := getHost(t, addr, tt.host)
		if code != tt.want {
			t.Errorf("Host %q: status %d, want %d", tt.host, code, tt.want)
		}
		if code != 200 && strings.Contains(body, "LOCKED") {
			t.Errorf("Host %q: refusal leaks the status", tt.host)
		}
	}
	// A configuration reload can allow every name.
	cfg.Hosts = []string{"*"}
	h.Configure(cfg)
	if code, _ := getHost(t, addr, "evil.example"); code != 200 {
		t.Errorf(`hosts = ["*"]: status %d, want 200`, code)
	}
}

func TestHostHeaderInterfaceAddress(t *testing.T) {
	// Any address of this machine's interfaces names it, whichever
	// address the request arrived on.
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var other string
	for _, ifa := range ifas {
		if ipn, ok := ifa.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			other = ipn.IP.String()
			break
		}
	}
	if other == "" {
		other = "127.0.0.1" // a loopback-only namespace: still an interface address
	}
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	addr := serve(t, h, 8)
	_, port, _ := net.SplitHostPort(addr)
	if code, _ := getHost(t, addr, net.JoinHostPort(other, port)); code != 200 {
		t.Errorf("Host %s (an interface address): status %d, want 200", other, code)
	}
	if code, _ := getHost(t, addr, "192.0.2.77:"+port); code != http.StatusMisdirectedRequest {
		t.Errorf("Host 192.0.2.77 (TEST-NET, not ours): status %d, want 421", code)
	}
}

func TestPositionRounded(t *testing.T) {
	snap := statustest.Snapshot(testNow)
	snap.GPS.Latitude, snap.GPS.Longitude = 52.205337, -0.121817
	h := status.NewHandler(statustest.NewProvider(snap), nil)
	for _, tt := range []struct {
		exact    bool
		lat, lon float64
	}{
		{false, 52.21, -0.12},
		{true, 52.205337, -0.121817},
	} {
		cfg := status.DefaultHTTPConfig()
		cfg.ExactPosition = tt.exact
		h.Configure(cfg)
		rec := get(t, h, "GET", "/api/status", "127.0.0.1:1")
		var got status.Snapshot
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.GPS.Latitude != tt.lat || got.GPS.Longitude != tt.lon {
			t.Errorf("exact_position=%v: position %v, %v; want %v, %v", tt.exact, got.GPS.Latitude, got.GPS.Longitude, tt.lat, tt.lon)
		}
		if !tt.exact && strings.Contains(rec.Body.String(), "52.2053") {
			t.Errorf("rounded status still carries the exact latitude: %s", rec.Body)
		}
	}
}

func TestConnectionCap(t *testing.T) {
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	const max = 3
	addr := serve(t, h, max)
	// Hold max connections open, each having finished one request and now
	// idle in keep-alive.
	var held []net.Conn
	for i := range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /api/status HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("connection %d: status %d", i, resp.StatusCode)
		}
		held = append(held, c)
	}
	// The next one is told to come back later.
	code, body := getHost(t, addr, "localhost")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many connections") {
		t.Fatalf("connection over the cap: status %d %q, want 503", code, body)
	}
	// A slot freed is a slot served again.
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := getHost(t, addr, "localhost")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a connection: status %d, want 200", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPConfigHostsAndCap(t *testing.T) {
	for _, tt := range []struct {
		hosts    []string
		maxConns int
		ok       bool
	}{
		{nil, 64, true},
		{[]string{"ntp.home.arpa", "gpsbox", "192.168.1.9", "fd00::9", "*", "NTP.Example.org."}, 1, true},
		{nil, 4096, true},
		{nil, 0, false},
		{nil, 4097, false},
		{nil, -1, false},
		{[]string{"ntp.home.arpa:8123"}, 64, false},
		{[]string{"http://ntp.home.arpa"}, 64, false},
		{[]string{""}, 64, false},
		{[]string{"bad..name"}, 64, false},
		{[]string{"-bad.example"}, 64, false},
		{[]string{"spa ce"}, 64, false},
	} {
		c := status.DefaultHTTPConfig()
		c.Hosts, c.MaxConnections = tt.hosts, tt.maxConns
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("hosts %q, max_connections %d: %v, want ok=%v", tt.hosts, tt.maxConns, err, tt.ok)
		}
	}
}
