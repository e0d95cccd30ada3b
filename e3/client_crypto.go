package e3

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// AuthEncrypt signs data with the Client's private key and encrypts it for
// the cards' keys and the Client's own key, exactly as e3kit's authEncrypt
// does (virgil-crypto's signAndEncrypt with padding; see [SignAndEncrypt]):
// the own key is added as the last recipient unless one of the cards
// already has it (compared by exported key), so the sender can read what it
// sent; with no cards the message is for the Client alone. Cards come from
// FindUsers (or ParseCard); a nil or outdated card (ErrCardOutdated) is an
// error. It needs the local private key (ErrNoLocalKey) and sends no
// request.
func (c *Client) AuthEncrypt(data []byte, to ...*Card) ([]byte, error) {
	lk, err := c.localKey()
	if err != nil {
		return nil, c.wrap("AuthEncrypt", err)
	}
	keys, err := c.recipientKeys(lk, to)
	if err != nil {
		return nil, err
	}
	return SignAndEncrypt(data, lk.priv, keys...)
}

// recipientKeys returns the cards' public keys (in the configured
// identifier scheme), then the own key unless a card has it.
func (c *Client) recipientKeys(lk *localKey, to []*Card) ([]*PublicKey, error) {
	keys := make([]*PublicKey, 0, len(to)+1)
	own := false
	for i, card := range to {
		if card == nil || card.PublicKey == nil {
			return nil, fmt.Errorf("e3: recipient %d is a nil card", i)
		}
		if card.IsOutdated {
			return nil, fmt.Errorf("%w: card %s of %s", ErrCardOutdated, card.ID, quoteIdentity(card.Identity))
		}
		if card.PublicKey.Equal(lk.pub) {
			own = true
		}
		keys = append(keys, c.pubScheme(card.PublicKey))
	}
	if !own {
		keys = append(keys, lk.pub)
	}
	return keys, nil
}

// AuthDecrypt decrypts a message made by AuthEncrypt (or e3kit's
// authEncrypt) for the Client and verifies that from's key signed it, as
// e3kit's authDecrypt does; from nil means the message is from the Client
// itself. If the sender has rotated its key since, the message was signed
// with an earlier card's key: use AuthDecryptAt. It needs the local private
// key (ErrNoLocalKey) and sends no request.
//
// Errors match ErrNotRecipient (not encrypted for this key: sent before a
// key rotation, or for someone else), ErrAuthFailed (altered, truncated, or
// signed by another key than from's: ErrSignerNotFound), or ErrMalformed;
// each failure is reported to the audit sink (AuditDecryptFailed or
// AuditVerifyFailed) without the message.
func (c *Client) AuthDecrypt(ct []byte, from *Card) ([]byte, error) {
	return c.authDecrypt(ct, from, from)
}

// AuthDecryptAt is AuthDecrypt for a message signed at time signedAt (when
// it was sent, as the app recorded it): the signature is checked against
// the card from was, or replaced, at that time, found by following
// from.PreviousCard back to the newest card created no later than signedAt
// (e3kit's date argument; FindUsers links the earlier cards). If even the
// oldest card is newer, it fails with ErrNoCardAtTime. Card creation times
// have whole seconds; a zero signedAt means now (AuthDecrypt).
func (c *Client) AuthDecryptAt(ct []byte, from *Card, signedAt time.Time) ([]byte, error) {
	signer, err := c.cardAt(from, signedAt)
	if err != nil {
		return nil, err
	}
	return c.authDecrypt(ct, from, signer)
}

// cardAt returns the card of the chain from that was active at t.
func (c *Client) cardAt(from *Card, t time.Time) (*Card, error) {
	if from == nil || t.IsZero() {
		return from, nil
	}
	card := from
	for card != nil && card.CreatedAt.After(t) {
		card = card.PreviousCard
	}
	if card == nil {
		err := fmt.Errorf("%w: %s's oldest known card was created after %s", ErrNoCardAtTime, quoteIdentity(from.Identity), t.UTC().Format(time.RFC3339))
		c.audit(context.Background(), AuditEvent{Type: AuditVerifyFailed, Peer: from.Identity, CardID: from.ID, Err: err})
		return nil, err
	}
	return card, nil
}

