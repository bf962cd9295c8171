//go:build !amd64 || purego

package siv

// hasAESNI is false: crypto/aes serves every key (with its own assembly
// where the platform has one).
const hasAESNI = false

func expandKey128(key *byte, rk *roundKeys)        { panic("siv: no AES-NI") }
func encryptBlocks(rk *roundKeys, b *block, n int) { panic("siv: no AES-NI") }
func absorb2(rk *roundKeys, x1 *block, p1 *byte, n1 int, x2 *block, p2 *byte, n2 int) {
	panic("siv: no AES-NI")
}
