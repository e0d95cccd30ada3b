package streamenc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e3go/e3go/e3"
)

// Opening group messages. A message names its group by the initiator in
// its marker (or, written without one by an e3kit client, by the channel's
// opt-in); the group comes from this device (e3.Client.GetGroup) or the
// initiator's cloud (LoadGroup), once per page. A message of an epoch the
// device does not hold (ErrGroupOutdated after a removal, ErrUnknownEpoch)
// makes the opener fetch the group again (Group.Update) and retry once;
// what still fails is that message's ErrGroupNoAccess, never the page's.

// updateSkew is how much older than the opener's last Update of a group a
// message may be and still make it update again: Stream's clock and ours
// differ, and an epoch is stored a moment before messages use it.
const updateSkew = time.Minute

// groupCache remembers, per group id, the Updates the opener made, so
// that a page of messages from a new epoch costs one Update and messages
// older than the last Update none.
type groupCache struct {
	mu sync.Mutex
	m  map[string]*groupEntry
}

type groupEntry struct {
	gen atomic.Uint64 // Updates (and loads) done

	mu        sync.Mutex // one Update at a time
	updatedAt time.Time  // when the last one started
}

func (gc *groupCache) entry(id string) *groupEntry {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if e := gc.m[id]; e != nil {
		return e
	}
	if gc.m == nil || len(gc.m) >= maxRefetchEntries {
		gc.m = map[string]*groupEntry{}
	}
	e := &groupEntry{}
	gc.m[id] = e
	return e
}

// openBatch shares the group lookups of one page (or one webhook event):
// each group is opened once, and a group this participant cannot load
// costs one attempt per page, not one per message.
type openBatch struct {
	mu sync.Mutex
	m  map[string]*batchGroup
}

type batchGroup struct {
	once sync.Once
	g    *e3.Group
	err  error
}

func (b *openBatch) group(id string, load func() (*e3.Group, error)) (*e3.Group, error) {
	b.mu.Lock()
	if b.m == nil {
		b.m = map[string]*batchGroup{}
	}
	r := b.m[id]
	if r == nil {
		r = &batchGroup{}
		b.m[id] = r
	}
	b.mu.Unlock()
	r.once.Do(func() { r.g, r.err = load() })
	return r.g, r.err
}

// unmarkedGroup is the initiator of the group of a group message that
// does not name it: the channel's (see Channel.channelInitiator).
func (o *opener) unmarkedGroup(ctx context.Context) (string, error) {
	if o.channelGroup == nil {
		return "", fmt.Errorf("%w: a group message without the %q marker cannot be attributed to a group here (open it through its Channel)", ErrGroupNoAccess, markerKey)
	}
	initiator, err := o.channelGroup(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrGroupNoAccess, err)
	}
	if initiator == "" {
		return "", fmt.Errorf("%w: a group message in a channel without a group session", ErrGroupNoAccess)
	}
	return initiator, nil
}

// openSealed decrypts one sealed part of a message: per recipient when
// initiator is "", else in the group gid of initiator.
func (o *opener) openSealed(ctx context.Context, b *openBatch, gid, initiator string, ct []byte, card *e3.Card, at time.Time) ([]byte, *e3.Card, error) {
	if initiator == "" {
		return o.decrypt(ctx, ct, card, at, o.client.AuthDecrypt)
	}
	e := o.groups.entry(gid)
	g, err := b.group(gid, func() (*e3.Group, error) { return o.loadGroup(ctx, e, gid, initiator) })
	if err != nil {
		return nil, nil, mapGroupErr(err)
	}
	seen := e.gen.Load()
	pt, signer, err := o.decrypt(ctx, ct, card, at, g.Decrypt)
	var ee *e3.GroupEpochError
	if errors.As(err, &ee) {
		again, uerr := o.updateGroup(ctx, g, e, seen, at)
		if uerr != nil {
			return nil, nil, mapGroupErr(uerr)
		}
		if again {
			pt, signer, err = o.decrypt(ctx, ct, card, at, g.Decrypt)
		}
	}
	return pt, signer, mapGroupErr(err)
}

// loadGroup returns the group from this device, else from the initiator's
// cloud.
func (o *opener) loadGroup(ctx context.Context, e *groupEntry, gid, initiator string) (*e3.Group, error) {
	g, err := o.client.GetGroup(ctx, gid)
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, e3.ErrGroupNotFound) {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, err := o.client.GetGroup(ctx, gid); err == nil {
		return g, nil // loaded meanwhile (another page)
	}
	start := o.now()
	card, err := o.client.FindUser(ctx, initiator)
	if err != nil {
		return nil, fmt.Errorf("the group's initiator %q: %w", initiator, err)
	}
	if g, err = o.client.LoadGroup(ctx, gid, card); err != nil {
		return nil, err
	}
	e.updatedAt = start
	e.gen.Add(1)
	return g, nil
}

// updateGroup fetches g again for a message of an epoch it does not hold,
// created at at: unless another Update finished since the decryption
// attempt (then it only reports that trying again may help), or the last
// Update started well after the message was created (it would have
// brought its epoch; nothing will). It reports whether decrypting again
// may succeed.
func (o *opener) updateGroup(ctx context.Context, g *e3.Group, e *groupEntry, seen uint64, at time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen.Load() != seen {
		return true, nil
	}
	now := o.now()
	if !e.updatedAt.IsZero() {
		if at.IsZero() && now.Sub(e.updatedAt) < refetchInterval {
			return false, nil
		}
		if !at.IsZero() && at.Before(e.updatedAt.Add(-updateSkew)) {
			return false, nil
		}
	}
	e.updatedAt = now
	err := g.Update(ctx)
	e.gen.Add(1)
	if err != nil {
		return false, err
	}
	return true, nil
}

// mapGroupErr turns an error of a group decryption, or of getting the
// group, into this package's reason, wrapping both.
func mapGroupErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, e3.ErrNoLocalKey):
		return err // this device's condition, not the message's
	case errors.Is(err, ErrTampered), errors.Is(err, ErrMalformed), errors.Is(err, ErrNotRecipient):
		return err // mapped already
	case errors.Is(err, e3.ErrNotFromGroup), errors.Is(err, e3.ErrKeyType):
		return fmt.Errorf("%w: %w", ErrTampered, err)
	case errors.Is(err, e3.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// Not a participant (never added, removed, the group deleted), an
	// epoch this identity never held, or the group could not be fetched.
	return fmt.Errorf("%w: %w", ErrGroupNoAccess, err)
}
