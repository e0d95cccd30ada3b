package x25519

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// basepoint is the u-coordinate of the RFC 7748 base point.
var basepoint = [Size]byte{9}

func mustHex32(t testing.TB, s string) *[Size]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != Size {
		t.Fatalf("bad test hex %q", s)
	}
	return (*[Size]byte)(b)
}

// ecdhX25519 is the reference: crypto/ecdh with its own validation.
func ecdhX25519(t testing.TB, scalar, point *[Size]byte) ([]byte, error) {
	t.Helper()
	priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
	if err != nil {
		t.Fatalf("ecdh.NewPrivateKey: %v", err)
	}
	pub, err := ecdh.X25519().NewPublicKey(point[:])
	if err != nil {
		t.Fatalf("ecdh.NewPublicKey: %v", err)
	}
	return priv.ECDH(pub)
}

// checkAgainstECDH compares X25519 with crypto/ecdh, including the error
// outcome.
func checkAgainstECDH(t testing.TB, scalar, point *[Size]byte) {
	t.Helper()
	got, gotErr := X25519(scalar, point)
	want, wantErr := ecdhX25519(t, scalar, point)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("scalar %x point %x: error mismatch: ours %v, ecdh %v", scalar[:], point[:], gotErr, wantErr)
	}
	if gotErr != nil {
		if !errors.Is(gotErr, ErrLowOrder) {
			t.Fatalf("error %v is not ErrLowOrder", gotErr)
		}
		if got != ([Size]byte{}) {
			t.Fatalf("non-zero output %x with error", got[:])
		}
		return
	}
	if !bytes.Equal(got[:], want) {
		t.Fatalf("scalar %x point %x: got %x, ecdh %x", scalar[:], point[:], got[:], want)
	}
}

func TestRFC7748Section52(t *testing.T) {
	vectors := []struct{ scalar, u, out string }{
		{
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
		},
		{
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
		},
	}
	for i, v := range vectors {
		got, err := X25519(mustHex32(t, v.scalar), mustHex32(t, v.u))
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if hex.EncodeToString(got[:]) != v.out {
			t.Errorf("vector %d: got %x, want %s", i, got[:], v.out)
		}
		checkAgainstECDH(t, mustHex32(t, v.scalar), mustHex32(t, v.u))
	}
}

func TestRFC7748Iterations(t *testing.T) {
	// RFC 7748 §5.2: k = u = 9; repeatedly (k, u) = (X25519(k, u), k).
	k, u := basepoint, basepoint
	want := map[int]string{
		1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
		1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
	}
	for i := 1; i <= 1000; i++ {
		out, err := X25519(&k, &u)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		u, k = k, out
		if w, ok := want[i]; ok && hex.EncodeToString(k[:]) != w {
			t.Fatalf("after %d iterations: got %x, want %s", i, k[:], w)
		}
	}
}

