package e3

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	wire "github.com/e3go/e3go/internal/der"
	"github.com/e3go/e3go/internal/kmrng"
	"github.com/e3go/e3go/internal/x25519"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// KeyType is the algorithm of a key pair.
type KeyType int

// The supported key types.
const (
	// Ed25519 is Virgil's and e3kit's default key type. It signs, and it
	// encrypts through its X25519 form (Virgil converts the Edwards key to
	// Montgomery form for key agreement).
	Ed25519 KeyType = iota + 1
	// Curve25519 is a bare X25519 key. It encrypts and decrypts but cannot
	// sign or verify.
	Curve25519
)

// String returns "Ed25519" or "Curve25519".
func (t KeyType) String() string {
	switch t {
	case Ed25519:
		return "Ed25519"
	case Curve25519:
		return "Curve25519"
	}
	return "KeyType(" + strconv.Itoa(int(t)) + ")"
}

func (t KeyType) alg() wire.KeyAlg {
	if t == Curve25519 {
		return wire.X25519
	}
	return wire.Ed25519
}

func keyTypeOf(a wire.KeyAlg) KeyType {
	if a == wire.X25519 {
		return Curve25519
	}
	return Ed25519
}

const keySize = 32

// Exported key layouts, exactly as virgil-crypto writes them (RFC 8410):
// PKCS#8 PrivateKeyInfo v0 with the key in an OCTET STRING inside the
// privateKey OCTET STRING (48 bytes), and SubjectPublicKeyInfo (44 bytes).
var (
	pkcs8Prefix = map[KeyType][]byte{
		Ed25519:    {0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20},
		Curve25519: {0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x6E, 0x04, 0x22, 0x04, 0x20},
	}
	spkiPrefix = map[KeyType][]byte{
		Ed25519:    {0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00},
		Curve25519: {0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x6E, 0x03, 0x21, 0x00},
	}
)

// PublicKey is an Ed25519 or Curve25519 public key with its Virgil key
// identifier. It is immutable and safe for concurrent use; the values
// encryption needs (the X25519 form and the identifier) are computed once
// when the key is made.
type PublicKey struct {
	typ    KeyType
	key    [keySize]byte // Ed25519 A, or X25519 u, as carried in the SPKI
	u      [keySize]byte // X25519 form used for key agreement
	id     [sha256.Size]byte
	idLen  uint8 // 8 (SHA-512 prefix) or 32 (SHA-256)
	sha256 bool
}

func newPublicKey(t KeyType, key *[keySize]byte, useSHA256 bool) *PublicKey {
	p := &PublicKey{typ: t, key: *key}
	if t == Ed25519 {
		p.u = x25519.EdwardsToMontgomery(key)
	} else {
		p.u = *key
	}
	p.setID(useSHA256)
	return p
}

func (k *PublicKey) setID(useSHA256 bool) {
	spki := k.Export()
	k.sha256 = useSHA256
	if useSHA256 {
		k.id = sha256.Sum256(spki)
		k.idLen = sha256.Size
		return
	}
	h := sha512.Sum512(spki)
	clear(k.id[:])
	copy(k.id[:], h[:8])
	k.idLen = 8
}

// idBytes returns the identifier without copying; callers must not modify it.
func (k *PublicKey) idBytes() []byte { return k.id[:k.idLen] }

// ParsePublicKey parses a DER SubjectPublicKeyInfo holding an Ed25519
// (1.3.101.112) or X25519 (1.3.101.110) key, the format virgil-crypto's
// exportPublicKey writes and e3kit cards carry (base64-encoded). Only
// canonical DER is accepted, so the identifier (a hash of these bytes) is
// the one Virgil computes. The key's identifier uses the default 8-byte
// SHA-512 scheme; see [PublicKey.WithSHA256ID].
//
// Like virgil-crypto, ParsePublicKey does not check that an Ed25519 key is
// a valid curve point; such a key fails at use (verification fails,
// encryption to a degenerate key fails).
func ParsePublicKey(der []byte) (*PublicKey, error) {
	s := cryptobyte.String(der)
	var spki, bits cryptobyte.String
	var alg wire.KeyAlg
	if !s.ReadASN1(&spki, asn1.SEQUENCE) || !s.Empty() {
		return nil, parseErrorf("public key", "not a DER SubjectPublicKeyInfo")
	}
	if !wire.ReadKeyAlgID(&spki, &alg) {
		return nil, parseErrorf("public key", "algorithm is not Ed25519 or X25519 (without parameters)")
	}
	if !spki.ReadASN1(&bits, asn1.BIT_STRING) || !spki.Empty() {
		return nil, parseErrorf("public key", "bad subjectPublicKey")
	}
	if len(bits) != 1+keySize || bits[0] != 0 {
		return nil, parseErrorf("public key", "key is not 32 bytes")
	}
	var key [keySize]byte
	copy(key[:], bits[1:])
	return newPublicKey(keyTypeOf(alg), &key, false), nil
}

