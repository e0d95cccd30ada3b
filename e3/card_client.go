package e3

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/e3go/e3go/internal/virgilapi"
)

// newVirgilAPI returns the protocol client for cfg's services: cfg.APIURL,
// cfg.HTTPClient, cfg.TokenProvider and cfg.Logger, with every service error
// an *APIError. throttleDelay is the wait before the one BrainKey retry
// after code 60007 (0: e3kit's 2 s; negative: none, for tests).
func newVirgilAPI(cfg *Config, throttleDelay time.Duration) (*virgilapi.Client, error) {
	if cfg.TokenProvider == nil {
		return nil, errors.New("e3: Config.TokenProvider is required")
	}
	return virgilapi.New(virgilapi.Config{
		BaseURL:            cfg.APIURL,
		HTTPClient:         cfg.HTTPClient,
		Tokens:             cfg.TokenProvider,
		ThrottleRetryDelay: throttleDelay,
		WrapError:          newAPIError,
		Logger:             cfg.Logger,
	})
}

// cardClient is the Cards v5 client as virgil-sdk's CardManager behaves for
// e3kit: it checks every answer against the request, parses and verifies
// every card, and links search results. Errors are *APIError (service
// errors), *CardVerificationError or *ParseError (matching ErrInvalidCard),
// or transport errors.
type cardClient struct {
	api       *virgilapi.Client
	verifier  *CardVerifier // nil: the zero CardVerifier (Virgil's cloud)
	sha256IDs bool          // give card keys SHA-256 identifiers
}

// accept verifies c and applies the key-identifier scheme.
func (cc *cardClient) accept(c *Card) error {
	if err := cc.verifier.Verify(c); err != nil {
		return err
	}
	if cc.sha256IDs {
		c.PublicKey = c.PublicKey.WithSHA256ID()
	}
	return nil
}

// publish publishes card (made by NewCard) and returns the stored,
// verified card. The service must return the very content it was sent.
func (cc *cardClient) publish(ctx context.Context, card *Card) (*Card, error) {
	rc, err := cc.api.PublishCard(ctx, card.raw())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(rc.ContentSnapshot, card.ContentSnapshot) {
		return nil, &CardVerificationError{CardID: card.ID, Identity: card.Identity, Err: errors.New("the service returned another content than the one published")}
	}
	out, err := cardFromRaw(rc)
	if err != nil {
		return nil, err
	}
	if err := cc.accept(out); err != nil {
		return nil, err
	}
	return out, nil
}

// search returns the active cards of identities, each with its verified
// predecessors linked through PreviousCard (see linkCards). An identity
// without cards is simply absent. Any card of an identity that was not
// asked for, or that fails to parse or verify, fails the whole search.
func (cc *cardClient) search(ctx context.Context, identities []string) ([]*Card, error) {
	for _, id := range identities {
		if err := checkIdentity(id); err != nil {
			return nil, err
		}
	}
	raws, err := cc.api.SearchCards(ctx, identities)
	if err != nil {
		return nil, err
	}
	asked := make(map[string]bool, len(identities))
	for _, id := range identities {
		asked[id] = true
	}
	cards := make([]*Card, 0, len(raws))
	for _, rc := range raws {
		c, err := cardFromRaw(rc)
		if err != nil {
			return nil, err
		}
		if !asked[c.Identity] {
			return nil, &CardVerificationError{CardID: c.ID, Identity: c.Identity, Err: errors.New("the search returned a card of an identity that was not asked for")}
		}
		if err := cc.accept(c); err != nil {
			return nil, err
		}
		cards = append(cards, c)
	}
	return linkCards(cards), nil
}

// get returns the card with id, verified, with IsOutdated set when the
// service marks it superseded or revoked.
func (cc *cardClient) get(ctx context.Context, id string) (*Card, error) {
	rc, outdated, err := cc.api.GetCard(ctx, id)
	if err != nil {
		return nil, err
	}
	if virgilapi.CardID(rc.ContentSnapshot) != id {
		return nil, &CardVerificationError{CardID: id, Err: errors.New("the service returned a card whose content does not hash to the requested id")}
	}
	c, err := cardFromRaw(rc)
	if err != nil {
		return nil, err
	}
	if err := cc.accept(c); err != nil {
		return nil, err
	}
	c.IsOutdated = outdated
	return c, nil
}

// revoke revokes the caller's card with id.
func (cc *cardClient) revoke(ctx context.Context, id string) error {
	return cc.api.RevokeCard(ctx, id)
}
