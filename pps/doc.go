// Package pps captures the pulse-per-second edge with kernel timestamps and
// pairs each edge with the UTC second it marks.
package pps
