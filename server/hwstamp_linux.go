package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Hardware timestamps, on the interfaces that server.hwtimestamp names.
//
// A network card that timestamps packets itself (SOF_TIMESTAMPING_
// RAW_HARDWARE, with its own PTP hardware clock, /dev/ptpN) stamps a
// reply as it leaves the wire and, with a receive filter that takes every
// packet, a request as it arrives. Such an interface is switched on with
// SIOCSHWTSTAMP (transmit on; receive "all" or "NTP" when the card offers
// it: many offer only PTP filters, and then requests keep their software
// timestamps), which needs CAP_NET_ADMIN. The card's clock is read against
// the system clock once a second (PTP_SYS_OFFSET_EXTENDED, or _PRECISE)
// and its timestamps converted through phcClock; one that cannot be
// converted is not used, and the software timestamp stands.
//
// Loopback has no hardware timestamps (ethtool reports software only), so
// the tests here exercise the set-up's refusals and the conversion, not a
// card. An interface without them is logged and served in software.

// hwIface is one interface with hardware timestamps switched on.
type hwIface struct {
	name  string
	index int32
	rx    bool // requests are stamped too
	ptpFd int
	clock phcClock
}

// hwStamps is the set of interfaces with hardware timestamps.
type hwStamps struct {
	ifs []*hwIface
	log *slog.Logger
}

// openHW switches hardware timestamps on for the named interfaces ("*":
// every interface that is up and offers them). It returns nil when none
// could be; each refusal is logged.
func openHW(names []string, log *slog.Logger) *hwStamps {
	if len(names) == 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Warn("hardware timestamps: no socket for ioctls", "err", err)
		return nil
	}
	defer unix.Close(fd)
	all, err := net.Interfaces()
	if err != nil {
		log.Warn("hardware timestamps: listing interfaces", "err", err)
		return nil
	}
	hw := &hwStamps{log: log}
	for _, want := range names {
		for _, ifi := range all {
			wildcard := want == "*"
			if ifi.Name != want && !(wildcard && ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0) {
				continue
			}
			hi, err := enableHW(fd, ifi)
			if err != nil {
				if wildcard {
					log.Debug("no hardware timestamps", "interface", ifi.Name, "err", err)
				} else {
					log.Warn("no hardware timestamps; software ones are used", "interface", ifi.Name, "err", err)
				}
				continue
			}
			log.Info("hardware timestamps on", "interface", hi.name, "receive", hi.rx)
			hw.ifs = append(hw.ifs, hi)
		}
		if want != "*" && !hasInterface(all, want) {
			log.Warn("no hardware timestamps: no such interface", "interface", want)
		}
	}
	if len(hw.ifs) == 0 {
		return nil
	}
	return hw
}

func hasInterface(all []net.Interface, name string) bool {
	for _, ifi := range all {
		if ifi.Name == name {
			return true
		}
	}
	return false
}

// enableHW checks what ifi's card offers, switches its timestamps on and
// opens its clock.
func enableHW(fd int, ifi net.Interface) (*hwIface, error) {
	info, err := unix.IoctlGetEthtoolTsInfo(fd, ifi.Name)
	if err != nil {
		return nil, fmt.Errorf("ETHTOOL_GET_TS_INFO: %w", err)
	}
	const need = unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RAW_HARDWARE
	if info.So_timestamping&need != need || info.Tx_types&(1<<unix.HWTSTAMP_TX_ON) == 0 {
		return nil, fmt.Errorf("the card does not stamp transmissions (capabilities %#x)", info.So_timestamping)
	}
	if info.Phc_index < 0 {
		return nil, fmt.Errorf("the card has no clock to read its timestamps against")
	}
	cfg := unix.HwTstampConfig{Tx_type: unix.HWTSTAMP_TX_ON, Rx_filter: unix.HWTSTAMP_FILTER_NONE}
	if info.So_timestamping&unix.SOF_TIMESTAMPING_RX_HARDWARE != 0 {
		switch {
		case info.Rx_filters&(1<<unix.HWTSTAMP_FILTER_ALL) != 0:
			cfg.Rx_filter = unix.HWTSTAMP_FILTER_ALL
		case info.Rx_filters&(1<<unix.HWTSTAMP_FILTER_NTP_ALL) != 0:
			cfg.Rx_filter = unix.HWTSTAMP_FILTER_NTP_ALL
		}
	}
	if err := unix.IoctlSetHwTstamp(fd, ifi.Name, &cfg); err != nil {
		return nil, fmt.Errorf("SIOCSHWTSTAMP (needs CAP_NET_ADMIN): %w", err)
	}
	dev := fmt.Sprintf("/dev/ptp%d", info.Phc_index)
	ptp, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	return &hwIface{name: ifi.Name, index: int32(ifi.Index), rx: cfg.Rx_filter != unix.HWTSTAMP_FILTER_NONE, ptpFd: ptp}, nil
}

