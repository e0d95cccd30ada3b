package pythia

import (
	"math/big"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Benchmarks. For comparison, brainkey.md §7 measured a research prototype on
// gnark-crypto v0.22.0 with variable-time scalar multiplication and
// exponentiation (2-vCPU AMD EPYC): client derivation 0.70 ms, server
// transform 0.90 ms; WASM libpythia: blind 8.9 ms, transform 27 ms, deblind
// 8.8 ms. The peer sub-benchmarks below put our constant-time scalar
// multiplication and GT exponentiation next to gnark's variable-time ones in
// the same run.

// BenchmarkClientDerivation is one client-side BrainKey derivation without the
// network: hash + blind + deblind (the deblind uses a fixed valid seed).
func BenchmarkClientDerivation(b *testing.B) {
	_, seed, _ := fixture(b)
	pwd := []byte("correct horse battery staple")
	for b.Loop() {
		_, s, err := Blind(pwd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Deblind(seed, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlind(b *testing.B) {
	pwd := []byte("correct horse battery staple")
	for b.Loop() {
		if _, _, err := Blind(pwd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeblind(b *testing.B) {
	_, seed, _ := fixture(b)
	_, s, err := Blind([]byte("pw"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Deblind(seed, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransform is one server answer: decode and check the blinded
// point, H₂(tweak), kw·x, pairing, encoding.
func BenchmarkTransform(b *testing.B) {
	key, _, blinded := fixture(b)
	tweak := []byte("user-identity-or-brainkey-id")
	for b.Loop() {
		if _, err := Transform(blinded, tweak, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashToG1(b *testing.B) {
	pwd := []byte("correct horse battery staple")
	for b.Loop() {
		hashToG1(pwd)
	}
}

func BenchmarkHashToG2(b *testing.B) {
	tweak := []byte("user-identity-or-brainkey-id")
	for b.Loop() {
		hashToG2(tweak)
	}
}

// BenchmarkG1ScalarMul: our constant-time fixed-window ladder (what Blind and
// Transform use) against gnark's variable-time GLV multiplication (the peer).
func BenchmarkG1ScalarMul(b *testing.B) {
	a := randG1(b)
	var k fr.Element
	k.MustSetRandom()
	kb := k.Bits()
	kbig := k.BigInt(new(big.Int))
	b.Run("constant-time", func(b *testing.B) {
		var p, r g1Proj
		p.fromAffine(&a)
		for b.Loop() {
			g1ScalarMul(&r, &p, kb[:], 256)
			r.toAffine()
		}
	})
	b.Run("gnark-GLV", func(b *testing.B) {
		var r bls12381.G1Affine
		for b.Loop() {
			r.ScalarMultiplication(&a, kbig)
		}
	})
}

// BenchmarkGTExp: our constant-time fixed-window exponentiation (what Deblind
// uses) against gnark's variable-time CyclotomicExp and ExpGLV (the peers).
func BenchmarkGTExp(b *testing.B) {
	y := randGT(b)
	var k fr.Element
	k.MustSetRandom()
	kb := k.Bits()
	kbig := k.BigInt(new(big.Int))
	var z bls12381.GT
	b.Run("constant-time", func(b *testing.B) {
		for b.Loop() {
			gtExpCT(&z, &y, &kb)
		}
	})
	b.Run("gnark-CyclotomicExp", func(b *testing.B) {
		for b.Loop() {
			z.CyclotomicExp(y, kbig)
		}
	})
	b.Run("gnark-ExpGLV", func(b *testing.B) {
		for b.Loop() {
			z.ExpGLV(y, kbig)
		}
	})
}

func BenchmarkPair(b *testing.B) {
	a := randG1(b)
	q := hashToG2([]byte("t"))
	for b.Loop() {
		if _, err := bls12381.Pair([]bls12381.G1Affine{a}, []bls12381.G2Affine{q}); err != nil {
			b.Fatal(err)
		}
	}
}
