//go:build !purego

#include "textflag.h"

// AES-128 with AES-NI for the CMAC chains and counter blocks of SIV, the
// round keys held in X4..X14 for a whole call.

// EXPAND derives the next round key in X0 from the one in X0 and the
// AESKEYGENASSIST result in X1 (FIPS 197 section 5.2): the new first word
// is SubWord(RotWord(last word)) ^ rcon ^ the old first word, and each
// following word XORs in the new word before it, done here as a prefix
// XOR of the old key shifted by one, two and three words.
#define EXPAND(rcon, off) \
	AESKEYGENASSIST $rcon, X0, X1; \
	PSHUFD $0xff, X1, X1; \
	MOVOU X0, X2; \
	PSLLO $4, X2; \
	PXOR X2, X0; \
	PSLLO $4, X2; \
	PXOR X2, X0; \
	PSLLO $4, X2; \
	PXOR X2, X0; \
	PXOR X1, X0; \
	MOVUPS X0, off(BX)

// func expandKey128(key *byte, rk *roundKeys)
TEXT ·expandKey128(SB), NOSPLIT, $0-16
	MOVQ key+0(FP), AX
	MOVQ rk+8(FP), BX
	MOVUPS (AX), X0
	MOVUPS X0, 0(BX)
	EXPAND(0x01, 16)
	EXPAND(0x02, 32)
	EXPAND(0x04, 48)
	EXPAND(0x08, 64)
	EXPAND(0x10, 80)
	EXPAND(0x20, 96)
	EXPAND(0x40, 112)
	EXPAND(0x80, 128)
	EXPAND(0x1b, 144)
	EXPAND(0x36, 160)
	PXOR X0, X0
	PXOR X1, X1
	PXOR X2, X2
	RET

#define LOADKEYS(r) \
	MOVUPS 0(r), X4; \
	MOVUPS 16(r), X5; \
	MOVUPS 32(r), X6; \
	MOVUPS 48(r), X7; \
	MOVUPS 64(r), X8; \
	MOVUPS 80(r), X9; \
	MOVUPS 96(r), X10; \
	MOVUPS 112(r), X11; \
	MOVUPS 128(r), X12; \
	MOVUPS 144(r), X13; \
	MOVUPS 160(r), X14

// ROUNDS encrypts X in place (the first round key already XORed in).
#define ROUNDS(x) \
	AESENC X5, x; \
	AESENC X6, x; \
	AESENC X7, x; \
	AESENC X8, x; \
	AESENC X9, x; \
	AESENC X10, x; \
	AESENC X11, x; \
	AESENC X12, x; \
	AESENC X13, x; \
	AESENCLAST X14, x

// ROUNDS2 encrypts two blocks, their rounds interleaved so that one's
// instruction latency hides behind the other's.
#define ROUNDS2(a, b) \
	AESENC X5, a; AESENC X5, b; \
	AESENC X6, a; AESENC X6, b; \
	AESENC X7, a; AESENC X7, b; \
	AESENC X8, a; AESENC X8, b; \
	AESENC X9, a; AESENC X9, b; \
	AESENC X10, a; AESENC X10, b; \
	AESENC X11, a; AESENC X11, b; \
	AESENC X12, a; AESENC X12, b; \
	AESENC X13, a; AESENC X13, b; \
	AESENCLAST X14, a; AESENCLAST X14, b

#define ROUNDS4(a, b, c, d) \
	AESENC X5, a; AESENC X5, b; AESENC X5, c; AESENC X5, d; \
	AESENC X6, a; AESENC X6, b; AESENC X6, c; AESENC X6, d; \
	AESENC X7, a; AESENC X7, b; AESENC X7, c; AESENC X7, d; \
	AESENC X8, a; AESENC X8, b; AESENC X8, c; AESENC X8, d; \
	AESENC X9, a; AESENC X9, b; AESENC X9, c; AESENC X9, d; \
	AESENC X10, a; AESENC X10, b; AESENC X10, c; AESENC X10, d; \
	AESENC X11, a; AESENC X11, b; AESENC X11, c; AESENC X11, d; \
	AESENC X12, a; AESENC X12, b; AESENC X12, c; AESENC X12, d; \
	AESENC X13, a; AESENC X13, b; AESENC X13, c; AESENC X13, d; \
	AESENCLAST X14, a; AESENCLAST X14, b; AESENCLAST X14, c; AESENCLAST X14, d

