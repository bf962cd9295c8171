package gps

// Config is the [gps] section of the configuration file.
type Config struct {
	Device string `toml:"device"` // serial device; default /dev/serial0
	Baud   string `toml:"baud"`   // "auto" or a rate such as "9600"
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat.
func DefaultConfig() Config { return Config{Device: "/dev/serial0", Baud: "auto"} }

// Validate reports the first invalid setting.
func (c Config) Validate() error { return nil }
