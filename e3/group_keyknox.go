package e3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/e3go/e3go/internal/groupsession"
	"github.com/e3go/e3go/internal/virgilapi"
)

// Group tickets in Keyknox v2, as e3kit 2.5.1 keeps them
// (shared/specs/virgil-services.md §6.2 and §8): the entry (owner =
// initiator, root "group-sessions", path = hex session id, key = decimal
// epoch number) holds, for each recipient, the serialized epoch ticket
// encrypted with signThenEncryptDetached by the initiator for [initiator,
// recipients...]; the entry's identities are the group's participants.

const (
	groupRoot = "group-sessions"

	// maxParallelKeyknox bounds the Keyknox requests one group operation
	// has in flight (e3kit sends them all at once).
	maxParallelKeyknox = 8
)

// groupRecipient is a participant other than the initiator: identity and
// encryption key (in the Client's identifier scheme).
type groupRecipient struct {
	identity string
	key      *PublicKey
	cardID   string
}

// pulledTicket is one epoch pulled from the initiator's Keyknox space.
type pulledTicket struct {
	epoch      *groupsession.Epoch
	identities []string // the entry's recipients: the participants of that epoch
	hash       string
}

// metaFits reports whether a Keyknox meta of n bytes is within
// KeyknoxMaxMetaSize once base64-encoded (as it travels).
func metaFits(n int) bool { return base64.StdEncoding.EncodedLen(n) <= KeyknoxMaxMetaSize }

// ticketChunk is one push of a ticket: meta and value encrypted for the
// initiator and the chunk's recipients.
type ticketChunk struct {
	identities  []string
	meta, value []byte
}

// encryptTicketChunks encrypts ticket for the initiator (lk) and the
// recipients, in as few chunks as keep each meta within
// KeyknoxMaxMetaSize (every chunk also has the initiator as recipient).
// With no recipients there is one chunk, for the initiator alone.
func encryptTicketChunks(lk *localKey, ticket []byte, recips []groupRecipient) ([]ticketChunk, error) {
	var chunks []ticketChunk
	rest := recips
	size := len(rest)
	if size > 20 {
		c, err := chunkCapacity(lk, ticket, rest[0].key)
		if err != nil {
			return nil, err
		}
		size = min(size, c)
	}
	for {
		n := min(size, len(rest))
		keys := make([]*PublicKey, 0, n+1)
		keys = append(keys, lk.pub)
		for _, r := range rest[:n] {
			keys = append(keys, r.key)
		}
		meta, value, err := keyknoxEncrypt(ticket, lk.priv, keys...)
		if err != nil {
			return nil, err
		}
		if !metaFits(len(meta)) {
			if n <= 1 {
				return nil, fmt.Errorf("%w: the meta of a ticket for 2 recipients is %d bytes in base64, over %d", ErrKeyknoxValueTooLarge, base64.StdEncoding.EncodedLen(len(meta)), KeyknoxMaxMetaSize)
			}
			// Shrink in proportion (the meta grows linearly with the
			// recipients), at least by one.
			size = min(n-1, max(1, n*KeyknoxMaxMetaSize/base64.StdEncoding.EncodedLen(len(meta))))
			continue
		}
		ids := make([]string, n)
		for i, r := range rest[:n] {
			ids[i] = r.identity
		}
		chunks = append(chunks, ticketChunk{identities: ids, meta: meta, value: value})
		rest = rest[n:]
		if len(rest) == 0 {
			return chunks, nil
		}
	}
}

// chunkCapacity estimates how many recipients besides the initiator one
// push can carry: a meta grows by the same number of bytes per recipient
// (one ECIES entry), measured with the initiator alone and with one more
// recipient. encryptTicketChunks checks every chunk anyway.
func chunkCapacity(lk *localKey, ticket []byte, other *PublicKey) (int, error) {
	m1, _, err := keyknoxEncrypt(ticket, lk.priv, lk.pub)
	if err != nil {
		return 0, err
	}
	m2, _, err := keyknoxEncrypt(ticket, lk.priv, lk.pub, other)
	if err != nil {
		return 0, err
	}
	per := len(m2) - len(m1)
	if per <= 0 {
		return 1, nil
	}
	maxRaw := KeyknoxMaxMetaSize / 4 * 3 // the longest meta whose base64 fits
	return max(1, (maxRaw-(len(m1)-per))/per-1), nil
}

// pushTicket stores the ticket of epoch e in the Client's (the
// initiator's) Keyknox space for recipients, in chunks (see
// encryptTicketChunks): the first push carries prevHash ("" for a new
// entry) and, with withSelf, lists the initiator first in its identities
// (e3kit's createGroup and remove do; add and reAdd list only the new
// recipients); each later push carries the hash the previous one returned.
// It returns the number of pushes that succeeded.
func (c *Client) pushTicket(ctx context.Context, lk *localKey, path string, e *groupsession.Epoch, recips []groupRecipient, withSelf bool, prevHash string) (pushed int, err error) {
	ticket := e.Marshal()
	defer clear(ticket)
	chunks, err := encryptTicketChunks(lk, ticket, recips)
	if err != nil {
		return 0, err
	}
	key := strconv.FormatUint(uint64(e.Number()), 10)
	hash := prevHash
	for i, ch := range chunks {
		ids := ch.identities
		if i == 0 && withSelf || len(ids) == 0 {
			ids = append([]string{c.identity}, ids...)
		}
		v, err := c.api.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{
			Root: groupRoot, Path: path, Key: key, Identities: ids,
			Meta: ch.meta, Value: ch.value, PreviousHash: hash,
		})
		if err != nil {
			return i, fmt.Errorf("e3: storing the ticket of epoch %s in Keyknox (push %d of %d): %w", key, i+1, len(chunks), err)
		}
		hash = v.Hash
	}
	return len(chunks), nil
}

