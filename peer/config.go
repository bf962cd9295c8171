package peer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"stratum1/internal/setting"
)

// Poll interval bounds. The defaults are RFC 5905's 2^6..2^10 s; the limits
// allow 1 s (tests) up to ntpd's 2^17 s.
const (
	DefaultMinPoll = 64 * time.Second
	DefaultMaxPoll = 1024 * time.Second
	MinPollLimit   = time.Second
	MaxPollLimit   = 131072 * time.Second
)

// Source is one `server` or `pool` entry.
type Source struct {
	// Address is host[:port]: an IP address or DNS name for a server, a DNS
	// name for a pool. The port defaults to 123.
	Address string `toml:"address"`
	// IBurst sends up to 8 packets 2 s apart on start and while the source
	// is unreachable, so that it becomes usable in seconds. There is
	// deliberately no `burst`: the NTP Pool counts it as abuse.
	IBurst bool `toml:"iburst"`
	// MinPoll and MaxPoll bound the poll interval; zero means the default.
	MinPoll time.Duration `toml:"minpoll"`
	MaxPoll time.Duration `toml:"maxpoll"`
}

// Polls returns the entry's poll bounds with the defaults filled in.
func (s Source) Polls() (minPoll, maxPoll time.Duration) {
	minPoll, maxPoll = s.MinPoll, s.MaxPoll
	if minPoll == 0 {
		minPoll = DefaultMinPoll
		if maxPoll != 0 && maxPoll < minPoll {
			minPoll = maxPoll
		}
	}
	if maxPoll == 0 {
		maxPoll = max(DefaultMaxPoll, minPoll)
	}
	return minPoll, maxPoll
}

// Config is the [peers] section of the configuration file.
type Config struct {
	Servers []Source `toml:"server"` // [[peers.server]] entries
	Pools   []Source `toml:"pool"`   // [[peers.pool]] entries
	// MaxPoolAssociations is how many addresses each pool entry uses at
	// once (ntpd's `tos maxclock` for a pool).
	MaxPoolAssociations int `toml:"max_pool_associations"`
	// PoolReplaceAfter is how long a pool address may stay unreachable or a
	// falseticker before it is dropped for a fresh one.
	PoolReplaceAfter time.Duration `toml:"pool_replace_after"`
	// MaxDistance is the largest root distance of a selectable peer
	// (RFC 5905 MAXDIST).
	MaxDistance time.Duration `toml:"max_distance"`
	// CrossCheckThreshold is how far the GPS time may be from the majority
	// of the true-chimers before the GPS is distrusted.
	CrossCheckThreshold time.Duration `toml:"cross_check_threshold"`
	// GPSRecoverAfter is how long GPS must be healthy again before the box
	// leaves the peers and serves stratum 1 from it again, so that a
	// flapping antenna does not make the served stratum flap.
	GPSRecoverAfter time.Duration `toml:"gps_recover_after"`
}

// DefaultConfig returns the defaults: no upstream peers.
func DefaultConfig() Config {
	return Config{
		MaxPoolAssociations: 4,
		PoolReplaceAfter:    15 * time.Minute,
		MaxDistance:         1500 * time.Millisecond,
		CrossCheckThreshold: 500 * time.Millisecond,
		GPSRecoverAfter:     5 * time.Minute,
	}
}

// Bounds of the settings.
const (
	maxServers = 32
	maxPools   = 8
	// maxCrossCheck stays below a second, so that a receiver a whole
	// second off is always caught.
	maxCrossCheck = 900 * time.Millisecond
)

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	seen := map[string]bool{}
	check := func(kind string, i int, s Source) error {
		key := fmt.Sprintf("%s[%d]", kind, i)
		host, _, err := SplitHostPort(s.Address)
		if err != nil {
			return &setting.Error{Key: key + ".address", Err: err}
		}
		if kind == "pool" {
			if _, err := netip.ParseAddr(host); err == nil {
				return setting.Errorf(key+".address", "%q: a pool is a DNS name, use a server entry for an IP address", s.Address)
			}
		}
		addr := strings.ToLower(s.Address)
		if seen[addr] {
			return setting.Errorf(key+".address", "%q: listed twice", s.Address)
		}
		seen[addr] = true
		if err := setting.First(
			setting.DurationOrZero(key+".minpoll", s.MinPoll, MinPollLimit, MaxPollLimit),
			setting.DurationOrZero(key+".maxpoll", s.MaxPoll, MinPollLimit, MaxPollLimit),
		); err != nil {
			return err
		}
		if s.MinPoll != 0 && s.MaxPoll != 0 && s.MinPoll > s.MaxPoll {
			return setting.Errorf(key+".minpoll", "%v is above maxpoll %v", s.MinPoll, s.MaxPoll)
		}
		return nil
	}
	if len(c.Servers) > maxServers {
		return setting.Errorf(fmt.Sprintf("server[%d]", maxServers), "more than %d servers", maxServers)
	}
	if len(c.Pools) > maxPools {
		return setting.Errorf(fmt.Sprintf("pool[%d]", maxPools), "more than %d pools", maxPools)
	}
	for i, s := range c.Servers {
		if err := check("server", i, s); err != nil {
			return err
		}
	}
	for i, s := range c.Pools {
		if err := check("pool", i, s); err != nil {
			return err
		}
	}
	return setting.First(
		setting.Int("max_pool_associations", c.MaxPoolAssociations, 1, 16),
		setting.Duration("pool_replace_after", c.PoolReplaceAfter, time.Second, 24*time.Hour),
		setting.Duration("max_distance", c.MaxDistance, time.Millisecond, 16*time.Second),
		setting.Duration("cross_check_threshold", c.CrossCheckThreshold, time.Millisecond, maxCrossCheck),
		setting.Duration("gps_recover_after", c.GPSRecoverAfter, 0, 24*time.Hour),
	)
}

// SplitHostPort splits host[:port] with the NTP port as the default. It
// accepts a bare IPv6 address and [v6]:port.
func SplitHostPort(addr string) (host string, port uint16, err error) {
	if addr == "" {
		return "", 0, errors.New("empty")
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.String(), 123, nil
	}
	if !strings.Contains(addr, ":") {
		return addr, 123, nil
	}
	if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		a, err := netip.ParseAddr(addr[1 : len(addr)-1])
		if err != nil {
			return "", 0, fmt.Errorf("%q: %w", addr, err)
		}
		return a.String(), 123, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("%q: bad port %q", addr, p)
	}
	if h == "" {
		return "", 0, fmt.Errorf("%q: no host", addr)
	}
	return h, uint16(n), nil
}

// IsPoolName reports whether host names an NTP Pool zone (pool.ntp.org and
// its subdomains, such as 2.debian.pool.ntp.org), which the Pool asks its
// own members not to use as upstreams.
func IsPoolName(host string) bool {
	if h, _, err := SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "pool.ntp.org" || strings.HasSuffix(host, ".pool.ntp.org")
}
