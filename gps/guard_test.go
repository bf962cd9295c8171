package gps

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

// go-nmea v1.10.0 panics on a TXT with fewer than four fields; an ST Teseo
// receiver prints the first of these at every start-up (issue 21).
var crashingTXT = []string{
	"$GPTXT,DEFAULT PVT CONFIGURATION*2A",
	"$GPTXT,3,x*04",
}

// The boundary turns the library's panic into an error naming the type.
// (Should a later go-nmea stop panicking here, this test says so: then the
// boundary needs another witness.)
func TestGuardedParseRecoversLibraryPanic(t *testing.T) {
	for _, line := range crashingTXT {
		_, err := guardedParse(&nmea.SentenceParser{}, line)
		var p *ParserPanic
		if !errors.As(err, &p) {
			t.Fatalf("%q: err %v, want a ParserPanic", line, err)
		}
		if p.Type != "TXT" || p.Sentence != line || p.Value == "" {
			t.Errorf("%q: %+v", line, p)
		}
	}
}

// Sentences the assembler does not read never reach go-nmea's per-type
// parsers: they count as sentences however odd their fields.
func TestUnusedSentencesNotParsed(t *testing.T) {
	lines := append([]string{
		sentence("GNTXT,01,01,02,u-blox AG - www.u-blox.com"),
		sentence("GPTXT"),
		sentence("GPVTG,not,a,vtg"),
		sentence("PMTK001,604"),
		sentence("PGRME"),
		sentence("GPECQ,RMC"), // a query
		"!AIVDM,1,1,,A,~~~,9*51",
	}, crashingTXT...)
	for _, line := range lines {
		a := NewAssembler(AssemblerConfig{OnParserPanic: func(p ParserPanic) { t.Errorf("panic %+v", p) }})
		a.Feed([]byte(line), time.Time{})
		if c := a.Counters(); c.Sentences != 1 || c.Malformed+c.BadChecksum+c.ParserPanics+c.Garbage != 0 {
			t.Errorf("%q: %+v, want one sentence", line, c)
		}
	}
}

// A panic inside a parser the assembler does use is counted by type and
// reported, and the rest of the cycle still makes the epoch.
func TestParserPanicCounted(t *testing.T) {
	var got []ParserPanic
	a := NewAssembler(AssemblerConfig{OnParserPanic: func(p ParserPanic) { got = append(got, p) }})
	a.ps.p.CustomParsers[nmea.TypeRMC] = func(s nmea.BaseSentence) (nmea.Sentence, error) {
		return nil, errors.New(s.Fields[len(s.Fields)+1]) // index out of range, as the library's TXT does
	}
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	var es []Epoch
	var rmc []string
	for _, sec := range []time.Time{start, start.Add(time.Second)} {
		for _, l := range cycle(sec, true) {
			if strings.HasPrefix(l, "$GPRMC") {
				rmc = append(rmc, l)
			}
			es = append(es, a.Feed([]byte(l), time.Time{})...)
		}
	}
	es = append(es, a.Flush()...)
	c := a.Counters()
	if c.ParserPanics != 2 || c.Sentences != 8 || c.Lines != 10 {
		t.Errorf("counters %+v, want 2 panics and 8 sentences of 10 lines", c)
	}
	if len(got) != 2 || got[0].Type != "RMC" || got[0].Sentence != rmc[0] || got[1].Sentence != rmc[1] {
		t.Errorf("reported %+v", got)
	}
	if len(es) != 2 || !es[0].Valid || es[0].Mode != 3 {
		t.Errorf("epochs %+v, want 2 valid 3D ones from GGA and GSA", es)
	}
}

func TestSentenceType(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"$GPTXT,DEFAULT PVT CONFIGURATION*2A", "TXT"},
		{"$GNRMC,1*00", "RMC"},
		{"$PMTK001,604,3*32", "MTK001"},
		{"$PGRME*00", "GRME"},
		{"!AIVDM,1", "VDM"},
		{"$GPGGA", "GGA"},
		{"$", "?"},
		{"$,1,2", "?"},
		{"$GP\x01XX,1", "?"},
		{"$PVERYLONGTYPE,1", "?"},
		{"$ABCDEFG,1", "ABCDEFG"},
	} {
		if got := sentenceType(tc.line); got != tc.want {
			t.Errorf("sentenceType(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestCountPanicBounded(t *testing.T) {
	m := map[string]uint64{}
	for i := range 3 * maxPanicTypes {
		countPanic(m, string(rune('A'+i%26))+string(rune('A'+i/26)))
	}
	if len(m) != maxPanicTypes+1 || m["other"] != 2*maxPanicTypes {
		t.Errorf("%d keys, other %d: %v", len(m), m["other"], m)
	}
}

func TestLogThrottle(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var l logThrottle
	for _, tc := range []struct {
		at    time.Duration
		log   bool
		since uint64
	}{
		{0, true, 1},
		{time.Second, false, 0},
		{30 * time.Second, false, 0},
		{59 * time.Second, false, 0},
		{61 * time.Second, true, 4},
		{62 * time.Second, false, 0},
		{10 * time.Minute, true, 2},
	} {
		log, n := l.note(t0.Add(tc.at), 1)
		if log != tc.log || n != tc.since {
			t.Errorf("at %v: log %v since %d, want %v %d", tc.at, log, n, tc.log, tc.since)
		}
	}
}

// The reader counts each panic by type and logs them rate-limited, the
// sentence included, not once per sentence.
func TestReaderParserPanicLog(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := NewReader(Config{Device: "/dev/null"}, ReaderOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		r.parserPanic(ParserPanic{Type: "TXT", Sentence: crashingTXT[i%2], Value: "slice bounds out of range"})
		now = now.Add(time.Second)
	}
	r.parserPanic(ParserPanic{Type: "GSV", Sentence: "$GPGSV,1*00", Value: "boom"})
	st := r.Status()
	if st.ParserPanics["TXT"] != 100 || st.ParserPanics["GSV"] != 1 || len(st.ParserPanics) != 2 {
		t.Errorf("counts %v", st.ParserPanics)
	}
	out := logs.String()
	if n := strings.Count(out, "panicked"); n != 2 {
		t.Errorf("%d log lines for 101 panics over 100 s, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "DEFAULT PVT CONFIGURATION") || !strings.Contains(out, "panics_since_last_line=60") {
		t.Errorf("log lacks the sentence or the count since the last line:\n%s", out)
	}
}
