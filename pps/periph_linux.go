//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// periphPrecision: the edge is timestamped after the reading goroutine is
// scheduled, so scheduling latency (tens of µs to milliseconds under load)
// is in every sample.
const periphPrecision = time.Millisecond

type periphSource struct {
	pin  string
	p    gpio.PinIO
	edge gpio.Edge
}

func openPeriph(pin, polarity string) (*periphSource, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("periph host init: %w", err)
	}
	p := gpioreg.ByName(pin)
	if p == nil {
		return nil, fmt.Errorf("periph: no GPIO pin named %s", pin)
	}
	edge := gpio.RisingEdge
	switch polarity {
	case PolarityFalling:
		edge = gpio.FallingEdge
	case PolarityAuto:
		edge = gpio.BothEdges
	}
	if err := p.In(gpio.PullNoChange, edge); err != nil {
		return nil, fmt.Errorf("periph: %s as input on %v: %w", pin, edge, err)
	}
	return &periphSource{pin: pin, p: p, edge: edge}, nil
}

func (s *periphSource) Backend() string          { return BackendPeriph }
func (s *periphSource) Device() string           { return s.pin }
func (s *periphSource) Precision() time.Duration { return periphPrecision }
func (s *periphSource) Close() error {
	err := s.p.Halt()
	// gpioioctl lines hold the line request until closed.
	if c, ok := s.p.(interface{ Close() }); ok {
		c.Close()
	}
	return err
}

func (s *periphSource) Run(ctx context.Context, fn func(Edge)) error {
	stop := context.AfterFunc(ctx, func() { s.p.Halt() })
	defer stop()
	var seq uint64
	for ctx.Err() == nil {
		if !s.p.WaitForEdge(fetchTimeout) {
			continue
		}
		now := time.Now()
		seq++
		falling := s.edge == gpio.FallingEdge
		if s.edge == gpio.BothEdges {
			// Racy by nature: a level read after the wake-up; good enough for
			// a backend that is labelled low precision anyway.
			falling = s.p.Read() == gpio.Low
		}
		fn(Edge{Local: now, Seq: seq, Falling: falling})
	}
	return nil
}
