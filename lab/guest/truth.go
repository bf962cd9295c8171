package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

const truthFile = "/proc/stratum1_lab"

// reading is one bracketed read of the module: the truth time and the
// kernel clock's error against it.
type reading struct {
	truthNs   int64
	errNs     int64
	bracketNs int64
}

func readTruth() (reading, error) {
	b, err := os.ReadFile(truthFile)
	if err != nil {
		return reading{}, fmt.Errorf("read truth: %w", err)
	}
	var r reading
	if _, err := fmt.Sscan(string(b), &r.truthNs, &r.errNs, &r.bracketNs); err != nil {
		return reading{}, fmt.Errorf("parse truth %q: %w", b, err)
	}
	return r, nil
}

// waitTruthPhase sleeps until the truth time is phase past a whole second
// and returns that reading.
func waitTruthPhase(ctx context.Context, phase time.Duration) (reading, error) {
	for {
		r, err := readTruth()
		if err != nil {
			return r, err
		}
		frac := time.Duration(r.truthNs % 1e9)
		wait := (phase - frac + time.Second) % time.Second
		if wait < 2*time.Millisecond || wait > time.Second-2*time.Millisecond {
			return r, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return r, ctx.Err()
		case <-t.C:
		}
	}
}
