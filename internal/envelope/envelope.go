// Package envelope encodes and decodes the Virgil message info, the DER
// header every virgil-crypto ciphertext starts with, and the signAndEncrypt
// footer:
//
//	VirgilMessageInfo ::= SEQUENCE {
//	  version        INTEGER (0..3),               -- fixed by which fields are present
//	  cmsContent     ContentInfo,                  -- contentType envelopedData, [0] EXPLICIT EnvelopedData
//	  customParams   [0] EXPLICIT SET OF KeyValue OPTIONAL,
//	  cipherKdf      [1] EXPLICIT AlgorithmIdentifier OPTIONAL,   -- HKDF-SHA512
//	  footerInfo     [2] EXPLICIT VirgilFooterInfo OPTIONAL,
//	  cipherPadding  [3] EXPLICIT AlgorithmIdentifier OPTIONAL }  -- Virgil random padding
//
//	EnvelopedData ::= SEQUENCE { version INTEGER 2, recipientInfos SET OF KeyTransRecipientInfo,
//	  encryptedContentInfo SEQUENCE { OID data, SEQUENCE { OID aes256-GCM, OCTET STRING nonce(12) } } }
//	KeyTransRecipientInfo ::= SEQUENCE { version INTEGER 2, rid [0] EXPLICIT OCTET STRING keyId,
//	  keyEncryptionAlgorithm SEQUENCE { OID Ed25519 | X25519 }, encryptedKey OCTET STRING (ECIES envelope) }
//	KeyValue ::= SEQUENCE { key UTF8String, value CHOICE { [0] EXPLICIT INTEGER,
//	  [1] EXPLICIT UTF8String, [2] EXPLICIT OCTET STRING } }
//	VirgilFooterInfo ::= SEQUENCE { version INTEGER 0, dataSize INTEGER,
//	  signedDataInfo [0] EXPLICIT VirgilSignedDataInfo OPTIONAL }
//	VirgilSignedDataInfo ::= SEQUENCE { version INTEGER 0, digestAlgorithm AlgorithmIdentifier } -- SHA-512
//
//	VirgilMessageInfoFooter ::= SEQUENCE { version INTEGER 0,
//	  signerInfos [0] EXPLICIT SET OF VirgilSignerInfo OPTIONAL }
//	VirgilSignerInfo ::= SEQUENCE { version INTEGER 0, signerId OCTET STRING,
//	  signerAlgorithm AlgorithmIdentifier, signature OCTET STRING }
//
// Writers sort every SET by encoding, as virgil-crypto does, so output is
// byte-identical to Virgil's. Readers accept any SET order (Virgil does) and
// are otherwise strict, like virgil-crypto-c's decoder and stricter where it
// is lax: the version must match the fields present; EnvelopedData,
// recipient, footer-info, signed-data-info and signer-info versions must be
// the ones Virgil writes; only the algorithms Virgil writes are accepted;
// duplicate custom-parameter keys, password recipients, empty SETs and
// trailing bytes are rejected.
//
// The message info is self-delimiting (its outer DER length), so a stream
// reader can take it off the front of a ciphertext with [Len] and [Parse];
// the body and the footer are handled separately.
package envelope

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/e3go/e3go/internal/der"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed is matched (errors.Is) by every error this package returns
// for bad input.
var ErrMalformed = errors.New("envelope: malformed")

type malformedError struct{ reason string }

func (e *malformedError) Error() string        { return "envelope: " + e.reason }
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

func bad(reason string) error { return &malformedError{reason} }

// NonceSize is the AES-256-GCM nonce size of the body.
const NonceSize = 12

// MaxInfoLen bounds the size of a message info a reader accepts (about
// 66 000 recipients); it keeps a stream reader from allocating on a hostile
// length.
const MaxInfoLen = 1 << 24

// The two custom parameters virgil-crypto's signThenEncrypt writes.
const (
	ParamSignature = "VIRGIL-DATA-SIGNATURE"
	ParamSignerID  = "VIRGIL-DATA-SIGNER-ID"
)

// MessageInfo is a decoded Virgil message info.
type MessageInfo struct {
	Recipients   []KeyRecipient
	Nonce        []byte  // GCM nonce of the body (12 bytes)
	CustomParams []Param // nil when absent
	KDF          bool    // cipherKdf [1] = HKDF-SHA512 (signAndEncrypt)
	Footer       *FooterInfo
	Padding      bool // cipherPadding [3] = Virgil random padding
}

