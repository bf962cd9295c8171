package status

// HTTPConfig is the [http] section of the configuration file.
type HTTPConfig struct {
	Listen string `toml:"listen"` // address of the status server; "" disables it
}

// DefaultHTTPConfig listens on port 8123 of every address.
func DefaultHTTPConfig() HTTPConfig { return HTTPConfig{Listen: ":8123"} }

// Validate reports the first invalid setting.
func (c HTTPConfig) Validate() error { return nil }
