package e3

import (
	"container/list"
	"sync"
	"time"
)

// Card cache defaults (see Config.CardCacheSize and Config.CardCacheTTL).
const (
	DefaultCardCacheSize = 1024
	DefaultCardCacheTTL  = 5 * time.Minute
)

// cardCache keeps the cards FindUsers found, by identity: at most size
// identities (least recently used evicted first), each fresh for ttl after
// it was fetched. Only single active cards are cached; identities without a
// card, or with several, are looked up again every time (they may register
// any moment). Entries past their ttl stay until evicted so that a refresh
// can tell when a user's card changed.
//
// It also coalesces lookups: while a search for an identity is in flight,
// other callers asking for it wait for that search instead of sending their
// own.
type cardCache struct {
	size int           // <= 0: nothing is kept
	ttl  time.Duration // <= 0: nothing is kept
	now  func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *cacheEntry
	lru      list.List                // front = most recently used
	inflight map[string]*lookup
	gen      uint64 // bumped by forget: lookups started before do not store
}

type cacheEntry struct {
	identity string
	card     *Card
	expires  time.Time
}

// lookup is one identity's search in flight. res is written before done is
// closed.
type lookup struct {
	done chan struct{}
	gen  uint64
	res  lookupResult
}

// lookupResult is what a search said about one identity.
type lookupResult struct {
	card  *Card // the active card, when there is exactly one
	count int   // number of active cards
	err   error // the search failed
}

func newCardCache(size int, ttl time.Duration, now func() time.Time) *cardCache {
	return &cardCache{
		size:     size,
		ttl:      ttl,
		now:      now,
		entries:  make(map[string]*list.Element),
		inflight: make(map[string]*lookup),
	}
}

func (cc *cardCache) enabled() bool { return cc.size > 0 && cc.ttl > 0 }

// claim sorts identities: those with a fresh cached card go to found; those
// someone is already searching for get that search in waits; for the others
// a new lookup is registered under the caller's name (mine), which the
// caller must complete with finish.
func (cc *cardCache) claim(ids []string, found map[string]*Card) (waits, mine map[string]*lookup) {
	now := cc.now()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, id := range ids {
		if el, ok := cc.entries[id]; ok {
			e := el.Value.(*cacheEntry)
			if now.Before(e.expires) {
				cc.lru.MoveToFront(el)
				found[id] = e.card
				continue
			}
		}
		if l, ok := cc.inflight[id]; ok {
			if waits == nil {
				waits = make(map[string]*lookup)
			}
			waits[id] = l
			continue
		}
		l := &lookup{done: make(chan struct{}), gen: cc.gen}
		cc.inflight[id] = l
		if mine == nil {
			mine = make(map[string]*lookup)
		}
		mine[id] = l
	}
	return waits, mine
}

// finish records the result of the caller's lookup for id, caches a single
// card, and wakes the waiters. It returns the id of the card previously
// cached for id when the new one differs (a changed key), or "".
func (cc *cardCache) finish(id string, l *lookup, res lookupResult) (changedFrom string) {
	cc.mu.Lock()
	if cc.inflight[id] == l {
		delete(cc.inflight, id)
	}
	if res.err == nil && l.gen == cc.gen {
		el, had := cc.entries[id]
		if had {
			if old := el.Value.(*cacheEntry).card; res.card != nil && old.ID != res.card.ID {
				changedFrom = old.ID
			}
		}
		switch {
		case res.card == nil || !cc.enabled():
			if had {
				cc.lru.Remove(el)
				delete(cc.entries, id)
			}
		case had:
			e := el.Value.(*cacheEntry)
			e.card, e.expires = res.card, cc.now().Add(cc.ttl)
			cc.lru.MoveToFront(el)
		default:
			cc.entries[id] = cc.lru.PushFront(&cacheEntry{identity: id, card: res.card, expires: cc.now().Add(cc.ttl)})
			for cc.lru.Len() > cc.size {
				old := cc.lru.Back()
				cc.lru.Remove(old)
				delete(cc.entries, old.Value.(*cacheEntry).identity)
			}
		}
	}
	cc.mu.Unlock()
	l.res = res
	close(l.done)
	return changedFrom
}

// forget drops the cached cards of ids (all of them when ids is empty);
// searches in flight will not store what they find, and later callers do
// not wait for them.
func (cc *cardCache) forget(ids ...string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	if len(ids) == 0 {
		cc.entries = make(map[string]*list.Element)
		cc.lru.Init()
		clear(cc.inflight)
		return
	}
	for _, id := range ids {
		if el, ok := cc.entries[id]; ok {
			cc.lru.Remove(el)
			delete(cc.entries, id)
		}
		delete(cc.inflight, id) // later callers start their own search
	}
}

// len returns the number of cached identities.
func (cc *cardCache) len() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.lru.Len()
}
