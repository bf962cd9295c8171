package discipline

// Config is the [discipline] section of the configuration file.
type Config struct {
	DriftFile string `toml:"drift_file"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{DriftFile: "/var/lib/stratum1/drift"} }

// Validate reports the first invalid setting.
func (c Config) Validate() error { return nil }
