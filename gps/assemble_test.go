package gps

import (
	"strings"
	"testing"
	"time"
)

// feed runs lines through a fresh assembler, arrival times 10ms apart
// from t0 (zero t0: no arrival times), and returns every epoch.
func feed(t *testing.T, cfg AssemblerConfig, t0 time.Time, lines ...string) ([]Epoch, Counters) {
	t.Helper()
	a := NewAssembler(cfg)
	var out []Epoch
	at := t0
	for _, l := range lines {
		out = append(out, a.Feed([]byte(l), at)...)
		if !t0.IsZero() {
			at = at.Add(10 * time.Millisecond)
		}
	}
	return append(out, a.Flush()...), a.Counters()
}

func seconds(start time.Time, n int, fix bool) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, cycle(start.Add(time.Duration(i)*time.Second), fix)...)
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func times(es []Epoch) []string {
	var out []string
	for _, e := range es {
		s := "-"
		if e.HasTime() {
			s = e.Time.Format("2006-01-02T15:04:05.000")
		}
		if e.Valid {
			s += "+"
		}
		out = append(out, s)
	}
	return out
}

func TestAssembleCycle(t *testing.T) {
	start := utc("2024-06-01T12:00:00Z")
	es, c := feed(t, AssemblerConfig{}, time.Time{}, seconds(start, 3, true)...)
	if len(es) != 3 || c.Epochs != 3 || c.Sentences != 15 {
		t.Fatalf("got %d epochs, counters %+v", len(es), c)
	}
	for i, e := range es {
		if want := start.Add(time.Duration(i) * time.Second); !e.Time.Equal(want) {
			t.Errorf("epoch %d time %v, want %v", i, e.Time, want)
		}
		if !e.Valid || e.Mode != 3 || e.SatsUsed != 8 || e.SatsInView != 8 || e.HDOP != 0.9 || e.PDOP != 1.6 {
			t.Errorf("epoch %d: %+v", i, e)
		}
		if e.DateFrom != "RMC" || e.RolloverWeeks != 0 || e.LeapSecond || !e.HasPosition || e.AltM != 112.4 {
			t.Errorf("epoch %d: %+v", i, e)
		}
		used := 0
		for _, s := range e.Satellites {
			if s.System != "GP" || s.PRN == 0 {
				t.Errorf("satellite %+v", s)
			}
			if s.Used {
				used++
			}
		}
		if used != 8 {
			t.Errorf("epoch %d: %d satellites marked used, want 8", i, used)
		}
	}
}