// KeyRecipient is one KeyTransRecipientInfo.
type KeyRecipient struct {
	ID           []byte
	Alg          der.KeyAlg
	EncryptedKey []byte // ECIES envelope DER
}

// ParamKind says which value a custom parameter holds.
type ParamKind uint8

// Custom parameter value kinds (the CHOICE tags [0], [1], [2]).
const (
	ParamInt ParamKind = iota
	ParamString
	ParamData
)

// Param is a custom parameter. Int holds a ParamInt value; Value holds the
// bytes of a ParamString or ParamData value.
type Param struct {
	Key   string
	Kind  ParamKind
	Int   int64
	Value []byte
}

// FooterInfo is the footerInfo field. DataSize is the number of bytes the
// body's GCM encrypts (the padded length when padding is on).
type FooterInfo struct {
	DataSize       int64
	SignedDataInfo bool // signedDataInfo [0] (SHA-512) present
}

// SignedDataInfo is the DER of VirgilSignedDataInfo with SHA-512, the only
// value Virgil writes; it is also the AAD of a signAndEncrypt body.
var SignedDataInfo = []byte{
	0x30, 0x12, 0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
}

// Version returns the version the message info must carry: 3 with padding,
// else 2 with a KDF and a footer info, 1 with a KDF only, 0 otherwise.
func (m *MessageInfo) Version() int64 {
	switch {
	case m.Padding:
		return 3
	case m.KDF && m.Footer != nil:
		return 2
	case m.KDF:
		return 1
	}
	return 0
}

// Recipient returns the first recipient entry whose id equals id.
func (m *MessageInfo) Recipient(id []byte) (*KeyRecipient, bool) {
	for i := range m.Recipients {
		if bytes.Equal(m.Recipients[i].ID, id) {
			return &m.Recipients[i], true
		}
	}
	return nil, false
}

// Param returns the custom parameter with the given key.
func (m *MessageInfo) Param(key string) (*Param, bool) {
	for i := range m.CustomParams {
		if m.CustomParams[i].Key == key {
			return &m.CustomParams[i], true
		}
	}
	return nil, false
}

func (m *MessageInfo) check() error {
	if len(m.Recipients) == 0 {
		return bad("no recipients")
	}
	for _, r := range m.Recipients {
		if len(r.ID) == 0 || r.Alg.OID() == nil || len(r.EncryptedKey) == 0 {
			return bad("invalid recipient")
		}
	}
	if len(m.Nonce) != NonceSize {
		return bad("nonce is not 12 bytes")
	}
	if m.CustomParams != nil {
		if len(m.CustomParams) == 0 {
			return bad("empty custom parameters")
		}
		seen := make(map[string]bool, len(m.CustomParams))
		for _, p := range m.CustomParams {
			if seen[p.Key] {
				return bad("duplicate custom parameter")
			}
			seen[p.Key] = true
			if p.Kind > ParamData {
				return bad("unknown custom parameter kind")
			}
		}
	}
	if m.Footer != nil {
		if !m.KDF {
			return bad("footer info without cipher KDF")
		}
		if m.Footer.DataSize < 0 {
			return bad("negative data size")
		}
	}
	return nil
}

// Marshal encodes the message info canonically: SETs sorted by encoding,
// the version computed from the fields present.
func (m *MessageInfo) Marshal() ([]byte, error) {
	return m.marshal(true)
}

// MarshalInOrder encodes the message info with the recipients and custom
// parameters in the order of the slices, not sorted. Virgil never writes
// such SETs (but reads them); it exists for tests and for re-encoding a
// parsed message info exactly.
func (m *MessageInfo) MarshalInOrder() ([]byte, error) {
	return m.marshal(false)
}

