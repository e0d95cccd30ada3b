package gcmstream

import (
	"encoding/binary"
	"math/bits"
)

// elem is an element of GF(2^128) in GCM's bit order (SP 800-38D §6.3): the
// 16-byte block b is read as two big-endian words, hi = b[0:8], lo = b[8:16],
// and the most significant bit of hi is the coefficient of x^0, the least
// significant bit of lo the coefficient of x^127. The field polynomial is
// x^128 + x^7 + x^2 + x + 1.
//
// Every operation below is constant time: no branch and no memory index
// depends on an operand. The multiplier relies on the 64×64→64 integer
// multiplication being constant time, which holds on amd64 and arm64 server
// and desktop cores.
type elem struct{ hi, lo uint64 }

func loadElem(b []byte) elem {
	_ = b[15]
	return elem{binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e elem) put(b []byte) {
	_ = b[15]
	binary.BigEndian.PutUint64(b[0:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

func (e elem) xor(f elem) elem { return elem{e.hi ^ f.hi, e.lo ^ f.lo} }

// lengthBlock returns the GHASH length block [a]₆₄ ‖ [b]₆₄ (values in bits).
func lengthBlock(a, b uint64) elem { return elem{a, b} }

// bmul64 returns the low 64 bits of the carry-less (GF(2)[x]) product of x
// and y, in constant time, using only integer multiplications.
//
// This is the "ctmul64" technique published by Thomas Pornin in BearSSL
// (src/hash/ghash_ctmul64.c, described in BearSSL's "Constant-Time
// Mul" notes): each operand is split into four masks that keep every fourth
// bit, so that in each of the 16 integer products the partial sums at the
// kept positions never exceed 15 below bit 64 and the carries land only in
// the "holes" between them, which are masked off afterwards. This is our own
// Go implementation of that published description.
func bmul64(x, y uint64) uint64 {
	const (
		m0 = 0x1111111111111111
		m1 = 0x2222222222222222
		m2 = 0x4444444444444444
		m3 = 0x8888888888888888
	)
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1)
	z1 := (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2)
	z2 := (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3)
	z3 := (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0)
	return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3)
}

// gfMul returns x·y in GF(2^128), constant time (BearSSL ctmul64 technique,
// see bmul64).
//
// The 128-bit operands are multiplied as bit-reflected integers with one
// Karatsuba level (three 64×64 carry-less products). bmul64 only yields the
// low half of a 64×64 product; the high half comes from the same routine on
// bit-reversed operands, since rev(x)·rev(y) = rev₁₂₇(x·y): reversing the low
// half of that product gives bits 63..126 of x·y, hence the ">> 1". The
// 255-bit result of multiplying reflected values is then shifted left once
// and reduced modulo x^128 + x^7 + x^2 + x + 1 (in reflected order,
// multiplying by x is a right shift).
func gfMul(x, y elem) elem {
	x1, x0 := x.hi, x.lo
	y1, y0 := y.hi, y.lo
	x2, y2 := x0^x1, y0^y1
	x0r, x1r, x2r := bits.Reverse64(x0), bits.Reverse64(x1), bits.Reverse64(x2)
	y0r, y1r, y2r := bits.Reverse64(y0), bits.Reverse64(y1), bits.Reverse64(y2)

	z0 := bmul64(x0, y0)
	z1 := bmul64(x1, y1)
	z2 := bmul64(x2, y2)
	z0h := bmul64(x0r, y0r)
	z1h := bmul64(x1r, y1r)
	z2h := bmul64(x2r, y2r)
	// Karatsuba middle term: (x0+x1)(y0+y1) - x0y0 - x1y1.
	z2 ^= z0 ^ z1
	z2h ^= z0h ^ z1h
	z0h = bits.Reverse64(z0h) >> 1
	z1h = bits.Reverse64(z1h) >> 1
	z2h = bits.Reverse64(z2h) >> 1

	// 256-bit product v3:v2:v1:v0 (v3 most significant).
	v0 := z0
	v1 := z0h ^ z2
	v2 := z1 ^ z2h
	v3 := z1h
	return reduce(v0, v1, v2, v3)
}

// reduce takes the 255-bit carry-less product of two reflected elements
// (v3 most significant), shifts it left by one bit to realign the reflected
// representation, and reduces it modulo the GCM polynomial.
func reduce(v0, v1, v2, v3 uint64) elem {
	v3 = v3<<1 | v2>>63
	v2 = v2<<1 | v1>>63
	v1 = v1<<1 | v0>>63
	v0 <<= 1

	// v0 holds the coefficients of x^192..x^255 and v1 those of
	// x^128..x^191 (reflected). x^(128+k) = x^k·(1 + x + x^2 + x^7): fold v0
	// into v2 (bits shifted out to the right spill into v1), then v1 into v3
	// and v2.
	v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7)
	v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57)
	v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7)
	v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57)
	return elem{v3, v2}
}

