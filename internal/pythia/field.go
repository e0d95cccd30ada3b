package pythia

import (
	"crypto/subtle"
	"encoding/binary"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// This file holds the base-field helpers the RELIC-compatible code needs on
// top of gnark-crypto's fp.Element.
//
// gnark's fp.Element keeps values in Montgomery form with R = 2^384, fully
// reduced (< p). That is exactly RELIC 0.4.x's internal representation for
// this curve (FP_METHD with MONTY, 6×64 or 12×32 digits: R = 2^384 either
// way), so RELIC's "bit 0 of the internal value" is simply bit 0 of limb 0 of
// an fp.Element.
//
// gnark's Go Add/Sub/Double end with a data-dependent branch (conditional
// final subtraction). The helpers below are branch-free replacements used by
// the G1 arithmetic that touches secrets; Mul/Square come from gnark, whose
// amd64 assembly (ADX path) reduces with CMOV.

// p, the BLS12-381 base-field modulus, as little-endian 64-bit limbs.
const (
	p0 = 0xb9feffffffffaaab
	p1 = 0x1eabfffeb153ffff
	p2 = 0x6730d2a0f6b0f624
	p3 = 0x64774b84f38512bf
	p4 = 0x4b1ba7b6434bacd7
	p5 = 0x1a0111ea397fe69a
)

// fpRSquareRaw holds the raw limbs of R² mod p. Multiplying raw (non-Montgomery)
// canonical limbs by it with gnark's Montgomery Mul yields their Montgomery form.
var fpRSquareRaw = fp.Element{
	17644856173732828998,
	754043588434789617,
	10224657059481499349,
	7488229067341005760,
	11130996698012816685,
	1267921511277847466,
}

// fpPMinus2 holds p−2 as little-endian limbs: the exponent of the
// constant-time Fermat inversion.
var fpPMinus2 = [6]uint64{p0 - 2, p1, p2, p3, p4, p5}

// subP returns x − p and the borrow (1 if x < p).
func subP(x *[6]uint64) (d [6]uint64, borrow uint64) {
	d[0], borrow = bits.Sub64(x[0], p0, 0)
	d[1], borrow = bits.Sub64(x[1], p1, borrow)
	d[2], borrow = bits.Sub64(x[2], p2, borrow)
	d[3], borrow = bits.Sub64(x[3], p3, borrow)
	d[4], borrow = bits.Sub64(x[4], p4, borrow)
	d[5], borrow = bits.Sub64(x[5], p5, borrow)
	return d, borrow
}

// ctSelect6 returns a if mask is all ones and b if mask is zero.
func ctSelect6(mask uint64, a, b *[6]uint64) (z [6]uint64) {
	for i := range z {
		z[i] = b[i] ^ (mask & (a[i] ^ b[i]))
	}
	return z
}

// fpAdd sets z = x + y mod p without data-dependent branches.
// Inputs must be reduced (< p); so is the output.
func fpAdd(z, x, y *fp.Element) {
	var s [6]uint64
	var c uint64
	s[0], c = bits.Add64(x[0], y[0], 0)
	s[1], c = bits.Add64(x[1], y[1], c)
	s[2], c = bits.Add64(x[2], y[2], c)
	s[3], c = bits.Add64(x[3], y[3], c)
	s[4], c = bits.Add64(x[4], y[4], c)
	s[5], _ = bits.Add64(x[5], y[5], c) // p < 2^381: no carry out
	d, borrow := subP(&s)
	*z = ctSelect6(-borrow, &s, &d)
}

// fpSub sets z = x − y mod p without data-dependent branches.
func fpSub(z, x, y *fp.Element) {
	var d [6]uint64
	var b uint64
	d[0], b = bits.Sub64(x[0], y[0], 0)
	d[1], b = bits.Sub64(x[1], y[1], b)
	d[2], b = bits.Sub64(x[2], y[2], b)
	d[3], b = bits.Sub64(x[3], y[3], b)
	d[4], b = bits.Sub64(x[4], y[4], b)
	d[5], b = bits.Sub64(x[5], y[5], b)
	m := -b // all ones if x < y: add p back
	var c uint64
	z[0], c = bits.Add64(d[0], p0&m, 0)
	z[1], c = bits.Add64(d[1], p1&m, c)
	z[2], c = bits.Add64(d[2], p2&m, c)
	z[3], c = bits.Add64(d[3], p3&m, c)
	z[4], c = bits.Add64(d[4], p4&m, c)
	z[5], _ = bits.Add64(d[5], p5&m, c)
}

// fpMul12 sets z = 12·x mod p (12 = 3·b for b = 4, the curve constant that the
// complete formulas need).
func fpMul12(z, x *fp.Element) {
	var t2, t4, t8 fp.Element
	fpAdd(&t2, x, x)
	fpAdd(&t4, &t2, &t2)
	fpAdd(&t8, &t4, &t4)
	fpAdd(z, &t8, &t4)
}

// fpSelect sets z = a if c == 1 and leaves z unchanged if c == 0, in constant
// time.
func fpSelect(z *fp.Element, c int, a *fp.Element) {
	z.Select(c, z, a)
}

// fpPow sets z = x^e for a public exponent e (little-endian limbs) with a
// fixed square-and-multiply sequence; its timing does not depend on x.
func fpPow(z, x *fp.Element, e *[6]uint64) {
	var r fp.Element
	r.SetOne()
	started := false
	for i := 5; i >= 0; i-- {
		for j := 63; j >= 0; j-- {
			if started {
				r.Square(&r)
			}
			if (e[i]>>uint(j))&1 == 1 {
				r.Mul(&r, x)
				started = true
			}
		}
	}
	*z = r
}

// fpInvCT sets z = x^(p−2) = 1/x (0 for x = 0), with timing independent of x.
// gnark's Inverse is a variable-time binary GCD; this is used where the input
// derives from a secret.
func fpInvCT(z, x *fp.Element) {
	fpPow(z, x, &fpPMinus2)
}

// fpFromDigest interprets a 48-byte big-endian value (a SHA-384 digest),
// reduces it modulo p and returns it in Montgomery form. The reduction is a
// fixed sequence of nine conditional subtractions (2^384 < 10p), so its timing
// does not depend on the digest, which derives from the password.
func fpFromDigest(d *[48]byte) fp.Element {
	var v [6]uint64
	for i := 0; i < 6; i++ {
		v[i] = binary.BigEndian.Uint64(d[48-8*(i+1):])
	}
	for i := 0; i < 9; i++ {
		dd, borrow := subP(&v)
		v = ctSelect6(-borrow, &v, &dd)
	}
	e := fp.Element(v)
	e.Mul(&e, &fpRSquareRaw) // raw·R²·R⁻¹ = Montgomery form of v
	return e
}

// montParity returns RELIC's fp_get_bit(y, 0) for its Montgomery build: the
// least significant bit of y·2^384 mod p, i.e. of gnark's internal limbs.
func montParity(y *fp.Element) byte {
	return byte(y[0] & 1)
}

// ctEqInt returns 1 if a == b and 0 otherwise, in constant time.
func ctEqInt(a, b int) int {
	return subtle.ConstantTimeEq(int32(a), int32(b))
}
