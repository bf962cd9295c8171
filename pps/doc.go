// Package pps captures the pulse-per-second edge with kernel timestamps and
// pairs each edge with the UTC second it marks.
//
// Capture is behind [Source], with three Linux backends in order of
// precision: the RFC 2783 PPS API (/dev/ppsN), the GPIO character device
// with realtime event timestamps taken in the interrupt handler, and
// periph.io's edge wait timestamped in user space. [Open] picks the best one
// the configuration allows.
//
// Pairing is sans-IO: a [Pairer] is fed [Edge]s and NMEA [Second]s with the
// local times at which they happened and emits [Sample]s; [Sim] generates
// both for tests and the simulator.
package pps
