//go:build !unix

package sdnotify

// monotonicUsec reports false: there is no systemd, and no CLOCK_MONOTONIC
// to name, outside Unix.
func monotonicUsec() (int64, bool) { return 0, false }
