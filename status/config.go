package status

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"stratum1/internal/setting"
)

// HTTPConfig is the [http] section of the configuration file.
type HTTPConfig struct {
	Listen string `toml:"listen"` // address of the status server; "" disables it
	// Hosts are further names the server answers to in the Host header,
	// besides this machine's addresses, its host name (and name.local) and
	// localhost: a DNS name the router gives the box, for instance. "*"
	// answers any name, which lets a DNS-rebinding web page read the status.
	Hosts []string `toml:"hosts"`
	// MaxConnections caps the connections served at once; more are
	// answered 503 and closed.
	MaxConnections int `toml:"max_connections"`
	// ExactPosition serves the receiver's position at full precision;
	// otherwise it is rounded to 0.01 degree (about a kilometre).
	ExactPosition bool `toml:"exact_position"`
}

// Limits of [http] max_connections.
const (
	DefaultMaxConnections = 64
	maxMaxConnections     = 4096
)

// DefaultHTTPConfig listens on port 8123 of every address. The handler still
// answers only loopback, private and link-local clients.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{Listen: ":8123", MaxConnections: DefaultMaxConnections}
}

// Validate reports the first invalid setting.
func (c HTTPConfig) Validate() error {
	if err := setting.Int("max_connections", c.MaxConnections, 1, maxMaxConnections); err != nil {
		return err
	}
	for _, h := range c.Hosts {
		if err := validHostName(h); err != nil {
			return setting.Errorf("hosts", "%w", err)
		}
	}
	if c.Listen == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return setting.Errorf("listen", "%q is not host:port (for example \":8123\" or \"127.0.0.1:8123\"): %w", c.Listen, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return setting.Errorf("listen", "port %q of %q is not a number from 0 to 65535", port, c.Listen)
	}
	if host == "" || host == "localhost" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return setting.Errorf("listen", "host %q of %q is not an IP address", host, c.Listen)
	}
	return nil
}

// validHostName accepts "*", an IP address, or a DNS name without a port.
func validHostName(h string) error {
	if h == "*" {
		return nil
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("%q is not a host name", h)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name (no port, no scheme: for example \"ntp.home.arpa\")", h)
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
				return fmt.Errorf("%q is not a host name (no port, no scheme: for example \"ntp.home.arpa\")", h)
			}
		}
	}
	return nil
}
