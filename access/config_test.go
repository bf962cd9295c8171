package access

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheBadValue(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string // substring of the error
	}{
		{"default", func(c *Config) { c.Default = "allow" }, `default: "allow"`},
		{"rule network", func(c *Config) { c.Rules = []Rule{{Network: "10.0.0.0/33", Action: "serve"}} }, `rule[0].network: "10.0.0.0/33"`},
		{"rule host bits", func(c *Config) { c.Rules = []Rule{{Network: "10.0.0.1/8", Action: "serve"}} }, `10.0.0.0/8`},
		{"rule action", func(c *Config) {
			c.Rules = []Rule{{Network: "10.0.0.0/8", Action: "serve"}, {Network: "::/0", Action: "kod"}}
		}, `rule[1].action: "kod"`},
		{"query", func(c *Config) { c.Query = []string{"localhost"} }, `query: "localhost"`},
		{"zone", func(c *Config) { c.Query = []string{"fe80::1%eth0"} }, `zones`},
		{"interval", func(c *Config) { c.RateLimit.Interval = -time.Second }, `rate_limit.interval: -1s`},
		{"interval zero", func(c *Config) { c.RateLimit.Interval = 0 }, `disabled = true`},
		{"burst", func(c *Config) { c.RateLimit.Burst = 0 }, `rate_limit.burst: 0`},
		{"kiss", func(c *Config) { c.RateLimit.KissInterval = -1 }, `rate_limit.kiss_interval`},
		{"v4 prefix", func(c *Config) { c.RateLimit.IPv4Prefix = 33 }, `rate_limit.ipv4_prefix: 33`},
		{"v6 prefix", func(c *Config) { c.RateLimit.IPv6Prefix = 0 }, `rate_limit.ipv6_prefix: 0`},
		{"table syntax", func(c *Config) { c.RateLimit.Table = "lots" }, `rate_limit.table: "lots"`},
		{"table small", func(c *Config) { c.RateLimit.Table = "1KiB" }, `rate_limit.table: "1KiB"`},
		{"table huge", func(c *Config) { c.RateLimit.Table = "9000GB" }, `rate_limit.table: "9000GB"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default = ActionDeny
	cfg.Rules = []Rule{
		{Network: "192.0.2.1", Action: ActionUnlimited},
		{Network: "2001:db8::/32", Action: ActionIgnore},
		{Network: "::ffff:10.0.0.0/104", Action: ActionServe},
	}
	cfg.Query = []string{"10.0.0.0/8", "::1"}
	cfg.RateLimit.Disabled = true
	cfg.RateLimit.Interval = 0
	cfg.RateLimit.Table = "512 KiB"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.compile()
	if got := c.rules[2].net.String(); got != "10.0.0.0/8" {
		t.Errorf("mapped rule compiled to %s", got)
	}
	if c.tableBytes != 512<<10 {
		t.Errorf("table %d bytes", c.tableBytes)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"65536": 65536, "4MiB": 4 << 20, "2MB": 2e6, "64KiB": 64 << 10, "1GiB": 1 << 30, "100B": 100} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "99999999999999999999"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// The [access] section as an operator writes it decodes into Config.
func TestDecodeTOML(t *testing.T) {
	const doc = `
default = "deny"
query = ["127.0.0.0/8", "::1", "192.0.2.0/24"]

[[rule]]
network = "198.51.100.0/24"
action = "serve"

[[rule]]
network = "2001:db8::/32"
action = "unlimited"

[rate_limit]
interval = "4s"
burst = 16
kiss_interval = "1m"
ipv6_prefix = 56
table = "8MiB"
`
	cfg := DefaultConfig()
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("undecoded keys %v", und)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rl := cfg.RateLimit
	if cfg.Default != ActionDeny || len(cfg.Rules) != 2 || cfg.Rules[1].Action != ActionUnlimited || len(cfg.Query) != 3 ||
		rl.Interval != 4*time.Second || rl.Burst != 16 || rl.KissInterval != time.Minute || rl.IPv6Prefix != 56 ||
		rl.IPv4Prefix != 32 || rl.Table != "8MiB" {
		t.Fatalf("decoded %+v", cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b := p.Counters().TableBytes; b > 8<<20 || b < 8<<20-setBytes {
		t.Fatalf("table of %d bytes for 8MiB", b)
	}
}
