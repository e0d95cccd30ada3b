package e3

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	wire "github.com/e3go/e3go/internal/der"
	"github.com/e3go/e3go/internal/ecies"
	"github.com/e3go/e3go/internal/envelope"
)

// Format constants.
const (
	contentKeySize = 32  // AES-256 key, and the signAndEncrypt master key
	tagSize        = 16  // AES-GCM tag
	paddingFrame   = 160 // Virgil's PADDING_LEN; decryptors allow at most this much padding
	paddingLenSize = 4   // uint32 little-endian padding length
	hkdfOutSize    = 88  // dataKey 32 ‖ dataNonce 12 ‖ footerKey 32 ‖ footerNonce 12
	maxPlaintext   = 1<<36 - 64
)

var errNoRecipients = errors.New("e3: at least one recipient key is required")

// sealMode selects the ciphertext format.
type sealMode int

const (
	modeEncrypt        sealMode = iota // encrypt / signThenEncrypt: K and nonce random, no AAD
	modeSignAndEncrypt                 // signAndEncrypt: HKDF-SHA512 master key, SignedDataInfo AAD, footer
)

// sealParams describes one encryption.
type sealParams struct {
	mode    sealMode
	padding bool
	params  []envelope.Param // custom params (signThenEncrypt's signature and signer id)
	signer  *PrivateKey      // modeSignAndEncrypt
	size    int64            // modeSignAndEncrypt: plaintext length, known up front
}

// sealer is the state of one encryption once its message info is built. The
// message info (the ciphertext prefix), the body and the footer are produced
// separately, so the one-shot and the streaming forms share all of it.
type sealer struct {
	info        []byte
	bodyKey     []byte // the body's AES-256-GCM key (for the streaming encrypter)
	aead        cipher.AEAD
	nonce       []byte
	aad         []byte
	padding     bool
	rand        io.Reader // draws the padding at the end, in Virgil's order
	signer      *PrivateKey
	footerAEAD  cipher.AEAD
	footerNonce []byte
}

func newAEAD(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("e3: " + err.Error()) // 32-byte keys never fail
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic("e3: " + err.Error())
	}
	return a
}

// paddedLen returns the body length for a plaintext of n bytes with padding
// on: the smallest multiple of 160 that is at least n+5 (P in [1, 160]).
func paddedLen(n int64) int64 {
	return (n+paddingLenSize)/paddingFrame*paddingFrame + paddingFrame
}

// newSealer draws the keys and builds the message info, drawing randomness
// exactly in virgil-crypto's order (RecipientCipher.startEncryption /
// startSignedEncryption): the content key (and for encrypt the nonce), then
// for each recipient in call order the ephemeral key and the IV. Padding
// bytes are drawn last, by appendPadding.
func newSealer(rnd io.Reader, p sealParams, to []*PublicKey) (*sealer, error) {
	if len(to) == 0 {
		return nil, errNoRecipients
	}
	for _, k := range to {
		if k == nil {
			return nil, errZeroKey
		}
	}
	s := &sealer{padding: p.padding, rand: rnd}
	mi := &envelope.MessageInfo{Padding: p.padding, CustomParams: p.params}
	key := make([]byte, contentKeySize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("e3: reading randomness: %w", err)
	}
	switch p.mode {
	case modeEncrypt:
		s.nonce = make([]byte, envelope.NonceSize)
		if _, err := io.ReadFull(rnd, s.nonce); err != nil {
			return nil, fmt.Errorf("e3: reading randomness: %w", err)
		}
		s.aead, s.bodyKey = newAEAD(key), append([]byte(nil), key...)
	case modeSignAndEncrypt:
		if !p.signer.valid() {
			return nil, errZeroKey
		}
		if p.signer.k.typ != Ed25519 {
			return nil, fmt.Errorf("e3: a %v key cannot sign: %w", p.signer.k.typ, ErrKeyType)
		}
		if p.size < 0 || p.size > maxPlaintext {
			return nil, errors.New("e3: invalid plaintext size")
		}
		dk := deriveKeys(key)
		s.aead, s.nonce, s.bodyKey = newAEAD(dk.dataKey), dk.dataNonce, dk.dataKey
		s.footerAEAD, s.footerNonce = newAEAD(dk.footerKey), dk.footerNonce
		s.aad = envelope.SignedDataInfo
		s.signer = p.signer
		size := p.size
		if p.padding {
			size = paddedLen(size)
		}
		mi.KDF = true
		mi.Footer = &envelope.FooterInfo{DataSize: size, SignedDataInfo: true}
	}
	mi.Nonce = s.nonce
	mi.Recipients = make([]envelope.KeyRecipient, len(to))
	for i, k := range to {
		alg := k.typ.alg()
		wrapped, err := ecies.Seal(rnd, alg, &k.u, key)
		if err != nil {
			return nil, fmt.Errorf("e3: wrapping the key for %v: %w", k, err)
		}
		mi.Recipients[i] = envelope.KeyRecipient{ID: k.idBytes(), Alg: alg, EncryptedKey: wrapped}
	}
	clear(key)
	info, err := mi.Marshal()
	if err != nil {
		return nil, fmt.Errorf("e3: encoding the message info: %w", err)
	}
	if len(info) > envelope.MaxInfoLen {
		return nil, errors.New("e3: too many recipients")
	}
	s.info = info
	return s, nil
}

