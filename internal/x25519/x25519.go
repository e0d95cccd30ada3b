// Package x25519 implements the X25519 function of RFC 7748 as a bare
// Montgomery ladder, plus the Edwards25519 shortcuts e3go uses for ECIES key
// agreement with Virgil/e3kit peers.
//
// Why not crypto/ecdh: ecdh.X25519().NewPrivateKey always runs a full ladder
// to compute the public key, so "fresh ephemeral + shared secret" costs two
// ladders (and golang.org/x/crypto/curve25519.X25519 is a wrapper over the
// same API). Here:
//
//   - [X25519] is exactly one ladder (the RFC 7748 §5 algorithm on
//     filippo.io/edwards25519/field, which has the same amd64 assembly as the
//     standard library's internal copy). Like crypto/ecdh it returns an error
//     when the output is all zeros (a low-order or otherwise degenerate peer
//     point), so callers never derive keys from a predictable secret.
//   - [PublicKey] computes scalar·basepoint with the Edwards fixed-base
//     multiplication and the birational map, about 2.5× faster than a ladder.
//   - [EdwardsToMontgomery] converts an Ed25519 public key to an X25519 one
//     with exactly virgil-crypto's semantics (y only, sign bit ignored, no
//     on-curve check, y ≥ p accepted and reduced).
//   - [ScalarFromEd25519Seed] derives the X25519 scalar of an Ed25519 key.
//
// Constant time: the ladder processes every scalar bit with the same
// sequence of field operations and a masked conditional swap; the field
// inversion is a fixed addition chain; the fixed-base multiplication is
// filippo.io/edwards25519's constant-time ScalarBaseMult. The all-zero check
// uses crypto/subtle. EdwardsToMontgomery is also constant time, although its
// input is public.
//
// The package keeps no state. Scalars are passed by pointer to avoid copies
// but are never modified.
package x25519

import (
	"crypto/sha512"
	"crypto/subtle"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Size is the length in bytes of X25519 scalars, points and shared secrets.
const Size = 32

// ErrLowOrder is returned by [X25519] when the result is the all-zero value,
// which happens exactly when the peer point has small order (or, with the
// clamped scalar, lies in the small-order subgroup of the twist). crypto/ecdh
// rejects the same inputs.
var ErrLowOrder = errors.New("x25519: low-order point (all-zero shared secret)")

// X25519 returns the RFC 7748 X25519 function of scalar and the peer's
// u-coordinate point. The scalar is clamped; the point's bit 255 is ignored
// and non-canonical values (≥ 2^255−19) are accepted, as RFC 7748 requires.
// It returns ErrLowOrder, and a zero array, if the result is all zeros.
//
// X25519 of the base point u = 9 equals PublicKey, but PublicKey is faster.
func X25519(scalar, point *[Size]byte) ([Size]byte, error) {
	var out [Size]byte
	ladder(&out, scalar, point)
	var zero [Size]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return zero, ErrLowOrder
	}
	return out, nil
}

// ladder computes the Montgomery ladder of RFC 7748 §5 into out.
func ladder(out, scalar, point *[Size]byte) {
	var k [Size]byte
	copy(k[:], scalar[:])
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	var x1, x2, z2, x3, z3 field.Element
	var t0, t1 field.Element
	// SetBytes ignores bit 255 and accepts 2^255-19..2^255-1; it cannot fail
	// on a 32-byte input.
	if _, err := x1.SetBytes(point[:]); err != nil {
		panic("x25519: field.SetBytes rejected a 32-byte input")
	}
	x2.One()
	z2.Zero()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		bit := int(k[pos/8]>>uint(pos&7)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		// RFC 7748 §5: with A = x2+z2, B = x2-z2, C = x3+z3, D = x3-z3,
		// AA = A², BB = B², E = AA-BB, DA = D·A, CB = C·B:
		//   x3 = (DA+CB)², z3 = x1·(DA-CB)², x2 = AA·BB,
		//   z2 = E·(AA + a24·E) = E·(BB + (a24+1)·E), a24 = 121665.
		// Two temporaries; the register names are reused as noted.
		t0.Subtract(&x3, &z3)  // D
		t1.Subtract(&x2, &z2)  // B
		x2.Add(&x2, &z2)       // A
		z2.Add(&x3, &z3)       // C
		z3.Multiply(&t0, &x2)  // DA
		z2.Multiply(&z2, &t1)  // CB
		t0.Square(&t1)         // BB
		t1.Square(&x2)         // AA
		x3.Add(&z3, &z2)       // DA + CB
		z2.Subtract(&z3, &z2)  // DA - CB
		x2.Multiply(&t1, &t0)  // x2 = AA·BB
		t1.Subtract(&t1, &t0)  // E
		z2.Square(&z2)         // (DA - CB)²
		z3.Mult32(&t1, 121666) // (a24+1)·E
		x3.Square(&x3)         // x3 = (DA + CB)²
		t0.Add(&t0, &z3)       // BB + 121666·E
		z3.Multiply(&x1, &z2)  // z3 = x1·(DA - CB)²
		z2.Multiply(&t1, &t0)  // z2 = E·(BB + 121666·E)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(out[:], x2.Bytes())
	clear(k[:])
}

// PublicKey returns X25519(scalar, 9), the public key of scalar, computed
// with the Edwards25519 fixed-base multiplication and the birational map
// u = (1+y)/(1−y). The clamped scalar is reduced modulo the prime group
// order ℓ first, which does not change the result because the base point
// has order ℓ. The result is never all zeros.
func PublicKey(scalar *[Size]byte) [Size]byte {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil {
		panic("x25519: SetBytesWithClamping rejected a 32-byte input")
	}
	var out [Size]byte
	copy(out[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
	return out
}

// EdwardsToMontgomery converts an Ed25519 public key to the X25519
// u-coordinate exactly as virgil-crypto's ed25519_pubkey_to_curve25519 does:
// bit 255 (the sign of x) is cleared, the remaining 255 bits are read as y
// and reduced modulo p = 2^255−19 (so non-canonical y ≥ p is accepted), and
// u = (1+y)·(1−y)^−1 mod p is returned in canonical little-endian form. The
// input is not checked to be a curve point. If y ≡ 1, the inverse of zero is
// taken as zero and u = 0; X25519 with that point then fails with
// ErrLowOrder, as the Virgil key exchange does.
//
// The computation is constant time.
func EdwardsToMontgomery(edPub *[Size]byte) [Size]byte {
	var y, one, num, den field.Element
	// SetBytes ignores bit 255 and accepts non-canonical values.
	if _, err := y.SetBytes(edPub[:]); err != nil {
		panic("x25519: field.SetBytes rejected a 32-byte input")
	}
	one.One()
	num.Add(&one, &y)
	den.Subtract(&one, &y)
	den.Invert(&den) // Invert(0) = 0
	num.Multiply(&num, &den)
	var out [Size]byte
	copy(out[:], num.Bytes())
	return out
}

// ScalarFromEd25519Seed returns the X25519 scalar of the Ed25519 private key
// with the given 32-byte seed: SHA-512(seed)[0:32], the unclamped first half
// of the RFC 8032 expanded key (X25519 and PublicKey clamp it themselves).
// PublicKey of the result equals EdwardsToMontgomery of the seed's Ed25519
// public key.
func ScalarFromEd25519Seed(seed *[Size]byte) [Size]byte {
	h := sha512.Sum512(seed[:])
	var out [Size]byte
	copy(out[:], h[:Size])
	clear(h[:])
	return out
}
