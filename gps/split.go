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
	Binary   uint64 // lines with non-text bytes (SiRF binary, noise), dropped
	UBX      uint64 // u-blox UBX frames with a good checksum, handed to OnUBX
	UBXBad   uint64 // UBX frames with a bad checksum; their bytes are read again as text
}

// Splitter cuts a byte stream into candidate NMEA lines. A line ends at CR
// or LF, and a '$' or '!' always starts a new one, so sentences glued
// together or to binary junk still come apart. u-blox UBX frames between
// the lines are collected whole, checksummed, counted and handed to OnUBX,
// never taken for garbage. Memory is bounded by the
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

	// OnUBX, if set, is called with each UBX frame that arrives whole
	// with a good checksum, and the arrival of its first byte. The
	// frame's payload is only valid during the call.
	OnUBX   func(f UBXFrame, arrival time.Time)
	ubx     []byte // the UBX frame being collected, from its sync chars
	ubxAt   time.Time
	inUBX   bool
	replays int // nesting of re-read bytes, bounded
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
		s.byte(b, at, emit)
	}
}

// byte takes one byte. UBX frames (0xB5 0x62 ...) are collected whole:
// their payload may hold any byte, line ends and '$' included.
func (s *Splitter) byte(b byte, at time.Time, emit func(line []byte, arrival time.Time)) {
	if s.inUBX {
		s.ubxByte(b, at, emit)
		return
	}
	if b == ubxSync1 {
		// A frame inside a line spoils the line, as any binary byte does.
		if s.n > 0 {
			s.binary = true
		}
		s.inUBX, s.ubx, s.ubxAt = true, append(s.ubx[:0], b), at
		return
	}
	s.textByte(b, at, emit)
}

// textByte adds b to the current line.
func (s *Splitter) textByte(b byte, at time.Time, emit func(line []byte, arrival time.Time)) {
	switch b {
	case '\r', '\n':
		s.end(emit)
		return
	case '$', '!':
		s.end(emit)
	}
	if s.n == 0 {
		s.start = at
	}
	s.n++
	if s.overlong {
		return
	}
	if s.n > s.max {
		s.overlong = true
		if s.binary {
			s.c.Binary++
		} else {
			s.c.Overlong++
		}
		s.buf = s.buf[:0]
		return
	}
	if b < 0x20 && b != '\t' || b >= 0x7f {
		s.binary = true
		return
	}
	if !s.binary {
		s.buf = append(s.buf, b)
	}
}

// ubxByte adds b to the frame being collected and hands the frame on when
// it is whole. A frame that turns out not to be one (no second sync char,
// a length beyond maxUBXPayload, a bad checksum) is counted and its bytes
// after the first are read again as ordinary input, so NMEA that a stray
// 0xB5 seemed to start is not lost.
func (s *Splitter) ubxByte(b byte, at time.Time, emit func(line []byte, arrival time.Time)) {
	s.ubx = append(s.ubx, b)
	n := len(s.ubx)
	switch {
	case n == 2 && b != ubxSync2:
		s.c.Binary++ // a lone 0xB5: noise
		s.reread(at, emit)
		return
	case n == 6 && int(s.ubx[4])|int(s.ubx[5])<<8 > maxUBXPayload:
		s.c.Binary++
		s.reread(at, emit)
		return
	case n < 8 || n < 8+(int(s.ubx[4])|int(s.ubx[5])<<8):
		return
	}
	f, _, err := DecodeUBX(s.ubx)
	if err != nil {
		s.c.UBXBad++
		s.reread(at, emit)
		return
	}
	s.inUBX = false
	s.c.UBX++
	if s.OnUBX != nil {
		s.OnUBX(f, s.ubxAt)
	}
}

// reread ends the frame being collected and feeds its bytes after the
// first through the splitter again (nested at most a few times; deeper,
// the bytes are dropped as binary).
func (s *Splitter) reread(at time.Time, emit func(line []byte, arrival time.Time)) {
	s.inUBX = false
	if s.replays >= 4 {
		return
	}
	rest := append([]byte(nil), s.ubx[1:]...)
	s.replays++
	for _, b := range rest {
		s.byte(b, at, emit)
	}
	s.replays--
}

// Flush hands on a final unterminated line (at end of file); a partial
// UBX frame is counted as binary.
func (s *Splitter) Flush(emit func(line []byte, arrival time.Time)) {
	if s.inUBX {
		s.inUBX = false
		s.c.Binary++
	}
	s.end(emit)
}

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
