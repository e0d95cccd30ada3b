package pythia

import (
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// SeedSize is the length of a GT element in RELIC's packed form: the server's
// seed and the deblinded value u.
const SeedSize = 384

// maxSeedZeroBytes is libpythia's sanity rule for packed GT input: a buffer
// with more zero bytes than this is rejected.
const maxSeedZeroBytes = 24

// GT elements are a = C0 + C1·w with C0 = (B0, B1, B2), C1 = (B0, B1, B2) over
// Fp2 (Fp2 = Fp[i]/(i²+1), Fp6 = Fp2[v]/(v³−(1+i)), Fp12 = Fp6[w]/(w²−v)).
// RELIC's tower is exactly gnark's E12, so RELIC a[j][k] is gnark Cj.Bk.
//
// The packed form keeps a[0][1], a[0][2], a[1][0], a[1][2] — gnark C0.B1,
// C0.B2, C1.B0, C1.B2 — each Fp2 written c0 ‖ c1, each Fp 48-byte big-endian
// canonical. The two dropped coefficients are recovered by Karabina
// decompression. This is not gnark's GT.Bytes (576 bytes, another order).

// packedCoeffs lists the four kept Fp2 coefficients of a in wire order.
func packedCoeffs(a *bls12381.GT) [4]*bls12381.E2 {
	return [4]*bls12381.E2{&a.C0.B1, &a.C0.B2, &a.C1.B0, &a.C1.B2}
}

// encodeGT writes a cyclotomic GT element in RELIC's packed form.
func encodeGT(a *bls12381.GT) [SeedSize]byte {
	var out [SeedSize]byte
	for i, c := range packedCoeffs(a) {
		b0 := c.A0.Bytes()
		b1 := c.A1.Bytes()
		copy(out[96*i:], b0[:])
		copy(out[96*i+48:], b1[:])
	}
	return out
}

// decodeGT parses and fully validates a packed GT element:
//
//   - exactly 384 bytes;
//   - at most 24 zero bytes (libpythia's rule; honest seeds never come close);
//   - eight canonical field elements (< p);
//   - Karabina decompression is defined (not g3 = g2 = 0);
//   - the result lies in the order-q subgroup GT of the cyclotomic subgroup
//     and is not the identity.
//
// The input is public (it travels over the network), so nothing here needs to
// be constant time.
func decodeGT(what string, b []byte) (bls12381.GT, error) {
	var a bls12381.GT
	if len(b) != SeedSize {
		return a, inputErr(what, "want 384 bytes", ErrLength)
	}
	zeros := 0
	for _, v := range b {
		if v == 0 {
			zeros++
		}
	}
	if zeros > maxSeedZeroBytes {
		return a, inputErr(what, "more than 24 zero bytes", ErrMalformed)
	}
	for i, c := range packedCoeffs(&a) {
		if c.A0.SetBytesCanonical(b[96*i:96*i+48]) != nil ||
			c.A1.SetBytesCanonical(b[96*i+48:96*i+96]) != nil {
			return a, inputErr(what, "coefficient is not a canonical field element", ErrMalformed)
		}
	}
	if !karabinaDecompress(&a) {
		return a, inputErr(what, "not a compressed cyclotomic element", ErrNotInGroup)
	}
	if a.IsOne() {
		return a, inputErr(what, "identity element", ErrNotInGroup)
	}
	if !a.IsInSubGroup() {
		return a, inputErr(what, "not in GT", ErrNotInGroup)
	}
	return a, nil
}

// karabinaDecompress recovers g0 = C0.B0 and g4 = C1.B1 from g1 = C0.B1,
// g2 = C0.B2, g3 = C1.B0 and g5 = C1.B2 (ξ = 1+i), as RELIC's fp12_back_cyc:
//
//	g3 ≠ 0:  g4 = (ξ·g5² + 3·g1² − 2·g2) / (4·g3)
//	g3 = 0:  g4 = 2·g1·g5 / g2
//	g0 = ξ·(2·g4² + g3·g5 − 3·g1·g2) + 1
//
// It reports false when g3 = g2 = 0 (no cyclotomic element other than the
// identity compresses that way, and the identity is not a valid seed).
// gnark's DecompressKarabina tests C1.B2 for zero but divides by C1.B0 (an
// edge case of probability about 2^-760, but a wrong one), hence this version.
func karabinaDecompress(a *bls12381.GT) bool {
	g1, g2, g3, g5 := &a.C0.B1, &a.C0.B2, &a.C1.B0, &a.C1.B2
	var num, den, t bls12381.E2
	if !g3.IsZero() {
		t.Square(g1)          // g1²
		num.Double(&t)        // 2·g1²
		num.Add(&num, &t)     // 3·g1²
		t.Double(g2)          // 2·g2
		num.Sub(&num, &t)     // 3·g1² − 2·g2
		t.Square(g5)          // g5²
		t.MulByNonResidue(&t) // ξ·g5²
		num.Add(&num, &t)
		den.Double(g3)
		den.Double(&den) // 4·g3
	} else {
		if g2.IsZero() {
			return false
		}
		num.Mul(g1, g5)
		num.Double(&num) // 2·g1·g5
		den.Set(g2)
	}
	g4 := &a.C1.B1
	g4.Inverse(&den)
	g4.Mul(g4, &num)

	var s, u bls12381.E2
	s.Square(g4)
	s.Double(&s) // 2·g4²
	u.Mul(g3, g5)
	s.Add(&s, &u) // + g3·g5
	u.Mul(g1, g2)
	t.Double(&u)
	t.Add(&t, &u) // 3·g1·g2
	s.Sub(&s, &t)
	s.MulByNonResidue(&s)
	var one fp.Element
	one.SetOne()
	s.A0.Add(&s.A0, &one)
	a.C0.B0 = s
	return true
}

// gtExpCT sets z = x^k for x in the cyclotomic subgroup and k given as four
// little-endian limbs (a value < 2^256). It uses a fixed 4-bit window: 64
// windows of four cyclotomic squarings and one multiplication by a table
// entry read with a constant-time scan, so neither the sequence of field
// operations nor the memory accessed depends on k. (gnark's CyclotomicExp and
// ExpGLV use NAF/GLV digits and branch on them.)
func gtExpCT(z, x *bls12381.GT, k *[4]uint64) {
	var table [16]bls12381.GT
	table[0].SetOne()
	table[1] = *x
	for i := 2; i < 16; i++ {
		if i%2 == 0 {
			table[i].CyclotomicSquare(&table[i/2])
		} else {
			table[i].Mul(&table[i-1], x)
		}
	}
	var acc, sel bls12381.GT
	acc.SetOne()
	for w := 63; w >= 0; w-- {
		acc.CyclotomicSquare(&acc)
		acc.CyclotomicSquare(&acc)
		acc.CyclotomicSquare(&acc)
		acc.CyclotomicSquare(&acc)
		bit := 4 * w
		idx := int((k[bit/64] >> uint(bit%64)) & 0xf)
		sel.SetOne()
		for i := 1; i < 16; i++ {
			sel.Select(ctEqInt(i, idx), &sel, &table[i])
		}
		acc.Mul(&acc, &sel)
	}
	*z = acc
}
