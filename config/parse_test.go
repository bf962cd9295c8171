package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// durationKeys lists every time.Duration setting as the file writes it,
// with the TOML that sets it to a bare number and the line of that key.
func durationKeys(t *testing.T) []struct{ key, doc string } {
	t.Helper()
	var out []struct{ key, doc string }
	var walk func(path []string, typ reflect.Type, inArray bool)
	walk = func(path []string, typ reflect.Type, inArray bool) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			p := append(append([]string(nil), path...), name)
			switch {
			case f.Type == durationType:
				table, key := strings.Join(p[:len(p)-1], "."), p[len(p)-1]
				var doc string
				if inArray {
					// An element of [[peers.server]] needs its address.
					doc = "[[" + table + "]]\naddress = \"a.example\"\n" + key + " = 64\n"
				} else {
					doc = "[" + table + "]\n\n" + key + " = 64\n"
				}
				out = append(out, struct{ key, doc string }{strings.Join(p, "."), doc})
			case f.Type.Kind() == reflect.Struct:
				walk(p, f.Type, inArray)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				walk(p, f.Type.Elem(), true)
			}
		}
	}
	walk(nil, reflect.TypeFor[Config](), false)
	if len(out) < 15 {
		t.Fatalf("found only %d duration settings: %v", len(out), out)
	}
	return out
}

