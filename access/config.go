package access

// Config is the [access] section of the configuration file.
type Config struct{}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{} }

// Validate reports the first invalid setting.
func (c Config) Validate() error { return nil }
