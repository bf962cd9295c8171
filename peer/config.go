package peer

// Config is the [peers] section of the configuration file.
type Config struct{}

// DefaultConfig returns the defaults: no upstream peers.
func DefaultConfig() Config { return Config{} }

// Validate reports the first invalid setting.
func (c Config) Validate() error { return nil }
