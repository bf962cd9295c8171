package nts

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is the [nts] section. NTS is off while Listen is empty.
type Config struct {
	// Listen is the NTS-KE address, an IP:port literal ("0.0.0.0:4460").
	Listen string `toml:"listen"`
	// Cert and Key are PEM files: the certificate chain clients verify
	// and its private key. Both are re-read on SIGHUP.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// StateDir keeps the cookie master keys (file nts-keys, mode 0600), so
	// that clients' cookies stay valid across a restart. Empty keeps them
	// in memory only.
	StateDir string `toml:"state_dir"`
	// NTPServer and NTPPort are sent to clients in the NTPv4 Server and
	// Port Negotiation records: where to send the NTS-protected NTP
	// requests. An empty NTPServer sends no record (clients use the
	// KE server's name); NTPPort 0 means the first [server] listen port,
	// and port 123 sends no record.
	NTPServer string `toml:"ntp_server"`
	NTPPort   int    `toml:"ntp_port"`
	// KeyRotation is how often a new master key is made; KeepKeys is how
	// many are kept, so a cookie lives about KeyRotation*(KeepKeys-1).
	KeyRotation time.Duration `toml:"key_rotation"`
	KeepKeys    int           `toml:"keep_keys"`
	// MaxSessions caps concurrent NTS-KE connections; SessionTimeout bounds
	// each (handshake included).
	MaxSessions    int           `toml:"max_sessions"`
	SessionTimeout time.Duration `toml:"session_timeout"`
}

// DefaultConfig has NTS off, with the rest set as chrony's would be except
// for daily key rotation.
func DefaultConfig() Config {
	return Config{
		KeyRotation:    24 * time.Hour,
		KeepKeys:       4,
		MaxSessions:    100,
		SessionTimeout: 5 * time.Second,
	}
}

// Enabled reports whether the section asks for NTS.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not an IP:port literal (e.g. \"0.0.0.0:4460\"): %w", c.Listen, err)
	}
	if c.Cert == "" || c.Key == "" {
		return fmt.Errorf("cert and key: both are needed to serve NTS-KE (see `stratum1 nts-cert`)")
	}
	if c.NTPPort < 0 || c.NTPPort > 65535 {
		return fmt.Errorf("ntp_port: %d out of range 0 to 65535", c.NTPPort)
	}
	if len(c.NTPServer) > 255 {
		return fmt.Errorf("ntp_server: longer than 255 bytes")
	}
	if c.KeyRotation < time.Minute {
		return fmt.Errorf("key_rotation: %v shorter than a minute", c.KeyRotation)
	}
	if c.KeepKeys < 2 || c.KeepKeys > 100 {
		return fmt.Errorf("keep_keys: %d out of range 2 to 100", c.KeepKeys)
	}
	if c.MaxSessions < 1 || c.MaxSessions > 100000 {
		return fmt.Errorf("max_sessions: %d out of range 1 to 100000", c.MaxSessions)
	}
	if c.SessionTimeout < 100*time.Millisecond || c.SessionTimeout > time.Minute {
		return fmt.Errorf("session_timeout: %v out of range 100ms to 1m", c.SessionTimeout)
	}
	return nil
}
