package gcmstream

import (
	"crypto/aes"
	mrand "math/rand/v2"
	"testing"
)

// refMul is SP 800-38D Algorithm 1, bit by bit, straight from the standard
// (variable time; reference only).
func refMul(x, y elem) elem {
	const r = 0xe1 << 56
	var z elem
	v := y
	for i := 0; i < 128; i++ {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		if bit == 1 {
			z = z.xor(v)
		}
		lsb := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi >>= 1
		if lsb == 1 {
			v.hi ^= r
		}
	}
	return z
}

// bitSerialMul is a second, table-free and MUL-free multiplier (constant
// time with masks), structured differently from refMul: it walks y's bits
// from x^127 down with Horner's rule, multiplying the accumulator by x.
func bitSerialMul(x, y elem) elem {
	var z elem
	for i := 127; i >= 0; i-- {
		// z = z·x (a right shift in reflected order, then reduce).
		carry := z.lo & 1
		z.lo = z.lo>>1 | z.hi<<63
		z.hi = z.hi>>1 ^ (-carry & (0xe1 << 56))
		var bit uint64
		if i < 64 {
			bit = y.hi >> (63 - i) & 1
		} else {
			bit = y.lo >> (127 - i) & 1
		}
		m := -bit
		z.hi ^= x.hi & m
		z.lo ^= x.lo & m
	}
	return z
}

func randElem(rng *mrand.Rand) elem { return elem{rng.Uint64(), rng.Uint64()} }

var one = elem{1 << 63, 0}

func gfEdgeCases() []elem {
	return []elem{
		{}, one, {0, 1}, {1, 0}, {0, 1 << 63},
		{^uint64(0), ^uint64(0)}, {^uint64(0), 0}, {0, ^uint64(0)},
		{0x8000000000000000, 0x8000000000000001},
		{0xe100000000000000, 0},
	}
}

func TestGFMultipliersAgree(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 1))
	edges := gfEdgeCases()
	check := func(x, y elem) {
		want := refMul(x, y)
		if got := gfMul(x, y); got != want {
			t.Fatalf("gfMul(%x, %x) = %x, want %x", x, y, got, want)
		}
		if got := bitSerialMul(x, y); got != want {
			t.Fatalf("bitSerialMul(%x, %x) = %x, want %x", x, y, got, want)
		}
	}
	for _, x := range edges {
		for _, y := range edges {
			check(x, y)
		}
		for i := 0; i < 50; i++ {
			y := randElem(rng)
			check(x, y)
			check(y, x)
		}
	}
	for i := 0; i < 20000; i++ {
		check(randElem(rng), randElem(rng))
	}
	if gfMul(one, elem{123, 456}) != (elem{123, 456}) {
		t.Fatal("1 is not the identity")
	}
}

func TestGFSqr(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(2, 2))
	for _, x := range gfEdgeCases() {
		if gfSqr(x) != refMul(x, x) {
			t.Fatalf("gfSqr(%x) wrong", x)
		}
	}
	for i := 0; i < 20000; i++ {
		x := randElem(rng)
		if got, want := gfSqr(x), refMul(x, x); got != want {
			t.Fatalf("gfSqr(%x) = %x, want %x", x, got, want)
		}
	}
}

// powRef is square-and-multiply with refMul.
func powRef(x elem, e [2]uint64) elem { // e = {high word, low word}
	r := one
	for w := 0; w < 2; w++ {
		for i := 63; i >= 0; i-- {
			r = refMul(r, r)
			if e[w]>>i&1 == 1 {
				r = refMul(r, x)
			}
		}
	}
	return r
}

func TestGFInv(t *testing.T) {
	if gfInv(elem{}) != (elem{}) {
		t.Fatal("gfInv(0) != 0")
	}
	rng := mrand.New(mrand.NewPCG(3, 3))
	xs := gfEdgeCases()[1:]
	for i := 0; i < 300; i++ {
		xs = append(xs, randElem(rng))
	}
	for i, x := range xs {
		inv := gfInv(x)
		if p := gfMul(x, inv); p != one {
			t.Fatalf("x·gfInv(x) = %x for x = %x", p, x)
		}
		if i < 30 {
			// x^(2^128 − 2) by plain square-and-multiply.
			if want := powRef(x, [2]uint64{^uint64(0), ^uint64(1)}); inv != want {
				t.Fatalf("gfInv(%x) = %x, square-and-multiply %x", x, inv, want)
			}
		}
	}
}

func TestPowTable(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(4, 4))
	h := randElem(rng)
	var pt powTable
	pt.init(h)
	// Small exponents by repeated multiplication.
	acc := h
	for n := uint64(1); n <= 300; n++ {
		if got := pt.pow(n); got != acc {
			t.Fatalf("pow(%d) wrong", n)
		}
		acc = refMul(acc, h)
	}
	// Large exponents against square-and-multiply, in random order so the
	// lazy table is filled out of order.
	for _, n := range []uint64{1 << 31, 4096, 1<<32 - 2, 12345, 1<<32 - 1, 65536} {
		if got, want := pt.pow(n), powRef(h, [2]uint64{0, n}); got != want {
			t.Fatalf("pow(%d) = %x, want %x", n, got, want)
		}
	}
}

// TestGHASHMatchesOracle checks the bit order and the oracle relation: a
// pure-Go GHASH (Horner with gfMul) of random AAD equals the Y(X)·H derived
// from the assembly Seal.
func TestGHASHMatchesOracle(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 5))
	for i := 0; i < 500; i++ {
		key := make([]byte, 32)
		fillRand(rng, key)
		nonce := make([]byte, 12)
		fillRand(rng, nonce)
		x := make([]byte, rng.IntN(200))
		fillRand(rng, x)

		var c core
		if err := c.init(key, nonce, x); err != nil {
			t.Fatal(err)
		}
		c.start() // c.t = Y(x)·H via the oracle

		block, _ := aes.NewCipher(key)
		var hb [16]byte
		block.Encrypt(hb[:], hb[:])
		h := loadElem(hb[:])
		var y elem
		for off := 0; off < len(x); off += 16 {
			var blk [16]byte
			copy(blk[:], x[off:])
			y = gfMul(y.xor(loadElem(blk[:])), h)
		}
		// y is Y(x); the oracle gives Y(x)·H.
		if want := gfMul(y, h); c.t != want {
			t.Fatalf("case %d (len %d): oracle %x, pure Go %x", i, len(x), c.t, want)
		}
		if c.h != h {
			t.Fatal("H mismatch")
		}
	}
}

func fillRand(rng *mrand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

func BenchmarkGF(b *testing.B) {
	rng := mrand.New(mrand.NewPCG(6, 6))
	x, y := randElem(rng), randElem(rng)
	b.Run("mul-ctmul64", func(b *testing.B) {
		for b.Loop() {
			x = gfMul(x, y)
		}
	})
	b.Run("mul-bitserial", func(b *testing.B) {
		for b.Loop() {
			x = bitSerialMul(x, y)
		}
	})
	b.Run("sqr", func(b *testing.B) {
		for b.Loop() {
			x = gfSqr(x)
		}
	})
	b.Run("inv", func(b *testing.B) {
		for b.Loop() {
			x = gfInv(x)
		}
	})
}
