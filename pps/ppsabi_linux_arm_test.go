package pps

// On arm the request codes carry a 4-byte size: 0x0004 << 16.
var kernelPPSABI = kernelABI{getParams: 0x800470a1, setParams: 0x400470a2, getCap: 0x800470a3, fetch: 0xc00470a4}
