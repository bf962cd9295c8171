package sim

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"stratum1/gps"
)

// UBXReceiver is the simulated receiver's u-blox side: it reads what the
// host writes and answers as a u-blox M8 would, polls with the current
// setting, configuration with ACK-ACK (or ACK-NAK for what it refuses),
// MON-VER with its versions. It keeps the settings `gps configure`
// changes, so a test can see them applied. Safe for concurrent use.
type UBXReceiver struct {
	mu     sync.Mutex
	sp     *gps.Splitter
	out    []byte
	nav5   []byte
	tp5    []byte
	rates  map[[2]byte]byte // message output rates on the host's port
	baud   int
	refuse map[[2]byte]bool
	silent bool
}

// UBX classes and IDs the simulated receiver knows.
const (
	classACK, classCFG, classMON, classTIM = 0x05, 0x06, 0x0A, 0x0D
	idNak, idAck                           = 0x00, 0x01
	idPrt, idMsg, idCfg, idNav5, idTP5     = 0x00, 0x01, 0x09, 0x24, 0x31
	idVer, idTimTP                         = 0x04, 0x01
)

// NewUBXReceiver returns a receiver as it comes out of the box: portable
// dynamic model, RMC GGA GSA GSV GLL VTG at 9600 baud, no TIM-TP.
func NewUBXReceiver() *UBXReceiver {
	u := &UBXReceiver{sp: gps.NewSplitter(0), baud: 9600, rates: map[[2]byte]byte{}, refuse: map[[2]byte]bool{}}
	u.nav5 = make([]byte, 36)
	binary.LittleEndian.PutUint16(u.nav5[0:], 0xFFFF)
	u.nav5[2] = 0 // portable
	u.tp5 = make([]byte, 32)
	u.tp5[1] = 1
	binary.LittleEndian.PutUint16(u.tp5[4:], 50)
	binary.LittleEndian.PutUint32(u.tp5[8:], 1_000_000)
	binary.LittleEndian.PutUint32(u.tp5[12:], 1_000_000)
	binary.LittleEndian.PutUint32(u.tp5[20:], 100_000)
	binary.LittleEndian.PutUint32(u.tp5[28:], 0x37) // active, lock, isLength, alignToTow; falling edge
	for _, id := range []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05} {
		u.rates[[2]byte{0xF0, id}] = 1
	}
	u.sp.OnUBX = u.frame
	return u
}

// Refuse makes the receiver answer a configuration message with ACK-NAK.
func (u *UBXReceiver) Refuse(class, id byte) {
	u.mu.Lock()
	u.refuse[[2]byte{class, id}] = true
	u.mu.Unlock()
}

// SetSilent makes the receiver ignore what it is sent (its input pin not
// wired): it never answers.
func (u *UBXReceiver) SetSilent(silent bool) {
	u.mu.Lock()
	u.silent = silent
	u.mu.Unlock()
}

// Write takes bytes the host sent; the answers queue for Replies.
func (u *UBXReceiver) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.silent {
		u.sp.Write(p, time.Time{}, func([]byte, time.Time) {})
	}
	return len(p), nil
}

// Replies takes the answers queued so far.
func (u *UBXReceiver) Replies() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	b := u.out
	u.out = nil
	return b
}

// TimTP reports whether TIM-TP output is on.
func (u *UBXReceiver) TimTP() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rates[[2]byte{classTIM, idTimTP}] > 0
}

// State reports the settings `gps configure` changes: dynamic model,
// time pulse flags and width while locked, the rate of an NMEA message,
// and the baud rate.
func (u *UBXReceiver) State() (dynModel byte, tpFlags uint32, tpWidth time.Duration, baud int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.nav5[2], binary.LittleEndian.Uint32(u.tp5[28:]),
		time.Duration(binary.LittleEndian.Uint32(u.tp5[20:])) * time.Microsecond, u.baud
}

// Rate is the output rate of NMEA message id (class 0xF0).
func (u *UBXReceiver) Rate(id byte) byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rates[[2]byte{0xF0, id}]
}

