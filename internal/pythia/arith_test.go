package pythia

import (
	"crypto/rand"
	"math/big"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Tests of the constant-time arithmetic against gnark-crypto's (variable-time)
// reference operations.

func randFp(t testing.TB) fp.Element {
	var e fp.Element
	if _, err := e.SetRandom(); err != nil {
		t.Fatal(err)
	}
	return e
}

func fpEdgeValues() []fp.Element {
	var zero, one, pm1, pm2, half fp.Element
	one.SetOne()
	pm1.Neg(&one)
	pm2.Sub(&pm1, &one)
	half.SetBigInt(new(big.Int).Rsh(fp.Modulus(), 1))
	// Raw limb patterns just below p, to exercise the reductions.
	raw := fp.Element{p0 - 1, p1, p2, p3, p4, p5}
	raw2 := fp.Element{0, 0, 0, 0, 0, p5}
	return []fp.Element{zero, one, pm1, pm2, half, raw, raw2}
}

func TestFpHelpers(t *testing.T) {
	vals := fpEdgeValues()
	for i := 0; i < 200; i++ {
		vals = append(vals, randFp(t))
	}
	for i := range vals {
		for j := range vals {
			if i > 20 && j > 20 && (i+j)%7 != 0 {
				continue
			}
			x, y := &vals[i], &vals[j]
			var got, want fp.Element
			fpAdd(&got, x, y)
			want.Add(x, y)
			if got != want {
				t.Fatalf("fpAdd(%v, %v) = %v, want %v", x, y, got.String(), want.String())
			}
			fpSub(&got, x, y)
			want.Sub(x, y)
			if got != want {
				t.Fatalf("fpSub(%v, %v) = %v, want %v", x, y, got.String(), want.String())
			}
		}
		var got, want, twelve fp.Element
		twelve.SetUint64(12)
		fpMul12(&got, &vals[i])
		want.Mul(&vals[i], &twelve)
		if got != want {
			t.Fatalf("fpMul12 wrong for %v", vals[i].String())
		}
		fpInvCT(&got, &vals[i])
		want.Inverse(&vals[i])
		if got != want {
			t.Fatalf("fpInvCT wrong for %v", vals[i].String())
		}
	}
}

func TestFpRSquareRaw(t *testing.T) {
	r2 := new(big.Int).Lsh(big.NewInt(1), 768)
	r2.Mod(r2, fp.Modulus())
	var raw fp.Element
	for i := 0; i < 6; i++ {
		raw[i] = new(big.Int).Rsh(r2, uint(64*i)).Uint64()
	}
	if raw != fpRSquareRaw {
		t.Fatal("fpRSquareRaw is not R² mod p")
	}
	want := new(big.Int).Sub(fp.Modulus(), big.NewInt(2))
	var got big.Int
	for i := 5; i >= 0; i-- {
		got.Lsh(&got, 64)
		got.Or(&got, new(big.Int).SetUint64(fpPMinus2[i]))
	}
	if got.Cmp(want) != 0 {
		t.Fatal("fpPMinus2 is not p−2")
	}
}

func TestFpFromDigest(t *testing.T) {
	p := fp.Modulus()
	var digests [][48]byte
	add := func(v *big.Int) {
		var d [48]byte
		v.FillBytes(d[:])
		digests = append(digests, d)
	}
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 384), big.NewInt(1))
	add(big.NewInt(0))
	add(max)
	for k := int64(1); k <= 9; k++ {
		kp := new(big.Int).Mul(p, big.NewInt(k))
		add(kp)
		add(new(big.Int).Sub(kp, big.NewInt(1)))
		add(new(big.Int).Add(kp, big.NewInt(1)))
	}
	for i := 0; i < 100; i++ {
		var d [48]byte
		if _, err := rand.Read(d[:]); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	for _, d := range digests {
		got := fpFromDigest(&d)
		want := new(big.Int).SetBytes(d[:])
		want.Mod(want, p)
		var w fp.Element
		w.SetBigInt(want)
		if got != w {
			t.Fatalf("fpFromDigest(%x) = %s, want %s", d, got.String(), w.String())
		}
	}
}

// randG1 returns a random point of G1.
func randG1(t testing.TB) bls12381.G1Affine {
	var s fr.Element
	if _, err := s.SetRandom(); err != nil {
		t.Fatal(err)
	}
	var a bls12381.G1Affine
	a.ScalarMultiplicationBase(s.BigInt(new(big.Int)))
	return a
}

// randNonG1 returns a random point of E(Fp) outside G1, with components both
// in G1 and in the cofactor part (a random x with x³+4 a square).
func randNonG1(t testing.TB) bls12381.G1Affine {
	var a bls12381.G1Affine
	var rhs, four fp.Element
	four.SetUint64(4)
	for {
		a.X = randFp(t)
		rhs.Square(&a.X).Mul(&rhs, &a.X).Add(&rhs, &four)
		if a.Y.Sqrt(&rhs) != nil {
			break
		}
	}
	if !a.IsOnCurve() || a.IsInSubGroup() {
		t.Fatal("random curve point in G1 or off the curve")
	}
	return a
}

