package gps

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Configuration messages that set a u-blox receiver up for timing. Each
// builder returns the frame exactly as it is written to the receiver.

// ubxPoll is a poll request: the message with an empty payload.
func ubxPoll(class, id byte) UBXFrame { return UBXFrame{Class: class, ID: id} }

// dynModelStationary is CFG-NAV5's stationary dynamic platform model.
const dynModelStationary = 2

// ubxCfgNav5Stationary sets the stationary dynamic model, and only it
// (the mask applies the model and leaves every other setting alone).
func ubxCfgNav5Stationary() UBXFrame {
	p := make([]byte, 36)
	binary.LittleEndian.PutUint16(p[0:], 0x0001) // mask: dyn
	p[2] = dynModelStationary
	return UBXFrame{Class: ubxClassCFG, ID: ubxCFGNav5, Payload: p}
}

// CFG-TP5 flags.
const (
	tp5Active         = 0x01
	tp5LockGnssFreq   = 0x02
	tp5LockedOtherSet = 0x04
	tp5IsLength       = 0x10
	tp5AlignToTow     = 0x20
	tp5Polarity       = 0x40 // rising edge at the top of the second
	// gridUtcGnss (bits 7..10) 0 is UTC.
)

// tp5AntCableDelayNs is u-blox's default antenna cable delay, kept: the
// cable is the installer's to measure ([pps] cable_delay_ns).
const tp5AntCableDelayNs = 50

// ubxCfgTP5 sets time pulse 0 to one pulse a second, its rising edge at
// the top of each UTC second, width long while locked to GNSS and no pulse
// at all without a fix (so a free-running pulse is never taken for time).
func ubxCfgTP5(width time.Duration) UBXFrame {
	p := make([]byte, 32)
	p[0] = 0 // TIMEPULSE
	p[1] = 1 // message version
	binary.LittleEndian.PutUint16(p[4:], uint16(tp5AntCableDelayNs))
	binary.LittleEndian.PutUint32(p[8:], 1_000_000)                     // freqPeriod, µs
	binary.LittleEndian.PutUint32(p[12:], 1_000_000)                    // freqPeriodLock, µs
	binary.LittleEndian.PutUint32(p[16:], 0)                            // pulseLenRatio: none unlocked
	binary.LittleEndian.PutUint32(p[20:], uint32(width.Microseconds())) // pulseLenRatioLock, µs
	flags := uint32(tp5Active | tp5LockGnssFreq | tp5LockedOtherSet | tp5IsLength | tp5AlignToTow | tp5Polarity)
	binary.LittleEndian.PutUint32(p[28:], flags)
	return UBXFrame{Class: ubxClassCFG, ID: ubxCFGTP5, Payload: p}
}

// ubxCfgMsg sets the output rate of a message on the port it arrives on
// (0 off, 1 every solution).
func ubxCfgMsg(class, id, rate byte) UBXFrame {
	return UBXFrame{Class: ubxClassCFG, ID: ubxCFGMsg, Payload: []byte{class, id, rate}}
}

// UBX NMEA message IDs (class 0xF0).
var ubxNMEAIDs = map[string]byte{
	"GGA": 0x00, "GLL": 0x01, "GSA": 0x02, "GSV": 0x03, "RMC": 0x04, "VTG": 0x05,
	"GRS": 0x06, "GST": 0x07, "ZDA": 0x08, "GBS": 0x09, "DTM": 0x0A, "GNS": 0x0D,
}

// nmeaWanted are the sentences the daemon reads: time and fix (RMC, GGA),
// fix mode and satellites used (GSA), the sky view (GSV) and the date with
// four-digit year (ZDA). The rest are turned off to keep the line short.
var nmeaWanted = map[string]bool{"RMC": true, "GGA": true, "GSA": true, "GSV": true, "ZDA": true}

// ubxPortUART1 is the receiver's first UART, the one a Pi's GPIO UART
// is wired to on GPS hats.
const ubxPortUART1 = 1

// ubxCfgPrt sets UART port's rate, 8N1, UBX and NMEA in and out.
func ubxCfgPrt(port byte, baud int) UBXFrame {
	p := make([]byte, 20)
	p[0] = port
	binary.LittleEndian.PutUint32(p[4:], 0x000008D0) // mode: 8 bits, no parity, 1 stop bit
	binary.LittleEndian.PutUint32(p[8:], uint32(baud))
	binary.LittleEndian.PutUint16(p[12:], 0x0003) // inProtoMask: UBX, NMEA
	binary.LittleEndian.PutUint16(p[14:], 0x0003) // outProtoMask: UBX, NMEA
	return UBXFrame{Class: ubxClassCFG, ID: ubxCFGPrt, Payload: p}
}

// ubxCfgCfgSave saves the current configuration (ports, messages, INF,
// navigation, receiver manager, and the rest) to every non-volatile
// memory the receiver has.
func ubxCfgCfgSave() UBXFrame {
	p := make([]byte, 13)
	binary.LittleEndian.PutUint32(p[4:], 0x00000F1F) // saveMask
	p[12] = 0x17                                     // deviceMask: BBR, flash, EEPROM, SPI flash
	return UBXFrame{Class: ubxClassCFG, ID: ubxCFGCfg, Payload: p}
}

// ubxPlan is the u-blox configuration, in the order it is sent. A baud
// change comes last but for the save, so every earlier answer arrives at
// the rate both ends know.
func ubxPlan(o ConfigureOptions) []ConfigStep {
	var steps []ConfigStep
	add := func(desc string, f UBXFrame) {
		steps = append(steps, ConfigStep{Desc: desc, Bytes: f.Encode(), frame: f})
	}
	add("stationary dynamic model (CFG-NAV5 dynModel 2)", ubxCfgNav5Stationary())
	add(fmt.Sprintf("time pulse 1 Hz, rising edge on the UTC second, %v wide, none without fix (CFG-TP5)", o.PulseWidth), ubxCfgTP5(o.PulseWidth))
	add("TIM-TP every second, for the pulse's quantisation error (CFG-MSG 0D 01)", ubxCfgMsg(ubxClassTIM, ubxTIMTP, 1))
	for _, name := range []string{"RMC", "GGA", "GSA", "GSV", "ZDA", "GLL", "VTG", "GNS", "GRS", "GST", "GBS", "DTM"} {
		rate, what := byte(0), "off"
		if nmeaWanted[name] {
			rate, what = 1, "on"
		}
		add(fmt.Sprintf("NMEA %s %s (CFG-MSG F0 %02X)", name, what, ubxNMEAIDs[name]), ubxCfgMsg(ubxClassNMEA, ubxNMEAIDs[name], rate))
	}
	if o.Baud > 0 {
		f := ubxCfgPrt(ubxPortUART1, o.Baud)
		steps = append(steps, ConfigStep{Desc: fmt.Sprintf("UART1 at %d baud, 8N1, UBX and NMEA (CFG-PRT)", o.Baud),
			Bytes: f.Encode(), frame: f, BaudAfter: o.Baud})
	}
	if o.Save {
		add("save to non-volatile memory (CFG-CFG)", ubxCfgCfgSave())
	}
	return steps
}
