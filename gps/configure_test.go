package gps

import (
	"context"
	"strings"
	"testing"
	"time"
)

// mtkPort is a MediaTek module on a line: it answers PMTK605 with
// PMTK705 and acknowledges commands with PMTK001, refusing those listed.
type mtkPort struct {
	refuse map[string]string // command -> flag
	got    []string
	out    []byte
	sp     *Splitter
	baud   int
}

func (m *mtkPort) Write(b []byte) (int, error) {
	if m.sp == nil {
		m.sp = NewSplitter(0)
	}
	m.sp.Write(b, time.Time{}, func(line []byte, _ time.Time) {
		l := string(line)
		if !ChecksumOK(line) || !strings.HasPrefix(l, "$PMTK") {
			return
		}
		cmd := l[5:8]
		m.got = append(m.got, trimChecksum(l[1:]))
		switch {
		case cmd == "605":
			m.out = append(m.out, sentenceOf("PMTK705,AXN_5.1.7_3333_19020118,0027,PA1010D,1.0")+"\r\n"...)
		case cmd == "414":
			m.out = append(m.out, sentenceOf("PMTK514,"+mtkOldOutput)+"\r\n"...)
		case cmd == "400":
			m.out = append(m.out, sentenceOf("PMTK500,200,0,0,0.0,0.0")+"\r\n"...)
		case cmd == "251":
		default:
			flag := "3"
			if f, ok := m.refuse[cmd]; ok {
				flag = f
			}
			m.out = append(m.out, sentenceOf("PMTK001,"+cmd+","+flag)+"\r\n"...)
		}
	})
	return len(b), nil
}

func (m *mtkPort) Read(b []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	n := copy(b, m.out)
	m.out = m.out[n:]
	return n, nil
}

func (m *mtkPort) SetBaud(baud int) error { m.baud = baud; return nil }

// mtkOldOutput is the module's output before configuration.
const mtkOldOutput = "1,1,1,1,1,5,0,0,0,0,0,0,0,0,0,0,0,0,0"

func TestConfigureMediaTek(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  map[string]string
		errHas  string
		sent    int
		restore []string // commands sent last to set things back
	}{
		{"accepted", nil, "", 9, nil},
		{"PPS unsupported", map[string]string{"285": "1"}, "PMTK285,4,100): the receiver refused it: command not supported; nothing had been changed", 4, nil},
		{"rate refused", map[string]string{"220": "2"}, "valid command, but it failed; left changed, not saved (power-cycle the receiver to drop them): PPS always on, 100ms wide (PMTK285,4,100); PPS synchronised with the NMEA output (PMTK255,1); restored PMTK314",
			7, []string{"PMTK314," + mtkOldOutput}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &mtkPort{refuse: tc.refuse, baud: 9600}
			id, err := Configure(context.Background(), m, 9600, ConfigureOptions{Baud: 115200, Timeout: 300 * time.Millisecond}, nil)
			if tc.errHas == "" && err != nil || tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Fatalf("err %v, want %q", err, tc.errHas)
			}
			if id.Receiver != ReceiverMediaTek || !strings.Contains(id.Version, "AXN_5.1.7") {
				t.Errorf("identity %+v", id)
			}
			// The UBX poll goes unanswered first; then PMTK605, the plan.
			if len(m.got) < tc.sent || m.got[0] != "PMTK605" {
				t.Errorf("sent %q", m.got)
			}
			if tc.errHas == "" && (m.baud != 115200 || !strings.HasPrefix(m.got[len(m.got)-1], "PMTK605")) {
				t.Errorf("rate %d, sent %q: want 115200, checked with PMTK605", m.baud, m.got)
			}
			if n := len(tc.restore); n > 0 && strings.Join(m.got[len(m.got)-n:], " ") != strings.Join(tc.restore, " ") {
				t.Errorf("sent %q, want it to end setting back %q", m.got, tc.restore)
			}
		})
	}
}