func projEqualAffine(p *g1Proj, a *bls12381.G1Affine) bool {
	got, ok := p.toAffine()
	if !ok {
		return a.IsInfinity()
	}
	return got.Equal(a)
}

func TestG1CompleteFormulas(t *testing.T) {
	var id g1Proj
	id.setIdentity()
	points := []bls12381.G1Affine{randG1(t), randG1(t), randNonG1(t), randNonG1(t)}
	for _, a := range points {
		for _, b := range points {
			var pa, pb, r g1Proj
			pa.fromAffine(&a)
			pb.fromAffine(&b)
			g1Add(&r, &pa, &pb)
			var want bls12381.G1Jac
			var wa bls12381.G1Affine
			want.FromAffine(&a)
			var jb bls12381.G1Jac
			jb.FromAffine(&b)
			want.AddAssign(&jb)
			wa.FromJacobian(&want)
			if !projEqualAffine(&r, &wa) {
				t.Fatal("g1Add differs from gnark")
			}
		}
		var pa, r g1Proj
		pa.fromAffine(&a)
		g1Double(&r, &pa)
		var want bls12381.G1Affine
		want.Double(&a)
		if !projEqualAffine(&r, &want) {
			t.Fatal("g1Double differs from gnark")
		}
		g1Add(&r, &pa, &pa) // complete: P+P through the addition formula
		if !projEqualAffine(&r, &want) {
			t.Fatal("g1Add(P, P) != 2P")
		}
		g1Add(&r, &pa, &id)
		if !projEqualAffine(&r, &a) {
			t.Fatal("P + O != P")
		}
		var neg bls12381.G1Affine
		neg.Neg(&a)
		var pn g1Proj
		pn.fromAffine(&neg)
		g1Add(&r, &pa, &pn)
		if !r.z.IsZero() {
			t.Fatal("P + (−P) != O")
		}
	}
	var r g1Proj
	g1Double(&r, &id)
	if !r.z.IsZero() {
		t.Fatal("2·O != O")
	}
	g1Add(&r, &id, &id)
	if !r.z.IsZero() {
		t.Fatal("O + O != O")
	}
}

// naiveMul multiplies with gnark's Jacobian double-and-add (valid for any
// point of E(Fp), unlike its GLV ScalarMultiplication).
func naiveMul(a *bls12381.G1Affine, k *big.Int) bls12381.G1Affine {
	var acc, base bls12381.G1Jac
	acc.Set(&bls12381.G1Jac{})
	acc.X.SetOne()
	acc.Y.SetOne() // (1:1:0) is gnark's Jacobian infinity
	base.FromAffine(a)
	for i := k.BitLen() - 1; i >= 0; i-- {
		acc.DoubleAssign()
		if k.Bit(i) == 1 {
			acc.AddAssign(&base)
		}
	}
	var out bls12381.G1Affine
	out.FromJacobian(&acc)
	return out
}

func limbs(k *big.Int) ([]uint64, int) {
	n := (k.BitLen() + 63) / 64
	if n == 0 {
		n = 1
	}
	l := make([]uint64, n)
	for i := range l {
		l[i] = new(big.Int).Rsh(k, uint(64*i)).Uint64()
	}
	return l, 64 * n
}

func TestG1ScalarMul(t *testing.T) {
	q := fr.Modulus()
	scalars := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(15), big.NewInt(16),
		new(big.Int).Sub(q, big.NewInt(1)), q,
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)),
	}
	for i := 0; i < 10; i++ {
		k, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 256))
		scalars = append(scalars, k)
	}
	points := []bls12381.G1Affine{randG1(t), randNonG1(t)}
	for _, a := range points {
		for _, k := range scalars {
			var pa, r g1Proj
			pa.fromAffine(&a)
			l, n := limbs(k)
			g1ScalarMul(&r, &pa, l, n)
			want := naiveMul(&a, k)
			if !projEqualAffine(&r, &want) {
				t.Fatalf("g1ScalarMul(%x) differs (in G1: %v)", k, a.IsInSubGroup())
			}
			if a.IsInSubGroup() {
				var g bls12381.G1Affine
				g.ScalarMultiplication(&a, k)
				if !projEqualAffine(&r, &g) {
					t.Fatalf("g1ScalarMul(%x) differs from gnark GLV", k)
				}
			}
		}
	}
}

