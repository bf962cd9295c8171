package gps

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestUBXEncodeKnownFrames(t *testing.T) {
	for _, tc := range []struct {
		f    UBXFrame
		want []byte
	}{
		// The MON-VER poll every u-blox tool sends.
		{ubxPoll(ubxClassMON, ubxMONVer), []byte{0xB5, 0x62, 0x0A, 0x04, 0x00, 0x00, 0x0E, 0x34}},
		{ubxCfgMsg(ubxClassNMEA, 0x04, 1), []byte{0xB5, 0x62, 0x06, 0x01, 0x03, 0x00, 0xF0, 0x04, 0x01, 0xFF, 0x18}},
	} {
		if got := tc.f.Encode(); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: % X, want % X", tc.f.Name(), got, tc.want)
		}
	}
}

func TestDecodeUBX(t *testing.T) {
	good := UBXFrame{Class: ubxClassTIM, ID: ubxTIMTP, Payload: EncodeTimTP(TimTP{TowMS: 5000, Week: 2300, QErrPs: -4321, UTC: true, QErrGood: true})}.Encode()
	f, n, err := DecodeUBX(append(good, '$'))
	if err != nil || n != len(good) || f.Name() != "TIM-TP" {
		t.Fatalf("decode: %v %d %+v", err, n, f)
	}
	tp, err := ParseTimTP(f.Payload)
	if err != nil || tp.QErrPs != -4321 || tp.QErr != -4*time.Nanosecond || tp.TowMS != 5000 || tp.Week != 2300 || !tp.UTC || !tp.QErrGood {
		t.Errorf("TIM-TP %+v %v", tp, err)
	}
	bad := bytes.Clone(good)
	bad[10]++
	for name, b := range map[string][]byte{"bad checksum": bad, "short": good[:10], "not ubx": []byte("$GPRMC,1*00")} {
		if _, _, err := DecodeUBX(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseTimTP(make([]byte, 15)); err == nil {
		t.Error("short TIM-TP accepted")
	}
}

func TestParseMonVer(t *testing.T) {
	p := make([]byte, 100)
	copy(p, "ROM CORE 3.01 (107888)")
	copy(p[30:], "00080000")
	copy(p[40:], "FWVER=SPG 3.01")
	copy(p[70:], "PROTVER=18.00")
	sw, hw, ext, err := ParseMonVer(p)
	if err != nil || sw != "ROM CORE 3.01 (107888)" || hw != "00080000" || len(ext) != 2 || ext[1] != "PROTVER=18.00" {
		t.Errorf("%q %q %q %v", sw, hw, ext, err)
	}
	if _, _, _, err := ParseMonVer(p[:50]); err == nil {
		t.Error("ragged MON-VER accepted")
	}
}

// UBX frames between NMEA lines are handed on whole and counted; their
// bytes (line ends and '$' among them) never reach the lines. A frame with
// a bad checksum is counted and its bytes read again as text.
func TestSplitterUBXInterleaved(t *testing.T) {
	tp := UBXFrame{Class: ubxClassTIM, ID: ubxTIMTP, Payload: EncodeTimTP(TimTP{QErrPs: 0x0A24240D, QErrGood: true})}.Encode() // payload holds \r $ $ \n
	rmc := sentence("GPRMC,120000.00,A,5213.1439,N,02100.6511,E,0.01,,010624,,,A")
	gga := sentence("GPGGA,120000.00,5213.1439,N,02100.6511,E,1,08,0.9,112.4,M,34.1,M,,")
	corrupt := bytes.Clone(tp)
	corrupt[len(corrupt)-1]++
	var in []byte
	in = append(in, rmc+"\r\n"...)
	in = append(in, tp...)
	in = append(in, gga+"\r\n"...)
	in = append(in, corrupt...)
	in = append(in, rmc+"\r\n"...)
	in = append(in, 0xB5, 'x')
	in = append(in, gga+"\r\n"...)
	for chunk := 1; chunk <= len(in); chunk *= 3 {
		s := NewSplitter(0)
		var frames []string
		s.OnUBX = func(f UBXFrame, _ time.Time) { frames = append(frames, f.Name()) }
		var lines []string
		emit := func(l []byte, _ time.Time) { lines = append(lines, string(l)) }
		for i := 0; i < len(in); i += chunk {
			s.Write(in[i:min(i+chunk, len(in))], time.Time{}, emit)
		}
		s.Flush(emit)
		good := 0
		for _, l := range lines {
			if l == rmc || l == gga {
				good++
			}
		}
		c := s.Counters()
		if good != 4 || len(frames) != 1 || frames[0] != "TIM-TP" || c.UBX != 1 || c.UBXBad != 1 {
			t.Errorf("chunk %d: %d good lines of %q, frames %v, counters %+v", chunk, good, lines, frames, c)
		}
	}
}

// The reader hands TIM-TP between NMEA lines to its handler and counts the
// frames; the NMEA around them is read as ever.
func TestReaderTimTP(t *testing.T) {
	r, err := NewReader(Config{Device: "/dev/null"}, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []TimTP
	r.SetTimTPHandler(func(tp TimTP, _ time.Time) { got = append(got, tp) })
	var in []byte
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		sec := start.Add(time.Duration(i) * time.Second)
		for _, l := range cycle(sec, true) {
			in = append(in, l+"\r\n"...)
		}
		in = append(in, UBXFrame{Class: ubxClassTIM, ID: ubxTIMTP, Payload: EncodeTimTP(TimTP{QErrPs: int32(-1000 * (i + 1)), QErrGood: i != 1})}.Encode()...)
	}
	epochs := 0
	_ = r.read(context.Background(), bytes.NewReader(in), 9600, func(Epoch) { epochs++ })
	st := r.Status()
	if len(got) != 2 || got[0].QErr != -time.Nanosecond || got[1].QErr != -3*time.Nanosecond {
		t.Errorf("TIM-TP handed on: %+v (the one flagged invalid must not be)", got)
	}
	if st.UBX != 3 || st.UBXBad != 0 || st.Dropped != 0 || st.Sentences != 15 || epochs < 1 || st.Stale != 1 {
		// The connection's first epoch is not handed on (it may be stale).
		t.Errorf("status %+v, %d epochs", st, epochs)
	}
}