// spread32 interleaves zeros into x: bit i of x moves to bit 2i.
func spread32(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// gfSqr returns x² in GF(2^128), constant time. Squaring is linear in
// characteristic 2: the carry-less square of a polynomial just spreads its
// bits, so no multiplication is needed before the reduction.
func gfSqr(x elem) elem {
	v3 := spread32(uint32(x.hi >> 32))
	v2 := spread32(uint32(x.hi))
	v1 := spread32(uint32(x.lo >> 32))
	v0 := spread32(uint32(x.lo))
	return reduce(v0, v1, v2, v3)
}

// gfSqrN returns x^(2^n).
func gfSqrN(x elem, n int) elem {
	for range n {
		x = gfSqr(x)
	}
	return x
}

// gfInv returns x^(2^128−2), which is x⁻¹ for x ≠ 0 and 0 for x = 0, with
// the Itoh–Tsujii addition chain: b(k) = x^(2^k − 1) satisfies
// b(2k) = b(k)^(2^k)·b(k) and b(k+1) = b(k)²·x, and 1→2→3→6→7→14→15→30→31→
// 62→63→126→127 reaches b(127) in 126 squarings and 12 multiplications; one
// more squaring gives x^(2^128−2). The chain is fixed, so the inversion is
// constant time.
func gfInv(x elem) elem {
	b := gfMul(gfSqr(x), x) // b(2)
	b = gfMul(gfSqr(b), x)  // b(3)
	b = gfMul(gfSqrN(b, 3), b)
	b = gfMul(gfSqr(b), x) // b(7)
	b = gfMul(gfSqrN(b, 7), b)
	b = gfMul(gfSqr(b), x) // b(15)
	b = gfMul(gfSqrN(b, 15), b)
	b = gfMul(gfSqr(b), x) // b(31)
	b = gfMul(gfSqrN(b, 31), b)
	b = gfMul(gfSqr(b), x) // b(63)
	b = gfMul(gfSqrN(b, 63), b)
	b = gfMul(gfSqr(b), x) // b(127)
	return gfSqr(b)
}

// powTable lazily holds H^(2^i), so that H^n for a public block count n
// costs popcount(n)−1 multiplications (none for power-of-two chunk sizes).
type powTable struct {
	p [32]elem // p[i] = H^(2^i); block counts are below 2^32
	n int      // entries filled
}

func (t *powTable) init(h elem) {
	t.p[0] = h
	t.n = 1
}

// pow returns H^n for 1 ≤ n < 2^32. n is public (a length), so branching on
// its bits is fine; the secret H only flows through constant-time
// arithmetic.
func (t *powTable) pow(n uint64) elem {
	var r elem
	have := false
	for i := 0; n != 0; i++ {
		if i >= t.n {
			t.p[i] = gfSqr(t.p[i-1])
			t.n = i + 1
		}
		if n&1 != 0 {
			if have {
				r = gfMul(r, t.p[i])
			} else {
				r, have = t.p[i], true
			}
		}
		n >>= 1
	}
	return r
}

func (t *powTable) clear() {
	clear(t.p[:])
	t.n = 0
}
