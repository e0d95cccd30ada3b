package e3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Register makes the identity a user: it generates an Ed25519 key pair,
// publishes a card for its public key and stores the private key in the
// keyring, as e3kit's register does. It first searches the identity's
// cards: with one it fails with ErrAlreadyRegistered, with more with
// ErrMultipleCards. Unlike e3kit, which silently deletes a private key
// already on the device, it fails with ErrLocalKeyExists then (the key of a
// revoked card may still be needed to read old messages: Cleanup discards
// it).
//
// Register never leaves a half-registered identity behind, and is safe to
// call again after any failure:
//
//   - The new key is put aside in the keyring (entry "<identity>%pending")
//     before the card is published, and becomes the local key only once
//     the service confirmed the card.
//   - When the service rejects the card (a 4xx answer), the put-aside key
//     is deleted: nothing is left, locally or on the service.
//   - When the answer is lost (a timeout, a dropped connection, a 5xx),
//     the card may or may not have been published. Register searches for
//     it: if it is there, registration succeeded and Register returns nil;
//     if not, the key is deleted and the error returned. If even that
//     search fails (or ctx is done), the key stays put aside and the error
//     says so: calling Register (or RotatePrivateKey) again finishes the
//     job — a card of the identity whose key is the put-aside one makes it
//     the local key, otherwise it is discarded — so a published card never
//     ends up without its private key.
func (c *Client) Register(ctx context.Context) error {
	return c.publishNew(ctx, "Register", false)
}

// RotatePrivateKey replaces a lost private key, as e3kit's rotatePrivateKey
// does: with the identity registered (exactly one card) and no private key
// on this device, it generates a new key pair and publishes a card that
// replaces the old one (its previous card id), then stores the new key.
// Messages encrypted for the old key can no longer be decrypted by this
// identity; messages the identity signed with the old key still verify
// (AuthDecryptAt). Other users' clients pick up the new card when they look
// the identity up again (their cached card expires after
// Config.CardCacheTTL).
//
// It fails with ErrNotRegistered (no card), ErrMultipleCards, or
// ErrLocalKeyExists (the key is not lost: keep using it, or Cleanup first).
// Like Register it never leaves a card without its key, and is safe to call
// again after a failure.
func (c *Client) RotatePrivateKey(ctx context.Context) error {
	return c.publishNew(ctx, "RotatePrivateKey", true)
}

// publishNew is Register (rotate false) and RotatePrivateKey (rotate
// true): e3kit's preconditions, then a new key and its card.
func (c *Client) publishNew(ctx context.Context, op string, rotate bool) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return c.wrap(op, err)
	}
	defer unlock()
	card, err := c.newKeyAndCard(ctx, rotate)
	ev := AuditEvent{Type: AuditRegister, Err: err}
	if rotate {
		ev.Type = AuditRotate
	}
	if card != nil {
		ev.CardID, ev.PreviousCardID = card.ID, card.PreviousCardID
	}
	c.audit(ctx, ev)
	return c.wrap(op, err)
}

func (c *Client) newKeyAndCard(ctx context.Context, rotate bool) (*Card, error) {
	cards, err := c.searchOwn(ctx)
	if err != nil {
		return nil, err
	}
	if done, card, err := c.resolvePending(ctx, cards); done || err != nil {
		return card, err
	}
	var prev *Card
	switch {
	case len(cards) > 1:
		return nil, ErrMultipleCards
	case rotate && len(cards) == 0:
		return nil, ErrNotRegistered
	case !rotate && len(cards) == 1:
		return nil, ErrAlreadyRegistered
	case rotate:
		prev = cards[0]
	}
	local, err := c.loadEntry(ctx, c.keyName)
	switch {
	case err != nil:
		return nil, err
	case local != nil && rotate:
		return nil, ErrLocalKeyExists
	case local != nil:
		return nil, fmt.Errorf("%w; the identity has no card, so this key belongs to a revoked card", ErrLocalKeyExists)
	}
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	return c.publishKey(ctx, key, prev)
}

// Unregister revokes the identity's cards and deletes its private key from
// this device, as e3kit's unregister does: it searches the identity's
// active cards (ErrNotRegistered if there is none) and revokes each, one
// after the other; only when all are revoked is the local key deleted, so
// a failure leaves the key in place and Unregister can simply be called
// again. Afterwards nobody finds the identity, messages can no longer be
// encrypted for it, and Register may be called again.
func (c *Client) Unregister(ctx context.Context) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return c.wrap("Unregister", err)
	}
	defer unlock()
	audited, err := c.unregister(ctx)
	if !audited {
		c.audit(ctx, AuditEvent{Type: AuditUnregister, Err: err})
	}
	return c.wrap("Unregister", err)
}

// unregister does Unregister's work; audited reports whether it sent the
// audit events (one per card it tried to revoke).
func (c *Client) unregister(ctx context.Context) (audited bool, err error) {
	cards, err := c.searchOwn(ctx)
	if err != nil {
		return false, err
	}
	if len(cards) == 0 {
		return false, ErrNotRegistered
	}
	for _, card := range cards {
		err := c.cards.revoke(ctx, card.ID)
		if err == nil {
			if err = c.deleteEntryIfLast(ctx, card, cards); err != nil {
				err = fmt.Errorf("the card was revoked but: %w", err)
			}
		}
		c.audit(ctx, AuditEvent{Type: AuditUnregister, CardID: card.ID, Err: err})
		if err != nil {
			c.cache.forget(c.identity)
			return true, err
		}
	}
	return true, nil
}