// Export returns the 44-byte DER SubjectPublicKeyInfo, as virgil-crypto's
// exportPublicKey does.
func (k *PublicKey) Export() []byte {
	out := make([]byte, 0, 44)
	out = append(out, spkiPrefix[k.typ]...)
	return append(out, k.key[:]...)
}

// ID returns the key identifier Virgil uses to address recipients and
// signers: the first 8 bytes of SHA-512 over the exported key (virgil-crypto's
// default), or all 32 bytes of SHA-256 for a key from WithSHA256ID.
func (k *PublicKey) ID() []byte {
	return append([]byte(nil), k.idBytes()...)
}

// WithSHA256ID returns a copy of k whose identifier is SHA-256 of the
// exported key, the scheme of e3kit's useSha256Identifiers option. Sender
// and recipient must use the same scheme: there is no fallback.
func (k *PublicKey) WithSHA256ID() *PublicKey {
	c := *k
	c.setID(true)
	return &c
}

// Type returns the key's type.
func (k *PublicKey) Type() KeyType { return k.typ }

// Equal reports whether k and x hold the same key of the same type. The
// identifier scheme is not compared.
func (k *PublicKey) Equal(x *PublicKey) bool {
	if k == nil || x == nil {
		return k == x
	}
	return k.typ == x.typ && k.key == x.key
}

// String returns the key's type and hex identifier, for example
// "e3.PublicKey(Ed25519 326ae668f3d2fe32)".
func (k *PublicKey) String() string {
	if k == nil {
		return "e3.PublicKey(nil)"
	}
	return "e3.PublicKey(" + k.typ.String() + " " + hex.EncodeToString(k.idBytes()) + ")"
}

// PrivateKey is an Ed25519 or Curve25519 private key. Its secret bytes are
// unexported and it redacts itself under every fmt verb and in log/slog; it
// has no String, MarshalText or MarshalJSON method. The only way out is
// [PrivateKey.Export]. A PrivateKey is immutable and safe for concurrent use.
// The zero value is not a usable key.
type PrivateKey struct {
	_ [0]func() // not comparable with ==; use Equal
	k *privateKey
}

// privateKey is what a PrivateKey points to. The secret arrays sit one more
// pointer away, in keySecrets: fmt's reflection (which ignores Format on
// unexported struct fields, and expands a pointer to a struct one level deep
// when it reports a bad verb such as %s) then only ever prints addresses,
// even for a PrivateKey value stored in an unexported field.
type privateKey struct {
	typ KeyType
	sec *keySecrets
	pub *PublicKey
}

type keySecrets struct {
	raw [keySize]byte // Ed25519 seed, or X25519 scalar as stored (unclamped)
	ed  [ed25519.PrivateKeySize]byte
	xs  [keySize]byte // X25519 scalar for key agreement
}

const redacted = "e3.PrivateKey(REDACTED)"

func newPrivateKey(t KeyType, raw *[keySize]byte) *PrivateKey {
	sec := &keySecrets{raw: *raw}
	var pub [keySize]byte
	switch t {
	case Ed25519:
		copy(sec.ed[:], ed25519.NewKeyFromSeed(raw[:]))
		copy(pub[:], sec.ed[keySize:])
		sec.xs = x25519.ScalarFromEd25519Seed(raw)
	case Curve25519:
		sec.xs = *raw
		pub = x25519.PublicKey(raw)
	}
	return &PrivateKey{k: &privateKey{typ: t, sec: sec, pub: newPublicKey(t, &pub, false)}}
}

// GenerateKey returns a new random Ed25519 key, virgil-crypto's and e3kit's
// default key type.
func GenerateKey() (*PrivateKey, error) {
	return GenerateKeyOfType(Ed25519)
}

// GenerateKeyOfType returns a new random key of type t (Ed25519 or
// Curve25519).
func GenerateKeyOfType(t KeyType) (*PrivateKey, error) {
	return generateKey(rand.Reader, t)
}

func generateKey(r io.Reader, t KeyType) (*PrivateKey, error) {
	if t != Ed25519 && t != Curve25519 {
		return nil, fmt.Errorf("e3: cannot generate a key of type %v: %w", t, ErrKeyType)
	}
	var raw [keySize]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return nil, fmt.Errorf("e3: reading randomness: %w", err)
	}
	return newPrivateKey(t, &raw), nil
}

