package status

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"
)

// Default history geometry: one sample every 10 s for 24 h is 8640 samples
// of 72 bytes, about 600 KiB, which even a Pi Zero keeps without noticing.
const (
	DefaultHistorySpan     = 24 * time.Hour
	DefaultHistoryInterval = 10 * time.Second
)

// Sample is one point of the History. Values that were not known when the
// sample was taken (no source, no pulses yet, no previous counter reading)
// are NaN and appear as null in JSON.
type Sample struct {
	Time              time.Time
	Offset            time.Duration
	PPSJitter         time.Duration
	OffsetKnown       bool
	PPSJitterKnown    bool
	FrequencyPPM      float64
	RequestsPerSecond float64 // NaN when unknown
	RepliesPerSecond  float64 // NaN when unknown
}

// History keeps the last span of samples in a fixed ring buffer, so its
// memory is bounded whatever the uptime. The appliance calls Record every
// interval; the dashboard reads it through /api/history. Safe for
// concurrent use.
type History struct {
	mu       sync.Mutex
	interval time.Duration
	buf      []Sample // ring of cap(buf) samples
	start, n int

	// Counter baseline of the last stored sample, for the rates.
	last         time.Time
	lastReceived uint64
	lastAnswered uint64
}

// NewHistory returns a history holding span worth of samples taken every
// interval. Non-positive arguments take the defaults.
func NewHistory(span, interval time.Duration) *History {
	if span <= 0 {
		span = DefaultHistorySpan
	}
	if interval <= 0 {
		interval = DefaultHistoryInterval
	}
	n := int(span / interval)
	if n < 1 {
		n = 1
	}
	return &History{interval: interval, buf: make([]Sample, n)}
}

// Interval is the spacing of the samples.
func (h *History) Interval() time.Duration { return h.interval }

// Record adds a sample taken from s at s.Time. Calls closer than half the
// interval after the last stored sample are ignored, so a caller that ticks
// too fast cannot shorten the span that fits. If the clock went backwards
// (the system clock was stepped), the history is cleared: its samples would
// no longer be in order.
func (h *History) Record(s Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) == 0 {
		return
	}
	t := s.Time
	if h.n > 0 {
		dt := t.Sub(h.last)
		if dt < 0 {
			h.start, h.n = 0, 0
		} else if dt < h.interval/2 {
			return
		}
	}
	smp := Sample{
		Time:              t,
		FrequencyPPM:      s.System.FrequencyPPM,
		RequestsPerSecond: math.NaN(),
		RepliesPerSecond:  math.NaN(),
	}
	if s.Source != "" {
		smp.Offset, smp.OffsetKnown = s.System.Offset, true
	}
	if s.PPS.Pulses > 0 {
		smp.PPSJitter, smp.PPSJitterKnown = s.PPS.Jitter, true
	}
	if h.n > 0 {
		sec := t.Sub(h.last).Seconds()
		smp.RequestsPerSecond = rate(h.lastReceived, s.Server.Received, sec)
		smp.RepliesPerSecond = rate(h.lastAnswered, s.Server.Answered, sec)
	}
	h.last, h.lastReceived, h.lastAnswered = t, s.Server.Received, s.Server.Answered

	if h.n < len(h.buf) {
		h.buf[(h.start+h.n)%len(h.buf)] = smp
		h.n++
	} else {
		h.buf[h.start] = smp
		h.start = (h.start + 1) % len(h.buf)
	}
}

// rate is the counter's increase per second; NaN when the counter went
// backwards (the daemon restarted its server) or no time passed.
func rate(prev, cur uint64, sec float64) float64 {
	if cur < prev || sec <= 0 {
		return math.NaN()
	}
	return float64(cur-prev) / sec
}

// Samples returns the stored samples taken after since, oldest first.
func (h *History) Samples(since time.Time) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Sample
	for i := 0; i < h.n; i++ {
		s := h.buf[(h.start+i)%len(h.buf)]
		if s.Time.After(since) {
			out = append(out, s)
		}
	}
	return out
}

// Len is the number of stored samples.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// AppendJSON appends the samples after since as columnar JSON, which is a
// third of the size of an array of objects and what the charts want:
//
//	{"interval_ms":10000,"t":[unix ms...],"offset_ns":[...],"pps_jitter_ns":[...],
//	 "frequency_ppm":[...],"requests_per_s":[...],"replies_per_s":[...]}
//
// Unknown values are null. A nil History appends an empty document.
func (h *History) AppendJSON(b []byte, since time.Time) []byte {
	var ss []Sample
	var interval time.Duration
	if h != nil {
		ss = h.Samples(since)
		interval = h.interval
	}
	b = append(b, `{"interval_ms":`...)
	b = strconv.AppendInt(b, interval.Milliseconds(), 10)
	col := func(name string, f func(Sample) (float64, bool), fmtc byte, prec int) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		for i, s := range ss {
			if i > 0 {
				b = append(b, ',')
			}
			v, ok := f(s)
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				b = append(b, "null"...)
				continue
			}
			b = strconv.AppendFloat(b, v, fmtc, prec, 64)
		}
		b = append(b, ']')
	}
	col("t", func(s Sample) (float64, bool) { return float64(s.Time.UnixMilli()), true }, 'f', 0)
	col("offset_ns", func(s Sample) (float64, bool) { return float64(s.Offset), s.OffsetKnown }, 'f', 0)
	col("pps_jitter_ns", func(s Sample) (float64, bool) { return float64(s.PPSJitter), s.PPSJitterKnown }, 'f', 0)
	col("frequency_ppm", func(s Sample) (float64, bool) { return s.FrequencyPPM, true }, 'g', 7)
	col("requests_per_s", func(s Sample) (float64, bool) { return s.RequestsPerSecond, true }, 'g', 6)
	col("replies_per_s", func(s Sample) (float64, bool) { return s.RepliesPerSecond, true }, 'g', 6)
	return append(b, '}')
}

// Run records a snapshot from p every interval until ctx is done, for a
// daemon that has no loop of its own to call Record from.
func (h *History) Run(ctx context.Context, p Provider) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	h.Record(p.Snapshot())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Record(p.Snapshot())
		}
	}
}
