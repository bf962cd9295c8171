package lab

import "fmt"

// Problems lists what in r misses the lab's pass criteria for a column
// that must run green: it locked and relocked, stayed within maxNs of
// truth after lock, the kernel and the host-side client saw it
// synchronised, and for stratum1 the unit was active with no permission
// error in its journal.
func (r Result) Problems(maxNs float64) []string {
	var p []string
	if r.Error != "" {
		p = append(p, r.Error)
	}
	if r.LockS < 0 {
		p = append(p, "never locked (error under 10 µs)")
	}
	if r.MaxNs > maxNs {
		p = append(p, fmt.Sprintf("max error after lock %.0f ns > %.0f ns", r.MaxNs, maxNs))
	}
	if r.RelockS < 0 {
		p = append(p, "not relocked after the restart")
	}
	if !r.KernelSynced {
		p = append(p, "kernel not synchronised (STA_UNSYNC) at the end")
	}
	if r.HostStratum != 1 {
		p = append(p, fmt.Sprintf("host-side query saw stratum %d, want 1", r.HostStratum))
	}
	if !r.HostChronydOK {
		p = append(p, "host-side chronyd -Q got no measurement")
	}
	if r.Name == "stratum1" {
		if !r.SystemdActive {
			p = append(p, "stratum1.service not active")
		}
		if r.PermErrors > 0 {
			p = append(p, fmt.Sprintf("%d permission errors in the journal", r.PermErrors))
		}
	}
	return p
}
