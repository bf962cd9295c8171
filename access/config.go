package access

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"stratum1/internal/setting"
)

// Actions a rule (or the default) can take for a client's time request.
const (
	ActionServe     = "serve"     // answer, subject to rate limiting
	ActionUnlimited = "unlimited" // answer without rate limiting (trusted networks, big NATs)
	ActionIgnore    = "ignore"    // drop silently
	ActionDeny      = "deny"      // answer with kiss-o'-death DENY (itself rate limited)
)

// Config is the [access] section of the configuration file:
//
//	[access]
//	default = "serve"
//	query = ["127.0.0.0/8", "::1/128"]
//
//	[[access.rule]]
//	network = "192.0.2.0/24"
//	action = "deny"
//
//	[access.rate_limit]
//	interval = "8s"
//	burst = 8
type Config struct {
	// Default is the action for clients that match no rule.
	Default string `toml:"default"`
	// Rules are tried in order; the first whose network contains the
	// client decides.
	Rules []Rule `toml:"rule"`
	// Query lists the networks allowed to use mode 6 (ntpq). Mode 6 is
	// read-only; mode 7 is never answered.
	Query []string `toml:"query"`
	// RateLimit limits how often one client is answered.
	RateLimit RateLimit `toml:"rate_limit"`
}

// Rule maps a network to an action.
type Rule struct {
	Network string `toml:"network"` // CIDR, or a bare address for one host
	Action  string `toml:"action"`  // serve, unlimited, ignore, deny
}

// RateLimit configures the per-client leaky bucket. A client may send Burst
// requests at once, and is then answered at most once per Interval on
// average. With the defaults (8 s, 8) the NTP Pool monitor's three queries
// 2 s apart and an iburst of eight queries 2 s apart pass untouched, while a
// client polling every second is answered only once in eight.
type RateLimit struct {
	// Disabled turns rate limiting off.
	Disabled bool `toml:"disabled"`
	// Interval is the average interval a client may not undercut.
	Interval time.Duration `toml:"interval"`
	// Burst is how many requests beyond the average a client may send.
	Burst int `toml:"burst"`
	// KissInterval is the least time between two kiss-o'-death RATE
	// packets to one client, so that a spoofed victim gets almost nothing.
	KissInterval time.Duration `toml:"kiss_interval"`
	// IPv4Prefix and IPv6Prefix are the prefix lengths that make one
	// client: /32 and /64 by default (a v6 host usually owns a /64).
	IPv4Prefix int `toml:"ipv4_prefix"`
	IPv6Prefix int `toml:"ipv6_prefix"`
	// Table is the memory budget of the client table, e.g. "4MiB". The
	// table is allocated once; when it is full the least-indebted
	// clients are forgotten first.
	Table string `toml:"table"`
}

// DefaultConfig serves time to everyone with rate limiting, and mode 6 to
// loopback only.
func DefaultConfig() Config {
	return Config{
		Default: ActionServe,
		Query:   []string{"127.0.0.0/8", "::1/128"},
		RateLimit: RateLimit{
			Interval:     8 * time.Second,
			Burst:        8,
			KissInterval: 30 * time.Second,
			IPv4Prefix:   32,
			IPv6Prefix:   64,
			Table:        "4MiB",
		},
	}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a validated Config in the form the hot path uses.
type compiled struct {
	deflt      action
	rules      []rule
	query      []netip.Prefix
	limit      bool
	interval   time.Duration
	tolerance  time.Duration // how far ahead of now a client's bucket may run
	kissEvery  time.Duration
	v4Bits     int
	v6Bits     int
	tableBytes int
}

type rule struct {
	net netip.Prefix
	act action
}

type action uint8

const (
	actServe action = iota
	actUnlimited
	actIgnore
	actDeny
)

func parseAction(s string) (action, error) {
	switch s {
	case ActionServe:
		return actServe, nil
	case ActionUnlimited:
		return actUnlimited, nil
	case ActionIgnore:
		return actIgnore, nil
	case ActionDeny:
		return actDeny, nil
	}
	return 0, fmt.Errorf("%q is not one of serve, unlimited, ignore, deny", s)
}

// parseNetwork accepts a CIDR or a bare address, and rejects prefixes with
// host bits set, which usually mean a typo in the mask.
func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zones are not supported", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	if p.Addr().Is4In6() {
		// Sources are unmapped before matching, so match them as IPv4.
		bits := p.Bits() - 96
		if bits < 0 {
			return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped network needs a prefix of at least 96 bits", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), bits)
	}
	return p, nil
}