// Every duration, in every section, refuses a bare number with the key and
// its line: the TOML decoder would read it as nanoseconds.
func TestParseRejectsBareNumberDurations(t *testing.T) {
	for _, d := range durationKeys(t) {
		t.Run(d.key, func(t *testing.T) {
			_, err := Parse([]byte(d.doc))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", d.doc, err)
			}
			wantKey := d.key
			if strings.HasPrefix(d.key, "peers.server.") || strings.HasPrefix(d.key, "peers.pool.") {
				wantKey = strings.Replace(d.key, ".minpoll", "[0].minpoll", 1)
				wantKey = strings.Replace(wantKey, ".maxpoll", "[0].maxpoll", 1)
			}
			if e.Key != wantKey || e.Line != 3 || e.Column != 1 || !strings.Contains(e.Error(), "bare number") {
				t.Fatalf("Parse(%q) = %v (key %q line %d column %d), want key %s at line 3, column 1",
					d.doc, err, e.Key, e.Line, e.Column, wantKey)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, doc string
		key       string // the full key the error names
		line, col int    // 0: no position expected
		msg       string // substring of the message
	}{
		// The cases.
		{"reconnect_max bare", "[gps]\nreconnect_max = 5\n", "gps.reconnect_max", 2, 1, "bare number"},
		{"rate interval bare", "[access]\n\n[access.rate_limit]\ninterval = 8\n", "access.rate_limit.interval", 4, 1, "bare number"},
		{"kiss bare", "[access.rate_limit]\nkiss_interval = 30\n", "access.rate_limit.kiss_interval", 2, 1, "bare number"},
		{"kiss zero", "[access.rate_limit]\nkiss_interval = \"0s\"\n", "access.rate_limit.kiss_interval", 2, 1, "outside 1s..24h"},
		{"kiss tiny", "[access.rate_limit]\nkiss_interval = \"10ms\"\n", "access.rate_limit.kiss_interval", 2, 1, "outside"},
		{"holdover 100000h", "[discipline]\nholdover_limit = \"100000h\"\n", "discipline.holdover_limit", 2, 1, "outside 1m..48h"},
		{"step 1000h", "[discipline]\n  step_threshold = \"1000h\"\n", "discipline.step_threshold", 2, 3, "outside"},
		{"float duration", "[discipline]\nnmea_latency = 0.1\n", "discipline.nmea_latency", 2, 1, "bare number"},
		{"unclosed table", "[server]\nworkers = 1\n\n\n\n\n[access\ndefault = \"serve\"\n[http]\nlisten = \":8123\"\n", "", 7, 8, "end table name"},

		// Syntax and types.
		{"unclosed at end", "[gps", "", 1, 0, "end table name"},
		{"unterminated string", "[gps]\ndevice = \"/dev/x\nbaud = \"auto\"\n", "", 2, 17, "newline"},
		{"unknown key", "[gps]\nbuad = \"9600\"\n", "gps.buad", 2, 1, "unknown key"},
		{"unknown section", "\n[gpss]\ndevice = \"x\"\n", "gpss", 2, 1, "unknown key"},
		{"unknown key in array table", "[[peers.server]]\naddress = \"a\"\n[[peers.server]]\naddress = \"b\"\nburst = true\n", "peers.server[1].burst", 5, 1, "unknown key"},
		{"not a duration", "[discipline]\nholdover_limit = \"soon\"\n", "discipline.holdover_limit", 2, 1, "not a duration"},
		{"string for list", "[server]\nlisten = \"0.0.0.0:123\"\n", "server.listen", 2, 1, "want an array"},
		{"number for list", "[server]\nlisten = 123\n", "server.listen", 2, 1, "want an array"},
		{"string for int", "[server]\nworkers = \"4\"\n", "server.workers", 2, 1, "want an integer"},
		{"int for bool", "[access.rate_limit]\ndisabled = 1\n", "access.rate_limit.disabled", 2, 1, "true or false"},
		{"table for string", "[gps.device]\n", "gps.device", 1, 1, "want a string"},
		{"int overflow", "[pps]\ncable_delay_ns = 99999999999999999999\n", "", 2, 0, ""},
		{"first error in the file", "[gps]\nbaud = \"auto\"\nreconnect_max = 9\n[access.rate_limit]\ninterval = 8\n", "gps.reconnect_max", 3, 1, "bare number"},

		// Ranges, by section.
		{"no listen address", "[server]\nlisten = []\n", "server.listen", 2, 1, "no address"},
		{"bad port", "[server]\nlisten = [\"0.0.0.0:123\", \"0.0.0.0:99999\"]\n", "server.listen[1]", 2, 1, "IP:port"},
		{"workers", "[server]\nworkers = 1000\n", "server.workers", 2, 1, "outside 0..256"},
		{"coalesce tiny", "[server]\ncoalesce = \"1ns\"\n", "server.coalesce", 2, 1, "outside"},
		{"coalesce long", "[server]\ncoalesce = \"5ms\"\n", "server.coalesce", 2, 1, "outside"},
		{"gps relative device", "[gps]\ndevice = \"ttyUSB0\"\n", "gps.device", 2, 1, "device path"},
		{"gps baud", "[gps]\nbaud = \"12\"\n", "gps.baud", 2, 1, "rate"},
		{"gps rollover", "[gps]\nrollover_ref = \"1900-01-01\"\n", "gps.rollover_ref", 2, 1, "outside"},
		{"reconnect tiny", "[gps]\nreconnect_max = \"5ns\"\n", "gps.reconnect_max", 2, 1, "outside 1s..1h"},
		{"reconnect zero", "[gps]\nreconnect_max = \"0s\"\n", "gps.reconnect_max", 2, 1, "outside"},
		{"pps backend", "[pps]\nbackend = \"magic\"\n", "pps.backend", 2, 1, "not one of"},
		{"pps-api without device", "[pps]\ndevice = \"\"\nbackend = \"pps-api\"\n", "pps.device", 2, 1, "needs a device"},
		{"cable delay", "[pps]\ncable_delay_ns = -5\n", "pps.cable_delay_ns", 2, 1, "outside"},
		{"pps offset", "[pps]\noffset_ns = 200000000\n", "pps.offset_ns", 2, 1, "outside"},
		{"interval tolerance", "[pps]\ninterval_tolerance = \"1s\"\n", "pps.interval_tolerance", 2, 1, "outside"},
		{"nearest within", "[pps]\nnearest_within = \"0s\"\n", "pps.nearest_within", 2, 1, "outside"},
		{"drift interval", "[discipline]\ndrift_interval = \"1s\"\n", "discipline.drift_interval", 2, 1, "outside 1m..24h"},
		{"step threshold zero", "[discipline]\nstep_threshold = \"0s\"\n", "discipline.step_threshold", 2, 1, "outside"},
		{"step limit", "[discipline]\nstep_limit = -2\n", "discipline.step_limit", 2, 1, "outside -1..1000"},
		{"nmea error", "[discipline]\nnmea_error = \"0s\"\n", "discipline.nmea_error", 2, 1, "outside"},
		{"pps error", "[discipline]\npps_error = \"1s\"\n", "discipline.pps_error", 2, 1, "outside"},
		{"holdover zero", "[discipline]\nholdover_limit = \"0s\"\n", "discipline.holdover_limit", 2, 1, "outside"},
		{"max frequency", "[discipline]\nmax_frequency_ppm = 0.0\n", "discipline.max_frequency_ppm", 2, 1, "outside"},
		{"wander", "[discipline]\nwander_ppm = 2\n", "discipline.wander_ppm", 2, 1, "outside"},
		{"peer minpoll", "[[peers.server]]\naddress = \"a\"\nminpoll = \"10ms\"\n", "peers.server[0].minpoll", 3, 1, "outside"},
		{"peer min above max", "[peers]\nserver = [{address = \"a\"},\n  {address = \"b\", maxpoll = \"16s\", minpoll = \"64s\"}]\n", "peers.server[1].minpoll", 3, 36, "above maxpoll"},
		{"peer duplicate", "[[peers.server]]\naddress = \"a\"\n[[peers.server]]\naddress = \"A\"\n", "peers.server[1].address", 4, 1, "listed twice"},
		{"pool by address", "[[peers.pool]]\naddress = \"192.0.2.1\"\n", "peers.pool[0].address", 2, 1, "DNS name"},
		{"pool associations", "[peers]\nmax_pool_associations = 100\n", "peers.max_pool_associations", 2, 1, "outside 1..16"},
		{"pool replace", "[peers]\npool_replace_after = \"100h\"\n", "peers.pool_replace_after", 2, 1, "outside"},
		{"max distance", "[peers]\nmax_distance = \"1us\"\n", "peers.max_distance", 2, 1, "outside"},
		{"cross-check a second", "[peers]\ncross_check_threshold = \"1s\"\n", "peers.cross_check_threshold", 2, 1, "outside"},
		{"gps recover", "[peers]\ngps_recover_after = \"1000h\"\n", "peers.gps_recover_after", 2, 1, "outside"},
		{"access default", "[access]\ndefault = \"allow\"\n", "access.default", 2, 1, "not one of"},
		{"access rule", "[access]\n[[access.rule]]\nnetwork = \"10.0.0.1/8\"\naction = \"serve\"\n", "access.rule[0].network", 3, 1, "host bits"},
		{"access rule action", "[[access.rule]]\nnetwork = \"10.0.0.0/8\"\naction = \"kod\"\n", "access.rule[0].action", 3, 1, "not one of"},
		{"rate interval tiny", "[access.rate_limit]\ninterval = \"10ms\"\n", "access.rate_limit.interval", 2, 1, "outside 1s..1h"},
		{"rate interval zero", "[access.rate_limit]\ninterval = \"0s\"\n", "access.rate_limit.interval", 2, 1, "disabled = true"},
		{"burst", "[access.rate_limit]\nburst = 0\n", "access.rate_limit.burst", 2, 1, "outside 1..1000"},
		{"ipv6 prefix", "[access.rate_limit]\nipv6_prefix = 130\n", "access.rate_limit.ipv6_prefix", 2, 1, "outside"},
		{"table size", "[access.rate_limit]\ntable = \"2GiB\"\n", "access.rate_limit.table", 2, 1, "between"},
		{"http port", "[http]\nlisten = \":70000\"\n", "http.listen", 2, 1, "port"},
		{"log level", "[log]\nlevel = \"loud\"\n", "log.level", 2, 1, "not one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %+v, %v; want an *Error", tt.doc, c, err)
			}
			if e.Key != tt.key || e.Line != tt.line || (tt.col != 0 && e.Column != tt.col) || !strings.Contains(e.Error(), tt.msg) {
				t.Fatalf("Parse(%q):\n got %v (key %q, line %d, column %d)\nwant key %q, line %d, column %d, containing %q",
					tt.doc, err, e.Key, e.Line, e.Column, tt.key, tt.line, tt.col, tt.msg)
			}
			if tt.line > 0 && !strings.HasPrefix(e.Error(), "line ") {
				t.Errorf("%q does not start with the line", e.Error())
			}
		})
	}
}

