package config

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestExamplesDocumentEveryKey keeps the annotated example complete: every
// key of the configuration appears in it, set or commented out.
func TestExamplesDocumentEveryKey(t *testing.T) {
	example, err := os.ReadFile("../deploy/config/stratum1.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(example); err != nil {
		t.Fatalf("stratum1.toml: %v", err)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(Default()); err != nil {
		t.Fatal(err)
	}
	keyLine := regexp.MustCompile(`(?m)^\s*([a-z0-9_]+) = `)
	for _, m := range keyLine.FindAllStringSubmatch(buf.String(), -1) {
		documented := regexp.MustCompile(`(?m)^#? ?` + m[1] + ` = `)
		if !documented.Match(example) {
			t.Errorf("key %q is not documented in deploy/config/stratum1.toml", m[1])
		}
	}
	pool, err := os.ReadFile("../deploy/config/pool-member.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(pool); err != nil {
		t.Fatalf("pool-member.toml: %v", err)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, doc, wantSubstr string
	}{
		{"unknown key", "[gps]\nbuad = \"9600\"\n", "gps.buad"},
		{"unknown section", "[gpss]\ndevice = \"x\"\n", "gpss"},
		{"syntax", "[gps\n", "line 1, column 5"},
		{"bad duration", "[discipline]\nholdover_limit = \"soon\"\n", "holdover_limit"},
		{"bad log level", "[log]\nlevel = \"loud\"\n", "level"},
		{"wrong type", "[server]\nlisten = 123\n", "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted %q", tt.doc)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.wantSubstr)) {
				t.Fatalf("error %q does not name %q", err, tt.wantSubstr)
			}
		})
	}
}

func TestParseKeepsDefaults(t *testing.T) {
	c, err := Parse([]byte("[gps]\nbaud = \"9600\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.GPS.Baud != "9600" || c.GPS.Device != Default().GPS.Device {
		t.Fatalf("got %+v", c.GPS)
	}
}
