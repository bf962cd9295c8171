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
// line limit whatever the input; a binary stream without line ends is
// counted once for every line-limit's worth of bytes.
type Splitter struct {
	max      int
	buf      []byte
	n        int       // bytes of the current line, kept or not
	start    time.Time // arrival of the first byte of the line
	binary   bool
	overlong bool // counted; skipping to the next line start
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
		switch b {
		case '\r', '\n':
			s.end(emit)
			continue
		case '$', '!':
			s.end(emit)
		}
		if s.n == 0 {
			s.start = at
		}
		s.n++
		if s.overlong {
			continue
		}
		if s.n > s.max {
			s.overlong = true
			if s.binary {
				s.c.Binary++
			} else {
				s.c.Overlong++
			}
			s.buf = s.buf[:0]
			continue
		}
		if b < 0x20 && b != '\t' || b >= 0x7f {
			s.binary = true
			continue
		}
		if !s.binary {
			s.buf = append(s.buf, b)
		}
	}
}

// Flush hands on a final unterminated line (at end of file).
func (s *Splitter) Flush(emit func(line []byte, arrival time.Time)) { s.end(emit) }

func (s *Splitter) end(emit func(line []byte, arrival time.Time)) {
	switch {
	case s.overlong:
	case s.binary:
		s.c.Binary++
	case len(s.buf) > 0:
		s.c.Lines++
		emit(s.buf, s.start)
	}
	s.buf = s.buf[:0]
	s.n = 0
	s.binary = false
	s.overlong = false
}
