package e3

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// virgilCardsServiceKey is the public key of Virgil's production Cards
// service (virgil-sdk's VirgilCardVerifier hard-codes it).
const virgilCardsServiceKey = "MCowBQYDK2VwAyEAljOYGANYiVq1WbvVvoYIKtvZi2ji9bAhxyu6iV/LF8M="

// VirgilCardsServiceKey returns the public key of Virgil's production Cards
// service, which countersigns every card published on Virgil's cloud (the
// "virgil" signature). It is what a zero [CardVerifier] checks.
func VirgilCardsServiceKey() *PublicKey {
	der, err := base64.StdEncoding.DecodeString(virgilCardsServiceKey)
	if err != nil {
		panic("e3: bad built-in Virgil Cards service key: " + err.Error())
	}
	k, err := ParsePublicKey(der)
	if err != nil {
		panic("e3: bad built-in Virgil Cards service key: " + err.Error())
	}
	return k
}

// CardVerifier decides which cards to trust. It always checks the card's
// self-signature (the card's own key signed its content: the publisher held
// the private key) and, unless told otherwise, the Cards service's "virgil"
// signature (the service checked the publisher's access token: the card
// really belongs to its identity).
//
// The zero CardVerifier, and a nil *CardVerifier, trust Virgil's cloud:
// ServiceKey nil means [VirgilCardsServiceKey]. A self-hosted
// Virgil-compatible server signs with its own key (e3test's is
// e3test.Server.ServiceKey): set ServiceKey to it.
//
// Unlike e3kit, which turns off every card check (self-signatures included)
// as soon as its apiUrl is not Virgil's, a CardVerifier never skips the
// self-signature.
type CardVerifier struct {
	// ServiceKey verifies the "virgil" signature; nil means Virgil's
	// production Cards service key.
	ServiceKey *PublicKey

	// InsecureSkipServiceSignature turns off the "virgil" signature check.
	// Only for self-hosted servers that do not countersign cards: without
	// the service signature nothing binds a card to its identity except
	// the server's honesty and TLS, so whoever can answer a search can
	// hand out its own keys for any user and read what is encrypted to
	// them.
	InsecureSkipServiceSignature bool
}

// Verify checks card c: its fields must be those of its content snapshot
// (id, identity, public key, previous card id), its "self" signature must
// verify with its own public key, and (unless InsecureSkipServiceSignature)
// its "virgil" signature with the service key. Each signature covers the
// content snapshot followed by the signature's own snapshot. The error is a
// *CardVerificationError (matching ErrInvalidCard) or, for a snapshot that
// does not parse, a *ParseError (also matching ErrInvalidCard).
func (v *CardVerifier) Verify(c *Card) error {
	if c == nil {
		return &CardVerificationError{Err: errors.New("nil card")}
	}
	content, err := parseContent(c.ContentSnapshot)
	if err != nil {
		return err
	}
	if content.ID != c.ID || content.Identity != c.Identity || !content.PublicKey.Equal(c.PublicKey) ||
		content.PreviousCardID != c.PreviousCardID {
		return &CardVerificationError{CardID: c.ID, Identity: c.Identity, Err: errors.New("the card's fields differ from its content snapshot")}
	}
	if err := verifyCardSignature(c, SignerSelf, c.PublicKey); err != nil {
		return err
	}
	if v != nil && v.InsecureSkipServiceSignature {
		return nil
	}
	key := (*PublicKey)(nil)
	if v != nil {
		key = v.ServiceKey
	}
	if key == nil {
		key = VirgilCardsServiceKey()
	}
	return verifyCardSignature(c, SignerVirgil, key)
}

// errNoSignature reports a card without a required signature.
var errNoSignature = errors.New("missing")

func verifyCardSignature(c *Card, signer string, key *PublicKey) error {
	s := c.signature(signer)
	if s == nil {
		return &CardVerificationError{CardID: c.ID, Identity: c.Identity, Signer: signer, Err: errNoSignature}
	}
	signed := c.ContentSnapshot
	if len(s.Snapshot) > 0 {
		signed = bytes.Join([][]byte{c.ContentSnapshot, s.Snapshot}, nil)
	}
	if err := Verify(signed, s.Signature, key); err != nil {
		if !errors.Is(err, ErrAuthFailed) {
			err = fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
		return &CardVerificationError{CardID: c.ID, Identity: c.Identity, Signer: signer, Err: err}
	}
	return nil
}
