package pps

// On 64-bit targets the request codes carry an 8-byte size: 0x0008 << 16.
var kernelPPSABI = kernelABI{getParams: 0x800870a1, setParams: 0x400870a2, getCap: 0x800870a3, fetch: 0xc00870a4}
