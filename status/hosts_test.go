package status

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestHostPolicy(t *testing.T) {
	lookups := 0
	addrs := func() ([]netip.Addr, error) {
		lookups++
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.1.50"),
			netip.MustParseAddr("fe80::1234"), netip.MustParseAddr("fd00::50")}, nil
	}
	p := newHostPolicy([]string{"NTP.home.arpa.", "10.9.8.7"}, "gpsbox.lan", addrs)
	local := &net.TCPAddr{IP: net.ParseIP("172.16.0.9"), Port: 8123}
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"", true}, // HTTP/1.0 without Host: not a browser
		{"localhost", true},
		{"LOCALHOST:8123", true},
		{"localhost.:8123", true},
		{"gpsbox.lan:8123", true},
		{"gpsbox:8123", true},
		{"gpsbox.local:8123", true},
		{"GPSBox.Local.", true},
		{"ntp.home.arpa:8123", true},
		{"ntp.home.arpa", true},
		{"127.0.0.1:8123", true},
		{"127.3.4.5", true},
		{"[::1]:8123", true},
		{"192.168.1.50:8123", true},        // an interface address
		{"[fe80::1234%25eth0]:8123", true}, // zone dropped
		{"[fd00::50]", true},
		{"172.16.0.9:8123", true}, // the address the request arrived on
		{"10.9.8.7:8123", true},   // configured address
		{"evil.example", false},
		{"evil.example:8123", false},
		{"gpsbox.lan.evil.example", false},
		{"localhost.evil.example", false},
		{"ntp.home.arpa.evil.example", false},
		{"192.168.1.51:8123", false},
		{"203.0.113.9", false},
		{"[2001:db8::1]:8123", false},
		{"gpsbox.lan:8123:8123", false},
	} {
		req := httptest.NewRequest("GET", "/api/status", nil)
		req.Host = tt.host
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, net.Addr(local)))
		if got := p.allowed(req); got != tt.want {
			t.Errorf("Host %q: allowed %v, want %v", tt.host, got, tt.want)
		}
	}
	// Unknown addresses list the interfaces again, but not for every request.
	if lookups != 1 {
		t.Errorf("%d interface lookups, want 1 within %v", lookups, addrRefresh)
	}
}

func TestHostPolicyAny(t *testing.T) {
	p := newHostPolicy([]string{"*"}, "", nil)
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "evil.example"
	if !p.allowed(req) {
		t.Error(`hosts = ["*"] refused evil.example`)
	}
}

func TestHostPolicyLookupFails(t *testing.T) {
	calls := 0
	p := newHostPolicy(nil, "", func() ([]netip.Addr, error) { calls++; return nil, errors.New("no netlink") })
	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = "192.168.1.50"
		if p.allowed(req) {
			t.Error("allowed an address no interface has")
		}
	}
	if calls != 1 {
		t.Errorf("%d lookups after a failure, want 1", calls)
	}
}
