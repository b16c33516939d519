//go:build !purego

#include "textflag.h"

// AVX2 versions of the block kernels in kernels.go. Every routine works on whole vectors
// of 8 float32 (its Go wrapper passes a column count that is a positive multiple of 8 and
// finishes the tail), uses unaligned loads and stores, and performs exactly the float32
// operations of the Go loop in the same order (no FMA, no reassociation), so both paths
// give bit-identical results. Strides are in floats.

// ABSMASK sets Y15 to 0x7fffffff in every lane.
#define ABSMASK VPCMPEQD Y15, Y15, Y15; VPSRLD $1, Y15, Y15

// func maxAbsDiffAVX2(a, b *float32, sa, sb, rows, cols int, m uint32) uint32
TEXT ·maxAbsDiffAVX2(SB), NOSPLIT, $0-60
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ sa+16(FP), R8
	SHLQ $2, R8
	MOVQ sb+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+32(FP), R10
	MOVQ cols+40(FP), DX
	SHLQ $2, DX
	MOVL         m+48(FP), AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU Y0, Y1
	ABSMASK

mrow:
	TESTQ R10, R10
	JZ    mdone
	XORQ  CX, CX
	CMPQ  DX, $64
	JB    mcol8

mcol16:
	VMOVUPS 0(SI)(CX*1), Y2
	VMOVUPS 32(SI)(CX*1), Y3
	VSUBPS  0(DI)(CX*1), Y2, Y2
	VSUBPS  32(DI)(CX*1), Y3, Y3
	VPAND   Y15, Y2, Y2
	VPAND   Y15, Y3, Y3
	VPMAXUD Y2, Y0, Y0
	VPMAXUD Y3, Y1, Y1
	ADDQ    $64, CX
	LEAQ    64(CX), AX
	CMPQ    AX, DX
	JBE     mcol16
	CMPQ    CX, DX
	JAE     mnext

mcol8:
	VMOVUPS (SI)(CX*1), Y2
	VSUBPS  (DI)(CX*1), Y2, Y2
	VPAND   Y15, Y2, Y2
	VPMAXUD Y2, Y0, Y0
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      mcol8

mnext:
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ R10
	JMP  mrow

mdone:
	VPMAXUD      Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPMAXUD      X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+56(FP)
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, sd, sa, sb, rows, cols int)
TEXT ·addAVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ sd+24(FP), R9
	SHLQ $2, R9
	MOVQ sa+32(FP), R10
	SHLQ $2, R10
	MOVQ sb+40(FP), R11
	SHLQ $2, R11
	MOVQ rows+48(FP), R12
	MOVQ cols+56(FP), DX
	SHLQ $2, DX

arow:
	TESTQ R12, R12
	JZ    adone
	XORQ  CX, CX

acol:
	VMOVUPS (SI)(CX*1), Y0
	VADDPS  (R8)(CX*1), Y0, Y0
	VMOVUPS Y0, (DI)(CX*1)
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      acol
	ADDQ    R9, DI
	ADDQ    R10, SI
	ADDQ    R11, R8
	DECQ    R12
	JMP     arow

adone:
	VZEROUPPER
	RET

// Ops of meanAbsAVX2 and absAVX2: how e = |merged − image| (in Y0) enters dst.
// 0: dst = e; 1: dst = dst + e; 2: dst = (dst + e) / 3; 3: dst = max(dst, e) on bits.
#define OPSET VMOVUPS Y0, (DI)(CX*1)
#define OPADD VADDPS (DI)(CX*1), Y0, Y0; VMOVUPS Y0, (DI)(CX*1)
#define OPDIV3 VADDPS (DI)(CX*1), Y0, Y0; VDIVPS Y13, Y0, Y0; VMOVUPS Y0, (DI)(CX*1)
#define OPMAX VPMAXUD (DI)(CX*1), Y0, Y0; VMOVUPS Y0, (DI)(CX*1)

