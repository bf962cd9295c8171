package config

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyPositions(t *testing.T) {
	const doc = `# comment with key = 1
top = "x" # trailing
[server]
listen = ["0.0.0.0:123",
  # a comment inside an array, with [brackets] and a = 1
  "[::]:123"]
workers = 4
notes = """
fake = 1
[fake]
"""
lit = '''
[also.fake]'''
"quoted key" = 1
dotted.key = 2

  [ access . rate_limit ]
	interval = "8s"

[[peers.server]]
address = "a"
[[peers.server]]
address = "b"
minpoll = "16s"
[peers]
pool = [ { address = "p.example", maxpoll = "64s" },
         { address = "q.example" } ]
when = 1979-05-27 07:32:00Z
inline = { a = 1, b = { c = "}" } }
escaped = "a \" b = 3"
`
	if _, err := toml.Decode(doc, new(map[string]any)); err != nil {
		t.Fatalf("the test document is not TOML: %v", err)
	}
	pos := keyPositions([]byte(doc))
	want := map[string]position{
		"top":                        {2, 1},
		"server":                     {3, 1},
		"server.listen":              {4, 1},
		"server.workers":             {7, 1},
		"server.notes":               {8, 1},
		"server.lit":                 {12, 1},
		"server.quoted key":          {14, 1},
		"server.dotted.key":          {15, 1},
		"access.rate_limit":          {17, 3},
		"access.rate_limit.interval": {18, 2},
		"peers.server[0]":            {20, 1},
		"peers.server[0].address":    {21, 1},
		"peers.server[1]":            {22, 1},
		"peers.server[1].address":    {23, 1},
		"peers.server[1].minpoll":    {24, 1},
		"peers.server.minpoll":       {24, 1},
		"peers.server.address":       {21, 1},
		"peers.pool":                 {26, 1},
		"peers.pool[0]":              {26, 10},
		"peers.pool[0].maxpoll":      {26, 35},
		"peers.pool[1].address":      {27, 12},
		"peers.when":                 {28, 1},
		"peers.inline.b.c":           {29, 25},
		"peers.escaped":              {30, 1},
	}
	for key, at := range want {
		if got, ok := pos[key]; !ok || got != at {
			t.Errorf("%s at %v (found %v), want line %d column %d", key, got, ok, at.line, at.col)
		}
	}
	for _, fake := range []string{"fake", "also.fake", "server.fake", "server.a", "peers.b", "server.also.fake"} {
		if at, ok := pos[fake]; ok {
			t.Errorf("%s found at %v inside a string or comment", fake, at)
		}
	}
	if at, ok := pos.lookup("peers.server[1].maxpoll"); !ok || at != (position{22, 1}) {
		t.Errorf("a key left at its default is placed at %v, %v; want its table", at, ok)
	}
	if _, ok := pos.lookup("log.level"); ok {
		t.Error("a key in a section the file lacks has a position")
	}
}

// The examples' keys are all found where they are written.
func TestKeyPositionsOfExamples(t *testing.T) {
	for _, name := range []string{"stratum1.toml", "pool-member.toml"} {
		data, err := os.ReadFile("../deploy/config/" + name)
		if err != nil {
			t.Fatal(err)
		}
		checkPositions(t, data)
	}
}

// checkPositions asserts that every key the TOML decoder reports for data
// that is not an implicit table is found, at a place on a real line.
func checkPositions(t *testing.T, data []byte) {
	t.Helper()
	md, err := toml.Decode(string(data), new(map[string]any))
	if err != nil {
		return
	}
	pos := keyPositions(data)
	lines := bytes.Split(data, []byte("\n"))
	for _, k := range md.Keys() {
		if md.Type(k...) == "Hash" || strings.ContainsAny(k.String(), `"'`) {
			continue // implicit tables (a.b = 1 makes a) and quoted keys
		}
		at, ok := pos[k.String()]
		if !ok {
			t.Errorf("%q: key %s not found", data, k)
			continue
		}
		if at.line < 1 || at.line > len(lines) || at.col < 1 || at.col > len(lines[at.line-1])+1 {
			t.Errorf("%q: key %s at %v, outside the text", data, k, at)
		}
	}
}

func FuzzKeyPositions(f *testing.F) {
	for _, name := range []string{"stratum1.toml", "pool-member.toml"} {
		if data, err := os.ReadFile("../deploy/config/" + name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a = [{b = 1}, {c = [1, 2]}]\n[[x.y]]\nz = \"\"\"\nq\"\"\"\"\n[[x.y]]\n"))
	f.Add([]byte("[a\n"))
	f.Add([]byte("a = '''\n'''\nb = \"\\\\\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		keyPositions(data) // any input: no panic, no hang
		checkPositions(t, data)
		// Parse never panics either, and its errors say where.
		if _, err := Parse(data); err != nil {
			if e, ok := err.(*Error); !ok || e.Err == nil {
				t.Fatalf("Parse: %T %v", err, err)
			}
		}
	})
}
