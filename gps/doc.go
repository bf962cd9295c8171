// Package gps reads UTC time and fix state from an NMEA receiver: serial
// input with baud detection, sentence parsing, and the assembly of the
// sentences of one second into an epoch.
package gps