func (m *MessageInfo) marshal(sorted bool) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	recips := make([][]byte, len(m.Recipients))
	for i, r := range m.Recipients {
		recips[i] = der.MustMarshal(func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(2)
				b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(r.ID)
				})
				der.AddAlgID(b, r.Alg.OID())
				b.AddASN1OctetString(r.EncryptedKey)
			})
		})
	}
	var params [][]byte
	for _, p := range m.CustomParams {
		params = append(params, der.MustMarshal(func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(p.Key)) })
				b.AddASN1(asn1.Tag(p.Kind).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					switch p.Kind {
					case ParamInt:
						b.AddASN1Int64(p.Int)
					case ParamString:
						b.AddASN1(asn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes(p.Value) })
					case ParamData:
						b.AddASN1OctetString(p.Value)
					}
				})
			})
		}))
	}
	if sorted {
		der.SortSet(recips)
		der.SortSet(params)
	}
	return der.Marshal(func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(m.Version())
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
				der.AddOID(b, der.OIDEnvelopedData)
				b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // EnvelopedData
						b.AddASN1Int64(2)
						b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
							for _, r := range recips {
								b.AddBytes(r)
							}
						})
						b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncryptedContentInfo
							der.AddOID(b, der.OIDData)
							der.AddAlgIDOctets(b, der.OIDAES256GCM, m.Nonce)
						})
					})
				})
			})
			if m.CustomParams != nil {
				b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
						for _, p := range params {
							b.AddBytes(p)
						}
					})
				})
			}
			if m.KDF {
				b.AddASN1(asn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					der.AddAlgID(b, der.OIDHKDFSHA512)
				})
			}
			if m.Footer != nil {
				b.AddASN1(asn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(0)
						b.AddASN1Int64(m.Footer.DataSize)
						if m.Footer.SignedDataInfo {
							b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
								b.AddBytes(SignedDataInfo)
							})
						}
					})
				})
			}
			if m.Padding {
				b.AddASN1(asn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					der.AddAlgID(b, der.OIDRandomPadding)
				})
			}
		})
	})
}

// Len reports the total length of the message info at the start of b, from
// its DER header. ok is false when b is too short to tell (a stream reader
// then reads more); an error means b cannot start a message info.
func Len(b []byte) (n int, ok bool, err error) {
	if len(b) < 2 {
		return 0, false, nil
	}
	if b[0] != 0x30 {
		return 0, false, bad("not a DER SEQUENCE")
	}
	l := int(b[1])
	if l < 0x80 {
		return 2 + l, true, nil
	}
	nb := l & 0x7f
	if nb == 0 || nb > 3 {
		return 0, false, bad("bad length")
	}
	if len(b) < 2+nb {
		return 0, false, nil
	}
	v := 0
	for _, c := range b[2 : 2+nb] {
		v = v<<8 | int(c)
	}
	if b[2] == 0 || v < 0x80 { // non-minimal
		return 0, false, bad("bad length")
	}
	n = 2 + nb + v
	if n > MaxInfoLen {
		return 0, false, bad("message info too large")
	}
	return n, true, nil
}

// Parse decodes the message info at the start of b and returns it and its
// length in bytes; what follows is the caller's (the body).
func Parse(b []byte) (*MessageInfo, int, error) {
	n, ok, err := Len(b)
	if err != nil {
		return nil, 0, err
	}
	if !ok || n > len(b) {
		return nil, 0, bad("truncated")
	}
	m, err := parseInfo(b[:n])
	if err != nil {
		return nil, 0, err
	}
	return m, n, nil
}

var (
	tag0 = asn1.Tag(0).ContextSpecific().Constructed()
	tag1 = asn1.Tag(1).ContextSpecific().Constructed()
	tag2 = asn1.Tag(2).ContextSpecific().Constructed()
	tag3 = asn1.Tag(3).ContextSpecific().Constructed()
)

