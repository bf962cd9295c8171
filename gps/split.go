package gps

import "time"

// MaxLineLen bounds one sentence. NMEA 0183 allows 82 characters; receivers'
// proprietary sentences run longer, so leave room, but never grow without
// bound on a binary stream that has no line ends.
const MaxLineLen = 256

// SplitCounters count what the splitter threw away.
type SplitCounters struct {
	Lines    uint64 // lines handed on
	Overlong uint64 // lines longer than the limit, dropped
	Binary   uint64 // lines with non-text bytes (UBX, SiRF binary, noise), dropped
}

// Splitter cuts a byte stream into candidate NMEA lines. A line ends at CR
// or LF, and a '$' or '!' always starts a new one, so sentences glued
// together or to binary junk still come apart. Memory is bounded by the
// line limit whatever the input.
type Splitter struct {
	max      int
	buf      []byte
	start    time.Time // arrival of the first byte of buf
	binary   bool
	overlong bool
	c        SplitCounters
}

// NewSplitter returns a splitter that drops lines longer than maxLen bytes
// (MaxLineLen when maxLen <= 0).
func NewSplitter(maxLen int) *Splitter {
	if maxLen <= 0 {
		maxLen = MaxLineLen
	}
	return &Splitter{max: maxLen, buf: make([]byte, 0, maxLen)}
}

// Counters returns the running counts.
func (s *Splitter) Counters() SplitCounters { return s.c }

// Write feeds bytes that arrived at time at. emit is called for each
// complete line with the arrival time of its first byte; the line is only
// valid during the call.
func (s *Splitter) Write(p []byte, at time.Time, emit func(line []byte, arrival time.Time)) {
	for _, b := range p {
		switch {
		case b == '\r' || b == '\n':
			s.end(emit)
		case b == '$' || b == '!':
			s.end(emit)
			s.add(b, at)
		case b < 0x20 && b != '\t' || b >= 0x7f:
			if len(s.buf) > 0 || s.overlong {
				s.binary = true
			} else if !s.binary {
				// Binary before any text: mark so the run is counted once.
				s.binary = true
				s.start = at
			}
		default:
			s.add(b, at)
		}
	}
}

// Flush hands on a final unterminated line (at end of file).
func (s *Splitter) Flush(emit func(line []byte, arrival time.Time)) { s.end(emit) }

func (s *Splitter) add(b byte, at time.Time) {
	if len(s.buf) == 0 && !s.overlong {
		s.start = at
	}
	if len(s.buf) >= s.max {
		s.overlong = true
		s.buf = s.buf[:0]
		return
	}
	if s.overlong {
		return
	}
	s.buf = append(s.buf, b)
}

func (s *Splitter) end(emit func(line []byte, arrival time.Time)) {
	switch {
	case s.overlong:
		s.c.Overlong++
	case s.binary:
		s.c.Binary++
	case len(s.buf) > 0:
		s.c.Lines++
		emit(s.buf, s.start)
	}
	s.buf = s.buf[:0]
	s.binary = false
	s.overlong = false
}
