package gps

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BaudAuto asks the reader to find the receiver's rate itself.
const BaudAuto = "auto"

// AutoBauds are the rates auto detection tries, in order: the common
// NMEA rates, slowest (the NMEA 0183 standard) first.
var autoBauds = [...]int{4800, 9600, 19200, 38400, 57600, 115200}

// AutoBauds returns the rates auto detection tries, in order.
func AutoBauds() []int { return append([]int(nil), autoBauds[:]...) }

// Config is the [gps] section of the configuration file.
type Config struct {
	Device string `toml:"device"` // serial device; default /dev/serial0
	Baud   string `toml:"baud"`   // "auto" or a rate such as "9600"

	// RolloverRef, "YYYY-MM-DD", is an extra floor for the week-rollover
	// correction: dates more than half a 1024-week era before the latest
	// of it, the build date and the last saved time are moved forward.
	// Empty: the build date and the saved time alone.
	RolloverRef string `toml:"rollover_ref"`

	// ReconnectMax caps the backoff between attempts to reopen a device
	// that has vanished. Default 30s.
	ReconnectMax time.Duration `toml:"reconnect_max"`

	// Configure sets the receiver up for timing at each connection, as
	// `stratum1 gps configure` does (u-blox or MediaTek, asked; moved to
	// ConfigureBaud; not saved), and the reader follows the new rate.
	Configure bool `toml:"configure"`
	// ConfigureBaud is the rate Configure moves the receiver to; 0 keeps
	// its rate. Default 115200.
	ConfigureBaud int `toml:"configure_baud"`
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat.
func DefaultConfig() Config {
	return Config{Device: "/dev/serial0", Baud: BaudAuto, ReconnectMax: 30 * time.Second, ConfigureBaud: 115200}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Device) == "" {
		return errors.New("device: empty (want a serial device such as /dev/serial0)")
	}
	if _, err := c.BaudRate(); err != nil {
		return err
	}
	if c.RolloverRef != "" {
		if _, err := time.Parse("2006-01-02", c.RolloverRef); err != nil {
			return fmt.Errorf("rollover_ref %q: want YYYY-MM-DD", c.RolloverRef)
		}
	}
	if c.ConfigureBaud != 0 && (c.ConfigureBaud < 4800 || c.ConfigureBaud > 921600) {
		return fmt.Errorf("configure_baud %d: want 0 (keep) or 4800 to 921600", c.ConfigureBaud)
	}
	if c.ReconnectMax < 0 || c.ReconnectMax > time.Hour {
		return fmt.Errorf("reconnect_max %v: want 0 (default) to 1h", c.ReconnectMax)
	}
	return nil
}

// BaudRate is the configured rate, or 0 for auto detection.
func (c Config) BaudRate() (int, error) {
	b := strings.TrimSpace(c.Baud)
	if b == "" || strings.EqualFold(b, BaudAuto) {
		return 0, nil
	}
	n, err := strconv.Atoi(b)
	if err != nil || n < 300 || n > 4000000 {
		return 0, fmt.Errorf("baud %q: want auto or a rate such as 9600", c.Baud)
	}
	return n, nil
}

// rolloverRef is the parsed RolloverRef (zero when unset).
func (c Config) rolloverRef() time.Time {
	t, _ := time.Parse("2006-01-02", c.RolloverRef)
	return t
}
