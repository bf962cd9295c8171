package gps

import (
	"strconv"
	"strings"
	"time"

	"stratum1/internal/setting"
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
	Device string `toml:"device"` // serial device; default /dev/serial0; "" for none
	Baud   string `toml:"baud"`   // "auto" or a rate such as "9600"

	// RolloverRef, "YYYY-MM-DD", is an extra floor for the week-rollover
	// correction: dates more than half a 1024-week era before the latest
	// of it, the build date and the last saved time are moved forward.
	// Empty: the build date and the saved time alone.
	RolloverRef string `toml:"rollover_ref"`

	// ReconnectMax caps the backoff between attempts to reopen a device
	// that has vanished. Default 30s; NewReader treats 0 as the default.
	ReconnectMax time.Duration `toml:"reconnect_max"` // 1s..1h
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat.
func DefaultConfig() Config {
	return Config{Device: "/dev/serial0", Baud: BaudAuto, ReconnectMax: 30 * time.Second}
}

// Reconnect backoff bounds: at least a second between attempts, so that a
// missing device costs nothing, and at most an hour.
const (
	minReconnectMax = time.Second
	maxReconnectMax = time.Hour
)

// Validate reports the first invalid setting. An empty Device means no
// receiver at all (the box serves from its upstream peers).
func (c Config) Validate() error {
	if c.Device != "" && !strings.HasPrefix(c.Device, "/") {
		return setting.Errorf("device", "%q is not a device path such as /dev/serial0 (\"\" runs without GPS)", c.Device)
	}
	if _, err := c.BaudRate(); err != nil {
		return err
	}
	if c.RolloverRef != "" {
		t, err := time.Parse("2006-01-02", c.RolloverRef)
		if err != nil {
			return setting.Errorf("rollover_ref", "%q: want YYYY-MM-DD", c.RolloverRef)
		}
		if t.Before(gpsEpoch) || !t.Before(lastRolloverRef) {
			return setting.Errorf("rollover_ref", "%s is outside %s..%s", c.RolloverRef, gpsEpoch.Format(time.DateOnly), lastRolloverRef.AddDate(0, 0, -1).Format(time.DateOnly))
		}
	}
	return setting.Duration("reconnect_max", c.ReconnectMax, minReconnectMax, maxReconnectMax)
}

// gpsEpoch is when GPS time starts; a rollover reference after
// lastRolloverRef would push correct dates 1024 weeks into the future.
var (
	gpsEpoch        = time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC)
	lastRolloverRef = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// BaudRate is the configured rate, or 0 for auto detection.
func (c Config) BaudRate() (int, error) {
	b := strings.TrimSpace(c.Baud)
	if b == "" || strings.EqualFold(b, BaudAuto) {
		return 0, nil
	}
	n, err := strconv.Atoi(b)
	if err != nil || n < 300 || n > 4000000 {
		return 0, setting.Errorf("baud", "%q: want auto or a rate from 300 to 4000000, such as 9600", c.Baud)
	}
	return n, nil
}

// rolloverRef is the parsed RolloverRef (zero when unset).
func (c Config) rolloverRef() time.Time {
	t, _ := time.Parse("2006-01-02", c.RolloverRef)
	return t
}
