package e3

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"github.com/e3go/e3go/internal/vsig"
)

// Sign returns virgil-crypto's detached signature of data (calculateSignature,
// the "VEDS512" of Virgil JWTs): the 83-byte DER
// SEQUENCE { AlgorithmIdentifier(SHA-512, NULL), OCTET STRING sig }, where
// sig is pure Ed25519 over SHA-512(data). Signatures are deterministic. A
// Curve25519 key cannot sign (ErrKeyType).
func Sign(data []byte, key *PrivateKey) ([]byte, error) {
	sig, err := signDigest(data, key)
	if err != nil {
		return nil, err
	}
	s := vsig.Signature{Hash: crypto.SHA512, Sig: sig}
	return s.Marshal(), nil
}

// signDigest returns the raw Ed25519 signature over SHA-512(data).
func signDigest(data []byte, key *PrivateKey) ([]byte, error) {
	if !key.valid() {
		return nil, errZeroKey
	}
	if key.k.typ != Ed25519 {
		return nil, fmt.Errorf("e3: a %v key cannot sign: %w", key.k.typ, ErrKeyType)
	}
	d := sha512.Sum512(data)
	return ed25519Sign(key, d[:]), nil
}

// ed25519Sign signs msg with an Ed25519 key (pure Ed25519).
func ed25519Sign(k *PrivateKey, msg []byte) []byte {
	return ed25519.Sign(k.k.sec.ed[:], msg)
}

// Verify checks a detached signature made by [Sign] or by virgil-crypto's
// calculateSignature / generateSignature (which Virgil cards and JWTs use).
// As virgil-crypto does, it hashes data with the digest algorithm the
// signature names (SHA-224, SHA-256, SHA-384 or SHA-512) and verifies
// Ed25519 over the digest. It returns nil only for a valid signature: a bad
// signature gives ErrAuthFailed, a malformed one a *ParseError, and a
// Curve25519 key an error matching both ErrKeyType and ErrAuthFailed
// (virgil-crypto wrongly reports success in that case).
//
// Ed25519 verification is crypto/ed25519's: it rejects S ≥ ℓ, which
// virgil-crypto's ref10 code accepts; honest signatures are unaffected.
func Verify(data, signature []byte, key *PublicKey) error {
	if key == nil {
		return errZeroKey
	}
	if key.typ != Ed25519 {
		return errCannotVerify(key.typ)
	}
	s, err := vsig.Parse(signature)
	if err != nil {
		return parseError("signature", err)
	}
	if !ed25519.Verify(key.key[:], s.Digest(data), s.Sig) {
		return errBadSignature
	}
	return nil
}

var errBadSignature = fmt.Errorf("%w: invalid signature", ErrAuthFailed)

func errCannotVerify(t KeyType) error {
	return fmt.Errorf("%w: a %v key cannot verify signatures: %w", ErrAuthFailed, t, ErrKeyType)
}
