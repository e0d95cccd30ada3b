// Package ecies implements virgil-crypto's ECIES key wrapping, the
// encryptedKey of each recipient entry in a Virgil message info:
//
//	ECIES-Envelope ::= SEQUENCE {
//	  version     INTEGER 0,
//	  originator  SubjectPublicKeyInfo,   -- ephemeral key, same algorithm as the recipient's
//	  kdf         SEQUENCE { OID kdf2, SEQUENCE { OID sha384, NULL } },
//	  hmac        SEQUENCE { SEQUENCE { OID sha384, NULL }, OCTET STRING mac(48) },
//	  encryptedContent SEQUENCE { SEQUENCE { OID aes256-CBC, OCTET STRING iv(16) },
//	                              OCTET STRING ciphertext } }
//
// Wrapping: Z = X25519(ephemeral, recipient); DK = KDF2-SHA384(Z, 80);
// ciphertext = AES-256-CBC-PKCS#7(DK[0:32], iv, key); mac =
// HMAC-SHA384(DK[32:80], ciphertext). The MAC covers the ciphertext only.
//
// For an Ed25519 recipient the ephemeral key is an Ed25519 key (its public
// key goes in the envelope, its X25519 scalar is SHA-512(seed)[0:32]); for
// an X25519 recipient it is an X25519 key. Randomness is drawn in Virgil's
// order: 32 bytes for the ephemeral key, then 16 for the IV.
//
// Only the algorithms Virgil's writers use are accepted on input (KDF2 with
// SHA-384, HMAC-SHA384, AES-256-CBC), in canonical DER, with a canonical
// originator key.
//
// One malleability is inherent to the format and cannot be refused: the MAC
// covers only the wrapped key, and the Edwards-to-Montgomery conversion
// ignores the sign bit of an Ed25519 originator key, so flipping that bit
// (bit 7 of the key's last byte) unwraps the same key. It changes nothing
// that is decrypted. Likewise the MAC does not cover the CBC IV: a changed IV
// unwraps a different key, which the body's GCM tag then rejects.
package ecies

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/e3go/e3go/internal/der"
	"github.com/e3go/e3go/internal/x25519"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Sizes.
const (
	KeySize = 32 // X25519/Ed25519 keys
	MACSize = sha512.Size384
	IVSize  = aes.BlockSize
)

// Errors. ErrMalformed is returned for structurally invalid envelopes;
// ErrAuth when the MAC, the padding or the key agreement fails.
var (
	ErrMalformed = errors.New("ecies: malformed envelope")
	ErrAuth      = errors.New("ecies: authentication failed")
)

// Envelope is a parsed ECIES envelope.
type Envelope struct {
	Alg        der.KeyAlg    // algorithm of the originator (ephemeral) key
	Originator [KeySize]byte // the ephemeral public key (Ed25519 A or X25519 u)
	MAC        [MACSize]byte
	IV         [IVSize]byte
	Ciphertext []byte
}

// Seal wraps key for a recipient whose key algorithm is alg and whose
// X25519 public value (for Ed25519 keys, the converted Montgomery u) is u,
// drawing randomness from rand. It returns the envelope DER.
func Seal(rand io.Reader, alg der.KeyAlg, u *[KeySize]byte, key []byte) ([]byte, error) {
	var env Envelope
	env.Alg = alg
	var eph [KeySize]byte
	if _, err := io.ReadFull(rand, eph[:]); err != nil {
		return nil, err
	}
	var scalar [KeySize]byte
	switch alg {
	case der.Ed25519:
		h := sha512.Sum512(eph[:])
		copy(scalar[:], h[:KeySize])
		s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:KeySize])
		if err != nil {
			return nil, err
		}
		copy(env.Originator[:], new(edwards25519.Point).ScalarBaseMult(s).Bytes())
		clear(h[:])
	case der.X25519:
		scalar = eph
		env.Originator = x25519.PublicKey(&scalar)
	default:
		return nil, errors.New("ecies: unsupported key algorithm")
	}
	clear(eph[:])
	z, err := x25519.X25519(&scalar, u)
	clear(scalar[:])
	if err != nil {
		return nil, err // a low-order recipient key
	}
	if _, err := io.ReadFull(rand, env.IV[:]); err != nil {
		return nil, err
	}
	encKey, macKey := derive(&z)
	block, _ := aes.NewCipher(encKey[:])
	env.Ciphertext = pkcs7Pad(key)
	cipher.NewCBCEncrypter(block, env.IV[:]).CryptBlocks(env.Ciphertext, env.Ciphertext)
	m := hmac.New(sha512.New384, macKey[:])
	m.Write(env.Ciphertext)
	m.Sum(env.MAC[:0])
	clear(encKey[:])
	clear(macKey[:])
	return env.Marshal(), nil
}

