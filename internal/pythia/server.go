package pythia

import (
	"crypto/hmac"
	"crypto/sha512"
	"fmt"
	"io"
	"log/slog"
	"math/big"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// TransformationKey is the server's Pythia transformation key: the scalar kw
// and its public key kw·G1. Whoever holds it can answer BrainKey requests;
// losing it makes every backup protected by it unrecoverable. It formats and
// logs as "pythia.TransformationKey(REDACTED)" under every verb.
type TransformationKey struct {
	_   [0]func() // not comparable
	kw  fr.Element
	pub [G1Size]byte
}

// NewTransformationKey derives the transformation key exactly as libpythia's
// computeTransformationKeyPair:
//
//	kw = int_be(HMAC-SHA384(key = pythiaSecret, msg = scopeSecret ‖ keyID)) mod q
//
// Each input must be 1..128 bytes. The reduction uses math/big and is not
// constant time; it runs once per key, not per request.
func NewTransformationKey(pythiaSecret, scopeSecret, keyID []byte) (*TransformationKey, error) {
	if err := checkInput("pythia secret", pythiaSecret); err != nil {
		return nil, err
	}
	if err := checkInput("scope secret", scopeSecret); err != nil {
		return nil, err
	}
	if err := checkInput("key id", keyID); err != nil {
		return nil, err
	}
	mac := hmac.New(sha512.New384, pythiaSecret)
	mac.Write(scopeSecret)
	mac.Write(keyID)
	v := new(big.Int).SetBytes(mac.Sum(nil))
	v.Mod(v, fr.Modulus())
	if v.Sign() == 0 {
		return nil, inputErr("pythia secret", "derived key is zero modulo the group order", ErrNotInGroup)
	}
	var kw fr.Element
	kw.SetBigInt(v)
	return newKey(&kw), nil
}

// ParseTransformationKey reads a transformation private key in libpythia's
// scalar format (sign byte ‖ big-endian magnitude, 2..50 bytes), as
// libpythia's transformation key pair exports it. Not constant time.
func ParseTransformationKey(b []byte) (*TransformationKey, error) {
	kw, err := parseScalar("transformation key", b)
	if err != nil {
		return nil, err
	}
	return newKey(&kw), nil
}

func newKey(kw *fr.Element) *TransformationKey {
	_, _, g, _ := bls12381.Generators()
	var gp, pub g1Proj
	gp.fromAffine(&g)
	kb := kw.Bits()
	g1ScalarMul(&pub, &gp, kb[:], 256)
	a, _ := pub.toAffine() // kw ≠ 0 mod q: never the identity
	return &TransformationKey{kw: *kw, pub: encodeG1(&a)}
}

// PublicKey returns kw·G1 in RELIC's packed 49-byte form (libpythia's
// transformation public key).
func (k *TransformationKey) PublicKey() []byte {
	return append([]byte(nil), k.pub[:]...)
}

// Bytes returns kw in libpythia's scalar format (0x00 ‖ minimal big-endian
// magnitude), the form ParseTransformationKey reads.
func (k *TransformationKey) Bytes() []byte {
	return encodeScalar(&k.kw)
}

// Format implements fmt.Formatter; it never prints the key.
func (*TransformationKey) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "pythia.TransformationKey(REDACTED)")
}

// LogValue implements slog.LogValuer; it never logs the key.
func (*TransformationKey) LogValue() slog.Value {
	return slog.StringValue("pythia.TransformationKey(REDACTED)")
}

// Transform is the server side of a BrainKey request:
//
//	seed = e(kw·x, H₂(tweak))   (384 bytes, RELIC packed GT form)
//
// where x is the blinded password (49 bytes, base64-decoded from
// "blinded_password") and H₂ is RELIC 0.4.x's try-and-increment map to G2.
// The result is deterministic in (x, tweak, key). The tweak is the server's
// choice (1..128 bytes) and must be a fixed function of the user (and of the
// brainkey_id, if any), kept forever: changing it or the key makes existing
// backups unrecoverable.
//
// The blinded point is decoded strictly: exactly 49 bytes, flag 0x02/0x03,
// canonical x, on the curve and in G1. libpythia itself reduces x modulo p
// and skips the subgroup check; honest clients always send canonical G1
// points, so the stricter checks change no honest answer (see the package
// documentation). Rejections are [*InputError]s.
func Transform(blinded, tweak []byte, key *TransformationKey) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("pythia: Transform called with a nil key")
	}
	x, err := decodeBlinded(blinded)
	if err != nil {
		return nil, err
	}
	if err := checkInput("tweak", tweak); err != nil {
		return nil, err
	}
	y, err := transformPoint(&x, tweak, &key.kw)
	if err != nil {
		return nil, err
	}
	out := encodeGT(&y)
	return out[:], nil
}

// transformPoint computes e(kw·x, H₂(tweak)) for any point x of E(Fp) (the
// strict checks are the caller's). kw·x uses the constant-time ladder: kw is
// the server's long-term secret and x is chosen by remote callers.
func transformPoint(x *bls12381.G1Affine, tweak []byte, kw *fr.Element) (bls12381.GT, error) {
	var xp, kx g1Proj
	xp.fromAffine(x)
	kb := kw.Bits()
	g1ScalarMul(&kx, &xp, kb[:], 256)
	ka, ok := kx.toAffine()
	if !ok {
		return bls12381.GT{}, inputErr("blinded point", "multiple is the identity", ErrNotInGroup)
	}
	h := hashToG2(tweak)
	y, err := bls12381.Pair([]bls12381.G1Affine{ka}, []bls12381.G2Affine{h})
	if err != nil {
		return bls12381.GT{}, fmt.Errorf("pythia: pairing: %v", err)
	}
	return y, nil
}
