package appliance

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseMillidegrees(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"48312\n", 48.312, true},
		{"-5000", -5, true},
		{"  61000 ", 61, true},
		{"", 0, false},
		{"48.3", 0, false},
		{"999999", 0, false}, // 999 °C: not a Pi's die
		{"-70000", 0, false},
		{"hot", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseMillidegrees(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseMillidegrees(%q) = %v, %v; want %v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestThermalFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "temp")
	read := ThermalFile(p)
	if _, err := read(); err == nil {
		t.Fatal("a missing file read without error")
	}
	if err := os.WriteFile(p, []byte("52625\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := read(); err != nil || c != 52.625 {
		t.Fatalf("read %v, %v; want 52.625", c, err)
	}
}
