package groupsession

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// kdfInfo is the HKDF info of every group message: the C string
// "VIRGIL_GROUP_SESSION_KDF_CIPHER_INFO" with its terminating NUL (37 bytes).
const kdfInfo = "VIRGIL_GROUP_SESSION_KDF_CIPHER_INFO\x00"

const (
	paddingFrame = 160 // padded plaintexts are a multiple of this
	lengthSize   = 4   // uint32_le(plaintext length) ends the padded plaintext
	gcmKeySize   = 32
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// paddedLen is the padded size of an n-byte plaintext: the next multiple of
// 160 strictly above n+4, so at least one random byte always precedes the
// length field.
func paddedLen(n int) int {
	return ((n+lengthSize)/paddingFrame + 1) * paddingFrame
}

// aead derives the message's AES-256-GCM key and nonce:
// HKDF-SHA512(IKM = epoch key, salt, info = kdfInfo) → key ‖ nonce.
func aead(key *[KeySize]byte, salt *[SaltSize]byte) (cipher.AEAD, []byte, error) {
	okm, err := hkdf.Key(sha512.New, key[:], salt[:], kdfInfo, gcmKeySize+gcmNonceSize)
	if err != nil {
		return nil, nil, fmt.Errorf("groupsession: hkdf: %w", err)
	}
	block, err := aes.NewCipher(okm[:gcmKeySize])
	clear(okm[:gcmKeySize])
	if err != nil {
		return nil, nil, fmt.Errorf("groupsession: %w", err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("groupsession: %w", err)
	}
	return g, okm[gcmKeySize:], nil
}

// seal encrypts plaintext in epoch e and signs it with signer, exactly as
// virgil-crypto's GroupSession.encrypt: 32 random bytes of salt (one read),
// the header, the padded plaintext (one read of random padding), AES-GCM
// with the header as additional data, and pure Ed25519 over the ciphertext.
func (e *Epoch) seal(random io.Reader, plaintext []byte, signer ed25519.PrivateKey) ([]byte, error) {
	if len(signer) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes, want %d", ErrInvalidKey, len(signer), ed25519.PrivateKeySize)
	}
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("%w: plaintext of %d bytes, at most %d (a longer one makes a message over %d bytes, which virgil-crypto cannot decrypt)", ErrTooLarge, len(plaintext), MaxPlaintextSize, MaxMessageSize)
	}
	if random == nil {
		random = rand.Reader
	}
	var salt [SaltSize]byte
	if _, err := io.ReadFull(random, salt[:]); err != nil {
		return nil, fmt.Errorf("groupsession: reading random salt: %w", err)
	}
	header := marshalHeader(&e.sessionID, e.number, &salt)

	n := len(plaintext)
	padded := make([]byte, paddedLen(n), paddedLen(n)+gcmTagSize)
	copy(padded, plaintext)
	if _, err := io.ReadFull(random, padded[n:len(padded)-lengthSize]); err != nil {
		return nil, fmt.Errorf("groupsession: reading random padding: %w", err)
	}
	binary.LittleEndian.PutUint32(padded[len(padded)-lengthSize:], uint32(n))

	g, nonce, err := aead(e.sec.key, &salt)
	if err != nil {
		return nil, err
	}
	ct := g.Seal(padded[:0], nonce, padded, header)
	var sig [SignatureSize]byte
	copy(sig[:], ed25519.Sign(signer, ct))
	return marshalRegular(0, header, &sig, ct), nil
}

// Open decrypts a message sent in epoch e and verifies that sender signed
// it. Use it for a message whose epoch a Session no longer holds (it keeps
// the newest 50) with the ticket fetched from storage; [Session.Open] and
// [Session.Decrypt] find the epoch themselves.
//
// The checks, in order: the session id (ErrWrongSession), the epoch number
// (an *UnknownEpochError), the AES-GCM tag over ciphertext and header
// (ErrAuthFailed), the signature with sender's key (ErrBadSignature, which
// also matches ErrAuthFailed), then the padding (a *ParseError). No
// plaintext is returned unless all pass.
func (e *Epoch) Open(m *Message, sender ed25519.PublicKey) ([]byte, error) {
	if !e.valid() {
		return nil, fmt.Errorf("%w: zero Epoch", ErrNoEpochs)
	}
	if len(sender) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key of %d bytes, want %d", ErrInvalidKey, len(sender), ed25519.PublicKeySize)
	}
	if m.SessionID != e.sessionID {
		return nil, ErrWrongSession
	}
	if m.Epoch != e.number {
		return nil, &UnknownEpochError{Epoch: m.Epoch, Oldest: e.number, Newest: e.number}
	}
	// The header is the GCM additional data; ParseMessage guarantees it
	// encodes SessionID, Epoch and Salt, a hand-made Message might not.
	if !bytes.Equal(m.Header, marshalHeader(&m.SessionID, m.Epoch, &m.Salt)) {
		return nil, parseErrorf("message header", "does not encode the message's session id, epoch and salt")
	}
	if len(m.Ciphertext) < gcmTagSize {
		return nil, ErrAuthFailed
	}
	g, nonce, err := aead(e.sec.key, &m.Salt)
	if err != nil {
		return nil, err
	}
	// The tag is checked before the signature (virgil-crypto checks the
	// signature first): both must pass either way, and this order tells a
	// message altered in transit (ErrAuthFailed) from one that another key
	// holder of the epoch made or re-signed (ErrBadSignature).
	padded, err := g.Open(make([]byte, 0, len(m.Ciphertext)-gcmTagSize), nonce, m.Ciphertext, m.Header)
	if err != nil {
		return nil, ErrAuthFailed
	}
	if !ed25519.Verify(sender, m.Ciphertext, m.Signature[:]) {
		clear(padded)
		return nil, ErrBadSignature
	}
	pt, err := unpad(padded)
	if err != nil {
		clear(padded)
		return nil, err
	}
	return pt, nil
}

// unpad removes the padding: the last 4 bytes are uint32_le(n), and n must
// be below len−4 (virgil-crypto's rule: at least one padding byte).
func unpad(padded []byte) ([]byte, error) {
	if len(padded) < lengthSize {
		return nil, &ParseError{What: "padding", Err: errors.New("shorter than its length field")}
	}
	n := binary.LittleEndian.Uint32(padded[len(padded)-lengthSize:])
	if uint64(n) >= uint64(len(padded)-lengthSize) {
		return nil, &ParseError{What: "padding", Err: errors.New("length field exceeds the padded data")}
	}
	pt := padded[:n:n]
	clear(padded[n:])
	return pt, nil
}
