// Package sim is the appliance's hardware replaced by a model: an
// oscillator with a frequency offset, random-walk wander and a temperature
// term on a virtual time base, a receiver that writes NMEA sentences and
// PPS edges with jitter, and the faults a real box meets (lost pulses, an
// unplugged serial line, a receiver off by a second). RunVirtual drives the
// discipline through hours of that in seconds and measures the result.
package sim
