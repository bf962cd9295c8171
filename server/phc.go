package server

import (
	"sync/atomic"
	"time"
)

// phcClock maps readings of a network card's own clock (its PTP hardware
// clock, which hardware timestamps are read from) to the system clock, from
// pairs of readings of both taken about once a second (hwstamp_linux.go).
// The offset comes from the latest pair and the rate from a least-squares
// fit over the last phcSamples pairs, so a conversion between pairs
// follows the card's frequency error. add is called from one goroutine;
// toSys from any, without allocating.
type phcClock struct {
	fit     atomic.Pointer[phcFit]
	samples [phcSamples]phcSample
	n, next int
}

const (
	phcSamples = 16
	// phcMaxAge is how far from its latest pair a fit is used: beyond it
	// the sampler has stopped, and a timestamp is better left unused.
	phcMaxAge = 10 * time.Second
)

type phcSample struct{ phcNs, sysNs int64 }

// phcFit is the published mapping: sys = sysNs + d + d*rate, d = phc - phcNs.
type phcFit struct {
	phcNs, sysNs int64
	rate         float64 // system seconds per card second, minus one
}

// add records a pair of readings taken at the same instant.
func (c *phcClock) add(phcNs, sysNs int64) {
	c.samples[c.next] = phcSample{phcNs, sysNs}
	c.next = (c.next + 1) % phcSamples
	c.n = min(c.n+1, phcSamples)
	f := &phcFit{phcNs: phcNs, sysNs: sysNs}
	if c.n >= 2 {
		// Fit (sys - phc) = a + rate*(phc - phcNs): the slope is the
		// card's frequency error against the system clock.
		var sx, sy, sxx, sxy float64
		for i := range c.n {
			s := c.samples[i]
			x := float64(s.phcNs - phcNs)
			y := float64((s.sysNs - s.phcNs) - (sysNs - phcNs))
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		n := float64(c.n)
		if d := n*sxx - sx*sx; d > 0 {
			f.rate = (n*sxy - sx*sy) / d
		}
	}
	c.fit.Store(f)
}

// toSys converts a card-clock reading to the system clock.
func (c *phcClock) toSys(phcNs int64) (sysNs int64, ok bool) {
	f := c.fit.Load()
	if f == nil {
		return 0, false
	}
	d := phcNs - f.phcNs
	if d > int64(phcMaxAge) || d < -int64(phcMaxAge) {
		return 0, false
	}
	return f.sysNs + d + int64(float64(d)*f.rate), true
}