// authDecrypt decrypts ct and verifies it with signer's key (the own key
// when nil). from is the card the caller gave (for the audit).
func (c *Client) authDecrypt(ct []byte, from, signer *Card) ([]byte, error) {
	lk, key, err := c.decryptionKeys("AuthDecrypt", signer)
	if err != nil {
		return nil, err
	}
	pt, err := DecryptAndVerify(ct, lk.priv, key)
	if err != nil {
		c.auditDecryptFailure(context.Background(), from, signer, err)
		return nil, err
	}
	return pt, nil
}

// decryptionKeys returns the local key and the key that must have signed:
// signer's (in the configured identifier scheme), or the own key when
// signer is nil.
func (c *Client) decryptionKeys(op string, signer *Card) (*localKey, *PublicKey, error) {
	lk, err := c.localKey()
	if err != nil {
		return nil, nil, c.wrap(op, err)
	}
	if signer == nil {
		return lk, lk.pub, nil
	}
	if signer.PublicKey == nil {
		return nil, nil, errors.New("e3: the sender card has no public key")
	}
	return lk, c.pubScheme(signer.PublicKey), nil
}

// auditDecryptFailure reports a failed decryption or verification.
func (c *Client) auditDecryptFailure(ctx context.Context, from, signer *Card, err error) {
	ev := AuditEvent{Type: AuditDecryptFailed, Err: err}
	if errors.Is(err, ErrSignerNotFound) || errors.Is(err, ErrNotSigned) || errors.Is(err, errBadSignature) {
		ev.Type = AuditVerifyFailed
	}
	switch {
	case signer != nil:
		ev.Peer, ev.CardID = signer.Identity, signer.ID
	case from != nil:
		ev.Peer, ev.CardID = from.Identity, from.ID
	default:
		ev.Peer = c.identity
	}
	c.audit(ctx, ev)
}