// The settings the annotated example documents as meaning "none" work.
func TestParseAcceptsDocumentedEmptySettings(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(Config) bool
	}{
		{"no GPS", "[gps]\ndevice = \"\"\n", func(c Config) bool { return c.GPS.Device == "" }},
		{"NMEA only", "[pps]\ndevice = \"\"\npin = \"\"\n", func(c Config) bool { return !c.PPS.Enabled() }},
		{"pin only", "[pps]\ndevice = \"\"\n", func(c Config) bool { return c.PPS.Device == "" && c.PPS.Pin == "GPIO18" }},
		{"no drift or leap file", "[discipline]\ndrift_file = \"\"\nleap_file = \"\"\n", func(c Config) bool { return c.Discipline.DriftFile == "" }},
		{"no status server", "[http]\nlisten = \"\"\n", func(c Config) bool { return c.HTTP.Listen == "" }},
		{"coalescing off", "[server]\ncoalesce = \"0s\"\n", func(c Config) bool { return c.Server.Coalesce == 0 }},
		{"rate limiting off", "[access.rate_limit]\ndisabled = true\ninterval = \"0s\"\n", func(c Config) bool { return c.Access.RateLimit.Disabled }},
		{"steps always", "[discipline]\nstep_limit = -1\n", func(c Config) bool { return c.Discipline.StepLimit == -1 }},
		{"float for float", "[discipline]\nmax_frequency_ppm = 100\n", func(c Config) bool { return c.Discipline.MaxFrequency == 100 }},
		{"limits", "[discipline]\nholdover_limit = \"48h\"\nstep_threshold = \"600s\"\n[access.rate_limit]\nkiss_interval = \"1s\"\ninterval = \"1s\"\n",
			func(c Config) bool { return c.Discipline.HoldoverLimit == 48*time.Hour }},
		{"inline peers", "[peers]\nserver = [{address = \"a.example\", minpoll = \"16s\", maxpoll = \"64s\"}]\n",
			func(c Config) bool { return len(c.Peers.Servers) == 1 && c.Peers.Servers[0].MinPoll == 16*time.Second }},
		{"CRLF", "[gps]\r\nreconnect_max = \"10s\"\r\n", func(c Config) bool { return c.GPS.ReconnectMax == 10*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("Parse(%q) = %+v", tt.doc, c)
			}
		})
	}
}

