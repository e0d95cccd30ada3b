package e3

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/e3go/e3go/internal/virgilapi"
)

// Card is a Virgil card (Cards service v5): an identity's public key,
// self-signed by the matching private key and countersigned by the Cards
// service. e3kit users find each other's keys through cards.
//
// A card's content is its ContentSnapshot, a JSON object kept byte for byte
// as it was signed: the card id, every signature and every client's checks
// depend on those exact bytes, so they are never re-serialised. The other
// fields are read from it. Cards from [ParseCard] or a Client are immutable
// in practice: do not modify them.
type Card struct {
	// ID is hex(SHA-512(ContentSnapshot)[:32]): 64 lowercase hex digits.
	ID string
	// Identity is the user identity the card belongs to.
	Identity string
	// PublicKey is the card's public key.
	PublicKey *PublicKey
	// CreatedAt is the snapshot's "created_at" (whole seconds).
	CreatedAt time.Time
	// PreviousCardID is the id of the card this one replaces (after a key
	// rotation), or "".
	PreviousCardID string
	// PreviousCard is the card PreviousCardID names, when it was in the
	// same search result (as virgil-sdk's CardManager links them).
	PreviousCard *Card
	// IsOutdated reports that the card was superseded by a newer card or
	// revoked.
	IsOutdated bool
	// ContentSnapshot is the exact signed content.
	ContentSnapshot []byte
	// Signatures are the card's signatures, in wire order.
	Signatures []CardSignature
}

// CardSignature is one signature on a card. The signed bytes are the
// card's content snapshot followed by Snapshot (extra fields the signer
// signed along, usually empty), signed with [Sign]. Signer is "self" for
// the card key's own signature, "virgil" for the Cards service's, or an
// application-chosen name.
type CardSignature struct {
	Signer    string
	Signature []byte
	Snapshot  []byte
}

// Card signer names.
const (
	SignerSelf   = "self"
	SignerVirgil = "virgil"
)

const cardVersion = "5.0"

// ErrInvalidCard is matched by every card that fails to parse or verify
// (see [CardVerificationError]), including service answers that do not fit
// the request (a published card coming back with other content, a search
// returning another identity's card, a card whose content does not hash to
// the requested id).
var ErrInvalidCard = errors.New("e3: invalid card")

// CardVerificationError reports a card that failed verification or did not
// fit the request it answered. It matches ErrInvalidCard; Err says why and
// matches ErrAuthFailed for a signature that does not verify.
type CardVerificationError struct {
	CardID   string // the card's id, if known
	Identity string // the card's identity, if known
	Signer   string // the signature that failed ("self", "virgil"), or ""
	Err      error
}

