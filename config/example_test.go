package config

import (
	"bytes"
	"os"
	"reflect"
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

// The defaults the annotated example shows in comments are the defaults,
// and in range: uncommented, the file parses to Default().
func TestExampleCommentsShowTheDefaults(t *testing.T) {
	example, err := os.ReadFile("../deploy/config/stratum1.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Keys of the commented-out [[peers.server]] and [[access.rule]]
	// examples stay comments: they are examples, not defaults.
	examples := map[string]bool{"address": true, "iburst": true, "minpoll": true, "maxpoll": true, "network": true, "action": true}
	commented := regexp.MustCompile(`(?m)^# ([a-z0-9_]+) = ("[^"]*"|-?[0-9][0-9.]*|true|false)$`)
	n := 0
	doc := commented.ReplaceAllFunc(example, func(line []byte) []byte {
		m := commented.FindSubmatch(line)
		if examples[string(m[1])] {
			return line
		}
		n++
		return line[2:]
	})
	if n < 20 {
		t.Fatalf("only %d commented defaults found", n)
	}
	c, err := Parse(doc)
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("uncommented example:\n%+v\nDefault():\n%+v", c, Default())
	}
}
