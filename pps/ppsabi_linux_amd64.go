package pps

// ptrSize is sizeof(void *) in the kernel ABI for amd64: the PPS ioctl
// request codes encode it (see ppsabi_linux.go).
const ptrSize = 8
