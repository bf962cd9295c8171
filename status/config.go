package status

import (
	"net"
	"net/netip"
	"strconv"

	"stratum1/internal/setting"
)

// HTTPConfig is the [http] section of the configuration file.
type HTTPConfig struct {
	Listen string `toml:"listen"` // address of the status server; "" disables it
}

// DefaultHTTPConfig listens on port 8123 of every address. The handler still
// answers only loopback, private and link-local clients.
func DefaultHTTPConfig() HTTPConfig { return HTTPConfig{Listen: ":8123"} }

// Validate reports the first invalid setting.
func (c HTTPConfig) Validate() error {
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