// Error returns "e3: invalid card <id> of <identity>: <signer> signature: <err>".
func (e *CardVerificationError) Error() string {
	s := "e3: invalid card"
	if e.CardID != "" {
		s += " " + e.CardID
	}
	if e.Identity != "" {
		s += fmt.Sprintf(" of %q", e.Identity)
	}
	if e.Signer != "" {
		s += fmt.Sprintf(": %q signature", e.Signer)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *CardVerificationError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidCard.
func (e *CardVerificationError) Is(target error) bool { return target == ErrInvalidCard }

func cardMalformed(reason string) error {
	return &ParseError{What: "card", Err: &reasonError{reason, ErrInvalidCard}}
}

// cardContent is the snapshot JSON. Field order is the one virgil-sdk for
// JavaScript writes (and e3kit publishes).
type cardContent struct {
	Identity       string `json:"identity"`
	PreviousCardID string `json:"previous_card_id,omitempty"`
	CreatedAt      int64  `json:"created_at"`
	Version        string `json:"version"`
	PublicKey      string `json:"public_key"`
}

// parseContent reads a content snapshot. Unknown fields are ignored (Go
// SDK v6 adds "card_type"); the snapshot must be valid UTF-8 JSON (a
// Latin-1 snapshot from a non-ASCII JavaScript identity is not).
func parseContent(snapshot []byte) (*Card, error) {
	if !utf8.Valid(snapshot) || !isJSONObject(snapshot) {
		return nil, cardMalformed("content snapshot is not a UTF-8 JSON object")
	}
	var w struct {
		Identity       *string `json:"identity"`
		PreviousCardID *string `json:"previous_card_id"`
		CreatedAt      *int64  `json:"created_at"`
		Version        *string `json:"version"`
		PublicKey      *string `json:"public_key"`
	}
	if err := json.Unmarshal(snapshot, &w); err != nil {
		return nil, cardMalformed("content snapshot fields have the wrong types")
	}
	switch {
	case w.Identity == nil || *w.Identity == "":
		return nil, cardMalformed("no identity")
	case w.Version == nil || *w.Version != cardVersion:
		return nil, cardMalformed(`version is not "5.0"`)
	case w.CreatedAt == nil:
		return nil, cardMalformed("no created_at")
	case w.PublicKey == nil:
		return nil, cardMalformed("no public_key")
	case w.PreviousCardID != nil && *w.PreviousCardID != "" && !virgilapi.ValidCardID(*w.PreviousCardID):
		return nil, cardMalformed("previous_card_id is not a card id")
	}
	der, err := base64.StdEncoding.Strict().DecodeString(*w.PublicKey)
	if err != nil {
		return nil, cardMalformed("public_key is not base64")
	}
	pub, err := ParsePublicKey(der)
	if err != nil {
		return nil, &ParseError{What: "card", Err: &reasonError{"public_key: " + err.Error(), ErrInvalidCard}}
	}
	c := &Card{
		ID:              virgilapi.CardID(snapshot),
		Identity:        *w.Identity,
		PublicKey:       pub,
		CreatedAt:       time.Unix(*w.CreatedAt, 0),
		ContentSnapshot: snapshot,
	}
	if w.PreviousCardID != nil {
		c.PreviousCardID = *w.PreviousCardID
	}
	return c, nil
}

// cardFromRaw builds a Card from the wire model, copying every byte slice.
func cardFromRaw(rc *virgilapi.RawCard) (*Card, error) {
	if rc == nil || len(rc.ContentSnapshot) == 0 {
		return nil, cardMalformed("no content snapshot")
	}
	c, err := parseContent(bytes.Clone(rc.ContentSnapshot))
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(rc.Signatures))
	for _, s := range rc.Signatures {
		if s.Signer == "" || len(s.Signature) == 0 {
			return nil, cardMalformed("a signature entry has no signer or no signature")
		}
		if seen[s.Signer] {
			return nil, cardMalformed(fmt.Sprintf("two signatures by %q", s.Signer))
		}
		seen[s.Signer] = true
		c.Signatures = append(c.Signatures, CardSignature{Signer: s.Signer, Signature: bytes.Clone(s.Signature), Snapshot: bytes.Clone(s.Snapshot)})
	}
	return c, nil
}

// raw returns the card's wire model (sharing c's byte slices).
func (c *Card) raw() *virgilapi.RawCard {
	rc := &virgilapi.RawCard{ContentSnapshot: c.ContentSnapshot, Signatures: make([]virgilapi.RawSignature, 0, len(c.Signatures))}
	for _, s := range c.Signatures {
		rc.Signatures = append(rc.Signatures, virgilapi.RawSignature{Signer: s.Signer, Signature: s.Signature, Snapshot: s.Snapshot})
	}
	return rc
}

// ParseCard parses a card in Virgil's JSON wire form ("RawSignedModel"):
//
//	{"content_snapshot": "<base64>", "signatures": [{"signer": "self", "signature": "<base64>", "snapshot": "<base64>"?}, ...]}
//
// The content snapshot must be a JSON object with a non-empty "identity",
// "version" "5.0", an integer "created_at", a base64 Ed25519 or X25519
// "public_key" (SubjectPublicKeyInfo DER) and optionally a
// "previous_card_id"; other fields are ignored. Signature entries need a
// signer and a signature, and no signer may appear twice; a missing
// "signatures" means none. ParseCard checks no signature: use
// [CardVerifier].
//
// Errors are [*ParseError]s matching ErrMalformed and ErrInvalidCard; they
// never contain the input.
func ParseCard(data []byte) (*Card, error) {
	if !isJSONObject(data) {
		return nil, cardMalformed("not a JSON object")
	}
	var rc virgilapi.RawCard
	if err := json.Unmarshal(data, &rc); err != nil {
		return nil, cardMalformed("not a card model (base64 content_snapshot and signatures)")
	}
	return cardFromRaw(&rc)
}

// MarshalJSON returns the card in Virgil's JSON wire form, the form
// [ParseCard] reads, with the content snapshot byte for byte.
func (c *Card) MarshalJSON() ([]byte, error) {
	if c == nil || len(c.ContentSnapshot) == 0 {
		return nil, errors.New("e3: cannot marshal a card without a content snapshot")
	}
	return json.Marshal(c.raw())
}

// CardParams describes a new card for [NewCard].
type CardParams struct {
	// Identity is the card's identity: non-empty printable ASCII (see
	// [JWTGenerator] for why).
	Identity string
	// PrivateKey is the Ed25519 key the card publishes the public half
	// of; it makes the self-signature.
	PrivateKey *PrivateKey
	// PreviousCardID, when rotating keys, is the id of the card the new
	// one replaces.
	PreviousCardID string
	// CreatedAt is the creation time (whole seconds); zero means now.
	CreatedAt time.Time
}

// NewCard builds and self-signs a card to publish, exactly as virgil-sdk's
// CardManager.generateRawCard does for e3kit's register and
// rotatePrivateKey: the snapshot
//
//	{"identity":"<id>","previous_card_id":"<id>","created_at":<s>,"version":"5.0","public_key":"<base64 SPKI>"}
//
// (previous_card_id only when set) and a "self" signature over it.
func NewCard(p CardParams) (*Card, error) {
	if err := checkIdentity(p.Identity); err != nil {
		return nil, fmt.Errorf("e3: cannot make a card for %q: %w", p.Identity, err)
	}
	if p.PrivateKey == nil || !p.PrivateKey.valid() {
		return nil, errors.New("e3: NewCard needs a private key")
	}
	if p.PreviousCardID != "" && !virgilapi.ValidCardID(p.PreviousCardID) {
		return nil, errors.New("e3: NewCard: PreviousCardID is not a card id (64 lowercase hex digits)")
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	pub := p.PrivateKey.Public()
	snapshot, err := jsonCompact(cardContent{
		Identity:       p.Identity,
		PreviousCardID: p.PreviousCardID,
		CreatedAt:      created.Unix(),
		Version:        cardVersion,
		PublicKey:      base64.StdEncoding.EncodeToString(pub.Export()),
	})
	if err != nil {
		return nil, err
	}
	sig, err := Sign(snapshot, p.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("e3: NewCard: %w", err)
	}
	return &Card{
		ID:              virgilapi.CardID(snapshot),
		Identity:        p.Identity,
		PublicKey:       pub,
		CreatedAt:       time.Unix(created.Unix(), 0),
		PreviousCardID:  p.PreviousCardID,
		ContentSnapshot: snapshot,
		Signatures:      []CardSignature{{Signer: SignerSelf, Signature: sig}},
	}, nil
}

// signature returns the card's signature by signer, or nil.
func (c *Card) signature(signer string) *CardSignature {
	for i := range c.Signatures {
		if c.Signatures[i].Signer == signer {
			return &c.Signatures[i]
		}
	}
	return nil
}

// linkCards links a search result as virgil-sdk's CardManager does: a
// card whose previous_card_id names another card of the result gets it as
// PreviousCard, and that older card is marked outdated and left out of the
// returned list. A card listed twice counts once. The order of the
// remaining cards is kept.
func linkCards(cards []*Card) []*Card {
	byID := make(map[string]*Card, len(cards))
	uniq := make([]*Card, 0, len(cards))
	for _, c := range cards {
		if _, dup := byID[c.ID]; !dup {
			byID[c.ID] = c
			uniq = append(uniq, c)
		}
	}
	for _, c := range uniq {
		if c.PreviousCardID == "" {
			continue
		}
		if prev, ok := byID[c.PreviousCardID]; ok && prev != c {
			prev.IsOutdated = true
			c.PreviousCard = prev
		}
	}
	out := make([]*Card, 0, len(uniq))
	for _, c := range uniq {
		if !c.IsOutdated {
			out = append(out, c)
		}
	}
	return out
}
