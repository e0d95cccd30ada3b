package pythia

import (
	"crypto/sha512"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// g2Size is the length of a G2 point in RELIC's packed form (libpythia's
// "transformed tweak", which BrainKey does not use; kept for the vectors).
const g2Size = 97

// fp2SqrtRelic is RELIC 0.4.x fp2_srt for Fp2 = Fp[i]/(i²+1), p ≡ 3 mod 4:
//
//	n = t0² + t1²; s = √n (fail if n is not a square)
//	a = (t0 + s)/2, or (t0 − s)/2 if the former is not a square
//	c0 = a^((p+1)/4); c1 = t1/(2·c0)
//
// It is only ever applied to public data (the tweak), so it is not constant
// time. It reports false when t is not a square.
func fp2SqrtRelic(t *bls12381.E2) (bls12381.E2, bool) {
	var r bls12381.E2
	var n, s, sq, a, c0, c1 fp.Element
	n.Square(&t.A0)
	sq.Square(&t.A1)
	n.Add(&n, &sq)
	if s.Sqrt(&n) == nil {
		return r, false
	}
	a.Add(&t.A0, &s)
	a.Halve()
	if c0.Sqrt(&a) == nil {
		a.Sub(&t.A0, &s)
		a.Halve()
		if c0.Sqrt(&a) == nil {
			return r, false
		}
	}
	if c0.IsZero() {
		// Only possible for t1 = 0, which never occurs in hashToG2 (t1 = 4).
		return r, false
	}
	c1.Double(&c0)
	c1.Inverse(&c1)
	c1.Mul(&c1, &t.A1)
	r.A0, r.A1 = c0, c1
	return r, true
}

// hashToG2 is RELIC 0.4.x ep2_map with SHA-384 on BLS12-381's M-type twist
// y² = x³ + 4(1+i):
//
//	x = (SHA-384(msg) mod p) + 0·i
//	while fp2SqrtRelic(x³ + 4(1+i)) fails: x = x + 1 (real part)
//	return ClearCofactor(x, y)
//
// RELIC clears the cofactor as [x²−x−1]P + [x−1]ψ(P) + ψ²(2P), which is what
// gnark's G2 ClearCofactor computes (multiplication by h_eff of RFC 9380).
// The tweak is public: nothing here needs to be constant time.
func hashToG2(msg []byte) bls12381.G2Affine {
	d := sha512.Sum384(msg)
	var x bls12381.E2
	x.A0 = fpFromDigest(&d)
	var b, t bls12381.E2
	b.A0.SetUint64(4)
	b.A1.SetUint64(4)
	var one fp.Element
	one.SetOne()
	var y bls12381.E2
	for {
		t.Square(&x)
		t.Mul(&t, &x)
		t.Add(&t, &b)
		var ok bool
		if y, ok = fp2SqrtRelic(&t); ok {
			break
		}
		x.A0.Add(&x.A0, &one)
	}
	q := bls12381.G2Affine{X: x, Y: y}
	q.ClearCofactor(&q)
	return q
}

// encodeG2 writes a non-identity G2 point in RELIC's packed form:
// (0x02 | montParity(y.c0)) ‖ x.c0 ‖ x.c1.
func encodeG2(q *bls12381.G2Affine) [g2Size]byte {
	var out [g2Size]byte
	out[0] = 0x02 | montParity(&q.Y.A0)
	x0 := q.X.A0.Bytes()
	x1 := q.X.A1.Bytes()
	copy(out[1:49], x0[:])
	copy(out[49:], x1[:])
	return out
}
