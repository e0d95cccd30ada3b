package e3

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/e3go/e3go/internal/virgilapi"
)

// maxParallelSearches bounds the search requests one FindUsers call has in
// flight (each carries up to 50 identities).
const maxParallelSearches = 4

// FindUsers returns the active card of each identity, keyed by identity,
// as e3kit's findUsers does: the identities are searched in requests of 50,
// every card is verified (Config.CardVerifier) and linked to the cards it
// replaced (Card.PreviousCard, for AuthDecryptAt). Duplicates are searched
// once; at least one identity is required.
//
// Cards are cached (Config.CardCacheSize identities, each for
// Config.CardCacheTTL), so a warm FindUsers sends no request; identities
// without a card are always searched again. Concurrent lookups of the same
// identity share one request. A card that differs from the one cached
// before is reported to the audit sink as AuditCardChanged.
//
// Identities that have no card make it fail with a *UsersNotFoundError
// naming them; identities with more than one active card with a
// *MultipleCardsError (matching ErrMultipleCards); when both happen the
// error holds both (errors.As finds each). With these two errors only, the
// returned map still holds the identities that were found unambiguously,
// so a caller may go on with them. Any other error (a service error, a card
// that fails verification: ErrInvalidCard) returns no map.
func (c *Client) FindUsers(ctx context.Context, identities ...string) (map[string]*Card, error) {
	found, err := c.findUsers(ctx, identities)
	if err != nil {
		var nf *UsersNotFoundError
		var mc *MultipleCardsError
		if !errors.As(err, &nf) && !errors.As(err, &mc) {
			found = nil
		}
		return found, c.wrap("FindUsers by", err)
	}
	return found, nil
}

// FindUser returns the active card of identity: FindUsers for one identity.
// An identity without a card fails with a *UsersNotFoundError.
func (c *Client) FindUser(ctx context.Context, identity string) (*Card, error) {
	found, err := c.findUsers(ctx, []string{identity})
	if err != nil {
		return nil, c.wrap("FindUser by", err)
	}
	return found[identity], nil
}

// ForgetCachedUsers drops the cached cards of identities, or of everyone
// when none is given, so that the next FindUsers asks the service. Use it
// when a user is known to have rotated their key (a message from them
// fails to verify).
func (c *Client) ForgetCachedUsers(identities ...string) {
	c.cache.forget(identities...)
}

func (c *Client) findUsers(ctx context.Context, identities []string) (map[string]*Card, error) {
	if len(identities) == 0 {
		return nil, errors.New("e3: no identities to find")
	}
	ids := make([]string, 0, len(identities))
	seen := make(map[string]bool, len(identities))
	for _, id := range identities {
		if err := checkIdentity(id); err != nil {
			return nil, fmt.Errorf("%w: %q", err, id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}

	found := make(map[string]*Card, len(ids))
	results := make(map[string]lookupResult, len(ids))
	todo := ids
	for len(todo) > 0 {
		waits, mine := c.cache.claim(todo, found)
		if len(mine) > 0 {
			c.searchFor(ctx, ids, mine)
		}
		var retry []string
		for _, id := range todo {
			l := mine[id]
			if l == nil {
				l = waits[id]
			}
			if l == nil {
				continue // cached
			}
			select {
			case <-l.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// Another caller's search that its own context cut short is
			// no answer for this caller: search again.
			if l.res.err != nil && waits[id] == l && isContextErr(l.res.err) && ctx.Err() == nil {
				retry = append(retry, id)
				continue
			}
			results[id] = l.res
		}
		todo = retry
	}

	var notFound, multiple []string
	for _, id := range ids {
		r, ok := results[id]
		if !ok {
			continue
		}
		switch {
		case r.err != nil:
			return nil, r.err
		case r.count == 0:
			notFound = append(notFound, id)
		case r.count > 1:
			multiple = append(multiple, id)
		default:
			found[id] = r.card
		}
	}
	var errs []error
	if len(notFound) > 0 {
		errs = append(errs, &UsersNotFoundError{Identities: notFound})
	}
	if len(multiple) > 0 {
		errs = append(errs, &MultipleCardsError{Identities: multiple})
	}
	return found, errors.Join(errs...)
}

// searchFor searches the identities of mine, in chunks of
// virgilapi.SearchChunk (in the order of ids), a few chunks at a time, and
// finishes each lookup.
func (c *Client) searchFor(ctx context.Context, ids []string, mine map[string]*lookup) {
	var chunks [][]string
	var chunk []string
	for _, id := range ids {
		if mine[id] == nil {
			continue
		}
		chunk = append(chunk, id)
		if len(chunk) == virgilapi.SearchChunk {
			chunks = append(chunks, chunk)
			chunk = nil
		}
	}
	if len(chunk) > 0 {
		chunks = append(chunks, chunk)
	}
	if len(chunks) == 1 {
		c.searchChunk(ctx, chunks[0], mine)
		return
	}
	sem := make(chan struct{}, maxParallelSearches)
	var wg sync.WaitGroup
	for _, ch := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.searchChunk(ctx, ch, mine)
		}()
	}
	wg.Wait()
}

// searchChunk runs one search request and finishes the lookups of its
// identities.
func (c *Client) searchChunk(ctx context.Context, chunk []string, mine map[string]*lookup) {
	cards, err := c.cards.search(ctx, chunk)
	byID := make(map[string][]*Card, len(chunk))
	for _, card := range cards {
		byID[card.Identity] = append(byID[card.Identity], card)
	}
	for _, id := range chunk {
		res := lookupResult{err: err}
		if err == nil {
			res.count = len(byID[id])
			if res.count == 1 {
				res.card = byID[id][0]
			}
		}
		if prev := c.cache.finish(id, mine[id], res); prev != "" {
			c.audit(ctx, AuditEvent{Type: AuditCardChanged, Peer: id, CardID: res.card.ID, PreviousCardID: prev})
		}
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