func parseInfo(in []byte) (*MessageInfo, error) {
	m := &MessageInfo{}
	s := cryptobyte.String(in)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() {
		return nil, bad("not a DER SEQUENCE")
	}
	var version int64
	if !der.ReadSmallInt(&seq, &version, 0, 3) {
		return nil, bad("bad version")
	}

	// ContentInfo { envelopedData, [0] EnvelopedData }
	var ci, ciContent, ed, set, eci, gcm cryptobyte.String
	if !seq.ReadASN1(&ci, asn1.SEQUENCE) || !readOIDExact(&ci, der.OIDEnvelopedData) ||
		!ci.ReadASN1(&ciContent, tag0) || !ci.Empty() ||
		!ciContent.ReadASN1(&ed, asn1.SEQUENCE) || !ciContent.Empty() {
		return nil, bad("bad ContentInfo")
	}
	if !der.ReadVersion(&ed, 2) {
		return nil, bad("bad EnvelopedData version")
	}
	if !ed.ReadASN1(&set, asn1.SET) || set.Empty() {
		return nil, bad("bad recipient infos")
	}
	for !set.Empty() {
		r, err := parseRecipient(&set)
		if err != nil {
			return nil, err
		}
		m.Recipients = append(m.Recipients, r)
	}
	if !ed.ReadASN1(&eci, asn1.SEQUENCE) || !ed.Empty() ||
		!readOIDExact(&eci, der.OIDData) ||
		!eci.ReadASN1(&gcm, asn1.SEQUENCE) || !eci.Empty() ||
		!readOIDExact(&gcm, der.OIDAES256GCM) {
		return nil, bad("bad encrypted content info")
	}
	var nonce []byte
	if !gcm.ReadASN1Bytes(&nonce, asn1.OCTET_STRING) || !gcm.Empty() || len(nonce) != NonceSize {
		return nil, bad("bad GCM nonce")
	}
	m.Nonce = nonce

	// [0] custom params
	var cp cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&cp, &present, tag0) {
		return nil, bad("bad custom parameters")
	}
	if present {
		var params cryptobyte.String
		if !cp.ReadASN1(&params, asn1.SET) || !cp.Empty() || params.Empty() {
			return nil, bad("bad custom parameters")
		}
		m.CustomParams = []Param{}
		for !params.Empty() {
			p, err := parseParam(&params)
			if err != nil {
				return nil, err
			}
			m.CustomParams = append(m.CustomParams, p)
		}
	}
	// [1] cipher KDF
	var kdf cryptobyte.String
	if !seq.ReadOptionalASN1(&kdf, &m.KDF, tag1) {
		return nil, bad("bad cipher KDF")
	}
	if m.KDF && (!der.ReadAlgIDExact(&kdf, der.OIDHKDFSHA512) || !kdf.Empty()) {
		return nil, bad("unsupported cipher KDF")
	}
	// [2] footer info
	var fi cryptobyte.String
	if !seq.ReadOptionalASN1(&fi, &present, tag2) {
		return nil, bad("bad footer info")
	}
	if present {
		f, err := parseFooterInfo(&fi)
		if err != nil {
			return nil, err
		}
		m.Footer = f
	}
	// [3] padding
	var pad cryptobyte.String
	if !seq.ReadOptionalASN1(&pad, &m.Padding, tag3) {
		return nil, bad("bad cipher padding")
	}
	if m.Padding && (!der.ReadAlgIDExact(&pad, der.OIDRandomPadding) || !pad.Empty()) {
		return nil, bad("unsupported cipher padding")
	}
	if !seq.Empty() {
		return nil, bad("unexpected fields")
	}
	if version != m.Version() {
		return nil, bad("version does not match the fields present")
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func parseRecipient(set *cryptobyte.String) (KeyRecipient, error) {
	var r KeyRecipient
	var ri, rid cryptobyte.String
	var tag asn1.Tag
	if !set.ReadAnyASN1(&ri, &tag) {
		return r, bad("bad recipient info")
	}
	if tag == tag3 {
		return r, bad("password recipients are not supported")
	}
	if tag != asn1.SEQUENCE {
		return r, bad("bad recipient info")
	}
	var id, key []byte
	if !der.ReadVersion(&ri, 2) {
		return r, bad("bad recipient info version")
	}
	if !ri.ReadASN1(&rid, tag0) || !rid.ReadASN1Bytes(&id, asn1.OCTET_STRING) || !rid.Empty() || len(id) == 0 {
		return r, bad("bad recipient id")
	}
	if !der.ReadKeyAlgID(&ri, &r.Alg) {
		return r, bad("unsupported recipient key algorithm")
	}
	if !ri.ReadASN1Bytes(&key, asn1.OCTET_STRING) || !ri.Empty() || len(key) == 0 {
		return r, bad("bad encrypted key")
	}
	r.ID, r.EncryptedKey = id, key
	return r, nil
}

func parseParam(params *cryptobyte.String) (Param, error) {
	var p Param
	var kv, key, val cryptobyte.String
	var tag asn1.Tag
	if !params.ReadASN1(&kv, asn1.SEQUENCE) || !kv.ReadASN1(&key, asn1.UTF8String) ||
		!kv.ReadAnyASN1(&val, &tag) || !kv.Empty() {
		return p, bad("bad custom parameter")
	}
	p.Key = string(key)
	switch tag {
	case tag0:
		p.Kind = ParamInt
		if !val.ReadASN1Integer(&p.Int) || !val.Empty() {
			return p, bad("bad integer custom parameter")
		}
	case tag1:
		p.Kind = ParamString
		var v cryptobyte.String
		if !val.ReadASN1(&v, asn1.UTF8String) || !val.Empty() {
			return p, bad("bad string custom parameter")
		}
		p.Value = v
	case tag2:
		p.Kind = ParamData
		var v []byte
		if !val.ReadASN1Bytes(&v, asn1.OCTET_STRING) || !val.Empty() {
			return p, bad("bad data custom parameter")
		}
		p.Value = v
	default:
		return p, bad("unknown custom parameter kind")
	}
	return p, nil
}

func parseFooterInfo(fi *cryptobyte.String) (*FooterInfo, error) {
	var seq, sdi cryptobyte.String
	f := &FooterInfo{}
	if !fi.ReadASN1(&seq, asn1.SEQUENCE) || !fi.Empty() || !der.ReadVersion(&seq, 0) {
		return nil, bad("bad footer info")
	}
	if !der.ReadSmallInt(&seq, &f.DataSize, 0, 1<<62) {
		return nil, bad("bad data size")
	}
	if !seq.ReadOptionalASN1(&sdi, &f.SignedDataInfo, tag0) || !seq.Empty() {
		return nil, bad("bad footer info")
	}
	if f.SignedDataInfo && !bytes.Equal(sdi, SignedDataInfo) {
		return nil, bad("unsupported signed data info")
	}
	return f, nil
}

func readOIDExact(s *cryptobyte.String, want []byte) bool {
	var oid []byte
	return der.ReadOID(s, &oid) && bytes.Equal(oid, want)
}

// Footer is the decrypted signAndEncrypt footer (VirgilMessageInfoFooter).
type Footer struct {
	Signers []SignerInfo // nil when the signerInfos field is absent
}

// SignerInfo is one VirgilSignerInfo.
type SignerInfo struct {
	ID        []byte
	Alg       der.KeyAlg
	Signature []byte
}

// Marshal encodes the footer with the signer infos sorted.
func (f *Footer) Marshal() ([]byte, error) { return f.marshal(true) }

// MarshalInOrder encodes the footer with the signer infos in slice order.
func (f *Footer) MarshalInOrder() ([]byte, error) { return f.marshal(false) }

func (f *Footer) marshal(sorted bool) ([]byte, error) {
	if f.Signers != nil && len(f.Signers) == 0 {
		return nil, bad("empty signer infos")
	}
	var infos [][]byte
	for _, s := range f.Signers {
		if len(s.ID) == 0 || s.Alg.OID() == nil {
			return nil, bad("invalid signer info")
		}
		infos = append(infos, der.MustMarshal(func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(0)
				b.AddASN1OctetString(s.ID)
				der.AddAlgID(b, s.Alg.OID())
				b.AddASN1OctetString(s.Signature)
			})
		}))
	}
	if sorted {
		der.SortSet(infos)
	}
	return der.Marshal(func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			if f.Signers != nil {
				b.AddASN1(tag0, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
						for _, i := range infos {
							b.AddBytes(i)
						}
					})
				})
			}
		})
	})
}

