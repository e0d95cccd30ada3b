package e3test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrNotFound is returned by a Storage for a record it does not have.
var ErrNotFound = errors.New("e3test: not found")

// Storage is where a Server keeps its state. A Server never calls it
// concurrently for one operation's read-modify-write: it serialises every
// state-changing request. Implementations must nevertheless be safe for
// concurrent use (inspection methods read from other goroutines), must copy
// records in and out, and return ErrNotFound (possibly wrapped) for a
// missing record. NewMemoryStorage is the default; a persistent
// implementation lets a server keep cards and backups across restarts.
type Storage interface {
	// Card returns the card with id.
	Card(ctx context.Context, id string) (CardRecord, error)
	// CardsByIdentity returns every card of identity (revoked and
	// superseded ones included) in publication order.
	CardsByIdentity(ctx context.Context, identity string) ([]CardRecord, error)
	// PutCard inserts or replaces the card with rec.ID.
	PutCard(ctx context.Context, rec CardRecord) error

	// KeyknoxV1 returns identity's Keyknox v1 entry.
	KeyknoxV1(ctx context.Context, identity string) (KeyknoxV1Record, error)
	// PutKeyknoxV1 inserts or replaces rec.Identity's v1 entry.
	PutKeyknoxV1(ctx context.Context, rec KeyknoxV1Record) error

	// KeyknoxV2 returns the v2 entry (owner, root, path, key).
	KeyknoxV2(ctx context.Context, owner, root, path, key string) (KeyknoxV2Record, error)
	// KeyknoxV2Entries returns owner's v2 entries under root, and under
	// path unless it is "", in creation order (Seq).
	KeyknoxV2Entries(ctx context.Context, owner, root, path string) ([]KeyknoxV2Record, error)
	// PutKeyknoxV2 inserts or replaces a v2 entry.
	PutKeyknoxV2(ctx context.Context, rec KeyknoxV2Record) error
	// DeleteKeyknoxV2 deletes a v2 entry; deleting a missing one is not an
	// error.
	DeleteKeyknoxV2(ctx context.Context, owner, root, path, key string) error
}

// CardRecord is a stored card.
type CardRecord struct {
	ID             string    // hex(SHA-512(content snapshot)[:32])
	Identity       string    // the card's identity
	PreviousCardID string    // the card it supersedes, or ""
	Model          []byte    // the card JSON served (snapshot byte-exact, with the service signature)
	Published      time.Time // when it was published
	SupersededBy   string    // the card that superseded it, or ""
	Revoked        bool      // revoked by its identity
}

// Outdated reports whether the card was superseded or revoked (what GET
// /card/v5/{id} reports in X-Virgil-Is-Superseeded).
func (r CardRecord) Outdated() bool { return r.Revoked || r.SupersededBy != "" }

// KeyknoxV1Record is an identity's Keyknox v1 entry. Empty Meta and Value
// mean no entry; Version counts writes (pushes and resets).
type KeyknoxV1Record struct {
	Identity string
	Meta     []byte
	Value    []byte
	Version  int
	Hash     string
}

// KeyknoxV2Record is a Keyknox v2 entry: one copy of meta and value per
// recipient, the owner first.
type KeyknoxV2Record struct {
	Owner, Root, Path, Key string
	Copies                 []KeyknoxCopy
	Hash                   string
	Seq                    uint64 // creation order, server-wide
}

// KeyknoxCopy is one recipient's copy of a v2 entry.
type KeyknoxCopy struct {
	Identity    string
	Meta, Value []byte
}

// Identities returns the entry's recipients in order.
func (r KeyknoxV2Record) Identities() []string {
	out := make([]string, len(r.Copies))
	for i, c := range r.Copies {
		out[i] = c.Identity
	}
	return out
}

// copyOf returns identity's copy, or nil.
func (r *KeyknoxV2Record) copyOf(identity string) *KeyknoxCopy {
	for i := range r.Copies {
		if r.Copies[i].Identity == identity {
			return &r.Copies[i]
		}
	}
	return nil
}

func (r CardRecord) clone() CardRecord { r.Model = bytes.Clone(r.Model); return r }

func (r KeyknoxV1Record) clone() KeyknoxV1Record {
	r.Meta, r.Value = bytes.Clone(r.Meta), bytes.Clone(r.Value)
	return r
}

func (r KeyknoxV2Record) clone() KeyknoxV2Record {
	cs := make([]KeyknoxCopy, len(r.Copies))
	for i, c := range r.Copies {
		cs[i] = KeyknoxCopy{Identity: c.Identity, Meta: bytes.Clone(c.Meta), Value: bytes.Clone(c.Value)}
	}
	r.Copies = cs
	return r
}

// NewMemoryStorage returns an empty in-memory Storage.
func NewMemoryStorage() Storage {
	return &memStorage{
		cards:      make(map[string]*CardRecord),
		byIdentity: make(map[string][]string),
		kk1:        make(map[string]KeyknoxV1Record),
		kk2:        make(map[kk2Addr]KeyknoxV2Record),
	}
}

type kk2Addr struct{ owner, root, path, key string }

type memStorage struct {
	mu         sync.RWMutex
	cards      map[string]*CardRecord
	byIdentity map[string][]string // card ids in publication order
	kk1        map[string]KeyknoxV1Record
	kk2        map[kk2Addr]KeyknoxV2Record
}

func (m *memStorage) Card(ctx context.Context, id string) (CardRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.cards[id]
	if !ok {
		return CardRecord{}, ErrNotFound
	}
	return c.clone(), nil
}

func (m *memStorage) CardsByIdentity(ctx context.Context, identity string) ([]CardRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ids := m.byIdentity[identity]
	out := make([]CardRecord, 0, len(ids))
	for _, id := range ids {
		out = append(out, m.cards[id].clone())
	}
	return out, nil
}

func (m *memStorage) PutCard(ctx context.Context, rec CardRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cards[rec.ID]; !ok {
		m.byIdentity[rec.Identity] = append(m.byIdentity[rec.Identity], rec.ID)
	}
	r := rec.clone()
	m.cards[rec.ID] = &r
	return nil
}

func (m *memStorage) KeyknoxV1(ctx context.Context, identity string) (KeyknoxV1Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.kk1[identity]
	if !ok {
		return KeyknoxV1Record{}, ErrNotFound
	}
	return r.clone(), nil
}

func (m *memStorage) PutKeyknoxV1(ctx context.Context, rec KeyknoxV1Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kk1[rec.Identity] = rec.clone()
	return nil
}

func (m *memStorage) KeyknoxV2(ctx context.Context, owner, root, path, key string) (KeyknoxV2Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.kk2[kk2Addr{owner, root, path, key}]
	if !ok {
		return KeyknoxV2Record{}, ErrNotFound
	}
	return r.clone(), nil
}

func (m *memStorage) KeyknoxV2Entries(ctx context.Context, owner, root, path string) ([]KeyknoxV2Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []KeyknoxV2Record
	for a, r := range m.kk2 {
		if a.owner == owner && a.root == root && (path == "" || a.path == path) {
			out = append(out, r.clone())
		}
	}
	slices.SortFunc(out, func(a, b KeyknoxV2Record) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return out, nil
}

func (m *memStorage) PutKeyknoxV2(ctx context.Context, rec KeyknoxV2Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kk2[kk2Addr{rec.Owner, rec.Root, rec.Path, rec.Key}] = rec.clone()
	return nil
}

func (m *memStorage) DeleteKeyknoxV2(ctx context.Context, owner, root, path, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.kk2, kk2Addr{owner, root, path, key})
	return nil
}