// Bounds of the settings. A rule list is scanned for every request, so it
// stays short; an interval below a second is no limit at all, and a KoD
// more often than once a second per client is what a spoofed victim must
// never get.
const (
	maxRules        = 256
	maxQuery        = 64
	minInterval     = time.Second
	maxInterval     = time.Hour
	minKissInterval = time.Second
	maxKissInterval = 24 * time.Hour
)

func (c Config) compile() (compiled, error) {
	var cc compiled
	var err error
	if cc.deflt, err = parseAction(c.Default); err != nil {
		return cc, &setting.Error{Key: "default", Err: err}
	}
	if len(c.Rules) > maxRules {
		return cc, setting.Errorf(fmt.Sprintf("rule[%d]", maxRules), "more than %d rules", maxRules)
	}
	for i, r := range c.Rules {
		p, err := parseNetwork(r.Network)
		if err != nil {
			return cc, &setting.Error{Key: fmt.Sprintf("rule[%d].network", i), Err: err}
		}
		a, err := parseAction(r.Action)
		if err != nil {
			return cc, &setting.Error{Key: fmt.Sprintf("rule[%d].action", i), Err: fmt.Errorf("%w (network %s)", err, r.Network)}
		}
		cc.rules = append(cc.rules, rule{net: p, act: a})
	}
	if len(c.Query) > maxQuery {
		return cc, setting.Errorf("query", "more than %d networks", maxQuery)
	}
	for _, q := range c.Query {
		p, err := parseNetwork(q)
		if err != nil {
			return cc, &setting.Error{Key: "query", Err: err}
		}
		cc.query = append(cc.query, p)
	}
	rl := c.RateLimit
	cc.limit = !rl.Disabled
	if rl.Interval == 0 && !rl.Disabled {
		return cc, setting.Errorf("rate_limit.interval", "0s; set disabled = true to turn rate limiting off")
	}
	interval := setting.Duration("rate_limit.interval", rl.Interval, minInterval, maxInterval)
	if rl.Disabled && rl.Interval == 0 {
		interval = nil
	}
	if err := setting.First(
		interval,
		setting.Int("rate_limit.burst", rl.Burst, 1, 1000),
		setting.Duration("rate_limit.kiss_interval", rl.KissInterval, minKissInterval, maxKissInterval),
		setting.Int("rate_limit.ipv4_prefix", rl.IPv4Prefix, 8, 32),
		setting.Int("rate_limit.ipv6_prefix", rl.IPv6Prefix, 16, 128),
	); err != nil {
		return cc, err
	}
	cc.interval = rl.Interval
	cc.tolerance = time.Duration(rl.Burst-1) * rl.Interval
	cc.kissEvery = rl.KissInterval
	cc.v4Bits, cc.v6Bits = rl.IPv4Prefix, rl.IPv6Prefix
	n, err := parseSize(rl.Table)
	if err != nil {
		return cc, &setting.Error{Key: "rate_limit.table", Err: err}
	}
	if n < minTableBytes || n > maxTableBytes {
		return cc, setting.Errorf("rate_limit.table", "%q is not between 64KiB and 1GiB", rl.Table)
	}
	cc.tableBytes = n
	return cc, nil
}

const (
	minTableBytes = 64 << 10
	maxTableBytes = 1 << 30
)

// parseSize reads a byte count such as "4MiB", "512KiB", "2MB" or "65536".
func parseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000},
		{"B", 1},
	}
	num, mult := strings.TrimSpace(s), 1
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > maxTableBytes/mult+1 {
		return 0, fmt.Errorf("%q is not a size such as 4MiB", s)
	}
	return n * mult, nil
}
