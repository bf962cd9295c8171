package gps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// UBX is u-blox's binary protocol: frames of sync chars 0xB5 0x62, a class
// and an ID, a little-endian payload length, the payload and an 8-bit
// Fletcher checksum over class through payload. Layouts here follow the
// u-blox M8 receiver description (protocol 15 to 23), which later and most
// earlier generations keep for these messages.

// UBX sync characters.
const (
	ubxSync1 = 0xB5
	ubxSync2 = 0x62
)

// maxUBXPayload bounds a frame the reader will collect; the messages it
// reads are far shorter, MON-VER with extensions the longest at a few
// hundred bytes.
const maxUBXPayload = 1024

// UBX message classes and IDs used here.
const (
	ubxClassACK  = 0x05
	ubxClassCFG  = 0x06
	ubxClassMON  = 0x0A
	ubxClassTIM  = 0x0D
	ubxClassNMEA = 0xF0

	ubxACKNak = 0x00
	ubxACKAck = 0x01

	ubxCFGPrt  = 0x00
	ubxCFGMsg  = 0x01
	ubxCFGCfg  = 0x09
	ubxCFGNav5 = 0x24
	ubxCFGTP5  = 0x31

	ubxMONVer = 0x04
	ubxTIMTP  = 0x01
)

// UBXFrame is one UBX message.
type UBXFrame struct {
	Class, ID byte
	Payload   []byte
}

// Name is the message's name as u-blox writes it ("CFG-NAV5"), or its
// class and ID in hex.
func (f UBXFrame) Name() string {
	names := map[[2]byte]string{
		{ubxClassACK, ubxACKNak}: "ACK-NAK", {ubxClassACK, ubxACKAck}: "ACK-ACK",
		{ubxClassCFG, ubxCFGPrt}: "CFG-PRT", {ubxClassCFG, ubxCFGMsg}: "CFG-MSG",
		{ubxClassCFG, ubxCFGCfg}: "CFG-CFG", {ubxClassCFG, ubxCFGNav5}: "CFG-NAV5",
		{ubxClassCFG, ubxCFGTP5}: "CFG-TP5", {ubxClassMON, ubxMONVer}: "MON-VER",
		{ubxClassTIM, ubxTIMTP}: "TIM-TP",
	}
	if n, ok := names[[2]byte{f.Class, f.ID}]; ok {
		return n
	}
	return fmt.Sprintf("UBX-%02X-%02X", f.Class, f.ID)
}

// ubxChecksum is the 8-bit Fletcher checksum of b.
func ubxChecksum(b []byte) (a, c byte) {
	for _, x := range b {
		a += x
		c += a
	}
	return a, c
}

// Encode frames f with sync characters, length and checksum.
func (f UBXFrame) Encode() []byte {
	b := make([]byte, 0, 8+len(f.Payload))
	b = append(b, ubxSync1, ubxSync2, f.Class, f.ID)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(f.Payload)))
	b = append(b, f.Payload...)
	a, c := ubxChecksum(b[2:])
	return append(b, a, c)
}

// DecodeUBX reads one whole frame from the start of b, returning it and
// the bytes it took.
func DecodeUBX(b []byte) (UBXFrame, int, error) {
	if len(b) < 8 || b[0] != ubxSync1 || b[1] != ubxSync2 {
		return UBXFrame{}, 0, errors.New("ubx: no frame")
	}
	n := int(binary.LittleEndian.Uint16(b[4:6]))
	if n > maxUBXPayload || len(b) < 8+n {
		return UBXFrame{}, 0, fmt.Errorf("ubx: frame of %d payload bytes incomplete or too long", n)
	}
	a, c := ubxChecksum(b[2 : 6+n])
	if a != b[6+n] || c != b[7+n] {
		return UBXFrame{}, 0, errors.New("ubx: bad checksum")
	}
	return UBXFrame{Class: b[2], ID: b[3], Payload: append([]byte(nil), b[6:6+n]...)}, 8 + n, nil
}

// TimTP is what UBX-TIM-TP says about the next time pulse.
type TimTP struct {
	TowMS    uint32        // time of week of the pulse, ms
	Week     uint16        // week number
	QErr     time.Duration // quantisation error of the pulse (sub-ns part dropped)
	QErrPs   int32         // the same, picoseconds as sent
	UTC      bool          // time base is UTC (else GNSS)
	QErrGood bool          // qErr is valid (flag qErrInvalid clear)
}

// ParseTimTP reads a TIM-TP payload.
func ParseTimTP(p []byte) (TimTP, error) {
	if len(p) != 16 {
		return TimTP{}, fmt.Errorf("ubx: TIM-TP payload of %d bytes, want 16", len(p))
	}
	q := int32(binary.LittleEndian.Uint32(p[8:12]))
	flags := p[14]
	return TimTP{
		TowMS: binary.LittleEndian.Uint32(p[0:4]), Week: binary.LittleEndian.Uint16(p[12:14]),
		QErrPs: q, QErr: time.Duration(q/1000) * time.Nanosecond,
		UTC: flags&0x01 != 0, QErrGood: flags&0x10 == 0,
	}, nil
}

// EncodeTimTP builds a TIM-TP payload (the simulated receiver's).
func EncodeTimTP(t TimTP) []byte {
	p := make([]byte, 16)
	binary.LittleEndian.PutUint32(p[0:], t.TowMS)
	binary.LittleEndian.PutUint32(p[8:], uint32(t.QErrPs))
	binary.LittleEndian.PutUint16(p[12:], t.Week)
	var flags byte = 0x02 // UTC available
	if t.UTC {
		flags |= 0x01
	}
	if !t.QErrGood {
		flags |= 0x10
	}
	p[14] = flags
	return p
}

// ParseMonVer reads a MON-VER payload: software and hardware versions and
// the extension strings (firmware, protocol version, modules).
func ParseMonVer(p []byte) (sw, hw string, ext []string, err error) {
	if len(p) < 40 || (len(p)-40)%30 != 0 {
		return "", "", nil, fmt.Errorf("ubx: MON-VER payload of %d bytes, want 40 + 30n", len(p))
	}
	cstr := func(b []byte) string {
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		return strings.TrimSpace(string(b))
	}
	for i := 40; i < len(p); i += 30 {
		ext = append(ext, cstr(p[i:i+30]))
	}
	return cstr(p[:30]), cstr(p[30:40]), ext, nil
}

// ack reports whether f acknowledges (true) or refuses (false) the
// message class/id; ok is false when f is no answer to it.
func (f UBXFrame) ack(class, id byte) (acked, ok bool) {
	if f.Class != ubxClassACK || len(f.Payload) != 2 || f.Payload[0] != class || f.Payload[1] != id {
		return false, false
	}
	switch f.ID {
	case ubxACKAck:
		return true, true
	case ubxACKNak:
		return false, true
	}
	return false, false
}