// MEANE sets Y0 = |(((p + q) + d) · 0.25) − im| for 8 columns at byte offset CX.
#define MEANE VMOVUPS (SI)(CX*1), Y0; VADDPS (R8)(CX*1), Y0, Y0; VADDPS (R9)(CX*1), Y0, Y0; VMULPS Y14, Y0, Y0; VSUBPS (R10)(CX*1), Y0, Y0; VPAND Y15, Y0, Y0

#define MEANROW ADDQ R11, DI; ADDQ R12, SI; ADDQ R13, R8; ADDQ R14, R9; ADDQ BX, R10; DECQ AX

#define MEANLOOP(row, col, op) \
	row: TESTQ AX, AX; JZ mabsdone; XORQ CX, CX; \
	col: MEANE; op; ADDQ $32, CX; CMPQ CX, DX; JB col; \
	MEANROW; JMP row

// func meanAbsAVX2(dst, p, q, d, im *float32, sd, sp, sq, sdd, si, rows, cols, op int)
TEXT ·meanAbsAVX2(SB), NOSPLIT, $0-104
	ABSMASK
	MOVL         $0x3e800000, AX // 0.25
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x40400000, AX // 3
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVQ         dst+0(FP), DI
	MOVQ         p+8(FP), SI
	MOVQ         q+16(FP), R8
	MOVQ         d+24(FP), R9
	MOVQ         im+32(FP), R10
	MOVQ         sd+40(FP), R11
	SHLQ         $2, R11
	MOVQ         sp+48(FP), R12
	SHLQ         $2, R12
	MOVQ         sq+56(FP), R13
	SHLQ         $2, R13
	MOVQ         sdd+64(FP), R14
	SHLQ         $2, R14
	MOVQ         si+72(FP), BX
	SHLQ         $2, BX
	MOVQ         rows+80(FP), AX
	MOVQ         cols+88(FP), DX
	SHLQ         $2, DX
	MOVQ         op+96(FP), CX
	CMPQ         CX, $1
	JEQ          madd
	CMPQ         CX, $2
	JEQ          mdiv3
	CMPQ         CX, $3
	JEQ          mmax
	MEANLOOP(mset, msetcol, OPSET)
	MEANLOOP(madd, maddcol, OPADD)
	MEANLOOP(mdiv3, mdiv3col, OPDIV3)
	MEANLOOP(mmax, mmaxcol, OPMAX)

mabsdone:
	VZEROUPPER
	RET

// ABSE sets Y0 = |src − im| for 8 columns at byte offset CX.
#define ABSE VMOVUPS (SI)(CX*1), Y0; VSUBPS (R10)(CX*1), Y0, Y0; VPAND Y15, Y0, Y0

#define ABSROW ADDQ R11, DI; ADDQ R12, SI; ADDQ BX, R10; DECQ AX

#define ABSLOOP(row, col, op) \
	row: TESTQ AX, AX; JZ absdone; XORQ CX, CX; \
	col: ABSE; op; ADDQ $32, CX; CMPQ CX, DX; JB col; \
	ABSROW; JMP row

// func absAVX2(dst, src, im *float32, sd, ss, si, rows, cols, op int)
TEXT ·absAVX2(SB), NOSPLIT, $0-72
	ABSMASK
	MOVL         $0x40400000, AX // 3
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         im+16(FP), R10
	MOVQ         sd+24(FP), R11
	SHLQ         $2, R11
	MOVQ         ss+32(FP), R12
	SHLQ         $2, R12
	MOVQ         si+40(FP), BX
	SHLQ         $2, BX
	MOVQ         rows+48(FP), AX
	MOVQ         cols+56(FP), DX
	SHLQ         $2, DX
	MOVQ         op+64(FP), CX
	CMPQ         CX, $1
	JEQ          aadd
	CMPQ         CX, $2
	JEQ          adiv3
	CMPQ         CX, $3
	JEQ          amax
	ABSLOOP(aset, asetcol, OPSET)
	ABSLOOP(aadd, aaddcol, OPADD)
	ABSLOOP(adiv3, adiv3col, OPDIV3)
	ABSLOOP(amax, amaxcol, OPMAX)