// rx reports whether any interface stamps requests.
func (hw *hwStamps) rx() bool {
	for _, hi := range hw.ifs {
		if hi.rx {
			return true
		}
	}
	return false
}

// socketFlags are the SO_TIMESTAMPING flags of a worker's socket: report
// raw hardware and software timestamps, stamp arrivals in hardware where
// the card can, and give error-queue messages their packet info (the
// interface a reply left by).
func (hw *hwStamps) socketFlags() int {
	f := unix.SOF_TIMESTAMPING_RAW_HARDWARE | unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_OPT_CMSG
	if hw.rx() {
		f |= unix.SOF_TIMESTAMPING_RX_HARDWARE
	}
	return f
}

// toSys converts a raw hardware timestamp of interface ifindex (0: unknown,
// then only a single interface can be meant) to the system clock.
func (hw *hwStamps) toSys(ifindex int32, raw time.Time) (time.Time, bool) {
	var hi *hwIface
	for _, h := range hw.ifs {
		if h.index == ifindex || (ifindex == 0 && len(hw.ifs) == 1) {
			hi = h
			break
		}
	}
	if hi == nil {
		return time.Time{}, false
	}
	ns, ok := hi.clock.toSys(raw.UnixNano())
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// run reads every card's clock against the system clock, four times a
// second at first and then once a second, until ctx is done; then it
// closes the clocks.
func (hw *hwStamps) run(ctx context.Context) {
	defer hw.close()
	failed := make([]bool, len(hw.ifs))
	for n := 0; ; n++ {
		for i, hi := range hw.ifs {
			if failed[i] {
				continue
			}
			if err := hi.sample(); err != nil {
				hw.log.Warn("cannot read the card's clock; its timestamps are not used", "interface", hi.name, "err", err)
				failed[i] = true
			}
		}
		wait := time.Second
		if n < 8 {
			wait = 250 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// sample takes one pair of readings of the card's clock and the system
// clock: of several, the one read in the shortest window.
func (hi *hwIface) sample() error {
	if ext, err := unix.IoctlPtpSysOffsetExtended(hi.ptpFd, 9); err == nil && ext.Samples > 0 {
		best := int64(-1)
		var phc, sys int64
		for i := range min(int(ext.Samples), len(ext.Ts)) {
			before, dev, after := ext.Ts[i][0], ext.Ts[i][1], ext.Ts[i][2]
			b := before.Sec*1e9 + int64(before.Nsec)
			a := after.Sec*1e9 + int64(after.Nsec)
			if w := a - b; w >= 0 && (best < 0 || w < best) {
				best, phc, sys = w, dev.Sec*1e9+int64(dev.Nsec), b+w/2
			}
		}
		if best >= 0 {
			hi.clock.add(phc, sys)
			return nil
		}
	}
	p, err := unix.IoctlPtpSysOffsetPrecise(hi.ptpFd)
	if err != nil {
		return fmt.Errorf("PTP_SYS_OFFSET_EXTENDED and _PRECISE: %w", err)
	}
	hi.clock.add(p.Device.Sec*1e9+int64(p.Device.Nsec), p.Realtime.Sec*1e9+int64(p.Realtime.Nsec))
	return nil
}

// close closes the cards' clocks.
func (hw *hwStamps) close() {
	for _, hi := range hw.ifs {
		unix.Close(hi.ptpFd)
	}
}
