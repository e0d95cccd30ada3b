// Package der holds the object identifiers and the small DER helpers shared by
// e3go's Virgil wire-format packages (envelope, ecies, vsig): AlgorithmIdentifier
// encoding with Virgil's NULL-parameter rules, and canonical SET OF ordering.
//
// Encoding rules (virgil-crypto-c, confirmed byte for byte against its output):
// SHA-2 AlgorithmIdentifiers carry an explicit NULL parameter; Ed25519, X25519,
// KDF2, HKDF and the random-padding OID carry none; AES-GCM and AES-CBC take a
// bare OCTET STRING nonce or IV as their parameter. Readers accept exactly these
// shapes and nothing else.
package der

import (
	"bytes"
	"errors"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// DER content octets (the bytes after "06 len") of the object identifiers
// used by the formats.
var (
	OIDEd25519       = []byte{0x2B, 0x65, 0x70}                                                 // 1.3.101.112
	OIDX25519        = []byte{0x2B, 0x65, 0x6E}                                                 // 1.3.101.110
	OIDSHA224        = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04}             // 2.16.840.1.101.3.4.2.4
	OIDSHA256        = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}             // 2.16.840.1.101.3.4.2.1
	OIDSHA384        = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}             // 2.16.840.1.101.3.4.2.2
	OIDSHA512        = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}             // 2.16.840.1.101.3.4.2.3
	OIDKDF2          = []byte{0x28, 0x81, 0x8C, 0x71, 0x02, 0x05, 0x02}                         // 1.0.18033.2.5.2
	OIDAES256GCM     = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2E}             // 2.16.840.1.101.3.4.1.46
	OIDAES256CBC     = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A}             // 2.16.840.1.101.3.4.1.42
	OIDData          = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01}             // 1.2.840.113549.1.7.1
	OIDEnvelopedData = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03}             // 1.2.840.113549.1.7.3
	OIDHKDFSHA512    = []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x1E} // 1.2.840.113549.1.9.16.3.30
	OIDRandomPadding = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xAC, 0x1B, 0x01, 0x03}       // 1.3.6.1.4.1.54811.1.3
)

// KeyAlg is the algorithm of a Virgil key as named by its OID.
type KeyAlg uint8

// The key algorithms e3go supports.
const (
	Ed25519 KeyAlg = iota + 1 // 1.3.101.112
	X25519                    // 1.3.101.110
)

// OID returns the DER content octets of the algorithm's OID.
func (a KeyAlg) OID() []byte {
	switch a {
	case Ed25519:
		return OIDEd25519
	case X25519:
		return OIDX25519
	}
	return nil
}

// String returns the algorithm name.
func (a KeyAlg) String() string {
	switch a {
	case Ed25519:
		return "Ed25519"
	case X25519:
		return "X25519"
	}
	return "unknown"
}

// KeyAlgFromOID maps OID content octets to a KeyAlg; ok is false for any
// other OID.
func KeyAlgFromOID(oid []byte) (KeyAlg, bool) {
	switch {
	case bytes.Equal(oid, OIDEd25519):
		return Ed25519, true
	case bytes.Equal(oid, OIDX25519):
		return X25519, true
	}
	return 0, false
}

// AddOID appends an OBJECT IDENTIFIER TLV with the given content octets.
func AddOID(b *cryptobyte.Builder, oid []byte) {
	b.AddASN1(asn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
}

// AddAlgID appends SEQUENCE { OID } (no parameters).
func AddAlgID(b *cryptobyte.Builder, oid []byte) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { AddOID(b, oid) })
}

// AddAlgIDNull appends SEQUENCE { OID, NULL }, the form of SHA-2 AlgIds.
func AddAlgIDNull(b *cryptobyte.Builder, oid []byte) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		AddOID(b, oid)
		b.AddASN1NULL()
	})
}

// AddAlgIDOctets appends SEQUENCE { OID, OCTET STRING param }, the form of
// the AES-GCM (nonce) and AES-CBC (IV) AlgIds.
func AddAlgIDOctets(b *cryptobyte.Builder, oid, param []byte) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		AddOID(b, oid)
		b.AddASN1OctetString(param)
	})
}

// ReadOID reads an OBJECT IDENTIFIER and returns its content octets.
func ReadOID(s *cryptobyte.String, oid *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, asn1.OBJECT_IDENTIFIER) || len(v) == 0 {
		return false
	}
	*oid = v
	return true
}

// ReadAlgIDExact reads SEQUENCE { OID } and reports whether the OID equals
// want and nothing follows it.
func ReadAlgIDExact(s *cryptobyte.String, want []byte) bool {
	var seq cryptobyte.String
	var oid []byte
	return s.ReadASN1(&seq, asn1.SEQUENCE) && ReadOID(&seq, &oid) && seq.Empty() && bytes.Equal(oid, want)
}

// ReadAlgIDNullExact reads SEQUENCE { OID, NULL } and reports whether the OID
// equals want and nothing else is present.
func ReadAlgIDNullExact(s *cryptobyte.String, want []byte) bool {
	oid, ok := ReadAlgIDNull(s)
	return ok && bytes.Equal(oid, want)
}

// ReadAlgIDNull reads SEQUENCE { OID, NULL } and returns the OID.
func ReadAlgIDNull(s *cryptobyte.String) ([]byte, bool) {
	var seq cryptobyte.String
	var oid []byte
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !ReadOID(&seq, &oid) || !ReadNull(&seq) || !seq.Empty() {
		return nil, false
	}
	return oid, true
}

// ReadKeyAlgID reads SEQUENCE { OID } naming Ed25519 or X25519.
func ReadKeyAlgID(s *cryptobyte.String, alg *KeyAlg) bool {
	var seq cryptobyte.String
	var oid []byte
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !ReadOID(&seq, &oid) || !seq.Empty() {
		return false
	}
	a, ok := KeyAlgFromOID(oid)
	*alg = a
	return ok
}

// ReadNull reads a NULL (05 00).
func ReadNull(s *cryptobyte.String) bool {
	var v cryptobyte.String
	return s.ReadASN1(&v, asn1.NULL) && v.Empty()
}

// ReadSmallInt reads an INTEGER that must fit in an int64 and be in
// [min, max]. Non-minimal encodings are rejected by cryptobyte.
func ReadSmallInt(s *cryptobyte.String, out *int64, min, max int64) bool {
	var v int64
	if !s.ReadASN1Integer(&v) || v < min || v > max {
		return false
	}
	*out = v
	return true
}

// ReadVersion reads an INTEGER and reports whether it equals want.
func ReadVersion(s *cryptobyte.String, want int64) bool {
	var v int64
	return s.ReadASN1Integer(&v) && v == want
}

// SortSet sorts DER-encoded SET OF elements as DER requires and Virgil does:
// by their encodings, byte-wise, a shorter element first when it is a prefix
// of a longer one (which is bytes.Compare order).
func SortSet(elems [][]byte) {
	slices.SortFunc(elems, bytes.Compare)
}

// Marshal runs the builder function and returns the bytes it produced.
func Marshal(f func(b *cryptobyte.Builder)) ([]byte, error) {
	var b cryptobyte.Builder
	f(&b)
	return b.Bytes()
}

// MustMarshal is Marshal for builders whose input is always encodable (all
// lengths are bounded by the caller); an error is a bug and panics.
func MustMarshal(f func(b *cryptobyte.Builder)) []byte {
	out, err := Marshal(f)
	if err != nil {
		panic("der: " + err.Error())
	}
	return out
}

// ErrTrailingData reports bytes after a complete structure.
var ErrTrailingData = errors.New("trailing data")