// Validate outside Parse (flags over a file) still names the full key.
func TestValidateNamesFullKey(t *testing.T) {
	c := Default()
	c.Access.RateLimit.KissInterval = 0
	err := c.Validate()
	var e *Error
	if !errors.As(err, &e) || e.Key != "access.rate_limit.kiss_interval" || e.Line != 0 {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := t.TempDir() + "/bad.toml"
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "bad.toml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCheckTreeEmbedded(t *testing.T) {
	type Inner struct {
		Every time.Duration `toml:"every"`
	}
	type Outer struct {
		Inner
		Name string
	}
	tree := map[string]any{"every": int64(5), "name": "x"}
	errs := checkTree("s", tree, reflect.TypeFor[Outer]())
	if len(errs) != 1 || errs[0].Key != "s.every" || !strings.Contains(errs[0].Error(), "bare number") {
		t.Fatalf("checkTree = %v", errs)
	}
	if errs := checkTree("s", map[string]any{"every": "5s", "NAME": "x"}, reflect.TypeFor[Outer]()); len(errs) != 0 {
		t.Fatalf("checkTree = %v", errs)
	}
}

// A section error without a key is placed at the section's table.
func TestSectionErrorWithoutKey(t *testing.T) {
	e := sectionError("http", errors.New("something"))
	e.locate(keyPositions([]byte("# c\n[http]\nlisten = \"\"\n")))
	if e.Key != "http" || e.Line != 2 || e.Column != 1 || e.Error() != "line 2, column 1: http: something" {
		t.Fatalf("%+v: %v", e, e)
	}
}