// isKeyknoxConflict reports Keyknox's 50010 (the entry exists, or changed
// since it was read).
func isKeyknoxConflict(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == virgilapi.CodeInvalidPreviousHash
}

// parseEpochKey parses a Keyknox key of a group entry: the canonical
// decimal form of a uint32, as e3kit writes it.
func parseEpochKey(key string) (uint32, error) {
	n, err := strconv.ParseUint(key, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != key {
		return 0, &ParseError{What: "group ticket key", Err: errors.New("not an epoch number")}
	}
	return uint32(n), nil
}

// groupEpochKeys lists the epochs of owner's group under path that the
// Client can read; ErrGroupNoAccess when there is none.
func (c *Client) groupEpochKeys(ctx context.Context, path, owner string) ([]string, error) {
	keys, err := c.api.KeyknoxKeysV2(ctx, groupRoot, path, owner)
	if err != nil {
		return nil, fmt.Errorf("e3: listing the group's tickets: %w", err)
	}
	if len(keys) == 0 {
		return nil, ErrGroupNoAccess
	}
	if len(keys) > 1<<20 {
		return nil, &ParseError{What: "group ticket keys", Err: errors.New("too many")}
	}
	for _, k := range keys {
		if _, err := parseEpochKey(k); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// pullTicket pulls and opens the Client's copy of owner's ticket at key,
// verified with one of signers.
func (c *Client) pullTicket(ctx context.Context, lk *localKey, g *Group, owner, key string, signers []*PublicKey) (*pulledTicket, error) {
	n, err := parseEpochKey(key)
	if err != nil {
		return nil, err
	}
	v, err := c.api.KeyknoxPullV2(ctx, groupRoot, g.path, key, owner)
	if err != nil {
		return nil, fmt.Errorf("e3: fetching the group's ticket of epoch %d: %w", n, err)
	}
	data, ok, err := keyknoxDecrypt(v.Meta, v.Value, lk.priv, signers...)
	switch {
	case errors.Is(err, ErrNotRecipient):
		return nil, fmt.Errorf("%w: the ticket of epoch %d is not encrypted for this private key (ask the initiator to ReAdd this identity's card)", ErrGroupNoAccess, n)
	case err != nil:
		return nil, fmt.Errorf("e3: the group's ticket of epoch %d (from %s): %w", n, quoteIdentity(owner), err)
	case !ok:
		return nil, fmt.Errorf("%w: no copy of the ticket of epoch %d for this identity", ErrGroupNoAccess, n)
	}
	defer clear(data)
	e, err := groupsession.ParseEpoch(data)
	if err != nil {
		return nil, fmt.Errorf("e3: the group's ticket of epoch %d: %w", n, groupError(err))
	}
	if e.SessionID() != g.sid {
		return nil, fmt.Errorf("%w: the ticket stored under epoch %d is another group's", ErrNotFromGroup, n)
	}
	if e.Number() != n {
		return nil, &ParseError{What: "group ticket", Err: fmt.Errorf("epoch %d stored under key %q", e.Number(), key)}
	}
	ids := make([]string, 0, len(v.Identities))
	for _, id := range v.Identities {
		if checkIdentity(id) != nil {
			return nil, &ParseError{What: "keyknox identities", Err: errors.New("invalid identity")}
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return &pulledTicket{epoch: e, identities: ids, hash: v.Hash}, nil
}

// pullGroupTickets pulls every ticket of owner's group the Client can read,
// sorted by epoch.
func (c *Client) pullGroupTickets(ctx context.Context, lk *localKey, g *Group, owner string, signers []*PublicKey) ([]*pulledTicket, error) {
	keys, err := c.groupEpochKeys(ctx, g.path, owner)
	if err != nil {
		return nil, err
	}
	out := make([]*pulledTicket, len(keys))
	err = forEachLimit(ctx, len(keys), true, func(ctx context.Context, i int) error {
		t, err := c.pullTicket(ctx, lk, g, owner, keys[i], signers)
		out[i] = t
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *pulledTicket) int {
		return int(int64(a.epoch.Number()) - int64(b.epoch.Number()))
	})
	for i := 1; i < len(out); i++ {
		if out[i].epoch.Number() == out[i-1].epoch.Number() {
			return nil, &ParseError{What: "group ticket keys", Err: errors.New("repeated epoch")}
		}
	}
	return out, nil
}

// forEachLimit calls fn(ctx, i) for i in [0, n), at most maxParallelKeyknox
// at a time, and returns the first error (a context error only if nothing
// else failed). With stopOnError, the first failure cancels the context of
// the calls still running and no new call starts.
func forEachLimit(ctx context.Context, n int, stopOnError bool, fn func(ctx context.Context, i int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	sem := make(chan struct{}, maxParallelKeyknox)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		if stopOnError && ctx.Err() != nil {
			<-sem
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				errs[i] = err
				if stopOnError {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !isContextErr(err) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}