// GenerateKeyFromMaterial deterministically derives an Ed25519 key from
// 32 to 512 bytes of key material, exactly as virgil-crypto's
// generateKeysFromKeyMaterial does (KDF2-SHA512 seeding an AES-256
// CTR_DRBG; the seed is its first 32-byte output). e3kit's BrainKey uses it
// to turn the Pythia output into the backup key. The same material always
// gives the same key as virgil-crypto.
func GenerateKeyFromMaterial(material []byte) (*PrivateKey, error) {
	return generateKeyFromMaterial(material, Ed25519)
}

func generateKeyFromMaterial(material []byte, t KeyType) (*PrivateKey, error) {
	r, err := kmrng.New(material)
	if err != nil {
		return nil, parseErrorf("key material", "must be 32 to 512 bytes")
	}
	return generateKey(r, t)
}

// ParsePrivateKey parses a DER PKCS#8 PrivateKeyInfo (version 0, RFC 8410)
// holding an Ed25519 or X25519 key, the format virgil-crypto's
// exportPrivateKey writes and e3kit stores (base64-encoded). An optional
// attributes field is skipped. Errors never include the input.
func ParsePrivateKey(der []byte) (*PrivateKey, error) {
	s := cryptobyte.String(der)
	var info, outer, inner cryptobyte.String
	var alg wire.KeyAlg
	if !s.ReadASN1(&info, asn1.SEQUENCE) || !s.Empty() {
		return nil, parseErrorf("private key", "not a DER PKCS#8 PrivateKeyInfo")
	}
	var version int64
	if !info.ReadASN1Integer(&version) || version != 0 {
		return nil, parseErrorf("private key", "unsupported PKCS#8 version")
	}
	if !wire.ReadKeyAlgID(&info, &alg) {
		return nil, parseErrorf("private key", "algorithm is not Ed25519 or X25519 (without parameters)")
	}
	if !info.ReadASN1(&outer, asn1.OCTET_STRING) || !outer.ReadASN1(&inner, asn1.OCTET_STRING) || !outer.Empty() {
		return nil, parseErrorf("private key", "bad privateKey field")
	}
	if len(inner) != keySize {
		return nil, parseErrorf("private key", "key is not 32 bytes")
	}
	var attrs cryptobyte.String
	if !info.ReadOptionalASN1(&attrs, nil, asn1.Tag(0).ContextSpecific().Constructed()) || !info.Empty() {
		return nil, parseErrorf("private key", "unexpected fields after the key")
	}
	var raw [keySize]byte
	copy(raw[:], inner)
	return newPrivateKey(keyTypeOf(alg), &raw), nil
}

// errZeroKey is returned when an operation gets a zero-value PrivateKey or a
// nil key.
var errZeroKey = errors.New("e3: nil or zero-value key")

func (k *PrivateKey) valid() bool { return k != nil && k.k != nil }

// Public returns the key's public half. It carries the same identifier
// scheme as k.
func (k *PrivateKey) Public() *PublicKey {
	if !k.valid() {
		return nil
	}
	return k.k.pub
}

// Export returns the key as DER PKCS#8, byte for byte what virgil-crypto's
// exportPrivateKey returns (48 bytes). The result is secret.
func (k *PrivateKey) Export() []byte {
	if !k.valid() {
		return nil
	}
	out := make([]byte, 0, 48)
	out = append(out, pkcs8Prefix[k.k.typ]...)
	return append(out, k.k.sec.raw[:]...)
}

// Type returns the key's type.
func (k *PrivateKey) Type() KeyType {
	if !k.valid() {
		return 0
	}
	return k.k.typ
}

// Equal reports, in constant time with respect to the key bytes, whether k
// and x are the same key. The identifier scheme is not compared.
func (k *PrivateKey) Equal(x *PrivateKey) bool {
	if !k.valid() || !x.valid() {
		return !k.valid() && !x.valid()
	}
	same := subtle.ConstantTimeCompare(k.k.sec.raw[:], x.k.sec.raw[:])
	return same == 1 && k.k.typ == x.k.typ
}

// WithSHA256ID returns a copy of k whose public half (and so whose
// identifier when decrypting and signing) uses the SHA-256 scheme; see
// [PublicKey.WithSHA256ID].
func (k *PrivateKey) WithSHA256ID() *PrivateKey {
	if !k.valid() {
		return k
	}
	c := *k.k
	c.pub = k.k.pub.WithSHA256ID()
	return &PrivateKey{k: &c}
}

// Format implements fmt.Formatter: every verb prints "e3.PrivateKey(REDACTED)".
func (k PrivateKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, redacted)
}

// LogValue implements slog.LogValuer: the key logs as "e3.PrivateKey(REDACTED)".
func (k *PrivateKey) LogValue() slog.Value {
	return slog.StringValue(redacted)
}

// id returns the identifier of the key's public half.
func (k *PrivateKey) id() []byte { return k.k.pub.idBytes() }