func (u *UBXReceiver) send(class, id byte, payload []byte) {
	u.out = append(u.out, gps.UBXFrame{Class: class, ID: id, Payload: payload}.Encode()...)
}

func (u *UBXReceiver) ack(f gps.UBXFrame, ok bool) {
	id := byte(idNak)
	if ok {
		id = idAck
	}
	u.send(classACK, id, []byte{f.Class, f.ID})
}

// frame answers one frame from the host (called with mu held).
func (u *UBXReceiver) frame(f gps.UBXFrame, _ time.Time) {
	n := len(f.Payload)
	switch {
	case f.Class == classMON && f.ID == idVer && n == 0:
		p := make([]byte, 100)
		copy(p, "ROM CORE 3.01 (107888)")
		copy(p[30:], "00080000")
		copy(p[40:], "PROTVER=18.00")
		copy(p[70:], "stratum1 sim")
		u.send(classMON, idVer, p)
		return
	case f.Class != classCFG:
		return
	case n > 2 && u.refuse[[2]byte{f.Class, f.ID}]: // a setting, not a poll
		u.ack(f, false)
		return
	}
	switch {
	case f.ID == idNav5 && n == 0:
		u.send(classCFG, idNav5, append([]byte(nil), u.nav5...))
		u.ack(f, true) // a poll is acknowledged too, after the answer
	case f.ID == idNav5 && n == 36:
		mask := binary.LittleEndian.Uint16(f.Payload)
		if mask&1 != 0 {
			u.nav5[2] = f.Payload[2]
		}
		u.ack(f, true)
	case f.ID == idTP5 && (n == 0 || n == 1):
		u.send(classCFG, idTP5, append([]byte(nil), u.tp5...))
		u.ack(f, true)
	case f.ID == idTP5 && n == 32 && f.Payload[0] == 0:
		copy(u.tp5, f.Payload)
		u.ack(f, true)
	case f.ID == idMsg && n == 2:
		p := make([]byte, 8)
		copy(p, f.Payload)
		p[2+1] = u.rates[[2]byte{f.Payload[0], f.Payload[1]}] // UART1
		u.send(classCFG, idMsg, p)
		u.ack(f, true)
	case f.ID == idMsg && (n == 3 || n == 8):
		rate := f.Payload[2]
		if n == 8 {
			rate = f.Payload[2+1]
		}
		u.rates[[2]byte{f.Payload[0], f.Payload[1]}] = rate
		u.ack(f, true)
	case f.ID == idPrt && n == 20 && f.Payload[0] == 1:
		u.ack(f, true)
		u.baud = int(binary.LittleEndian.Uint32(f.Payload[8:]))
	case f.ID == idCfg && (n == 12 || n == 13):
		u.ack(f, true)
	default:
		u.ack(f, false)
	}
}

// QErr is the quantisation error of the pulse at second n of a receiver
// whose time pulse leaves on the nearest tick of a clock of clockHz (0:
// an ideal pulse): a sawtooth of ±half a tick, its phase advancing a
// little each second as the receiver's clock drifts against GNSS time.
func QErr(n int64, clockHz float64) time.Duration {
	if clockHz <= 0 {
		return 0
	}
	const advance = 0.0137 // of a tick per second: a period of about 73 s
	_, frac := math.Modf(float64(n) * advance)
	tick := 1e9 / clockHz
	return time.Duration((frac - 0.5) * tick)
}

// TimTPFrame is the TIM-TP a u-blox receiver sends before the pulse of
// second sec, carrying its qErr.
func TimTPFrame(sec time.Time, qErr time.Duration) []byte {
	gpsSec := sec.Unix() - 315964800 // since the GPS epoch, in UTC (the time base it reports)
	tp := gps.TimTP{
		TowMS: uint32(gpsSec % (7 * 86400) * 1000), Week: uint16(gpsSec / (7 * 86400)),
		QErrPs: int32(qErr.Nanoseconds() * 1000), UTC: true, QErrGood: true,
	}
	return gps.UBXFrame{Class: classTIM, ID: idTimTP, Payload: gps.EncodeTimTP(tp)}.Encode()
}
