// Package peer is the NTP client for upstream servers and pools: polling,
// the clock filter, and the selection of true-chimers.
package peer