type derivedKeys struct {
	dataKey, dataNonce, footerKey, footerNonce []byte
}

// deriveKeys is signAndEncrypt's HKDF-SHA512(master, salt = "", info = "", 88).
func deriveKeys(master []byte) derivedKeys {
	okm, err := hkdf.Key(sha512.New, master, nil, "", hkdfOutSize)
	if err != nil {
		panic("e3: " + err.Error()) // 88 bytes is far below the HKDF limit
	}
	return derivedKeys{okm[0:32], okm[32:44], okm[44:76], okm[76:88]}
}

// appendPadding appends Virgil's random padding for a plaintext of n bytes:
// P random bytes (one draw) then uint32_le(P).
func (s *sealer) appendPadding(dst []byte, n int64) ([]byte, error) {
	p := int(paddedLen(n) - n - paddingLenSize)
	start := len(dst)
	dst = append(dst, make([]byte, p+paddingLenSize)...)
	if _, err := io.ReadFull(s.rand, dst[start:start+p]); err != nil {
		return nil, fmt.Errorf("e3: reading randomness: %w", err)
	}
	binary.LittleEndian.PutUint32(dst[start+p:], uint32(p))
	return dst, nil
}

// footer returns the encrypted signAndEncrypt footer for the signature over
// SHA-512(plaintext) (digest is that SHA-512).
func (s *sealer) footer(digest []byte) ([]byte, error) {
	sig := signPrehashed(s.signer, digest)
	f := envelope.Footer{Signers: []envelope.SignerInfo{{ID: s.signer.id(), Alg: wire.Ed25519, Signature: sig}}}
	fder, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	return s.footerAEAD.Seal(nil, s.footerNonce, fder, nil), nil
}