// deleteEntryIfLast deletes the local and put-aside keys once card, the
// last of cards, is revoked.
func (c *Client) deleteEntryIfLast(ctx context.Context, card *Card, cards []*Card) error {
	if card != cards[len(cards)-1] {
		return nil
	}
	c.cache.forget(c.identity)
	if err := c.deleteEntry(ctx, c.keyName); err != nil {
		return err
	}
	c.setKey(nil)
	return c.deleteEntry(ctx, c.pendName)
}

// searchOwn returns the identity's active cards, straight from the service.
func (c *Client) searchOwn(ctx context.Context) ([]*Card, error) {
	return c.cards.search(ctx, []string{c.identity})
}

// publishKey publishes a card for key (replacing prev, if any) and stores
// key as the local private key; see Register for what happens on failure.
func (c *Client) publishKey(ctx context.Context, key *PrivateKey, prev *Card) (*Card, error) {
	p := CardParams{Identity: c.identity, PrivateKey: key, CreatedAt: c.now()}
	if prev != nil {
		p.PreviousCardID = prev.ID
	}
	card, err := NewCard(p)
	if err != nil {
		return nil, err
	}
	data := encodeKeyEntry(key)
	err = c.ring.Put(ctx, c.pendName, data, map[string]string{metaKind: kindPending, metaIdentity: c.identity, metaCardID: card.ID})
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("e3: putting the new private key aside in the keyring (nothing was published): %w", err)
	}
	pub, err := c.cards.publish(ctx, card)
	if err != nil {
		return c.publishFailed(ctx, key, card, err)
	}
	pub.PreviousCard = prev
	return pub, c.promote(ctx, key, pub)
}

// promote makes key, whose card is published, the local private key, and
// drops the put-aside entry.
func (c *Client) promote(ctx context.Context, key *PrivateKey, card *Card) error {
	c.cache.forget(c.identity)
	if err := c.saveLocalKey(ctx, key, card.ID); err != nil {
		return fmt.Errorf("card %s was published, but storing its private key failed (the key is kept aside: call the method again to finish): %w", card.ID, err)
	}
	c.dropPending(ctx)
	return nil
}

// publishFailed handles a failed publish of card for key: it finds out
// whether the card got published anyway and cleans up accordingly.
func (c *Client) publishFailed(ctx context.Context, key *PrivateKey, card *Card, err error) (*Card, error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 &&
		ae.StatusCode != http.StatusRequestTimeout && ae.StatusCode != http.StatusTooManyRequests {
		// The service refused the card: nothing was published.
		c.dropPending(ctx)
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w (the card may have been published; its key is kept aside: call the method again to finish)", err)
	}
	cards, serr := c.searchOwn(ctx)
	if serr != nil {
		return nil, fmt.Errorf("%w (the card may have been published, and checking failed: %v; its key is kept aside: call the method again to finish)", err, serr)
	}
	for _, got := range cards {
		if got.PublicKey.Equal(key.Public()) {
			// It went through; only the answer was lost.
			return got, c.promote(ctx, key, got)
		}
	}
	c.dropPending(ctx)
	return nil, err
}

// dropPending deletes the put-aside key entry; a failure is only logged
// (the next Register or RotatePrivateKey removes an unpublished key).
func (c *Client) dropPending(ctx context.Context) {
	if err := c.deleteEntry(ctx, c.pendName); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "e3: could not delete the put-aside key entry (the next Register or RotatePrivateKey removes it)",
			slog.String("identity", c.identity), slog.String("error", err.Error()))
	}
}

// resolvePending finishes an earlier Register or RotatePrivateKey whose
// outcome was unknown. cards are the identity's active cards. If the
// put-aside key is the key of one of them, that publish went through: the
// key becomes the local key and done is true (with ErrMultipleCards when
// the identity has other active cards too). Otherwise the put-aside key was
// never published and is deleted.
func (c *Client) resolvePending(ctx context.Context, cards []*Card) (done bool, card *Card, err error) {
	pend, err := c.loadEntry(ctx, c.pendName)
	if err != nil {
		return false, nil, err
	}
	if pend == nil {
		return false, nil, nil
	}
	for _, got := range cards {
		if got.PublicKey.Equal(pend.Public()) {
			card = got
			break
		}
	}
	if card == nil {
		c.log.LogAttrs(ctx, slog.LevelInfo, "e3: discarding a put-aside key whose card was never published", slog.String("identity", c.identity))
		return false, nil, c.deleteEntry(ctx, c.pendName)
	}
	local, err := c.loadEntry(ctx, c.keyName)
	if err != nil {
		return false, nil, err
	}
	switch {
	case local == nil:
		if err := c.promote(ctx, pend, card); err != nil {
			return true, card, err
		}
	case local.Equal(pend):
		c.setKey(c.withScheme(local))
		if err := c.deleteEntry(ctx, c.pendName); err != nil {
			return true, card, err
		}
	default:
		return true, card, fmt.Errorf("%w; card %s was published for the key kept aside in keyring entry %q, which differs: keep the one you need and delete the other", ErrLocalKeyExists, card.ID, c.pendName)
	}
	if len(cards) > 1 {
		return true, card, ErrMultipleCards
	}
	return true, card, nil
}
