package virgilapi

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/http"
)

// Cards v5 (shared/specs/virgil-services.md §4).

// SearchChunk is how many identities one search request carries, as e3kit's
// findUsers splits them. Servers must accept at least 100 (e3kit's
// group.remove searches all remaining participants at once).
const SearchChunk = 50

// RawCard is Virgil's card wire model ("RawSignedModel"):
//
//	{"content_snapshot": "<base64>", "signatures": [{"signer", "signature", "snapshot"?}]}
//
// ContentSnapshot holds the exact snapshot bytes: the card id and every
// signature cover them, so they are never re-serialised.
type RawCard struct {
	ContentSnapshot []byte         `json:"content_snapshot"`
	Signatures      []RawSignature `json:"signatures"`
}

// RawSignature is one signature entry of a RawCard. Snapshot is the
// optional extra-fields JSON the signer signed together with the content.
type RawSignature struct {
	Signer    string `json:"signer"`
	Signature []byte `json:"signature"`
	Snapshot  []byte `json:"snapshot,omitempty"`
}

// CardID returns a card's id: hex(SHA-512(snapshot)[:32]).
func CardID(snapshot []byte) string {
	h := sha512.Sum512(snapshot)
	return hex.EncodeToString(h[:32])
}

// ValidCardID reports whether id has the form of a card id: 64 lowercase
// hex digits.
func ValidCardID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// PublishCard publishes card (POST /card/v5) and returns the stored card
// with the service's signatures. Checking that the returned snapshot is the
// one sent is the caller's job (package e3 does it).
func (c *Client) PublishCard(ctx context.Context, card *RawCard) (*RawCard, error) {
	if card == nil || len(card.ContentSnapshot) == 0 {
		return nil, fmt.Errorf("virgilapi: publish: empty card")
	}
	sigs := card.Signatures
	if sigs == nil {
		sigs = []RawSignature{}
	}
	res, err := c.do(ctx, request{method: http.MethodPost, path: "/card/v5", body: &RawCard{ContentSnapshot: card.ContentSnapshot, Signatures: sigs}})
	if err != nil {
		return nil, err
	}
	var out RawCard
	if err := decodeJSON("published card", res.body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchCards returns the cards of identities (POST
// /card/v5/actions/search), including superseded predecessors of active
// cards. Duplicate identities are dropped; more than SearchChunk are sent in
// several requests, one after another. Checking that each returned card
// belongs to a requested identity is the caller's job (it needs the parsed
// snapshot).
func (c *Client) SearchCards(ctx context.Context, identities []string) ([]*RawCard, error) {
	ids := make([]string, 0, len(identities))
	seen := make(map[string]bool, len(identities))
	for _, id := range identities {
		if id == "" {
			return nil, fmt.Errorf("virgilapi: search: empty identity")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("virgilapi: search: no identities")
	}
	var out []*RawCard
	for len(ids) > 0 {
		n := min(len(ids), SearchChunk)
		cards, err := c.searchOnce(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, cards...)
		ids = ids[n:]
	}
	return out, nil
}

func (c *Client) searchOnce(ctx context.Context, identities []string) ([]*RawCard, error) {
	body := struct {
		Identities []string `json:"identities"`
	}{identities}
	res, err := c.do(ctx, request{method: http.MethodPost, path: "/card/v5/actions/search", body: &body})
	if err != nil {
		return nil, err
	}
	var out []*RawCard // JSON null reads as no cards, as in virgil-sdk
	if err := decodeJSON("search result", res.body, &out); err != nil {
		return nil, err
	}
	for _, rc := range out {
		if rc == nil || len(rc.ContentSnapshot) == 0 {
			return nil, malformed("search result: a card without a content snapshot", nil)
		}
	}
	return out, nil
}

// GetCard returns the card with id (GET /card/v5/{id}) and whether the
// service marks it outdated (superseded or revoked: the header
// X-Virgil-Is-Superseeded is exactly "true"). Checking that the snapshot
// hashes to id is the caller's job (package e3 does it).
func (c *Client) GetCard(ctx context.Context, id string) (card *RawCard, outdated bool, err error) {
	if !ValidCardID(id) {
		return nil, false, fmt.Errorf("virgilapi: get card: %q is not a card id (64 lowercase hex digits)", id)
	}
	res, err := c.do(ctx, request{method: http.MethodGet, path: "/card/v5/" + id})
	if err != nil {
		return nil, false, err
	}
	var out RawCard
	if err := decodeJSON("card", res.body, &out); err != nil {
		return nil, false, err
	}
	return &out, res.header.Get("X-Virgil-Is-Superseeded") == "true", nil
}

// RevokeCard revokes the card with id (POST /card/v5/actions/revoke/{id},
// body {}). Only the card's own identity may revoke it.
func (c *Client) RevokeCard(ctx context.Context, id string) error {
	if !ValidCardID(id) {
		return fmt.Errorf("virgilapi: revoke card: %q is not a card id (64 lowercase hex digits)", id)
	}
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/card/v5/actions/revoke/" + id, body: struct{}{}})
	return err
}