absdone:
	VZEROUPPER
	RET

// func blurHAVX2(dst, src *float32, n int, taps *float32, r int)
// dst[i] = taps[r]·src[i+r] + Σ_k taps[r+1+k]·(src[i+r−1−k] + src[i+r+1+k]), k = 0…r−1
// accumulated in that order, for i = 0…n−1.
TEXT ·blurHAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), DX
	SHLQ         $2, DX
	MOVQ         taps+24(FP), R8
	MOVQ         r+32(FP), R9
	VBROADCASTSS (R8)(R9*4), Y15
	XORQ         CX, CX

hout:
	LEAQ  (SI)(CX*1), R10
	VMULPS (R10)(R9*4), Y15, Y0
	LEAQ  -4(R10)(R9*4), R11
	LEAQ  4(R10)(R9*4), R12
	LEAQ  4(R8)(R9*4), R13
	MOVQ  R9, R14

htap:
	TESTQ        R14, R14
	JZ           hstore
	VMOVUPS      (R11), Y1
	VADDPS       (R12), Y1, Y1
	VBROADCASTSS (R13), Y2
	VMULPS       Y2, Y1, Y1
	VADDPS       Y1, Y0, Y0
	SUBQ         $4, R11
	ADDQ         $4, R12
	ADDQ         $4, R13
	DECQ         R14
	JMP          htap

hstore:
	VMOVUPS Y0, (DI)(CX*1)
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      hout
	VZEROUPPER
	RET

// func blurVAVX2(dst *float32, rows **float32, n int, taps *float32, r int)
// dst[i] = taps[r]·rows[0][i] + Σ_k taps[r+1+k]·(rows[1+2k][i] + rows[2+2k][i]), in that order.
TEXT ·blurVAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         rows+8(FP), SI
	MOVQ         n+16(FP), DX
	SHLQ         $2, DX
	MOVQ         taps+24(FP), R8
	MOVQ         r+32(FP), R9
	VBROADCASTSS (R8)(R9*4), Y15
	XORQ         CX, CX

vout:
	MOVQ   (SI), R10
	VMULPS (R10)(CX*1), Y15, Y0
	LEAQ   8(SI), R11
	LEAQ   4(R8)(R9*4), R13
	MOVQ   R9, R14

vtap:
	TESTQ        R14, R14
	JZ           vstore
	MOVQ         (R11), R10
	MOVQ         8(R11), R12
	VMOVUPS      (R10)(CX*1), Y1
	VADDPS       (R12)(CX*1), Y1, Y1
	VBROADCASTSS (R13), Y2
	VMULPS       Y2, Y1, Y1
	VADDPS       Y1, Y0, Y0
	ADDQ         $16, R11
	ADDQ         $4, R13
	DECQ         R14
	JMP          vtap

vstore:
	VMOVUPS Y0, (DI)(CX*1)
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      vout
	VZEROUPPER
	RET

// func rangeAVX2(v *float32, n int) (lo, hi float32)
// The smallest and largest of v[0…n−1], NaN ignored (+Inf, −Inf when all are NaN).
TEXT ·rangeAVX2(SB), NOSPLIT, $0-24
	MOVQ         v+0(FP), SI
	MOVQ         n+8(FP), DX
	SHLQ         $2, DX
	MOVL         $0x7f800000, AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	MOVL         $0xff800000, AX
	VMOVD        AX, X1
	VPBROADCASTD X1, Y1
	XORQ         CX, CX

rloop:
	VMOVUPS (SI)(CX*1), Y2
	VMINPS  Y0, Y2, Y0 // Y0 = Y2 < Y0 ? Y2 : Y0: a NaN in Y2 keeps Y0
	VMAXPS  Y1, Y2, Y1
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      rloop
	VEXTRACTF128 $1, Y0, X2
	VMINPS       X2, X0, X0
	VPSHUFD      $0x4e, X0, X2
	VMINPS       X2, X0, X0
	VPSHUFD      $0xb1, X0, X2
	VMINPS       X2, X0, X0
	VEXTRACTF128 $1, Y1, X2
	VMAXPS       X2, X1, X1
	VPSHUFD      $0x4e, X1, X2
	VMAXPS       X2, X1, X1
	VPSHUFD      $0xb1, X1, X2
	VMAXPS       X2, X1, X1
	VMOVSS       X0, lo+16(FP)
	VMOVSS       X1, hi+20(FP)
	VZEROUPPER
	RET