// ParseFooter decodes a footer; the whole input must be one footer.
func ParseFooter(in []byte) (*Footer, error) {
	s := cryptobyte.String(in)
	var seq, wrap, set cryptobyte.String
	var present bool
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() || !der.ReadVersion(&seq, 0) ||
		!seq.ReadOptionalASN1(&wrap, &present, tag0) || !seq.Empty() {
		return nil, bad("bad footer")
	}
	f := &Footer{}
	if !present {
		return f, nil
	}
	if !wrap.ReadASN1(&set, asn1.SET) || !wrap.Empty() || set.Empty() {
		return nil, bad("bad signer infos")
	}
	for !set.Empty() {
		var si cryptobyte.String
		var s SignerInfo
		var id, sig []byte
		if !set.ReadASN1(&si, asn1.SEQUENCE) || !der.ReadVersion(&si, 0) ||
			!si.ReadASN1Bytes(&id, asn1.OCTET_STRING) || len(id) == 0 ||
			!der.ReadKeyAlgID(&si, &s.Alg) ||
			!si.ReadASN1Bytes(&sig, asn1.OCTET_STRING) || !si.Empty() {
			return nil, bad("bad signer info")
		}
		s.ID, s.Signature = id, sig
		f.Signers = append(f.Signers, s)
	}
	return f, nil
}

// String describes the message info's shape without its keys or nonce (for
// test failure messages).
func (m *MessageInfo) String() string {
	return fmt.Sprintf("MessageInfo{v%d, %d recipients, %d params, kdf=%v, footer=%v, padding=%v}",
		m.Version(), len(m.Recipients), len(m.CustomParams), m.KDF, m.Footer != nil, m.Padding)
}
