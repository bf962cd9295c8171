//go:build linux && (arm || arm64 || amd64)

package pps

// The RFC 2783 kernel interface, from linux/pps.h. The structures have the
// same layout on arm (EABI), arm64 and amd64: __s64 is 8-byte aligned on all
// three in C. Go aligns int64 to 4 bytes on 32-bit arm, so ppsKInfo carries
// its trailing padding explicitly to keep sizeof(struct pps_kinfo) == 48.
// What differs is the ioctl request codes: pps.h declares them with pointer
// types (_IOR('p', 0xa1, struct pps_kparams *)), so their size field is the
// pointer size, 4 on arm and 8 on arm64 and amd64 (ptrSize, per GOARCH).

const (
	ppsAPIVers1 = 1

	ppsTimeInvalid = 1 << 0 // pps_ktime.flags: wait without timeout

	ppsCaptureAssert = 0x01
	ppsCaptureClear  = 0x02
	ppsCaptureBoth   = 0x03
	ppsOffsetAssert  = 0x10
	ppsOffsetClear   = 0x20
	ppsEchoAssert    = 0x40
	ppsEchoClear     = 0x80
	ppsCanWait       = 0x100
	ppsCanPoll       = 0x200
	ppsTSFmtTSpec    = 0x1000
	ppsTSFmtNTPFP    = 0x2000
)

// From asm-generic/ioctl.h, which arm, arm64 and amd64 all use.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<iocDirShift | typ<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

var (
	ppsGetParams = ioc(iocRead, 'p', 0xa1, ptrSize)
	ppsSetParams = ioc(iocWrite, 'p', 0xa2, ptrSize)
	ppsGetCap    = ioc(iocRead, 'p', 0xa3, ptrSize)
	ppsFetch     = ioc(iocRead|iocWrite, 'p', 0xa4, ptrSize)
)

type ppsKTime struct {
	Sec   int64
	Nsec  int32
	Flags uint32
}

type ppsKInfo struct {
	AssertSequence uint32
	ClearSequence  uint32
	AssertTu       ppsKTime
	ClearTu        ppsKTime
	CurrentMode    int32
	_              [4]byte
}

type ppsKParams struct {
	APIVersion  int32
	Mode        int32
	AssertOffTu ppsKTime
	ClearOffTu  ppsKTime
}

type ppsFData struct {
	Info    ppsKInfo
	Timeout ppsKTime
}