// func scaleAVX2(dst, src *float32, n int, lo, k float64, clamp bool)
// dst[i] = float32((float64(src[i]) − lo)·k), 4 at a time in float64; with clamp,
// float32(max(0, (float64(src[i]) − lo)·k)) as Go's max gives it: NaN stays NaN and −0
// becomes +0 (the +0 added after VMAXPD).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-41
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), DX
	SHLQ         $2, DX
	VBROADCASTSD lo+24(FP), Y14
	VBROADCASTSD k+32(FP), Y15
	VXORPD       Y13, Y13, Y13
	XORQ         CX, CX
	MOVBLZX      clamp+40(FP), AX
	TESTQ        AX, AX
	JNZ          cloop

sloop:
	VCVTPS2PD  (SI)(CX*1), Y0
	VCVTPS2PD  16(SI)(CX*1), Y1
	VSUBPD     Y14, Y0, Y0
	VSUBPD     Y14, Y1, Y1
	VMULPD     Y15, Y0, Y0
	VMULPD     Y15, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS    X0, (DI)(CX*1)
	VMOVUPS    X1, 16(DI)(CX*1)
	ADDQ       $32, CX
	CMPQ       CX, DX
	JB         sloop
	VZEROUPPER
	RET

cloop:
	VCVTPS2PD  (SI)(CX*1), Y0
	VCVTPS2PD  16(SI)(CX*1), Y1
	VSUBPD     Y14, Y0, Y0
	VSUBPD     Y14, Y1, Y1
	VMULPD     Y15, Y0, Y0
	VMULPD     Y15, Y1, Y1
	VMAXPD     Y0, Y13, Y0 // Y0 = 0 > Y0 ? 0 : Y0, NaN kept
	VMAXPD     Y1, Y13, Y1
	VADDPD     Y13, Y0, Y0 // −0 + 0 = +0
	VADDPD     Y13, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS    X0, (DI)(CX*1)
	VMOVUPS    X1, 16(DI)(CX*1)
	ADDQ       $32, CX
	CMPQ       CX, DX
	JB         cloop
	VZEROUPPER
	RET

// func copyAVX2(dst, src *float32, sd, ss, rows, cols int)
// Copies a rows × cols window (cols a multiple of 8) between strided slices.
TEXT ·copyAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ sd+16(FP), R8
	SHLQ $2, R8
	MOVQ ss+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+32(FP), R10
	MOVQ cols+40(FP), DX
	SHLQ $2, DX

crow:
	TESTQ R10, R10
	JZ    cdone
	XORQ  CX, CX
	CMPQ  DX, $128
	JB    ccol8

ccol32:
	VMOVUPS 0(SI)(CX*1), Y0
	VMOVUPS 32(SI)(CX*1), Y1
	VMOVUPS 64(SI)(CX*1), Y2
	VMOVUPS 96(SI)(CX*1), Y3
	VMOVUPS Y0, 0(DI)(CX*1)
	VMOVUPS Y1, 32(DI)(CX*1)
	VMOVUPS Y2, 64(DI)(CX*1)
	VMOVUPS Y3, 96(DI)(CX*1)
	ADDQ    $128, CX
	LEAQ    128(CX), AX
	CMPQ    AX, DX
	JBE     ccol32
	CMPQ    CX, DX
	JAE     cnext

ccol8:
	VMOVUPS (SI)(CX*1), Y0
	VMOVUPS Y0, (DI)(CX*1)
	ADDQ    $32, CX
	CMPQ    CX, DX
	JB      ccol8

cnext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R10
	JMP  crow

cdone:
	VZEROUPPER
	RET