// Open unwraps the key from envelope DER with the recipient's X25519 scalar.
// The originator's algorithm must equal alg, the recipient key's algorithm.
func Open(envDER []byte, alg der.KeyAlg, scalar *[KeySize]byte) ([]byte, error) {
	env, err := Parse(envDER)
	if err != nil {
		return nil, err
	}
	return env.Open(alg, scalar)
}

// Open unwraps the key with the recipient's X25519 scalar.
func (env *Envelope) Open(alg der.KeyAlg, scalar *[KeySize]byte) ([]byte, error) {
	if env.Alg != alg {
		return nil, ErrMalformed
	}
	u := env.Originator
	if alg == der.Ed25519 {
		u = x25519.EdwardsToMontgomery(&env.Originator)
	}
	z, err := x25519.X25519(scalar, &u)
	if err != nil {
		return nil, ErrAuth
	}
	encKey, macKey := derive(&z)
	m := hmac.New(sha512.New384, macKey[:])
	m.Write(env.Ciphertext)
	if !hmac.Equal(m.Sum(nil), env.MAC[:]) {
		return nil, ErrAuth
	}
	block, _ := aes.NewCipher(encKey[:])
	pt := make([]byte, len(env.Ciphertext))
	cipher.NewCBCDecrypter(block, env.IV[:]).CryptBlocks(pt, env.Ciphertext)
	out, ok := pkcs7Unpad(pt)
	if !ok {
		return nil, ErrAuth
	}
	return out, nil
}

// derive is KDF2-SHA384(Z, 80) split into the AES and HMAC keys:
// T_i = SHA-384(Z ‖ uint32_be(i)), i = 1, 2.
func derive(z *[KeySize]byte) (encKey [32]byte, macKey [48]byte) {
	var buf [KeySize + 4]byte
	copy(buf[:], z[:])
	buf[KeySize+3] = 1
	t1 := sha512.Sum384(buf[:])
	buf[KeySize+3] = 2
	t2 := sha512.Sum384(buf[:])
	copy(encKey[:], t1[:32])
	copy(macKey[:16], t1[32:])
	copy(macKey[16:], t2[:32])
	clear(buf[:])
	clear(t1[:])
	clear(t2[:])
	return
}

func pkcs7Pad(b []byte) []byte {
	n := aes.BlockSize - len(b)%aes.BlockSize
	out := make([]byte, len(b)+n)
	copy(out, b)
	for i := len(b); i < len(out); i++ {
		out[i] = byte(n)
	}
	return out
}

// pkcs7Unpad strips PKCS#7 padding in time independent of the pad value.
func pkcs7Unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := 0; i < aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i+1, n)
		same := subtle.ConstantTimeByteEq(b[len(b)-1-i], byte(n))
		good &= subtle.ConstantTimeSelect(inPad, same, 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:len(b)-n], true
}