func TestAssembleQuirks(t *testing.T) {
	day := "2016-12-31"
	s := sentence
	tests := []struct {
		name  string
		cfg   AssemblerConfig
		lines []string
		want  []string // epoch times, "+" when valid
	}{
		{
			name: "leap second",
			lines: []string{
				s("GPRMC,235959.00,A,5213.1,N,02100.6,E,0.0,,311216,,,A"),
				s("GPRMC,235960.00,A,5213.1,N,02100.6,E,0.0,,311216,,,A"),
				s("GPRMC,000000.00,A,5213.1,N,02100.6,E,0.0,,010117,,,A"),
			},
			want: []string{day + "T23:59:59.000+", day + "T23:59:59.000+", "2017-01-01T00:00:00.000+"},
		},
		{
			name: "rollover",
			cfg:  AssemblerConfig{RefDate: utc("2019-04-07T00:00:00Z")},
			lines: []string{
				s("GPRMC,000425.00,A,5213.1,N,02100.6,E,0.0,,220899,,,A"), // 1999-08-22 is 1024 weeks early
			},
			want: []string{"2019-04-07T00:04:25.000+"},
		},
		{
			name: "no rollover for a date near the reference",
			cfg:  AssemblerConfig{RefDate: utc("2019-04-08T00:00:00Z")},
			lines: []string{
				s("GPRMC,000425.00,A,5213.1,N,02100.6,E,0.0,,070419,,,A"),
			},
			want: []string{"2019-04-07T00:04:25.000+"},
		},
		{
			name: "two-digit years pivot at 69",
			lines: []string{
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010169,,,A"),
				s("GPRMC,120001.00,A,5213.1,N,02100.6,E,0.0,,010168,,,A"),
			},
			want: []string{"1969-01-01T12:00:00.000+", "2068-01-01T12:00:01.000+"},
		},
		{
			name: "GGA before any date has no time, then the date carries",
			lines: []string{
				s("GPGGA,235958.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
				s("GPGGA,235959.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
				s("GPRMC,235959.00,A,5213.1,N,02100.6,E,0.0,,311216,,,A"),
				s("GPGGA,000000.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
			},
			want: []string{"-+", day + "T23:59:59.000+", "2017-01-01T00:00:00.000+"},
		},
		{
			name: "RMC void date is not used",
			lines: []string{
				s("GPRMC,120000.00,V,,,,,,,190120,,,N"),
				s("GPGGA,120000.00,,,,,0,00,99.9,,,,,,"),
			},
			want: []string{"-"},
		},
		{
			name: "RMC valid while GGA says no fix, and the reverse",
			lines: []string{
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPGGA,120000.00,5213.1,N,02100.6,E,0,00,,,,,,,"),
				s("GPRMC,120001.00,V,5213.1,N,02100.6,E,0.0,,010624,,,N"),
				s("GPGGA,120001.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
			},
			want: []string{"2024-06-01T12:00:00.000", "2024-06-01T12:00:01.000"},
		},
		{
			name: "a receiver repeating its last time is not a fix",
			lines: []string{
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
			},
			want: []string{"2024-06-01T12:00:00.000+", "2024-06-01T12:00:00.000", "2024-06-01T12:00:00.000"},
		},
		{
			name: "ZDA first and a second ahead, across midnight",
			lines: []string{
				s("GPZDA,000000.00,01,01,2017,00,00"),
				s("GPGGA,235959.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
				s("GPZDA,000001.00,01,01,2017,00,00"),
				s("GPGGA,000000.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
			},
			want: []string{day + "T23:59:59.000+", "2017-01-01T00:00:00.000+"},
		},
		{
			name: "2 Hz",
			lines: []string{
				s("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPGGA,120000.00,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
				s("GPRMC,120000.50,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPGGA,120000.50,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
			},
			want: []string{"2024-06-01T12:00:00.000+", "2024-06-01T12:00:00.500+"},
		},
		{
			name: "sentences of one fix a few ms apart; time goes backwards",
			lines: []string{
				s("GPGLL,5213.1,N,02100.6,E,120000.297,A"),
				s("GPGGA,120000.30,5213.1,N,02100.6,E,1,08,0.9,100.0,M,34.1,M,,"),
				s("GPRMC,120000.30,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
				s("GPGLL,5213.1,N,02100.6,E,110000.303,A"),
				s("GPRMC,110000.31,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
			},
			want: []string{"2024-06-01T12:00:00.300+", "2024-06-01T11:00:00.310+"},
		},
		{
			name: "GSA alone does not make a fix",
			lines: []string{
				s("GPZDA,120000.00,01,06,2024,00,00"),
				s("GPGSA,A,3,02,05,12,15,,,,,,,,,1.6,0.9,1.3"),
			},
			want: []string{"2024-06-01T12:00:00.000"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, _ := feed(t, tc.cfg, time.Time{}, tc.lines...)
			if got := strings.Join(times(es), " "); got != strings.Join(tc.want, " ") {
				t.Errorf("got  %s\nwant %s", got, strings.Join(tc.want, " "))
			}
			for _, e := range es {
				if e.Valid != (e.Mode >= 2) {
					t.Errorf("valid %v with mode %d", e.Valid, e.Mode)
				}
			}
		})
	}
}

func TestAssembleRolloverWeeks(t *testing.T) {
	es, _ := feed(t, AssemblerConfig{RefDate: utc("2024-01-01T00:00:00Z")}, time.Time{},
		sentence("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,150504,,,A")) // 2004-05-15: 1024 weeks early
	if len(es) != 1 || es[0].RolloverWeeks != 1024 || !es[0].Time.Equal(utc("2023-12-30T12:00:00Z")) {
		t.Fatalf("got %+v", es)
	}
}

func TestAssembleEarlyEmitAndArrival(t *testing.T) {
	start := utc("2024-06-01T12:00:00Z")
	a := NewAssembler(AssemblerConfig{})
	t0 := utc("2024-06-01T12:00:00.120Z") // local clock; sentences 10 ms apart, bursts 1 s apart
	for i := 0; i < 6; i++ {
		burst := t0.Add(time.Duration(i) * time.Second)
		lines := cycle(start.Add(time.Duration(i)*time.Second), true)
		for j, l := range lines {
			es := a.Feed([]byte(l), burst.Add(time.Duration(j)*10*time.Millisecond))
			last := j == len(lines)-1
			switch {
			case i >= 4 && last:
				// Learnt: the second GSV ends the cycle, so the epoch
				// comes out with it, not a second later.
				if len(es) != 1 || !es[0].Time.Equal(start.Add(time.Duration(i)*time.Second)) {
					t.Fatalf("cycle %d: want the epoch at its last sentence, got %v", i, times(es))
				}
				if !es[0].Arrival.Equal(burst) {
					t.Errorf("arrival %v, want %v", es[0].Arrival, burst)
				}
			case i >= 5 && j == 0:
				if len(es) != 0 {
					t.Fatalf("cycle %d: epoch emitted twice: %v", i, times(es))
				}
			}
		}
	}
	if c := a.Counters(); c.Late != 0 {
		t.Errorf("late sentences: %+v", c)
	}
}

// Sentences with no time that follow a pause belong to the next burst,
// so the epoch's arrival is when the burst began.
func TestAssembleArrivalAfterGap(t *testing.T) {
	a := NewAssembler(AssemblerConfig{})
	t0 := utc("2024-06-01T12:00:00.100Z")
	a.Feed([]byte(sentence("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A")), t0)
	gsv := t0.Add(time.Second)
	a.Feed([]byte(sentence("GPGSV,1,1,01,02,45,120,41")), gsv)
	es := a.Feed([]byte(sentence("GPRMC,120001.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A")), gsv.Add(80*time.Millisecond))
	es = append(es, a.Flush()...)
	if len(es) != 2 || !es[1].Arrival.Equal(gsv) || es[1].SatsInView != 1 || es[0].SatsInView != 0 {
		t.Fatalf("got %+v", es)
	}
}

func TestAssembleCounters(t *testing.T) {
	good := sentence("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A")
	bad := good[:len(good)-2] + "00"
	_, c := feed(t, AssemblerConfig{}, time.Time{},
		good, bad, "hello", "$GPRMC,120000.00,A", sentence("GPRMC,garbage"), "", sentence("GPXYZ,1,2"))
	want := Counters{Lines: 7, Sentences: 2, BadChecksum: 2, Malformed: 1, Garbage: 1, Epochs: 1}
	if c != want {
		t.Errorf("counters %+v, want %+v", c, want)
	}
}

func TestQuectelProprietaryGSV(t *testing.T) {
	es, _ := feed(t, AssemblerConfig{}, time.Time{},
		sentence("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A"),
		sentence("PQGSV,1,1,02,02,20,116,30,05,34,137,,0,4"),
		sentence("PQGSA,A,3,02,,,,,,,,,,,,1.2,0.9,0.9,4"),
	)
	if len(es) != 1 || len(es[0].Satellites) != 2 {
		t.Fatalf("got %+v", es)
	}
	for _, s := range es[0].Satellites {
		if s.System != "GB" || s.Used != (s.PRN == 2) {
			t.Errorf("satellite %+v", s)
		}
	}
}

// A receiver that stops sending times but keeps talking must not grow
// the open epoch without bound.
func TestAssembleBounded(t *testing.T) {
	a := NewAssembler(AssemblerConfig{})
	a.Feed([]byte(sentence("GPRMC,120000.00,A,5213.1,N,02100.6,E,0.0,,010624,,,A")), time.Time{})
	gsv := []byte(sentence("GPGSV,1,1,01,02,45,120,41"))
	for i := 0; i < 10000; i++ {
		a.Feed(gsv, time.Time{})
	}
	if a.cur.n > maxEpochSentences || len(a.cur.keys) > maxEpochSentences || len(a.pending) > maxPending {
		t.Fatalf("epoch holds %d sentences, %d pending", a.cur.n, len(a.pending))
	}
}
