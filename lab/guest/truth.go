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

// waitNextSecond sleeps until the truth time is phase past the second
// after last and returns that reading, or, when the guest woke up late, the
// reading of the second it woke up in (a starved emulator skips seconds; it
// does not shift them). last 0 waits for the next second.
func waitNextSecond(ctx context.Context, last int64, phase time.Duration) (reading, error) {
	for {
		r, err := readTruth()
		if err != nil {
			return r, err
		}
		if last == 0 {
			last = r.truthNs / 1e9
			if time.Duration(r.truthNs%1e9) < phase {
				last--
			}
		}
		wait := time.Duration((last+1)*1e9+int64(phase)-r.truthNs) * time.Nanosecond
		if wait <= 0 {
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
