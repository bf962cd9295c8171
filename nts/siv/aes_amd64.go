//go:build !purego

package siv

import "golang.org/x/sys/cpu"

// hasAESNI reports whether the AES-128 halves of a key run on the
// assembly in aes_amd64.s; otherwise crypto/aes serves them.
var hasAESNI = cpu.X86.HasAES

// expandKey128 writes the eleven round keys of a 16-byte AES key.
//
//go:noescape
func expandKey128(key *byte, rk *roundKeys)

// encryptBlocks encrypts the n blocks starting at b in place.
//
//go:noescape
func encryptBlocks(rk *roundKeys, b *block, n int)

// absorb2 runs two CBC-MAC chains: x1 absorbs n1 blocks from p1, x2 n2
// blocks from p2.
//
//go:noescape
func absorb2(rk *roundKeys, x1 *block, p1 *byte, n1 int, x2 *block, p2 *byte, n2 int)