// func encryptBlocks(rk *roundKeys, b *block, n int)
//
// encryptBlocks encrypts n consecutive blocks in place, four at a time.
TEXT ·encryptBlocks(SB), NOSPLIT, $0-24
	MOVQ rk+0(FP), AX
	MOVQ b+8(FP), BX
	MOVQ n+16(FP), CX
	LOADKEYS(AX)
quads:
	CMPQ CX, $4
	JB   pairs
	MOVUPS 0(BX), X0
	MOVUPS 16(BX), X1
	MOVUPS 32(BX), X2
	MOVUPS 48(BX), X3
	PXOR X4, X0
	PXOR X4, X1
	PXOR X4, X2
	PXOR X4, X3
	ROUNDS4(X0, X1, X2, X3)
	MOVUPS X0, 0(BX)
	MOVUPS X1, 16(BX)
	MOVUPS X2, 32(BX)
	MOVUPS X3, 48(BX)
	ADDQ $64, BX
	SUBQ $4, CX
	JMP  quads
pairs:
	CMPQ CX, $2
	JB   single
	MOVUPS 0(BX), X0
	MOVUPS 16(BX), X1
	PXOR X4, X0
	PXOR X4, X1
	ROUNDS2(X0, X1)
	MOVUPS X0, 0(BX)
	MOVUPS X1, 16(BX)
	ADDQ $32, BX
	SUBQ $2, CX
	JMP  pairs
single:
	TESTQ CX, CX
	JZ    done
	MOVUPS (BX), X0
	PXOR X4, X0
	ROUNDS(X0)
	MOVUPS X0, (BX)
done:
	RET

// func absorb2(rk *roundKeys, x1 *block, p1 *byte, n1 int, x2 *block, p2 *byte, n2 int)
//
// absorb2 runs two CBC-MAC chains: x1 absorbs the n1 blocks at p1 and x2
// the n2 blocks at p2, side by side while both have blocks.
TEXT ·absorb2(SB), NOSPLIT, $0-56
	MOVQ rk+0(FP), AX
	MOVQ x1+8(FP), BX
	MOVQ p1+16(FP), SI
	MOVQ n1+24(FP), CX
	MOVQ x2+32(FP), DX
	MOVQ p2+40(FP), DI
	MOVQ n2+48(FP), R8
	LOADKEYS(AX)
	MOVUPS (BX), X0
	MOVUPS (DX), X1
both:
	TESTQ CX, CX
	JZ    rest2
	TESTQ R8, R8
	JZ    rest1
	MOVUPS (SI), X2
	MOVUPS (DI), X3
	PXOR X2, X0
	PXOR X3, X1
	PXOR X4, X0
	PXOR X4, X1
	ROUNDS2(X0, X1)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	DECQ R8
	JMP  both
rest1:
	TESTQ CX, CX
	JZ    store
	MOVUPS (SI), X2
	PXOR X2, X0
	PXOR X4, X0
	ROUNDS(X0)
	ADDQ $16, SI
	DECQ CX
	JMP  rest1
rest2:
	TESTQ R8, R8
	JZ    store
	MOVUPS (DI), X3
	PXOR X3, X1
	PXOR X4, X1
	ROUNDS(X1)
	ADDQ $16, DI
	DECQ R8
	JMP  rest2
store:
	MOVUPS X0, (BX)
	MOVUPS X1, (DX)
	RET
