// Package vsig encodes and parses Virgil's detached signature, the DER
// structure virgil-crypto's calculateSignature returns (and Virgil JWTs call
// "VEDS512"):
//
//	Signature ::= SEQUENCE {
//	    digestAlgorithm  AlgorithmIdentifier,  -- SHA-2 OID with an explicit NULL
//	    signature        OCTET STRING }        -- raw Ed25519 signature over the digest
//
// The writer always uses SHA-512, giving 83 bytes:
// 30 51 30 0D 06 09 60 86 48 01 65 03 04 02 03 05 00 04 40 <64 bytes>.
// The reader accepts SHA-224, SHA-256, SHA-384 and SHA-512, as
// virgil-crypto's verifier does, and requires canonical DER: every accepted
// input re-encodes to itself.
package vsig

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"

	"github.com/e3go/e3go/internal/der"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Size is the length of a signature made by Marshal with a 64-byte Ed25519
// signature.
const Size = 83

// ErrMalformed is returned for any input that is not a well-formed signature.
var ErrMalformed = errors.New("vsig: malformed signature")

// ErrUnsupportedHash is returned when the digest algorithm is not SHA-2.
var ErrUnsupportedHash = errors.New("vsig: unsupported digest algorithm")

// Signature is a parsed detached signature.
type Signature struct {
	Hash crypto.Hash // crypto.SHA224, SHA256, SHA384 or SHA512
	Sig  []byte      // the raw signature bytes (64 for Ed25519)
}

// Digest returns the digest of data under the signature's hash.
func (s *Signature) Digest(data []byte) []byte {
	return Digest(s.Hash, data)
}

// Digest hashes data with h, which must be one of the four SHA-2 hashes
// Parse accepts.
func Digest(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA224:
		d := sha256.Sum224(data)
		return d[:]
	case crypto.SHA256:
		d := sha256.Sum256(data)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(data)
		return d[:]
	}
	panic("vsig: Digest with an unsupported hash")
}

var hashOIDs = []struct {
	h   crypto.Hash
	oid []byte
}{
	{crypto.SHA224, der.OIDSHA224},
	{crypto.SHA256, der.OIDSHA256},
	{crypto.SHA384, der.OIDSHA384},
	{crypto.SHA512, der.OIDSHA512},
}

func hashOID(h crypto.Hash) []byte {
	for _, e := range hashOIDs {
		if e.h == h {
			return e.oid
		}
	}
	return nil
}

// Marshal encodes s. It panics if s.Hash is not one of the supported hashes
// (a programming error: signatures are only made with SHA-512).
func (s *Signature) Marshal() []byte {
	oid := hashOID(s.Hash)
	if oid == nil {
		panic("vsig: Marshal with an unsupported hash")
	}
	return der.MustMarshal(func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			der.AddAlgIDNull(b, oid)
			b.AddASN1OctetString(s.Sig)
		})
	})
}

// Parse parses a detached signature. The whole input must be one signature.
func Parse(in []byte) (*Signature, error) {
	s := cryptobyte.String(in)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() {
		return nil, ErrMalformed
	}
	oid, ok := der.ReadAlgIDNull(&seq)
	if !ok {
		return nil, ErrMalformed
	}
	var sig []byte
	if !seq.ReadASN1Bytes(&sig, asn1.OCTET_STRING) || !seq.Empty() {
		return nil, ErrMalformed
	}
	for _, e := range hashOIDs {
		if string(e.oid) == string(oid) {
			return &Signature{Hash: e.h, Sig: sig}, nil
		}
	}
	return nil, ErrUnsupportedHash
}
