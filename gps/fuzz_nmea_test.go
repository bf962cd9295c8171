package gps

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

// nmeaAddresses returns one address ("$GPRMC", "!AIVDM", "$PGRME") for each
// sentence type go-nmea parses. The three-letter types are found by asking
// the library (every type under a standard talker and as an encapsulated
// sentence), so a later version's additions are fuzzed without a list to
// keep; proprietary types, of any length, come from its exported names.
func nmeaAddresses() []string {
	var p nmea.SentenceParser
	seen := map[string]bool{}
	var out []string
	try := func(start, addr string) {
		line := start + addr + ","
		line += "*" + nmea.Checksum(line[1:])
		var typ string
		p.OnBaseSentence = func(s *nmea.BaseSentence) error { typ = s.Type; return nil }
		_, err := guardedParse(&p, line)
		var unsupported *nmea.NotSupportedError
		if typ == "" || errors.As(err, &unsupported) || seen[start+typ] {
			return
		}
		seen[start+typ] = true
		out = append(out, start+addr)
	}
	var b [3]byte
	for b[0] = 'A'; b[0] <= 'Z'; b[0]++ {
		for b[1] = 'A'; b[1] <= 'Z'; b[1]++ {
			for b[2] = 'A'; b[2] <= 'Z'; b[2]++ {
				try("$", "GP"+string(b[:]))
				try("!", "AI"+string(b[:]))
			}
		}
	}
	for _, typ := range []string{nmea.TypePGRME, nmea.TypePHTRO, nmea.TypePMTK001, nmea.TypePRDID,
		nmea.TypePSKPDPT, nmea.TypePSONCMS, nmea.TypePCDIN, nmea.TypeMTK} {
		try("$", "P"+typ)
	}
	slices.Sort(out)
	return out
}

// TestNMEAAddressesFound: the discovery finds the library's types, the
// ones the assembler reads among them.
func TestNMEAAddressesFound(t *testing.T) {
	addrs := nmeaAddresses()
	for _, want := range []string{"$GPRMC", "$GPGGA", "$GPGSV", "$GPZDA", "$GPTXT", "$GPVTG", "$PGRME", "$PMTK001", "!AIVDM"} {
		if !slices.Contains(addrs, want) {
			t.Errorf("%s not among the %d types found: %v", want, len(addrs), addrs)
		}
	}
	if len(addrs) < 70 {
		t.Errorf("only %d types found: %v", len(addrs), addrs)
	}
}

// frameBody makes a checksummed sentence of address addr and a body the
// fuzzer chose, keeping only what the splitter passes, without '*' or a
// tag-block backslash, so the checksum holds and every line reaches the
// per-type parser.
func frameBody(addr, body string) string {
	var b strings.Builder
	b.WriteString(addr)
	b.WriteByte(',')
	for i := 0; i < len(body) && i < MaxLineLen-16; i++ {
		c := body[i]
		if c < 0x20 || c >= 0x7f || c == '*' || c == '$' || c == '!' || c == '\\' {
			continue
		}
		b.WriteByte(c)
	}
	s := b.String()
	return s + "*" + nmea.Checksum(s[1:])
}

// FuzzNMEABody mutates the body of sentences of every type go-nmea parses
// and appends a correct checksum, so that every per-type parser runs (random
// bytes almost never carry a valid checksum). The boundary must hold for all
// of them; the assembler must count the line once, never hand a type it
// does not read to the library, and a library panic on a type it does read
// is a failure to fix with a lenient parser.
func FuzzNMEABody(f *testing.F) {
	addrs := nmeaAddresses()
	bodies := []string{
		"",
		"1",
		"DEFAULT PVT CONFIGURATION",
		"3,x",
		"01,01,02,u-blox AG",
		"123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A,V",
		"123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
		"A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1,1",
		"2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45,1",
		"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20",
		",,,,,,,,,,,,,,,,,,,,",
		"1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0",
		"-1.5,T,M,N,K,R,A,B,C,D,E,F",
	}
	for i := range addrs {
		for _, body := range bodies {
			f.Add(uint16(i), body)
		}
	}
	ref := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, idx uint16, body string) {
		addr := addrs[int(idx)%len(addrs)]
		line := frameBody(addr, body)
		typ := sentenceType(line)

		// Every type, read or not: a panic must come back as an error.
		_, _ = guardedParse(&nmea.SentenceParser{}, line)

		a := NewAssembler(AssemblerConfig{RefDate: ref})
		a.Feed([]byte(line), time.Time{})
		a.Flush()
		c := a.Counters()
		if c.Lines != 1 || c.Sentences+c.Malformed+c.ParserPanics != 1 || c.BadChecksum+c.Garbage != 0 {
			t.Fatalf("%q: counters %+v, want the line counted once past its checksum", line, c)
		}
		if !assembled(typ) && c.Sentences != 1 {
			t.Fatalf("%q: a %s sentence, which the assembler does not read, was not passed over: %+v", line, typ, c)
		}
		if c.ParserPanics != 0 {
			t.Fatalf("%q: go-nmea panics on a %s sentence the assembler reads (counted, but the sentence is lost)", line, typ)
		}
	})
}
