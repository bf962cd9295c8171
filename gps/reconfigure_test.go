//go:build linux

package gps

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestReaderReconfigure: a new device given while the reader runs is
// opened at once, with the old one still working; the same configuration
// again changes nothing, and a bad one is refused.
func TestReaderReconfigure(t *testing.T) {
	dir := t.TempDir()
	linkA, linkB := filepath.Join(dir, "gpsA"), filepath.Join(dir, "gpsB")
	startA := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	startB := startA.Add(24 * time.Hour)
	rxA := startFakeReceiver(t, linkA, startA)
	defer rxA.unplug(linkA)
	rxB := startFakeReceiver(t, linkB, startB)
	defer rxB.unplug(linkB)

	cfgA := Config{Device: linkA, Baud: "9600", ReconnectMax: time.Minute}
	r, err := NewReader(cfgA, ReaderOptions{
		MinBackoff: 100 * time.Millisecond,
		RefDate:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() {
		runDone <- r.Run(ctx, func(e Epoch) {
			mu.Lock()
			last = e.Time
			mu.Unlock()
		})
	}()
	latest := func() time.Time { mu.Lock(); defer mu.Unlock(); return last }
	waitFor(t, "epochs from A", 15*time.Second, func() bool { return latest().After(startA) })

	if reopens, err := r.Reconfigure(cfgA); err != nil || reopens {
		t.Errorf("the same configuration again: reopens %v, err %v; want no change", reopens, err)
	}
	for _, bad := range []Config{{Device: ""}, {Device: linkB, Baud: "fast"}} {
		if _, err := r.Reconfigure(bad); err == nil {
			t.Errorf("Reconfigure(%+v) accepted", bad)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if l := latest(); l.After(startB) || r.Status().Device != linkA {
		t.Fatalf("a refused configuration switched the device (latest epoch %v, device %s)", l, r.Status().Device)
	}

	cfgB := cfgA
	cfgB.Device = linkB
	if reopens, err := r.Reconfigure(cfgB); err != nil || !reopens {
		t.Fatalf("Reconfigure to B: reopens %v, err %v; want a reopen", reopens, err)
	}
	waitFor(t, "epochs from B", 10*time.Second, func() bool { return latest().After(startB) })
	st := r.Status()
	if st.Device != linkB || !st.Connected {
		t.Errorf("status device %q connected %v, want %q connected", st.Device, st.Connected, linkB)
	}

	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
