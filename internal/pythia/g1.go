package pythia

import (
	"crypto/sha512"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// G1Size is the length of a G1 point in RELIC's packed form: the blinded
// password and the transformation public key.
const G1Size = 49

// h1Limbs is the full G1 cofactor h₁ = (x−1)²/3 = 0x396c8c005555e1568c00aaab0000aaab
// (x the BLS parameter), little-endian. RELIC 0.4.x ep_map multiplies by it;
// gnark's G1 ClearCofactor multiplies by 1−x instead, which gives a different
// point.
var h1Limbs = []uint64{0x8c00aaab0000aaab, 0x396c8c005555e156}

// g1Proj is a point of E: y² = x³ + 4 over Fp in homogeneous projective
// coordinates (X:Y:Z), x = X/Z, y = Y/Z, identity (0:1:0). It can hold any
// point of E(Fp), inside G1 or not.
//
// Its arithmetic uses the complete formulas of Renes, Costello and Batina
// (Eurocrypt 2016, algorithms 7 and 9 for a = 0): no exceptional cases, no
// branches, the same sequence of field operations for every input. E(Fp) has
// odd order (h₁·q, both odd), so they are complete on the whole curve.
type g1Proj struct {
	x, y, z fp.Element
}

func (p *g1Proj) setIdentity() {
	p.x.SetZero()
	p.y.SetOne()
	p.z.SetZero()
}

func (p *g1Proj) fromAffine(a *bls12381.G1Affine) {
	if a.IsInfinity() {
		p.setIdentity()
		return
	}
	p.x = a.X
	p.y = a.Y
	p.z.SetOne()
}

// toAffine returns the affine point and false for the identity. The inversion
// is constant time (Fermat) because the coordinates may derive from secrets.
func (p *g1Proj) toAffine() (bls12381.G1Affine, bool) {
	var a bls12381.G1Affine
	if p.z.IsZero() {
		return a, false
	}
	var zi fp.Element
	fpInvCT(&zi, &p.z)
	a.X.Mul(&p.x, &zi)
	a.Y.Mul(&p.y, &zi)
	return a, true
}

// g1Add sets r = p + q (complete; r may alias p or q).
func g1Add(r, p, q *g1Proj) {
	var t0, t1, t2, t3, t4, x3, y3, z3 fp.Element
	t0.Mul(&p.x, &q.x)
	t1.Mul(&p.y, &q.y)
	t2.Mul(&p.z, &q.z)
	fpAdd(&t3, &p.x, &p.y)
	fpAdd(&t4, &q.x, &q.y)
	t3.Mul(&t3, &t4)
	fpAdd(&t4, &t0, &t1)
	fpSub(&t3, &t3, &t4)
	fpAdd(&t4, &p.y, &p.z)
	fpAdd(&x3, &q.y, &q.z)
	t4.Mul(&t4, &x3)
	fpAdd(&x3, &t1, &t2)
	fpSub(&t4, &t4, &x3)
	fpAdd(&x3, &p.x, &p.z)
	fpAdd(&y3, &q.x, &q.z)
	x3.Mul(&x3, &y3)
	fpAdd(&y3, &t0, &t2)
	fpSub(&y3, &x3, &y3)
	fpAdd(&x3, &t0, &t0)
	fpAdd(&t0, &x3, &t0)
	fpMul12(&t2, &t2)
	fpAdd(&z3, &t1, &t2)
	fpSub(&t1, &t1, &t2)
	fpMul12(&y3, &y3)
	x3.Mul(&t4, &y3)
	t2.Mul(&t3, &t1)
	fpSub(&x3, &t2, &x3)
	y3.Mul(&y3, &t0)
	t1.Mul(&t1, &z3)
	fpAdd(&y3, &t1, &y3)
	t0.Mul(&t0, &t3)
	z3.Mul(&z3, &t4)
	fpAdd(&z3, &z3, &t0)
	r.x, r.y, r.z = x3, y3, z3
}

// g1Double sets r = 2p (complete; r may alias p).
func g1Double(r, p *g1Proj) {
	var t0, t1, t2, x3, y3, z3 fp.Element
	t0.Square(&p.y)
	fpAdd(&z3, &t0, &t0)
	fpAdd(&z3, &z3, &z3)
	fpAdd(&z3, &z3, &z3)
	t1.Mul(&p.y, &p.z)
	t2.Square(&p.z)
	fpMul12(&t2, &t2)
	x3.Mul(&t2, &z3)
	fpAdd(&y3, &t0, &t2)
	z3.Mul(&t1, &z3)
	fpAdd(&t1, &t2, &t2)
	fpAdd(&t2, &t1, &t2)
	fpSub(&t0, &t0, &t2)
	y3.Mul(&t0, &y3)
	fpAdd(&y3, &x3, &y3)
	t1.Mul(&p.x, &p.y)
	x3.Mul(&t0, &t1)
	fpAdd(&x3, &x3, &x3)
	r.x, r.y, r.z = x3, y3, z3
}

// g1ScalarMul sets r = k·p where k is given as little-endian 64-bit limbs and
// nbits (a multiple of 4, at most 64·len(k)) bounds its length. It uses a fixed
// 4-bit window: the table is read with a constant-time scan and every window
// costs four doublings and one complete addition, so neither the sequence of
// operations nor the memory accessed depends on k or p. Works for any point of
// E(Fp), in G1 or not (unlike gnark's GLV multiplication, which assumes G1).
func g1ScalarMul(r, p *g1Proj, k []uint64, nbits int) {
	var table [16]g1Proj
	table[0].setIdentity()
	table[1] = *p
	for i := 2; i < 16; i++ {
		if i%2 == 0 {
			g1Double(&table[i], &table[i/2])
		} else {
			g1Add(&table[i], &table[i-1], p)
		}
	}
	var acc, sel g1Proj
	acc.setIdentity()
	for w := nbits/4 - 1; w >= 0; w-- {
		g1Double(&acc, &acc)
		g1Double(&acc, &acc)
		g1Double(&acc, &acc)
		g1Double(&acc, &acc)
		bit := 4 * w
		idx := int((k[bit/64] >> uint(bit%64)) & 0xf)
		sel.setIdentity()
		for i := 1; i < 16; i++ {
			c := ctEqInt(i, idx)
			fpSelect(&sel.x, c, &table[i].x)
			fpSelect(&sel.y, c, &table[i].y)
			fpSelect(&sel.z, c, &table[i].z)
		}
		g1Add(&acc, &acc, &sel)
	}
	*r = acc
}

// hashToG1 is RELIC 0.4.x ep_map with MD_MAP = SHA-384 on BLS12-381:
//
//	x = SHA-384(msg) mod p
//	while x³+4 is not a square: x = x+1
//	y = (x³+4)^((p+1)/4)   (no sign normalisation)
//	return h₁·(x, y)       (the full G1 cofactor)
//
// The number of increments (0–8 observed) depends on msg and so does the
// running time of the loop: that is inherent in the scheme. The digest
// reduction, the square roots and the cofactor multiplication run in time
// independent of msg.
func hashToG1(msg []byte) g1Proj {
	d := sha512.Sum384(msg)
	x := fpFromDigest(&d)
	var four, one fp.Element
	four.SetUint64(4)
	one.SetOne()
	var t, y fp.Element
	for {
		t.Square(&x)
		t.Mul(&t, &x)
		fpAdd(&t, &t, &four)
		if y.Sqrt(&t) != nil {
			break
		}
		fpAdd(&x, &x, &one)
	}
	pre := g1Proj{x: x, y: y}
	pre.z.SetOne()
	var out g1Proj
	g1ScalarMul(&out, &pre, h1Limbs, 128)
	return out
}

// encodeG1 writes a (non-identity) affine point in RELIC's packed form:
// (0x02 | b) ‖ x, x 48-byte big-endian canonical and b the parity of y's
// Montgomery representation (not of y itself: they differ about half the
// time).
func encodeG1(a *bls12381.G1Affine) [G1Size]byte {
	var out [G1Size]byte
	out[0] = 0x02 | montParity(&a.Y)
	x := a.X.Bytes()
	copy(out[1:], x[:])
	return out
}

// decodeG1 parses RELIC's packed G1 form strictly: exactly 49 bytes, flag
// 0x02 or 0x03, canonical x (< p), and x³+4 a square. The point is on the
// curve but may lie outside G1; callers that need G1 check it (see
// decodeBlinded). libpythia itself reduces a non-canonical x silently; this
// decoder rejects it.
func decodeG1(what string, b []byte) (bls12381.G1Affine, error) {
	var a bls12381.G1Affine
	if len(b) != G1Size {
		return a, inputErr(what, "want 49 bytes", ErrLength)
	}
	if b[0] != 0x02 && b[0] != 0x03 {
		return a, inputErr(what, "flag byte is not 0x02 or 0x03", ErrMalformed)
	}
	if err := a.X.SetBytesCanonical(b[1:]); err != nil {
		return a, inputErr(what, "x coordinate is not a canonical field element", ErrMalformed)
	}
	var t, four fp.Element
	four.SetUint64(4)
	t.Square(&a.X)
	t.Mul(&t, &a.X)
	t.Add(&t, &four)
	if a.Y.Sqrt(&t) == nil {
		return a, inputErr(what, "x coordinate of no curve point", ErrMalformed)
	}
	if montParity(&a.Y) != b[0]&1 {
		a.Y.Neg(&a.Y)
	}
	return a, nil
}

// decodeBlinded decodes a blinded password as the server must: decodeG1 plus
// membership of the prime-order subgroup G1.
func decodeBlinded(b []byte) (bls12381.G1Affine, error) {
	a, err := decodeG1("blinded point", b)
	if err != nil {
		return a, err
	}
	if !a.IsInSubGroup() {
		return a, inputErr("blinded point", "point is on the curve but not in G1", ErrNotInGroup)
	}
	return a, nil
}
