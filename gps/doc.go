// Package gps reads UTC time and fix state from an NMEA receiver.
//
// The core is sans-IO: a Splitter cuts bytes into bounded candidate lines
// (binary streams, overlong and garbled lines are dropped and counted), and
// an Assembler, fed each line with its local arrival time, merges the
// sentences of one fix into an Epoch: the receiver's UTC time (dated by
// gpsd's rules and corrected for GPS week-number rollover against a
// reference date), fix mode and validity, satellites and the arrival of
// the epoch's first sentence, which the PPS pairing needs. Decode runs a
// recorded capture through both.
//
// Reader is the thin adapter to a serial port (or pseudo-terminal): it
// detects the baud rate by valid checksums, reopens a vanished device with
// backoff, and reports its state (no device, no data, no fix, 2D, 3D) and
// counters.
//
// Sentences are parsed with github.com/adrianmo/go-nmea; receivers'
// departures from the standard are handled through its parser hooks. The
// library is called in one place (guardedParse): a panic there drops the
// sentence and counts it by type (Status.ParserPanics), and types the
// assembler does not read never reach the library's per-type parsers.
package gps