// Marshal encodes the envelope.
func (env *Envelope) Marshal() []byte {
	return der.MustMarshal(func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // originator SPKI
				der.AddAlgID(b, env.Alg.OID())
				b.AddASN1BitString(env.Originator[:])
			})
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // kdf
				der.AddOID(b, der.OIDKDF2)
				der.AddAlgIDNull(b, der.OIDSHA384)
			})
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // hmac DigestInfo
				der.AddAlgIDNull(b, der.OIDSHA384)
				b.AddASN1OctetString(env.MAC[:])
			})
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // encryptedContent
				der.AddAlgIDOctets(b, der.OIDAES256CBC, env.IV[:])
				b.AddASN1OctetString(env.Ciphertext)
			})
		})
	})
}

// Parse parses envelope DER; the whole input must be one envelope.
func Parse(in []byte) (*Envelope, error) {
	var env Envelope
	s := cryptobyte.String(in)
	var seq, spki, kdf, mac, enc, cbc, bits cryptobyte.String
	var macBytes, iv, ct []byte
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() ||
		!der.ReadVersion(&seq, 0) ||
		// originator
		!seq.ReadASN1(&spki, asn1.SEQUENCE) || !der.ReadKeyAlgID(&spki, &env.Alg) ||
		!spki.ReadASN1(&bits, asn1.BIT_STRING) || !spki.Empty() ||
		len(bits) != 1+KeySize || bits[0] != 0 ||
		// kdf
		!seq.ReadASN1(&kdf, asn1.SEQUENCE) || !readOIDExact(&kdf, der.OIDKDF2) ||
		!der.ReadAlgIDNullExact(&kdf, der.OIDSHA384) || !kdf.Empty() ||
		// hmac
		!seq.ReadASN1(&mac, asn1.SEQUENCE) || !der.ReadAlgIDNullExact(&mac, der.OIDSHA384) ||
		!mac.ReadASN1Bytes(&macBytes, asn1.OCTET_STRING) || !mac.Empty() || len(macBytes) != MACSize ||
		// encryptedContent
		!seq.ReadASN1(&enc, asn1.SEQUENCE) || !enc.ReadASN1(&cbc, asn1.SEQUENCE) ||
		!readOIDExact(&cbc, der.OIDAES256CBC) || !cbc.ReadASN1Bytes(&iv, asn1.OCTET_STRING) || !cbc.Empty() ||
		len(iv) != IVSize ||
		!enc.ReadASN1Bytes(&ct, asn1.OCTET_STRING) || !enc.Empty() ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 ||
		!seq.Empty() {
		return nil, ErrMalformed
	}
	copy(env.Originator[:], bits[1:])
	if !canonicalKey(env.Alg, &env.Originator) {
		return nil, ErrMalformed
	}
	copy(env.MAC[:], macBytes)
	copy(env.IV[:], iv)
	env.Ciphertext = ct
	return &env, nil
}

// canonical reports whether the low 255 bits of k, read little-endian, are
// below p = 2^255-19, and for an X25519 key whether bit 255 is clear. Virgil
// writers always produce such keys; rejecting the others removes the
// encodings that decrypt exactly like an honest one (X25519 ignores bit 255
// and reduces u mod p; the Edwards-to-Montgomery map reduces y mod p).
// The sign bit of an Ed25519 key cannot be checked: both signs are honest.
func canonicalKey(alg der.KeyAlg, k *[KeySize]byte) bool {
	if alg == der.X25519 && k[31]&0x80 != 0 {
		return false
	}
	var e field.Element
	if _, err := e.SetBytes(k[:]); err != nil {
		return false
	}
	b := e.Bytes()
	for i := 0; i < KeySize-1; i++ {
		if b[i] != k[i] {
			return false
		}
	}
	return b[KeySize-1] == k[KeySize-1]&0x7f
}

func readOIDExact(s *cryptobyte.String, want []byte) bool {
	var oid []byte
	return der.ReadOID(s, &oid) && string(oid) == string(want)
}
