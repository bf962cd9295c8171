package peer

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		err  string // substring; "" for valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"server and pool", func(c *Config) {
			c.Servers = []Source{{Address: "192.0.2.1", IBurst: true}, {Address: "[2001:db8::1]:10123"}, {Address: "ntp.example.net:123"}}
			c.Pools = []Source{{Address: "2.debian.pool.ntp.org", MinPoll: time.Second, MaxPoll: 2 * time.Second}}
		}, ""},
		{"empty address", func(c *Config) { c.Servers = []Source{{}} }, "server[0].address: empty"},
		{"bad port", func(c *Config) { c.Servers = []Source{{Address: "a.example:99999"}} }, "bad port"},
		{"pool by IP", func(c *Config) { c.Pools = []Source{{Address: "192.0.2.1"}} }, "a pool is a DNS name"},
		{"duplicate", func(c *Config) { c.Servers = []Source{{Address: "a.example"}, {Address: "A.example"}} }, "listed twice"},
		{"minpoll too small", func(c *Config) { c.Servers = []Source{{Address: "a", MinPoll: time.Millisecond}} }, "minpoll"},
		{"min above max", func(c *Config) {
			c.Servers = []Source{{Address: "a", MinPoll: 128 * time.Second, MaxPoll: 64 * time.Second}}
		}, "above maxpoll"},
		{"max assoc", func(c *Config) { c.MaxPoolAssociations = 0 }, "max_pool_associations"},
		{"threshold", func(c *Config) { c.CrossCheckThreshold = 0 }, "cross_check_threshold"},
		{"distance", func(c *Config) { c.MaxDistance = -1 }, "max_distance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.err == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestPolls(t *testing.T) {
	tests := []struct {
		s        Source
		min, max time.Duration
	}{
		{Source{}, 64 * time.Second, 1024 * time.Second},
		{Source{MinPoll: time.Second}, time.Second, 1024 * time.Second},
		{Source{MinPoll: 2048 * time.Second}, 2048 * time.Second, 2048 * time.Second},
		{Source{MaxPoll: 16 * time.Second}, 16 * time.Second, 16 * time.Second},
	}
	for _, tt := range tests {
		if mn, mx := tt.s.Polls(); mn != tt.min || mx != tt.max {
			t.Errorf("%+v.Polls() = %v, %v; want %v, %v", tt.s, mn, mx, tt.min, tt.max)
		}
	}
}

func TestSplitHostPortAndPoolName(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port uint16
	}{
		{"192.0.2.1", "192.0.2.1", 123},
		{"192.0.2.1:1123", "192.0.2.1", 1123},
		{"::1", "::1", 123},
		{"[::1]", "::1", 123},
		{"[::1]:5000", "::1", 5000},
		{"time.example.net", "time.example.net", 123},
		{"time.example.net:4123", "time.example.net", 4123},
	}
	for _, tt := range tests {
		h, p, err := SplitHostPort(tt.in)
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("SplitHostPort(%q) = %q, %d, %v", tt.in, h, p, err)
		}
	}
	for in, want := range map[string]bool{
		"pool.ntp.org": true, "2.debian.pool.ntp.org": true, "0.POOL.NTP.ORG.": true,
		"europe.pool.ntp.org:123": true, "time.cloudflare.com": false, "notpool.ntp.org": false,
		"ntp.org": false, "192.0.2.1": false,
	} {
		if got := IsPoolName(in); got != want {
			t.Errorf("IsPoolName(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDecodeTOML(t *testing.T) {
	const doc = `
[peers]
max_pool_associations = 6
cross_check_threshold = "250ms"

[[peers.server]]
address = "192.0.2.1:1123"
iburst = true
minpoll = "16s"
maxpoll = "256s"

[[peers.pool]]
address = "2.debian.pool.ntp.org"
`
	var file struct {
		Peers Config `toml:"peers"`
	}
	file.Peers = DefaultConfig()
	md, err := toml.Decode(doc, &file)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("undecoded keys %v", und)
	}
	c := file.Peers
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Source{Address: "192.0.2.1:1123", IBurst: true, MinPoll: 16 * time.Second, MaxPoll: 256 * time.Second}
	if len(c.Servers) != 1 || c.Servers[0] != want {
		t.Errorf("servers %+v, want %+v", c.Servers, want)
	}
	if len(c.Pools) != 1 || c.Pools[0].Address != "2.debian.pool.ntp.org" || c.MaxPoolAssociations != 6 ||
		c.CrossCheckThreshold != 250*time.Millisecond || c.PoolReplaceAfter != 15*time.Minute {
		t.Errorf("decoded %+v", c)
	}
}
