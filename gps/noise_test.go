package gps

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// scripted is a serial port that returns one chunk per Read, advancing a
// fake clock by the chunk's delay first, and then fails.
type scripted struct {
	clock  *time.Time
	chunks []chunk
}

type chunk struct {
	after time.Duration
	data  string
}

var errUnplugged = errors.New("unplugged")

func (s *scripted) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, errUnplugged
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	*s.clock = s.clock.Add(c.after)
	return copy(p, c.data), nil
}

// TestReaderLogsGarbage: a burst of bytes that are not NMEA is said once at
// once, and later bursts at most once a minute, with the count since.
func TestReaderLogsGarbage(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	r, err := NewReader(Config{Device: "/dev/ttyFAKE", Baud: "9600"}, ReaderOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	good := "$GPRMC,120000.00,A,5212.3200,N,00007.3100,E,0.0,0.0,010626,,,A*5E\r\n"
	if !ChecksumOK([]byte(strings.TrimSpace(good))) {
		t.Fatal("test sentence has a bad checksum")
	}
	noise := "\x00\xb5b\x01\x07\xff\xfe\r\n" + "hello\r\n" + "$GPRMC,1*00\r\n" // binary, text, bad checksum
	port := &scripted{clock: &now, chunks: []chunk{
		{0, good},
		{time.Second, noise},         // first burst: said at once, 3 lines
		{time.Second, noise + noise}, // within the minute: quiet
		{10 * time.Second, good},
		{30 * time.Second, noise},
		{30 * time.Second, noise}, // 61 s after the first line: said, 12 lines since
		{time.Second, good},
	}}
	err = r.read(context.Background(), port, 9600, func(Epoch) {})
	if !errors.Is(err, errUnplugged) {
		t.Fatalf("read: %v", err)
	}
	var lines []string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "not NMEA") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines about garbage, want 2:\n%s", len(lines), logs.String())
	}
	if !strings.Contains(lines[0], "lines=3") {
		t.Errorf("first line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "lines=12") || !strings.Contains(lines[1], "total=15") {
		t.Errorf("second line: %s", lines[1])
	}
	if st := r.Status(); st.Dropped+st.BadSum < 15 {
		t.Errorf("status counts %d dropped and %d bad checksums, want 15 together", st.Dropped, st.BadSum)
	}
	// A later connection carries on rather than starting over: one more
	// burst right away is not said again.
	logs.Reset()
	port = &scripted{clock: &now, chunks: []chunk{{time.Second, noise}}}
	_ = r.read(context.Background(), port, 9600, func(Epoch) {})
	if strings.Contains(logs.String(), "not NMEA") {
		t.Errorf("reconnect logged the garbage again within the minute:\n%s", logs.String())
	}
}

func TestNoiseLogClockStep(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var g noiseLog
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		n    uint64
		at   time.Time
		logs bool
	}{
		{0, t0, false},
		{2, t0, true},
		{1, t0.Add(59 * time.Second), false},
		{1, t0.Add(-time.Hour), true}, // the clock stepped back: say it rather than wait an hour
		{1, t0.Add(-time.Hour + time.Second), false},
		{0, t0.Add(time.Hour), false}, // nothing new, nothing said
		{1, t0.Add(time.Hour), true},
	} {
		before := logs.Len()
		g.add(log, tt.n, tt.at)
		if said := logs.Len() > before; said != tt.logs {
			t.Errorf("add(%d, %v): logged %v, want %v", tt.n, tt.at, said, tt.logs)
		}
	}
}
