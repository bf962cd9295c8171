//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelABI holds linux/pps.h's numbers for one GOARCH, worked out by hand
// from _IOR/_IOW/_IOWR with the architecture's pointer size; the
// ppsabi_linux_<arch>_test.go files fill it.
type kernelABI struct {
	getParams, setParams, getCap, fetch uintptr
}

func TestPPSABI(t *testing.T) {
	want := kernelPPSABI
	for _, tc := range []struct {
		name      string
		got, want uintptr
		xsys      uintptr
	}{
		{"PPS_GETPARAMS", ppsGetParams, want.getParams, unix.PPS_GETPARAMS},
		{"PPS_SETPARAMS", ppsSetParams, want.setParams, unix.PPS_SETPARAMS},
		{"PPS_GETCAP", ppsGetCap, want.getCap, unix.PPS_GETCAP},
		{"PPS_FETCH", ppsFetch, want.fetch, unix.PPS_FETCH},
	} {
		if tc.got != tc.want || tc.got != tc.xsys {
			t.Errorf("%s = %#x, want %#x (x/sys/unix says %#x)", tc.name, tc.got, tc.want, tc.xsys)
		}
	}
	// Sizes and offsets of the C structures, the same on arm EABI, arm64 and amd64.
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(pps_ktime)", unsafe.Sizeof(ppsKTime{}), 16},
		{"pps_ktime.nsec", unsafe.Offsetof(ppsKTime{}.Nsec), 8},
		{"pps_ktime.flags", unsafe.Offsetof(ppsKTime{}.Flags), 12},
		{"sizeof(pps_kinfo)", unsafe.Sizeof(ppsKInfo{}), 48},
		{"pps_kinfo.clear_sequence", unsafe.Offsetof(ppsKInfo{}.ClearSequence), 4},
		{"pps_kinfo.assert_tu", unsafe.Offsetof(ppsKInfo{}.AssertTu), 8},
		{"pps_kinfo.clear_tu", unsafe.Offsetof(ppsKInfo{}.ClearTu), 24},
		{"pps_kinfo.current_mode", unsafe.Offsetof(ppsKInfo{}.CurrentMode), 40},
		{"sizeof(pps_kparams)", unsafe.Sizeof(ppsKParams{}), 40},
		{"pps_kparams.assert_off_tu", unsafe.Offsetof(ppsKParams{}.AssertOffTu), 8},
		{"pps_kparams.clear_off_tu", unsafe.Offsetof(ppsKParams{}.ClearOffTu), 24},
		{"sizeof(pps_fdata)", unsafe.Sizeof(ppsFData{}), 64},
		{"pps_fdata.timeout", unsafe.Offsetof(ppsFData{}.Timeout), 48},
		{"x/sys sizeof(pps_fdata)", unsafe.Sizeof(unix.PPSFData{}), 64},
		{"pointer size", unsafe.Sizeof(uintptr(0)), ptrSize},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