// TestGnarkPitfalls documents why hashToG1 cannot use gnark's shortcuts.
func TestGnarkPitfalls(t *testing.T) {
	// The try-and-increment point before cofactor clearing for the worked
	// example: h₁·P (RELIC) differs from gnark's ClearCofactor (1−x)·P.
	pre := randNonG1(t)
	var gnarkCleared bls12381.G1Affine
	gnarkCleared.ClearCofactor(&pre)
	h1 := new(big.Int).SetUint64(0x396c8c005555e156)
	h1.Lsh(h1, 64).Or(h1, new(big.Int).SetUint64(0x8c00aaab0000aaab))
	want := naiveMul(&pre, h1)
	var pp, r g1Proj
	pp.fromAffine(&pre)
	g1ScalarMul(&r, &pp, h1Limbs, 128)
	if !projEqualAffine(&r, &want) {
		t.Fatal("h₁ multiplication wrong")
	}
	if gnarkCleared.Equal(&want) {
		t.Fatal("gnark's ClearCofactor unexpectedly equals h₁·P")
	}
	if want.IsInfinity() || !want.IsInSubGroup() || !gnarkCleared.IsInSubGroup() {
		t.Fatal("cofactor clearing did not land in G1")
	}
}

func randGT(t testing.TB) bls12381.GT {
	a := randG1(t)
	_, _, _, g2 := bls12381.Generators()
	y, err := bls12381.Pair([]bls12381.G1Affine{a}, []bls12381.G2Affine{g2})
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestGTExpCT(t *testing.T) {
	q := fr.Modulus()
	exps := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(15), big.NewInt(16),
		new(big.Int).Sub(q, big.NewInt(1)),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)),
	}
	for i := 0; i < 6; i++ {
		k, _ := rand.Int(rand.Reader, q)
		exps = append(exps, k)
	}
	y := randGT(t)
	for _, k := range exps {
		var kl [4]uint64
		for i := range kl {
			kl[i] = new(big.Int).Rsh(k, uint(64*i)).Uint64()
		}
		var got, want bls12381.GT
		gtExpCT(&got, &y, &kl)
		want.Exp(y, k)
		if !got.Equal(&want) {
			t.Fatalf("gtExpCT(%x) differs from gnark Exp", k)
		}
	}
}

func TestGTEncodingRoundTrip(t *testing.T) {
	for i := 0; i < 20; i++ {
		y := randGT(t)
		enc := encodeGT(&y)
		got, err := decodeGT("seed", enc[:])
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(&y) {
			t.Fatal("decodeGT(encodeGT(y)) != y")
		}
	}
}

// TestKarabinaBranches exercises both decompression formulas directly. The
// g3 = 0 branch is unreachable from the wire (g3 = 0 means 96 zero bytes,
// which the zero-byte rule rejects first), and no cyclotomic element with
// g3 = 0 is known to us; the test checks the formula's algebra and that such
// inputs never panic.
func TestKarabinaBranches(t *testing.T) {
	// g3 ≠ 0 branch: recompute a real element's g0 and g4.
	y := randGT(t)
	c := y
	c.C0.B0.SetZero()
	c.C1.B1.SetZero()
	if !karabinaDecompress(&c) || !c.Equal(&y) {
		t.Fatal("Karabina decompression (g3 ≠ 0) does not recover the element")
	}
	// g3 = 0 branch: g4 = 2·g1·g5/g2, g0 = ξ(2g4² − 3g1g2) + 1.
	var e bls12381.GT
	e.C0.B1.MustSetRandom()
	e.C0.B2.MustSetRandom()
	e.C1.B2.MustSetRandom()
	if !karabinaDecompress(&e) {
		t.Fatal("g3 = 0, g2 ≠ 0 reported as undefined")
	}
	var g4 bls12381.E2
	g4.Mul(&e.C0.B1, &e.C1.B2).Double(&g4)
	var check bls12381.E2
	check.Mul(&e.C1.B1, &e.C0.B2)
	if !check.Equal(&g4) {
		t.Fatal("g3 = 0 branch: g4·g2 != 2·g1·g5")
	}
	var g0, t1, t2 bls12381.E2
	t1.Square(&e.C1.B1).Double(&t1)
	t2.Mul(&e.C0.B1, &e.C0.B2)
	t1.Sub(&t1, &t2).Sub(&t1, &t2).Sub(&t1, &t2)
	g0.MulByNonResidue(&t1)
	g0.A0.Add(&g0.A0, new(fp.Element).SetOne())
	if !g0.Equal(&e.C0.B0) {
		t.Fatal("g3 = 0 branch: wrong g0")
	}
	// Such a random element is not cyclotomic.
	if e.IsInSubGroup() {
		t.Fatal("random g3 = 0 element unexpectedly in GT")
	}
	// g3 = g2 = 0: undefined.
	var z bls12381.GT
	z.C0.B1.MustSetRandom()
	if karabinaDecompress(&z) {
		t.Fatal("g3 = g2 = 0 accepted")
	}
}
