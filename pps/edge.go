package pps

import (
	"context"
	"time"
)

// Edge is one captured PPS edge.
type Edge struct {
	Local   time.Time // system-clock time of the edge, from the kernel where the backend allows
	Seq     uint64    // the backend's event counter (PPS API sequence, GPIO line_seqno); gaps mean lost events
	Falling bool      // the falling (PPS API: clear) edge rather than the rising (assert) one
}

// Second is one NMEA epoch as the GPS side reports it.
type Second struct {
	UTC     time.Time // the second the epoch names
	Arrival time.Time // local arrival time of its first sentence
	Fix     bool      // the receiver reports a valid fix
}

// Sample is one edge paired with the UTC second it marks.
type Sample struct {
	Local   time.Time     // the edge, corrected for the configured cable delay and offset
	UTC     time.Time     // the second it marks
	Backend string        // the capture backend
	Err     time.Duration // estimated capture error of Local
}

// Offset is how far the local clock was ahead of UTC at the edge.
func (s Sample) Offset() time.Duration { return s.Local.Sub(s.UTC) }

// Source is one capture backend on one device.
type Source interface {
	// Run delivers edges to fn until ctx is done (then it returns nil) or
	// the device fails. fn runs on Run's goroutine and should not block.
	Run(ctx context.Context, fn func(Edge)) error
	// Backend names the backend: pps-api, gpio-cdev, periph-userspace, simulated.
	Backend() string
	// Device names the device or pin in use.
	Device() string
	// Precision is the estimated capture error of one edge.
	Precision() time.Duration
	// Close releases the device.
	Close() error
}

// LowPrecision reports whether a backend timestamps edges in user space.
func LowPrecision(backend string) bool { return backend == BackendPeriph }
