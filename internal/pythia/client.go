package pythia

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// MaxInputSize is the longest password or tweak libpythia accepts (and the
// longest pythia secret, scope secret and key id). The shortest is one byte.
const MaxInputSize = 128

// BlindingSecret is the client's secret from [Blind]: the scalar r⁻¹ mod q
// that undoes the blinding. It stays on the client, is used once by
// [Deblind] and never needs to be stored. It formats and logs as
// "pythia.BlindingSecret(REDACTED)" under every verb.
type BlindingSecret struct {
	_   [0]func() // not comparable
	inv fr.Element
}

// Format implements fmt.Formatter; it never prints the secret.
func (*BlindingSecret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "pythia.BlindingSecret(REDACTED)")
}

// LogValue implements slog.LogValuer; it never logs the secret.
func (*BlindingSecret) LogValue() slog.Value {
	return slog.StringValue("pythia.BlindingSecret(REDACTED)")
}

// Bytes returns the secret in libpythia's scalar format (0x00 ‖ minimal
// big-endian magnitude of r⁻¹ mod q), the form e3kit's VirgilBrainKeyCrypto
// keeps. Only interoperability tests need it.
func (s *BlindingSecret) Bytes() []byte {
	return encodeScalar(&s.inv)
}

// ParseBlindingSecret reads a blinding secret in libpythia's scalar format:
// a sign byte (0x00 or 0x01) and a big-endian magnitude, 2..50 bytes in all.
// Negative values, which libpythia produces about half the time, are reduced
// modulo q. Only interoperability tests need it. The parse is not constant
// time.
func ParseBlindingSecret(b []byte) (*BlindingSecret, error) {
	v, err := parseScalar("blinding secret", b)
	if err != nil {
		return nil, err
	}
	return &BlindingSecret{inv: v}, nil
}

// Blind hashes password to G1 with RELIC 0.4.x's try-and-increment map and
// blinds it with a fresh random scalar r drawn from crypto/rand:
//
//	blinded = r·H₁(password)   (49 bytes, RELIC packed G1 form)
//	secret  = r⁻¹ mod q
//
// Send base64std(blinded) as "blinded_password" to POST /pythia/v1/brainkey
// and pass the "seed" of the answer to [Deblind] with secret. The password
// must be 1..128 bytes (e3kit sends the UTF-8 string; longer or empty
// passwords are rejected by libpythia too).
//
// blinded reveals nothing about the password without r; secret must not
// leave the client.
func Blind(password []byte) (blinded []byte, secret *BlindingSecret, err error) {
	return blind(password, rand.Reader)
}

// blind is Blind with an explicit randomness source, for deterministic tests.
func blind(password []byte, rnd io.Reader) ([]byte, *BlindingSecret, error) {
	if err := checkInput("password", password); err != nil {
		return nil, nil, err
	}
	r, err := randomScalar(rnd)
	if err != nil {
		return nil, nil, err
	}
	return blindScalar(password, &r)
}

// blindScalar blinds H₁(password) with the given non-zero scalar r.
func blindScalar(password []byte, r *fr.Element) ([]byte, *BlindingSecret, error) {
	if err := checkInput("password", password); err != nil {
		return nil, nil, err
	}
	p := hashToG1(password)
	rb := r.Bits()
	var x g1Proj
	g1ScalarMul(&x, &p, rb[:], 256)
	a, ok := x.toAffine()
	if !ok {
		// H₁ only yields the identity if the try-and-increment point has an
		// order dividing h₁: probability about 2^-255. Reported, not hidden.
		return nil, nil, inputErr("password", "hashes to the identity of G1", ErrNotInGroup)
	}
	enc := encodeG1(&a)
	s := &BlindingSecret{}
	frInvCT(&s.inv, r)
	return enc[:], s, nil
}

// randomScalar draws r uniformly from [1, q) by rejection sampling on 255-bit
// strings (acceptance ≈ 0.91 per draw).
func randomScalar(rnd io.Reader) (fr.Element, error) {
	var r fr.Element
	var b [fr.Bytes]byte
	for {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return r, fmt.Errorf("pythia: reading randomness: %w", err)
		}
		b[0] &= 0x7f // q < 2^255
		if r.SetBytesCanonical(b[:]) != nil || r.IsZero() {
			continue
		}
		return r, nil
	}
}

// frInvCT sets z = x^(q−2) = x⁻¹ mod q. fr.Exp walks the bits of the public
// exponent, so the timing does not depend on x (unlike big.Int.ModInverse or
// fr.Inverse, which are variable-time GCDs).
func frInvCT(z, x *fr.Element) {
	e := fr.Modulus()
	e.Sub(e, big.NewInt(2))
	z.Exp(*x, e)
}

// Deblind validates the server's seed and removes the blinding:
//
//	u = seed^(r⁻¹ mod q)   (384 bytes, RELIC packed GT form)
//
// u = e(kw·H₁(password), H₂(tweak)) does not depend on r. It is the key
// material e3kit feeds, all 384 bytes of it, to generateKeysFromKeyMaterial
// (in e3go: e3.GenerateKeyFromMaterial). u is as secret as the password-
// derived key.
//
// seed is the raw 384-byte value (base64-decode the "seed" field first). It
// must be exactly 384 bytes with at most 24 zero bytes, eight canonical field
// elements, and decompress to a non-identity element of GT; anything else is
// an [*InputError] (errors.Is ErrLength, ErrMalformed or ErrNotInGroup).
func Deblind(seed []byte, secret *BlindingSecret) ([]byte, error) {
	if secret == nil {
		return nil, fmt.Errorf("pythia: Deblind called with a nil blinding secret")
	}
	y, err := decodeGT("seed", seed)
	if err != nil {
		return nil, err
	}
	k := secret.inv.Bits()
	var u bls12381.GT
	gtExpCT(&u, &y, &k)
	out := encodeGT(&u)
	return out[:], nil
}

func checkInput(what string, b []byte) error {
	if len(b) < 1 || len(b) > MaxInputSize {
		return inputErr(what, "want 1..128 bytes", ErrLength)
	}
	return nil
}