// sealOneShot produces message info ‖ body ‖ [footer] for data.
func sealOneShot(rnd io.Reader, data []byte, p sealParams, to []*PublicKey) ([]byte, error) {
	if int64(len(data)) > maxPlaintext {
		return nil, errors.New("e3: plaintext too large")
	}
	s, err := newSealer(rnd, p, to)
	if err != nil {
		return nil, err
	}
	bodyLen := len(data)
	if p.padding {
		bodyLen = int(paddedLen(int64(len(data))))
	}
	footerLen := 0
	if s.signer != nil {
		footerLen = 160
	}
	out := make([]byte, 0, len(s.info)+bodyLen+tagSize+footerLen)
	out = append(out, s.info...)
	if p.padding {
		// Seal in place over data ‖ padding.
		start := len(out)
		out = append(out, data...)
		if out, err = s.appendPadding(out, int64(len(data))); err != nil {
			return nil, err
		}
		out = s.aead.Seal(out[:start], s.nonce, out[start:], s.aad)
	} else {
		out = s.aead.Seal(out, s.nonce, data, s.aad)
	}
	if s.signer != nil {
		d := sha512.Sum512(data)
		f, err := s.footer(d[:])
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	return out, nil
}

// signPrehashed signs a SHA-512 digest with an Ed25519 key (pure Ed25519
// over the 64-byte digest, as Virgil does).
func signPrehashed(k *PrivateKey, digest []byte) []byte {
	return ed25519Sign(k, digest)
}

// opener is the state of one decryption once the message info is parsed
// and the content key unwrapped.
type opener struct {
	mi          *envelope.MessageInfo
	bodyKey     []byte
	aead        cipher.AEAD
	nonce       []byte
	aad         []byte
	bodyLen     int64 // the GCM input length (ciphertext ‖ tag), or -1: everything after the message info
	footerAEAD  cipher.AEAD
	footerNonce []byte
}

var (
	errTruncated     = fmt.Errorf("%w: ciphertext truncated", ErrAuthFailed)
	errBodyAuth      = fmt.Errorf("%w: ciphertext or tag altered, or wrong key", ErrAuthFailed)
	errKeyUnwrap     = fmt.Errorf("%w: recipient key entry does not open with this key", ErrAuthFailed)
	errFooterAuth    = fmt.Errorf("%w: footer altered or missing", ErrAuthFailed)
	errNonceMismatch = fmt.Errorf("%w: message info nonce does not match the derived nonce", ErrAuthFailed)
)

// newOpener finds the key's recipient entry in the parsed message info and
// unwraps the content key.
func newOpener(mi *envelope.MessageInfo, key *PrivateKey) (*opener, error) {
	if !key.valid() {
		return nil, errZeroKey
	}
	r, ok := mi.Recipient(key.id())
	if !ok {
		return nil, ErrNotRecipient
	}
	if r.Alg != key.k.typ.alg() {
		return nil, fmt.Errorf("e3: recipient entry is for an %v key, not %v: %w", r.Alg, key.k.typ, ErrKeyType)
	}
	env, err := ecies.Parse(r.EncryptedKey)
	if err != nil {
		return nil, parseError("recipient key entry", err)
	}
	if env.Alg != r.Alg {
		return nil, parseErrorf("recipient key entry", "ephemeral key algorithm differs from the recipient's")
	}
	k, err := env.Open(r.Alg, &key.k.sec.xs)
	if err != nil || len(k) != contentKeySize {
		return nil, errKeyUnwrap
	}
	o := &opener{mi: mi, bodyLen: -1}
	if mi.KDF {
		dk := deriveKeys(k)
		if subtle.ConstantTimeCompare(dk.dataNonce, mi.Nonce) != 1 {
			return nil, errNonceMismatch
		}
		o.aead, o.nonce, o.bodyKey = newAEAD(dk.dataKey), dk.dataNonce, dk.dataKey
		if mi.Footer != nil {
			o.footerAEAD, o.footerNonce = newAEAD(dk.footerKey), dk.footerNonce
		}
	} else {
		o.aead, o.nonce, o.bodyKey = newAEAD(k), mi.Nonce, k
	}
	if mi.Footer != nil {
		if mi.Footer.SignedDataInfo {
			o.aad = envelope.SignedDataInfo
		}
		if mi.Footer.DataSize > maxPlaintext+2*paddingFrame {
			return nil, parseErrorf("message info", "data size too large")
		}
		o.bodyLen = mi.Footer.DataSize + tagSize
	}
	return o, nil
}

// unpad strips Virgil's random padding: the last 4 bytes give P, which must
// be in [1, 160] (what virgil-crypto's decryptors allow) and fit.
func unpad(b []byte) ([]byte, error) {
	if len(b) < paddingLenSize+1 {
		return nil, parseErrorf("padding", "padded data too short")
	}
	p := int64(binary.LittleEndian.Uint32(b[len(b)-paddingLenSize:]))
	if p < 1 || p > paddingFrame || p+paddingLenSize > int64(len(b)) {
		return nil, parseErrorf("padding", "inconsistent padding length")
	}
	return b[:int64(len(b))-p-paddingLenSize], nil
}

// openFooter decrypts and parses the encrypted footer.
func (o *opener) openFooter(footerCT []byte) (*envelope.Footer, error) {
	if len(footerCT) < tagSize {
		return nil, errFooterAuth
	}
	fder, err := o.footerAEAD.Open(nil, o.footerNonce, footerCT, nil)
	if err != nil {
		return nil, errFooterAuth
	}
	f, err := envelope.ParseFooter(fder)
	if err != nil {
		return nil, parseError("footer", err)
	}
	return f, nil
}

// openResult is a decrypted message with what verification needs.
type openResult struct {
	plaintext []byte
	mi        *envelope.MessageInfo
	footer    *envelope.Footer // nil unless the message has a footer
}

// openOneShot decrypts message info ‖ body ‖ [footer].
func openOneShot(ct []byte, key *PrivateKey) (*openResult, error) {
	mi, n, err := envelope.Parse(ct)
	if err != nil {
		return nil, parseError("message info", err)
	}
	return openBody(mi, ct[n:], key)
}

// openBody decrypts the part after the message info: body ‖ [footer].
func openBody(mi *envelope.MessageInfo, rest []byte, key *PrivateKey) (*openResult, error) {
	o, err := newOpener(mi, key)
	if err != nil {
		return nil, err
	}
	body, footerCT := rest, []byte(nil)
	if o.bodyLen >= 0 {
		if int64(len(rest)) < o.bodyLen {
			return nil, errTruncated
		}
		body, footerCT = rest[:o.bodyLen], rest[o.bodyLen:]
	}
	if len(body) < tagSize {
		return nil, errTruncated
	}
	pt, err := o.aead.Open(nil, o.nonce, body, o.aad)
	if err != nil {
		return nil, errBodyAuth
	}
	res := &openResult{mi: mi}
	if o.footerAEAD != nil {
		if res.footer, err = o.openFooter(footerCT); err != nil {
			return nil, err
		}
	}
	if mi.Padding {
		if pt, err = unpad(pt); err != nil {
			return nil, err
		}
	}
	res.plaintext = pt
	return res, nil
}

// verifyCustomParams checks signThenEncrypt's signature (custom parameters
// VIRGIL-DATA-SIGNATURE and VIRGIL-DATA-SIGNER-ID) as virgil-crypto's
// decryptThenVerify does: with exactly one key given, that key is used and
// the signer id ignored; otherwise the key is chosen by the signer id.
func verifyCustomParams(res *openResult, signers []*PublicKey) error {
	if len(signers) == 0 {
		return fmt.Errorf("e3: no verification keys given: %w", ErrSignerNotFound)
	}
	sig, ok := res.mi.Param(envelope.ParamSignature)
	if !ok {
		return ErrNotSigned
	}
	if sig.Kind != envelope.ParamData {
		return parseErrorf("message info", "signature parameter is not binary data")
	}
	var key *PublicKey
	if len(signers) == 1 {
		key = signers[0]
	} else {
		id, ok := res.mi.Param(envelope.ParamSignerID)
		if !ok || id.Kind != envelope.ParamData {
			return ErrSignerNotFound
		}
		if key = findSigner(signers, id.Value); key == nil {
			return ErrSignerNotFound
		}
	}
	if key == nil {
		return errZeroKey
	}
	return Verify(res.plaintext, sig.Value, key)
}

func findSigner(signers []*PublicKey, id []byte) *PublicKey {
	for _, k := range signers {
		if k != nil && subtle.ConstantTimeCompare(k.idBytes(), id) == 1 {
			return k
		}
	}
	return nil
}

// verifyFooter checks signAndEncrypt's footer signature as virgil-crypto's
// decryptAndVerify does: the first signer info names the signer by id,
// which must be among the given keys (also when only one is given).
func verifyFooter(res *openResult, signers []*PublicKey) error {
	d := sha512.Sum512(res.plaintext)
	return verifyFooterDigest(res.footer, d[:], signers)
}

// verifyFooterDigest is verifyFooter given SHA-512 of the plaintext.
func verifyFooterDigest(f *envelope.Footer, digest []byte, signers []*PublicKey) error {
	if f == nil || len(f.Signers) == 0 {
		return ErrNotSigned
	}
	si := f.Signers[0]
	key := findSigner(signers, si.ID)
	if key == nil {
		return ErrSignerNotFound
	}
	if si.Alg != key.typ.alg() || key.typ != Ed25519 {
		return fmt.Errorf("%w: signer algorithm does not match the key: %w", ErrAuthFailed, ErrKeyType)
	}
	if !ed25519.Verify(key.key[:], digest, si.Signature) {
		return errBadSignature
	}
	return nil
}

// Encrypt encrypts data for the given recipients, byte-compatible with
// virgil-crypto's encrypt (without padding): a random AES-256-GCM key is
// wrapped for each recipient with ECIES; the output is the message info
// followed by the GCM ciphertext and tag. Any number of recipients may be
// given; on the wire they are sorted by identifier, as Virgil does.
// Encrypt does not sign: use [SignAndEncrypt] or [SignThenEncrypt] unless
// the sender is authenticated some other way.
func Encrypt(data []byte, to ...*PublicKey) ([]byte, error) {
	return sealOneShot(rand.Reader, data, sealParams{mode: modeEncrypt}, to)
}

// Decrypt decrypts a ciphertext made by [Encrypt], [SignThenEncrypt] or
// [SignAndEncrypt] (or their virgil-crypto counterparts, with or without
// padding) with the recipient's private key. It does not check any
// signature. It fails with ErrNotRecipient if the ciphertext has no entry
// for the key, ErrAuthFailed if anything was altered, and a *ParseError for
// malformed input; it never returns partial plaintext.
func Decrypt(ct []byte, key *PrivateKey) ([]byte, error) {
	res, err := openOneShot(ct, key)
	if err != nil {
		return nil, err
	}
	return res.plaintext, nil
}

// signThenEncryptParams returns the two custom parameters of
// signThenEncrypt, in the order virgil-crypto adds them (the writer sorts
// them anyway: the signer id comes first on the wire).
func signThenEncryptParams(data []byte, signer *PrivateKey) ([]envelope.Param, error) {
	sig, err := Sign(data, signer)
	if err != nil {
		return nil, err
	}
	return []envelope.Param{
		{Key: envelope.ParamSignature, Kind: envelope.ParamData, Value: sig},
		{Key: envelope.ParamSignerID, Kind: envelope.ParamData, Value: signer.id()},
	}, nil
}

// SignThenEncrypt signs data with signer and encrypts it for the
// recipients, byte-compatible with virgil-crypto's signThenEncrypt (which
// e3kit's EThree.encrypt uses): the [Sign] signature and the signer's
// identifier travel in the message info as the custom parameters
// VIRGIL-DATA-SIGNATURE and VIRGIL-DATA-SIGNER-ID. The message info itself
// is not encrypted, so the signature reveals the signer to anyone and lets
// anyone confirm a guess of the plaintext; prefer [SignAndEncrypt], which
// encrypts the signature.
func SignThenEncrypt(data []byte, signer *PrivateKey, to ...*PublicKey) ([]byte, error) {
	params, err := signThenEncryptParams(data, signer)
	if err != nil {
		return nil, err
	}
	return sealOneShot(rand.Reader, data, sealParams{mode: modeEncrypt, params: params}, to)
}

// DecryptThenVerify decrypts a [SignThenEncrypt] ciphertext and verifies its
// signature, as virgil-crypto's decryptThenVerify (e3kit's EThree.decrypt)
// does: with exactly one signer key, that key must have made the signature;
// with several, the one whose identifier the ciphertext names is used
// (ErrSignerNotFound if none matches). An unsigned ciphertext fails with
// ErrNotSigned. Both match ErrAuthFailed.
func DecryptThenVerify(ct []byte, key *PrivateKey, signers ...*PublicKey) ([]byte, error) {
	res, err := openOneShot(ct, key)
	if err != nil {
		return nil, err
	}
	if err := verifyCustomParams(res, signers); err != nil {
		return nil, err
	}
	return res.plaintext, nil
}

// SignThenEncryptDetached is [SignThenEncrypt] with the message info
// returned separately as meta and the GCM ciphertext and tag as body
// (meta ‖ body is the SignThenEncrypt ciphertext), byte-compatible with
// virgil-crypto's signThenEncryptDetached, which Keyknox uses.
func SignThenEncryptDetached(data []byte, signer *PrivateKey, to ...*PublicKey) (meta, body []byte, err error) {
	ct, err := SignThenEncrypt(data, signer, to...)
	if err != nil {
		return nil, nil, err
	}
	_, n, err := envelope.Parse(ct)
	if err != nil {
		return nil, nil, err
	}
	return ct[:n:n], ct[n:], nil
}

// DecryptThenVerifyDetached decrypts and verifies the two parts
// [SignThenEncryptDetached] returns, as virgil-crypto's
// decryptThenVerifyDetached does. meta must be exactly one message info.
func DecryptThenVerifyDetached(body, meta []byte, key *PrivateKey, signers ...*PublicKey) ([]byte, error) {
	mi, n, err := envelope.Parse(meta)
	if err != nil {
		return nil, parseError("message info", err)
	}
	if n != len(meta) {
		return nil, parseErrorf("message info", "trailing bytes after the message info")
	}
	res, err := openBody(mi, body, key)
	if err != nil {
		return nil, err
	}
	if err := verifyCustomParams(res, signers); err != nil {
		return nil, err
	}
	return res.plaintext, nil
}

// SignAndEncrypt signs and encrypts data for the recipients,
// byte-compatible with virgil-crypto's signAndEncrypt with padding on (what
// e3kit's authEncrypt sends): a random master key is wrapped for each
// recipient; HKDF-SHA512 derives the body and footer keys; the body is
// padded to a multiple of 160 bytes (hiding the exact length) and encrypted
// with AES-256-GCM; the signer's Ed25519 signature over SHA-512(data) and
// its identifier travel in an encrypted footer.
func SignAndEncrypt(data []byte, signer *PrivateKey, to ...*PublicKey) ([]byte, error) {
	return sealOneShot(rand.Reader, data, sealParams{mode: modeSignAndEncrypt, padding: true, signer: signer, size: int64(len(data))}, to)
}

// DecryptAndVerify decrypts a [SignAndEncrypt] ciphertext (padded or not)
// and verifies its footer signature, as virgil-crypto's decryptAndVerify
// (e3kit's authDecrypt) does: the footer names the signer by identifier,
// which must be the identifier of one of signers (ErrSignerNotFound
// otherwise, even when a single key is given); a ciphertext without a
// signature fails with ErrNotSigned. Both match ErrAuthFailed.
func DecryptAndVerify(ct []byte, key *PrivateKey, signers ...*PublicKey) ([]byte, error) {
	res, err := openOneShot(ct, key)
	if err != nil {
		return nil, err
	}
	if err := verifyFooter(res, signers); err != nil {
		return nil, err
	}
	return res.plaintext, nil
}
