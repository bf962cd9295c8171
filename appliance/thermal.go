package appliance

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ThermalFile returns a reader of a Linux thermal zone's temperature file
// (millidegrees Celsius, as /sys/class/thermal/thermal_zone0/temp holds
// it), in °C.
func ThermalFile(path string) func() (float64, error) {
	buf := make([]byte, 32)
	return func() (float64, error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, fmt.Errorf("temperature: %w", err)
		}
		n, err := f.Read(buf)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("temperature: %s: %w", path, err)
		}
		return ParseMillidegrees(string(buf[:n]))
	}
}

// ParseMillidegrees parses a thermal zone's reading, in millidegrees
// Celsius, into °C; a reading outside -60..150 °C is an error.
func ParseMillidegrees(s string) (float64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	c := float64(v) / 1000
	if err != nil || math.Abs(c-45) > 105 {
		return 0, fmt.Errorf("temperature: %q is not millidegrees Celsius in -60..150 °C", strings.TrimSpace(s))
	}
	return c, nil
}
