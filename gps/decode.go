package gps

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DecodeStats is what Decode saw.
type DecodeStats struct {
	Counters
	Split   SplitCounters
	RefDate time.Time // the rollover reference used (zero: none)
	// PanicsByType counts, by sentence type, the lines the NMEA library
	// panicked on; FirstPanic is the first of them.
	PanicsByType map[string]uint64
	FirstPanic   *ParserPanic
}

// Decode reads a recorded capture and calls fn for each epoch. Lines
// starting with '#' are comments; when cfg.RefDate is zero, a "# Date:"
// comment before the data (as gpsd's captures carry) becomes the rollover
// reference, because a capture years old must not be moved to today's era.
// Arrival times are zero: a file has no timing.
func Decode(r io.Reader, cfg AssemblerConfig, fn func(Epoch)) (DecodeStats, error) {
	var st DecodeStats
	onPanic := cfg.OnParserPanic
	cfg.OnParserPanic = func(p ParserPanic) {
		if st.PanicsByType == nil {
			st.PanicsByType = make(map[string]uint64)
			st.FirstPanic = &p
		}
		countPanic(st.PanicsByType, p.Type)
		if onPanic != nil {
			onPanic(p)
		}
	}
	a := NewAssembler(cfg)
	sp := NewSplitter(0)
	refFixed := !cfg.RefDate.IsZero()
	inComment := false
	emit := func(line []byte, _ time.Time) {
		switch {
		case len(line) > 0 && line[0] == '#':
			inComment = true
			if !refFixed {
				if d, ok := headerDate(line); ok {
					a.SetRefDate(d)
					refFixed = true
				}
			}
			return
		case inComment:
			return // the rest of a comment line the splitter cut at '$'
		}
		inComment = false
		for _, e := range a.Feed(line, time.Time{}) {
			fn(e)
		}
	}
	buf := make([]byte, 32*1024)
	var err error
	for {
		n, rerr := r.Read(buf)
		chunk := buf[:n]
		// A line end closes a comment; the splitter's callback cannot see it.
		for len(chunk) > 0 {
			i := bytes.IndexAny(chunk, "\r\n")
			if i < 0 {
				sp.Write(chunk, time.Time{}, emit)
				break
			}
			sp.Write(chunk[:i+1], time.Time{}, emit)
			inComment = false
			chunk = chunk[i+1:]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = fmt.Errorf("read capture: %w", rerr)
			break
		}
	}
	sp.Flush(emit)
	for _, e := range a.Flush() {
		fn(e)
	}
	st.Counters, st.Split, st.RefDate = a.Counters(), sp.Counters(), a.cfg.RefDate
	return st, err
}

var (
	dateYMD = regexp.MustCompile(`(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})`)
	dateDMY = regexp.MustCompile(`(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})`)
	dateMDY = regexp.MustCompile(`([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})`)
)

// headerDate reads a "# Date: ..." comment.
func headerDate(line []byte) (time.Time, bool) {
	s := strings.TrimSpace(strings.TrimLeft(string(line), "# \t"))
	if len(s) < 5 || !strings.EqualFold(s[:5], "date:") {
		return time.Time{}, false
	}
	return ParseDate(s[5:])
}

// ParseDate reads a calendar date in the forms capture headers use:
// 2007-12-23, 2017-1-9, 2007/12/23, 23 Dec 2007, Dec 23, 2007.
func ParseDate(s string) (time.Time, bool) {
	var y, m, d int
	if g := dateYMD.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else if g := dateDMY.FindStringSubmatch(s); g != nil {
		d, _ = strconv.Atoi(g[1])
		m = monthOf(g[2])
		y, _ = strconv.Atoi(g[3])
	} else if g := dateMDY.FindStringSubmatch(s); g != nil {
		m = monthOf(g[1])
		d, _ = strconv.Atoi(g[2])
		y, _ = strconv.Atoi(g[3])
	}
	if !(civilDate{y, m, d}).valid() {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

func monthOf(s string) int {
	for m := time.January; m <= time.December; m++ {
		if strings.EqualFold(s[:3], m.String()[:3]) {
			return int(m)
		}
	}
	return 0
}
