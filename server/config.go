package server

import (
	"fmt"
	"net/netip"
	"time"

	"stratum1/internal/setting"
)

// Config is the [server] section of the configuration file.
type Config struct {
	// Listen names the addresses to serve NTP on, as IP:port literals
	// ("0.0.0.0:123", "[::]:123", "192.0.2.1:123").
	Listen []string `toml:"listen"`
	// Workers is the number of sockets, each with its own goroutine, per
	// listen address, sharing the port through SO_REUSEPORT. Zero means one
	// per CPU the process may run on.
	Workers int `toml:"workers"`
	// Coalesce is the longest a request may wait, when at least four
	// requests arrive per Coalesce on a socket, so that a worker receives
	// several with one wakeup: under load this cuts the CPU per reply by
	// about 40%.
	// Timestamps stay exact (see coalescer); only the round trip grows.
	// Zero disables it.
	Coalesce time.Duration `toml:"coalesce"`
	// HWTimestamp names the interfaces whose network cards should stamp
	// requests and replies in hardware, where they can ("*": every
	// interface that can). Off by default: switching a card's timestamps
	// on needs CAP_NET_ADMIN and changes it for every program on the
	// machine. Software timestamps stand wherever hardware ones fail.
	HWTimestamp []string `toml:"hwtimestamp"`
}

// DefaultConfig listens on port 123 of every IPv4 and IPv6 address, with one
// worker per CPU.
func DefaultConfig() Config {
	return Config{Listen: []string{"0.0.0.0:123", "[::]:123"}, Coalesce: DefaultCoalesce}
}

// DefaultCoalesce is within what a network card's interrupt moderation adds
// under load; it engages from 20k requests/s per socket (until under 15k).
const DefaultCoalesce = 200 * time.Microsecond

const (
	maxListen   = 64  // addresses: every address of a well-equipped box
	maxWorkers  = 256 // sockets per address: far more than any Pi has CPUs
	minCoalesce = 10 * time.Microsecond
	maxCoalesce = time.Millisecond
)

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if len(c.Listen) == 0 {
		return setting.Errorf("listen", "no address to serve on")
	}
	if len(c.Listen) > maxListen {
		return setting.Errorf("listen", "more than %d addresses", maxListen)
	}
	seen := make(map[netip.AddrPort]bool, len(c.Listen))
	for i, s := range c.Listen {
		key := fmt.Sprintf("listen[%d]", i)
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return setting.Errorf(key, "%q is not an IP:port literal (e.g. \"0.0.0.0:123\" or \"[::]:123\"): %w", s, err)
		}
		if ap.Addr().Zone() != "" {
			return setting.Errorf(key, "%q: zones are not supported; listen on the address without one", s)
		}
		if seen[ap] {
			return setting.Errorf(key, "%q listed twice", s)
		}
		seen[ap] = true
	}
	for _, name := range c.HWTimestamp {
		if name == "" || len(name) > 15 {
			return setting.Errorf("hwtimestamp", "%q is not an interface name (e.g. \"eth0\", or \"*\" for all)", name)
		}
	}
	return setting.First(
		setting.Int("workers", c.Workers, 0, maxWorkers),
		setting.DurationOrZero("coalesce", c.Coalesce, minCoalesce, maxCoalesce),
	)
}

func (c Config) addrs() ([]netip.AddrPort, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, len(c.Listen))
	for i, s := range c.Listen {
		out[i] = netip.MustParseAddrPort(s)
	}
	return out, nil
}
