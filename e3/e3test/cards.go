package e3test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/internal/virgilapi"
)

// Cards v5 (shared/specs/virgil-services.md §4).

// publishCard: POST /card/v5.
func (s *Server) publishCard(c *call) (*reply, *apiError) {
	var raw virgilapi.RawCard
	if aerr := c.decode(&raw); aerr != nil {
		return nil, aerr
	}
	card, err := e3.ParseCard(c.body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeCardInvalid, "card is invalid: %v", err)
	}
	if card.Identity != c.identity {
		return nil, errorf(http.StatusBadRequest, CodeCardIdentity, "card identity does not match the access token's identity")
	}
	if err := (&e3.CardVerifier{InsecureSkipServiceSignature: true}).Verify(card); err != nil {
		return nil, errorf(http.StatusBadRequest, CodeCardSelfSignature, "card self signature is missing or invalid")
	}
	sigs := make([]e3.CardSignature, 0, len(card.Signatures)+1)
	for _, sg := range card.Signatures {
		if sg.Signer != e3.SignerVirgil { // only the service signs as "virgil"
			sigs = append(sigs, sg)
		}
	}
	if !s.noSvcSig {
		sig, err := e3.Sign(card.ContentSnapshot, s.serviceKey)
		if err != nil {
			return nil, internal(err)
		}
		sigs = append(sigs, e3.CardSignature{Signer: e3.SignerVirgil, Signature: sig})
	}
	stored := *card
	stored.Signatures = sigs
	model, err := json.Marshal(&stored)
	if err != nil {
		return nil, internal(err)
	}

	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.store.Card(ctx, card.ID); err == nil {
		return nil, errorf(http.StatusConflict, CodeCardExists, "a card with this id already exists")
	} else if !errors.Is(err, ErrNotFound) {
		return nil, internal(err)
	}
	var prev CardRecord
	if card.PreviousCardID != "" {
		prev, err = s.store.Card(ctx, card.PreviousCardID)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, errorf(http.StatusBadRequest, CodeCardPrevious, "previous card not found")
		case err != nil:
			return nil, internal(err)
		case prev.Identity != card.Identity:
			return nil, errorf(http.StatusBadRequest, CodeCardPrevious, "previous card belongs to another identity")
		case prev.Outdated():
			return nil, errorf(http.StatusBadRequest, CodeCardPrevious, "previous card is already superseded or revoked")
		}
	}
	rec := CardRecord{ID: card.ID, Identity: card.Identity, PreviousCardID: card.PreviousCardID, Model: model, Published: s.now()}
	if err := s.store.PutCard(ctx, rec); err != nil {
		return nil, internal(err)
	}
	if card.PreviousCardID != "" {
		prev.SupersededBy = card.ID
		if err := s.store.PutCard(ctx, prev); err != nil {
			return nil, internal(err)
		}
	}
	return &reply{status: http.StatusOK, body: json.RawMessage(model)}, nil
}

// searchCards: POST /card/v5/actions/search. It returns every card of the
// requested identities whose chain of successors ends in a card that is not
// revoked: the active cards and their predecessors (clients link them).
func (s *Server) searchCards(c *call) (*reply, *apiError) {
	var q struct {
		Identities []string `json:"identities"`
	}
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	if len(q.Identities) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeSearchInvalid, "identities are required")
	}
	if len(q.Identities) > s.maxSearch {
		return nil, errorf(http.StatusBadRequest, CodeSearchInvalid, "more than %d identities", s.maxSearch)
	}
	seen := make(map[string]bool, len(q.Identities))
	ctx := c.r.Context()
	out := []json.RawMessage{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range q.Identities {
		if !validName(id) {
			return nil, errorf(http.StatusBadRequest, CodeSearchInvalid, "an identity is empty or not printable ASCII")
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		recs, err := s.store.CardsByIdentity(ctx, id)
		if err != nil {
			return nil, internal(err)
		}
		byID := make(map[string]*CardRecord, len(recs))
		for i := range recs {
			byID[recs[i].ID] = &recs[i]
		}
		for i := range recs {
			head := &recs[i]
			for n := 0; head.SupersededBy != "" && n <= len(recs); n++ {
				next, ok := byID[head.SupersededBy]
				if !ok {
					break
				}
				head = next
			}
			if !head.Revoked {
				out = append(out, recs[i].Model)
			}
		}
	}
	return &reply{status: http.StatusOK, body: out}, nil
}

// getCard: GET /card/v5/{id}. Superseded and revoked cards stay readable,
// marked X-Virgil-Is-Superseeded: true.
func (s *Server) getCard(c *call) (*reply, *apiError) {
	id := strings.TrimPrefix(c.r.URL.Path, "/card/v5/")
	if !virgilapi.ValidCardID(id) {
		return nil, errorf(http.StatusNotFound, CodeNotFound, "Requested card entity not found.")
	}
	s.mu.Lock()
	rec, err := s.store.Card(c.r.Context(), id)
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errorf(http.StatusNotFound, CodeNotFound, "Requested card entity not found.")
	case err != nil:
		return nil, internal(err)
	}
	rep := &reply{status: http.StatusOK, body: json.RawMessage(rec.Model)}
	if rec.Outdated() {
		rep.header = map[string]string{"X-Virgil-Is-Superseeded": "true"}
	}
	return rep, nil
}

// revokeCard: POST /card/v5/actions/revoke/{id}. Only the card's identity
// may revoke it; revoking twice is not an error.
func (s *Server) revokeCard(c *call) (*reply, *apiError) {
	id := strings.TrimPrefix(c.r.URL.Path, "/card/v5/actions/revoke/")
	if !virgilapi.ValidCardID(id) {
		return nil, errorf(http.StatusNotFound, CodeNotFound, "Requested card entity not found.")
	}
	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.store.Card(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errorf(http.StatusNotFound, CodeNotFound, "Requested card entity not found.")
	case err != nil:
		return nil, internal(err)
	case rec.Identity != c.identity:
		return nil, errorf(http.StatusForbidden, CodeForbidden, "the card belongs to another identity")
	}
	if !rec.Revoked {
		rec.Revoked = true
		if err := s.store.PutCard(ctx, rec); err != nil {
			return nil, internal(err)
		}
	}
	return &reply{status: http.StatusOK}, nil
}

// Cards returns every card of identity the server holds, revoked and
// superseded ones included, in publication order.
func (s *Server) Cards(identity string) []CardRecord {
	recs, _ := s.store.CardsByIdentity(contextBackground(), identity)
	return recs
}

// Card returns the card with id.
func (s *Server) Card(id string) (CardRecord, bool) {
	rec, err := s.store.Card(contextBackground(), id)
	return rec, err == nil
}
