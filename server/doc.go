// Package server answers NTP client requests with the published state of
// the disciplined clock.
//
// # Timestamps
//
// A request's receive timestamp is the kernel's (SO_TIMESTAMPNS). A basic
// reply's transmit timestamp is read from the clock just before its own
// sendmsg. Clients that use interleaved mode (RFC 9769, chronyd's xleave)
// get better: the transmit time of their previous reply as the kernel took
// it when the reply was handed to the device (SO_TIMESTAMPING software
// transmit timestamps, read back from the socket's error queue). See
// xleave.go for how the server tells who asks, and keeps state for those
// clients only, in a fixed table; txstamp_linux.go for the timestamps. The
// plain request path is unchanged for everyone else.
//
// With server.hwtimestamp, network cards that can stamp packets
// themselves do (hwstamp_linux.go): replies to interleaved clients get
// the card's transmit time, and requests its arrival time where the card
// stamps every packet; the card's clock is read against the system clock
// once a second. Loopback has no hardware timestamps.
package server