func TestRFC7748Section61(t *testing.T) {
	alicePriv := mustHex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	alicePub := "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
	bobPriv := mustHex32(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	bobPub := "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
	shared := "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

	for _, tc := range []struct {
		priv *[Size]byte
		pub  string
	}{{alicePriv, alicePub}, {bobPriv, bobPub}} {
		if got := PublicKey(tc.priv); hex.EncodeToString(got[:]) != tc.pub {
			t.Errorf("PublicKey = %x, want %s", got[:], tc.pub)
		}
		if got, err := X25519(tc.priv, &basepoint); err != nil || hex.EncodeToString(got[:]) != tc.pub {
			t.Errorf("X25519(priv, 9) = %x, %v; want %s", got[:], err, tc.pub)
		}
	}
	s1, err1 := X25519(alicePriv, mustHex32(t, bobPub))
	s2, err2 := X25519(bobPriv, mustHex32(t, alicePub))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if hex.EncodeToString(s1[:]) != shared || s1 != s2 {
		t.Errorf("shared secrets %x / %x, want %s", s1[:], s2[:], shared)
	}
}

var (
	bigP   = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	bigA   = big.NewInt(486662)
	bigOne = big.NewInt(1)
)

func leToBig(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func bigToLE32(x *big.Int) [Size]byte {
	var out [Size]byte
	x.FillBytes(out[:])
	for i := 0; i < Size/2; i++ {
		out[i], out[Size-1-i] = out[Size-1-i], out[i]
	}
	return out
}

// onTwist reports whether u (bit 255 cleared, reduced) is the u-coordinate of
// a point on the quadratic twist rather than on Curve25519.
func onTwist(u *[Size]byte) bool {
	b := *u
	b[31] &= 0x7f
	x := new(big.Int).Mod(leToBig(b[:]), bigP)
	// rhs = u^3 + A u^2 + u
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	t := new(big.Int).Mul(x, x)
	t.Mul(t, bigA)
	rhs.Add(rhs, t)
	rhs.Add(rhs, x)
	rhs.Mod(rhs, bigP)
	return big.Jacobi(rhs, bigP) == -1
}

// lowOrderPoints are u-coordinates of small order (and their non-canonical
// encodings); crypto/ecdh and X25519 must reject all of them.
func lowOrderPoints(t testing.TB) []*[Size]byte {
	hexes := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0 (order 4... u=0 has order 2)
		"0100000000000000000000000000000000000000000000000000000000000000", // 1 (order 4)
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1 (order 2 on the twist)
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p ≡ 0
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 ≡ 1
	}
	var out []*[Size]byte
	for _, h := range hexes {
		p := mustHex32(t, h)
		out = append(out, p)
		q := *p
		q[31] |= 0x80 // bit 255 must be ignored
		out = append(out, &q)
	}
	return out
}

func TestLowOrderRejected(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, p := range lowOrderPoints(t) {
		for i := 0; i < 4; i++ {
			var s [Size]byte
			fillRand(rng, s[:])
			_, err := X25519(&s, p)
			if !errors.Is(err, ErrLowOrder) {
				t.Fatalf("point %x: err = %v, want ErrLowOrder", p[:], err)
			}
			checkAgainstECDH(t, &s, p)
		}
	}
}

func fillRand(rng *mrand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

func TestMatchesECDH(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := mrand.New(mrand.NewPCG(7, 11))
	var twist, curve, nonCanonical, highBit int
	for i := 0; i < n; i++ {
		var s, u [Size]byte
		fillRand(rng, s[:])
		switch i % 5 {
		case 0: // fully random 32 bytes, bit 255 random
			fillRand(rng, u[:])
		case 1: // honest peer public key
			var s2 [Size]byte
			fillRand(rng, s2[:])
			u = PublicKey(&s2)
		case 2: // non-canonical: p + r for small r, or 2^255-1
			r := rng.IntN(19)
			u = bigToLE32(new(big.Int).Add(bigP, big.NewInt(int64(r))))
			if rng.IntN(4) == 0 {
				u[31] |= 0x80
			}
		case 3: // random with bit 255 forced
			fillRand(rng, u[:])
			u[31] |= 0x80
		case 4: // random with bit 255 cleared
			fillRand(rng, u[:])
			u[31] &= 0x7f
		}
		if onTwist(&u) {
			twist++
		} else {
			curve++
		}
		if u[31]&0x80 != 0 {
			highBit++
		}
		b := u
		b[31] &= 0x7f
		if leToBig(b[:]).Cmp(bigP) >= 0 {
			nonCanonical++
		}
		checkAgainstECDH(t, &s, &u)
	}
	if twist < n/10 || curve < n/10 || nonCanonical < n/10 || highBit < n/10 {
		t.Fatalf("poor coverage: twist %d curve %d non-canonical %d high-bit %d", twist, curve, nonCanonical, highBit)
	}
}

func TestPublicKeyMatchesECDH(t *testing.T) {
	ell := mustHex32(t, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	ellMinus1 := *ell
	ellMinus1[0]--
	edges := []*[Size]byte{
		{},
		{1},
		{8},
		ell,
		&ellMinus1,
	}
	allFF := bytes.Repeat([]byte{0xff}, Size)
	edges = append(edges, (*[Size]byte)(allFF))
	var clampLow, clampHigh [Size]byte
	clampLow[0] = 7 // bits cleared by clamping only
	clampHigh[31] = 0x80
	edges = append(edges, &clampLow, &clampHigh)

	n := 2000
	if testing.Short() {
		n = 200
	}
	rng := mrand.New(mrand.NewPCG(3, 5))
	for i := 0; i < n; i++ {
		var s [Size]byte
		fillRand(rng, s[:])
		edges = append(edges, &s)
	}
	for _, s := range edges {
		priv, err := ecdh.X25519().NewPrivateKey(s[:])
		if err != nil {
			t.Fatal(err)
		}
		got := PublicKey(s)
		if !bytes.Equal(got[:], priv.PublicKey().Bytes()) {
			t.Fatalf("scalar %x: PublicKey %x, ecdh %x", s[:], got[:], priv.PublicKey().Bytes())
		}
	}
}

// edToMontBig is the math/big reference for EdwardsToMontgomery.
func edToMontBig(in *[Size]byte) [Size]byte {
	b := *in
	b[31] &= 0x7f
	y := new(big.Int).Mod(leToBig(b[:]), bigP)
	num := new(big.Int).Add(bigOne, y)
	den := new(big.Int).Sub(bigOne, y)
	den.Mod(den, bigP)
	inv := new(big.Int).ModInverse(den, bigP)
	if inv == nil { // den == 0
		inv = new(big.Int)
	}
	u := num.Mul(num, inv)
	u.Mod(u, bigP)
	return bigToLE32(u)
}

func TestEdwardsToMontgomery(t *testing.T) {
	var cases []*[Size]byte
	for _, y := range []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2),
		new(big.Int).Sub(bigP, bigOne),
		new(big.Int).Set(bigP),
		new(big.Int).Add(bigP, bigOne), // ≡ 1: u = 0
		new(big.Int).Add(bigP, big.NewInt(18)),
	} {
		v := bigToLE32(y)
		w := v
		w[31] |= 0x80
		cases = append(cases, &v, &w)
	}
	n := 5000
	if testing.Short() {
		n = 500
	}
	rng := mrand.New(mrand.NewPCG(9, 9))
	for i := 0; i < n; i++ {
		var v [Size]byte
		fillRand(rng, v[:])
		cases = append(cases, &v)
	}
	for _, c := range cases {
		got := EdwardsToMontgomery(c)
		want := edToMontBig(c)
		if got != want {
			t.Fatalf("input %x: got %x, want %x", c[:], got[:], want[:])
		}
	}
	// y = 1 (and y = p+1) map to u = 0, which X25519 then rejects.
	one := [Size]byte{1}
	u := EdwardsToMontgomery(&one)
	if u != ([Size]byte{}) {
		t.Fatalf("y=1 gave %x, want 0", u[:])
	}
	var s [Size]byte
	s[0] = 0x42
	if _, err := X25519(&s, &u); !errors.Is(err, ErrLowOrder) {
		t.Fatalf("X25519 with u=0: %v", err)
	}
}

func TestEd25519Consistency(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 50
	}
	rng := mrand.New(mrand.NewPCG(4, 4))
	for i := 0; i < n; i++ {
		var seed, other [Size]byte
		fillRand(rng, seed[:])
		fillRand(rng, other[:])

		s := ScalarFromEd25519Seed(&seed)
		h := sha512.Sum512(seed[:])
		if !bytes.Equal(s[:], h[:32]) {
			t.Fatal("ScalarFromEd25519Seed is not SHA-512(seed)[:32]")
		}
		edPub := (*[Size]byte)(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
		u := EdwardsToMontgomery(edPub)
		if pk := PublicKey(&s); pk != u {
			t.Fatalf("seed %x: Ed→Mont %x != PublicKey(scalar) %x", seed[:], u[:], pk[:])
		}
		// Both sides of an ECIES exchange agree.
		otherPub := PublicKey(&other)
		z1, err1 := X25519(&s, &otherPub)
		z2, err2 := X25519(&other, &u)
		if err1 != nil || err2 != nil || z1 != z2 {
			t.Fatalf("shared secrets differ: %x %v / %x %v", z1[:], err1, z2[:], err2)
		}
	}
}

func FuzzX25519(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add(append(bytes.Repeat([]byte{0x42}, 32), basepoint[:]...))
	for _, p := range lowOrderPoints(f) {
		f.Add(append(bytes.Repeat([]byte{7}, 32), p[:]...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 64 {
			return
		}
		s, u := (*[Size]byte)(in[:32]), (*[Size]byte)(in[32:64])
		checkAgainstECDH(t, s, u)
		if got := EdwardsToMontgomery(u); got != edToMontBig(u) {
			t.Fatalf("EdwardsToMontgomery(%x) = %x, want %x", u[:], got[:], edToMontBig(u))
		}
	})
}
