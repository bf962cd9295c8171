package gps

import (
	"fmt"

	nmea "github.com/adrianmo/go-nmea"
)

// ParserPanic is a sentence that made the NMEA library panic. The sentence
// is dropped and counted by type; the daemon carries on. It is an error so
// that it travels the parser's error path.
type ParserPanic struct {
	Type     string // sentence type ("TXT", "MTK001"), "?" when unreadable
	Sentence string // the line, as received
	Value    string // what the library panicked with
}

func (p *ParserPanic) Error() string {
	return fmt.Sprintf("nmea library panicked on a %s sentence %q: %s", p.Type, p.Sentence, p.Value)
}

// guardedParse is the one place this package hands outside input to
// github.com/adrianmo/go-nmea (every other call into the library runs inside
// it, from the parser's hooks). A panic in the library, which slices fields
// without checking in places (v1.10.0's TXT), comes back as a *ParserPanic
// instead of ending the process.
func guardedParse(p *nmea.SentenceParser, line string) (s nmea.Sentence, err error) {
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, &ParserPanic{Type: sentenceType(line), Sentence: line, Value: fmt.Sprint(v)}
		}
	}()
	return p.Parse(line)
}

// sentenceType reads a sentence's type from its address field the way
// go-nmea does, without the library: the talker and a three-letter type,
// or P and a proprietary type. It keeps counters' keys short and printable.
func sentenceType(line string) string {
	if len(line) < 2 {
		return "?"
	}
	addr := line[1:]
	for i := 0; i < len(addr); i++ {
		if addr[i] == ',' || addr[i] == '*' {
			addr = addr[:i]
			break
		}
	}
	switch {
	case len(addr) > 1 && addr[0] == 'P':
		addr = addr[1:]
	case len(addr) == 5:
		addr = addr[2:]
	}
	if addr == "" || len(addr) > 8 {
		return "?"
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "?"
		}
	}
	return addr
}

// maxPanicTypes bounds the sentence types counted apart; further types
// share the key "other".
const maxPanicTypes = 16

// countPanic adds one panic of type typ to counts, keeping the map bounded.
func countPanic(counts map[string]uint64, typ string) {
	if _, ok := counts[typ]; !ok && len(counts) >= maxPanicTypes {
		typ = "other"
	}
	counts[typ]++
}