// AuthEncryptString is AuthEncrypt for text, returning the ciphertext in
// standard base64 (with padding), the string e3kit-js's authEncrypt returns
// for a string.
func (c *Client) AuthEncryptString(text string, to ...*Card) (string, error) {
	ct, err := c.AuthEncrypt([]byte(text), to...)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// AuthDecryptString is AuthDecrypt for a base64 ciphertext such as
// AuthEncryptString and e3kit-js's authEncrypt return. Standard base64 is
// expected, with or without padding, on one line; anything else (line
// breaks included) fails with a *ParseError (ErrMalformed). The plaintext is returned as is (e3kit-js
// would replace invalid UTF-8 sequences).
func (c *Client) AuthDecryptString(b64 string, from *Card) (string, error) {
	return c.AuthDecryptStringAt(b64, from, time.Time{})
}

// AuthDecryptStringAt is AuthDecryptAt for a base64 ciphertext (see
// AuthDecryptString).
func (c *Client) AuthDecryptStringAt(b64 string, from *Card, signedAt time.Time) (string, error) {
	ct, err := decodeBase64Message(b64)
	if err != nil {
		return "", err
	}
	pt, err := c.AuthDecryptAt(ct, from, signedAt)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// decodeBase64Message decodes standard base64, with or without padding,
// and nothing else: encoding/base64 skips \r and \n even in strict mode,
// so line breaks, which e3kit never writes, are refused first.
func decodeBase64Message(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, &ParseError{What: "base64 message", Err: errors.New("line breaks in base64")}
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	ct, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, &ParseError{What: "base64 message", Err: errors.New("not standard base64")}
	}
	return ct, nil
}

// AuthEncryptStream is the streaming form of AuthEncrypt, for files and
// attachments (e3kit-browser's authEncryptFile; Kotlin and Swift's
// authEncrypt of a stream): it returns a writer that signs and encrypts what
// is written to it and writes the ciphertext to dst, byte-compatible with
// AuthEncrypt of the whole input (see [SignAndEncryptStream]). size must be
// exactly the number of bytes that will be written. The caller must Close
// the writer (it does not close dst).
func (c *Client) AuthEncryptStream(dst io.Writer, size int64, to ...*Card) (io.WriteCloser, error) {
	lk, err := c.localKey()
	if err != nil {
		return nil, c.wrap("AuthEncryptStream", err)
	}
	keys, err := c.recipientKeys(lk, to)
	if err != nil {
		return nil, err
	}
	return SignAndEncryptStream(dst, size, lk.priv, keys...)
}

// AuthDecryptStream is the streaming form of AuthDecrypt: it returns a
// reader of the plaintext of the ciphertext read from src, verified against
// from's key (the own key when nil). The reader returns io.EOF only after
// the whole message authenticated and its signature verified; any other
// error means the data read so far must be discarded (see
// [DecryptAndVerifyStream]). Failures are reported to the audit sink.
func (c *Client) AuthDecryptStream(src io.Reader, from *Card) (io.Reader, error) {
	return c.AuthDecryptStreamAt(src, from, time.Time{})
}

// AuthDecryptStreamAt is AuthDecryptStream verifying against the card from
// had at signedAt (see AuthDecryptAt).
func (c *Client) AuthDecryptStreamAt(src io.Reader, from *Card, signedAt time.Time) (io.Reader, error) {
	signer, err := c.cardAt(from, signedAt)
	if err != nil {
		return nil, err
	}
	lk, key, err := c.decryptionKeys("AuthDecryptStream", signer)
	if err != nil {
		return nil, err
	}
	r, err := DecryptAndVerifyStream(src, lk.priv, key)
	if err != nil {
		c.auditDecryptFailure(context.Background(), from, signer, err)
		return nil, err
	}
	return &auditedReader{r: r, report: func(err error) { c.auditDecryptFailure(context.Background(), from, signer, err) }}, nil
}

// auditedReader reports the first error other than io.EOF of its reader.
type auditedReader struct {
	r        io.Reader
	report   func(error)
	reported bool
}

func (a *auditedReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF && !a.reported {
		a.reported = true
		a.report(err)
	}
	return n, err
}

// DerivePasswords splits one user password into two independent ones, as
// e3kit's derivePasswords does: h = SHA-512(SHA-256(password)); the login
// password is h[:32], the backup password h[32:]. An app sends the login
// password to its own backend and backs the private key up under the
// backup password, so that the backend never learns what protects the key
// backup. It is purely local: no request, no BrainKey.
//
// BackupPrivateKey, RestorePrivateKey and ChangePassword take the backup
// password as a string, and e3kit apps must use the same one: pass
// base64.StdEncoding.EncodeToString(backup), the standard base64 with
// padding (44 characters). That is the string e3kit's derivePasswords
// returns on Android and iOS, and what an e3kit-js app gets with
// backupPassword.toString('base64'). e3kit-js returns Buffers, and an app
// that passes the Buffer itself to backupPrivateKey backs up under the 32
// raw bytes instead (BrainKey reads a Buffer's bytes as they are): e3go
// opens such backups with string(backup), e3kit on Android and iOS cannot.
// Choose the encoding once for every client of an app; changing it later
// takes ChangePassword on each backup.
func DerivePasswords(password string) (login, backup []byte) {
	h1 := sha256.Sum256([]byte(password))
	h2 := sha512.Sum512(h1[:])
	login = append([]byte(nil), h2[:32]...)
	backup = append([]byte(nil), h2[32:]...)
	clear(h1[:])
	clear(h2[:])
	return login, backup
}
