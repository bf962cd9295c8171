package peer

import "time"

// arrival is T4: when a reply arrived, on the served clock. now is the
// served clock read after the read returned and sysNow the system clock
// read with it; kernel, when ok, is the kernel's receive stamp of the reply
// on the system clock. The served clock may be another clock (a simulated
// one), so the kernel stamp is used only as a correction: the time that
// passed on the system clock since the kernel took the datagram is taken
// off the served clock's reading. A correction that is negative or above
// limit means the system clock was stepped in between and is ignored.
func arrival(now, sysNow, kernel time.Time, ok bool, limit time.Duration) time.Time {
	if !ok {
		return now
	}
	late := sysNow.Sub(kernel)
	if late < 0 || late > limit {
		return now
	}
	return now.Add(-late)
}
