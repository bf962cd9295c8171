package discipline

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
)

// SystemClock steers the Linux system clock through clock_adjtime. With
// NoAdjust set (--no-clock-adjust) it only reads: every method that would
// change the kernel's state returns ErrNoClockAdjust without a system call.
type SystemClock struct {
	NoAdjust bool
}

// kernelFreqScale is the unit of timex.freq: ppm with a 16-bit fraction.
const kernelFreqScale = 65536

// Now reads the clock.
func (c *SystemClock) Now() time.Time { return time.Now() }

// KernelState is what adjtimex reports without changing anything.
type KernelState struct {
	FreqPPM  float64
	Status   int32 // STA_* bits
	EstError time.Duration
	MaxError time.Duration
	TAI      int32
	State    int // TIME_OK, TIME_INS, ... or TIME_ERROR
}

// Unsynchronised reports whether the kernel flags the clock unsynchronised.
func (k KernelState) Unsynchronised() bool { return k.Status&unix.STA_UNSYNC != 0 }

// Vouched reports the kernel's synchronised status and estimated error.
func (c *SystemClock) Vouched() (time.Duration, bool) {
	k, err := c.ReadKernel()
	if err != nil {
		return 0, false
	}
	return k.EstError, !k.Unsynchronised() && k.State != unix.TIME_ERROR
}

// ReadKernel reads the kernel's clock state; modes 0 changes nothing.
func (c *SystemClock) ReadKernel() (KernelState, error) {
	var tx unix.Timex
	state, err := unix.ClockAdjtime(unix.CLOCK_REALTIME, &tx)
	if err != nil {
		return KernelState{}, fmt.Errorf("clock_adjtime read: %w", err)
	}
	return KernelState{
		FreqPPM:  float64(tx.Freq) / kernelFreqScale,
		Status:   int32(tx.Status),
		EstError: time.Duration(tx.Esterror) * time.Microsecond,
		MaxError: time.Duration(tx.Maxerror) * time.Microsecond,
		TAI:      int32(tx.Tai),
		State:    state,
	}, nil
}

// KernelStatus reads the kernel clock's whole state for ntpq -c kerninfo;
// modes 0 changes nothing.
func (c *SystemClock) KernelStatus() (KernelInfo, error) {
	var tx unix.Timex
	if _, err := unix.ClockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return KernelInfo{}, fmt.Errorf("clock_adjtime read: %w", err)
	}
	fine := time.Microsecond // offset and jitter unit
	if tx.Status&unix.STA_NANO != 0 {
		fine = time.Nanosecond
	}
	ppm := func(v int64) float64 { return float64(v) / kernelFreqScale }
	return KernelInfo{
		Offset:          time.Duration(tx.Offset) * fine,
		FrequencyPPM:    ppm(int64(tx.Freq)),
		MaxError:        time.Duration(tx.Maxerror) * time.Microsecond,
		EstError:        time.Duration(tx.Esterror) * time.Microsecond,
		Status:          uint32(tx.Status),
		TimeConstant:    int64(tx.Constant),
		Precision:       time.Duration(tx.Precision) * time.Microsecond,
		TolerancePPM:    ppm(int64(tx.Tolerance)),
		PPSFrequencyPPM: ppm(int64(tx.Ppsfreq)),
		PPSJitter:       time.Duration(tx.Jitter) * fine,
		PPSInterval:     time.Second << min(max(tx.Shift, 0), 30),
		PPSStabilityPPM: ppm(int64(tx.Stabil)),
		PPSCalibrations: int64(tx.Calcnt),
		PPSJitterErrors: int64(tx.Jitcnt),
		PPSStabErrors:   int64(tx.Stbcnt),
		PPSCalibErrors:  int64(tx.Errcnt),
	}, nil
}

// Frequency returns the kernel's frequency correction.
func (c *SystemClock) Frequency() (float64, error) {
	k, err := c.ReadKernel()
	return k.FreqPPM, err
}

func (c *SystemClock) adjust(tx *unix.Timex, what string) error {
	if c.NoAdjust {
		return ErrNoClockAdjust
	}
	if _, err := unix.ClockAdjtime(unix.CLOCK_REALTIME, tx); err != nil {
		return fmt.Errorf("clock_adjtime %s: %w", what, err)
	}
	return nil
}

// SetFrequency sets the kernel's frequency correction (ADJ_FREQUENCY).
func (c *SystemClock) SetFrequency(ppm float64) error {
	if math.IsNaN(ppm) || math.Abs(ppm) > 500 {
		return fmt.Errorf("frequency %v ppm out of the kernel's range", ppm)
	}
	tx := unix.Timex{Modes: unix.ADJ_FREQUENCY}
	setField(&tx.Freq, int64(math.Round(ppm*kernelFreqScale)))
	return c.adjust(&tx, "frequency")
}

// Step adds d to the clock (ADJ_SETOFFSET with ADJ_NANO).
func (c *SystemClock) Step(d time.Duration) error {
	tx := stepTimex(d)
	return c.adjust(&tx, "step")
}

// stepTimex builds the request for a step of d: the kernel wants a
// normalised timeval whose usec field holds nanoseconds under ADJ_NANO.
func stepTimex(d time.Duration) unix.Timex {
	sec, nsec := int64(d/time.Second), int64(d%time.Second)
	if nsec < 0 {
		sec--
		nsec += int64(time.Second)
	}
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO}
	setField(&tx.Time.Sec, sec)
	setField(&tx.Time.Usec, nsec)
	return tx
}

// SetLeap arms or disarms a leap second (ADJ_STATUS with STA_INS/STA_DEL),
// keeping the other status bits and clearing STA_UNSYNC.
func (c *SystemClock) SetLeap(l ntp.Leap) error {
	k, err := c.ReadKernel()
	if err != nil {
		return err
	}
	status := k.Status &^ (unix.STA_INS | unix.STA_DEL | unix.STA_UNSYNC)
	switch l {
	case ntp.LeapInsert:
		status |= unix.STA_INS
	case ntp.LeapDelete:
		status |= unix.STA_DEL
	}
	tx := unix.Timex{Modes: unix.ADJ_STATUS}
	tx.Status = status
	return c.adjust(&tx, "leap status")
}

// SetSync publishes the error estimates (ADJ_MAXERROR, ADJ_ESTERROR) and
// the synchronised status (STA_UNSYNC), so that adjtimex -p, timedatectl
// and the kernel's RTC sync see the real state.
func (c *SystemClock) SetSync(synced bool, estErr, maxErr time.Duration) error {
	if c.NoAdjust {
		return ErrNoClockAdjust
	}
	k, err := c.ReadKernel()
	if err != nil {
		return err
	}
	status := k.Status | unix.STA_UNSYNC
	if synced {
		status &^= unix.STA_UNSYNC
	}
	tx := unix.Timex{Modes: unix.ADJ_STATUS | unix.ADJ_MAXERROR | unix.ADJ_ESTERROR}
	tx.Status = status
	setField(&tx.Esterror, min(estErr.Microseconds(), math.MaxInt32))
	setField(&tx.Maxerror, min(maxErr.Microseconds(), math.MaxInt32))
	return c.adjust(&tx, "sync status")
}

// setField stores v in a timex field whose width depends on the
// architecture (32 bits on arm, 64 on arm64 and amd64).
func setField[T ~int32 | ~int64](p *T, v int64) { *p = T(v) }
