package e3

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for cache tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func testCard(t *testing.T, identity string) *Card {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCard(CardParams{Identity: identity, PrivateKey: k})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lookupOnce claims ids and completes the caller's own lookups with res,
// returning what was found in the cache.
func lookupOnce(cc *cardCache, ids []string, res func(id string) lookupResult) (found map[string]*Card, searched []string) {
	found = map[string]*Card{}
	_, mine := cc.claim(ids, found)
	for _, id := range ids {
		if l := mine[id]; l != nil {
			searched = append(searched, id)
			cc.finish(id, l, res(id))
		}
	}
	return found, searched
}

func TestCardCacheTTLAndSize(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cc := newCardCache(2, time.Minute, clk.now)
	cards := map[string]*Card{"a": testCard(t, "a"), "b": testCard(t, "b"), "c": testCard(t, "c")}
	res := func(id string) lookupResult { return lookupResult{card: cards[id], count: 1} }

	if _, s := lookupOnce(cc, []string{"a", "b"}, res); len(s) != 2 {
		t.Fatalf("cold: searched %v, want a and b", s)
	}
	found, s := lookupOnce(cc, []string{"a", "b"}, res)
	if len(s) != 0 || found["a"] != cards["a"] || found["b"] != cards["b"] {
		t.Fatalf("warm: searched %v, found %v", s, found)
	}
	// "a" was used last... touch "a" so that "b" is the least recently used.
	lookupOnce(cc, []string{"a"}, res)
	lookupOnce(cc, []string{"c"}, res) // evicts b
	if cc.len() != 2 {
		t.Fatalf("cache holds %d identities, want 2", cc.len())
	}
	if _, s := lookupOnce(cc, []string{"b"}, res); len(s) != 1 {
		t.Fatalf("b should have been evicted; searched %v", s)
	}
	// Expiry.
	clk.add(time.Minute + time.Second)
	if _, s := lookupOnce(cc, []string{"b", "c"}, res); len(s) != 2 {
		t.Fatalf("after the TTL: searched %v, want both", s)
	}
}

func TestCardCacheNotCached(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cc := newCardCache(10, time.Minute, clk.now)
	card := testCard(t, "m")
	results := map[string]lookupResult{
		"missing":  {count: 0},
		"multiple": {count: 2},
		"failed":   {err: errors.New("boom")},
		"m":        {card: card, count: 1},
	}
	ids := []string{"missing", "multiple", "failed", "m"}
	lookupOnce(cc, ids, func(id string) lookupResult { return results[id] })
	_, s := lookupOnce(cc, ids, func(id string) lookupResult { return results[id] })
	if fmt.Sprint(s) != "[missing multiple failed]" {
		t.Fatalf("second round searched %v; only the single card should be cached", s)
	}
}

func TestCardCacheDisabled(t *testing.T) {
	for _, cc := range []*cardCache{newCardCache(0, time.Minute, time.Now), newCardCache(10, -1, time.Now)} {
		card := testCard(t, "x")
		lookupOnce(cc, []string{"x"}, func(string) lookupResult { return lookupResult{card: card, count: 1} })
		if _, s := lookupOnce(cc, []string{"x"}, func(string) lookupResult { return lookupResult{card: card, count: 1} }); len(s) != 1 {
			t.Fatalf("disabled cache (size %d, ttl %v) answered from memory", cc.size, cc.ttl)
		}
		if cc.len() != 0 {
			t.Fatalf("disabled cache holds %d entries", cc.len())
		}
	}
}

func TestCardCacheForgetAndChange(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cc := newCardCache(10, time.Minute, clk.now)
	old, cur := testCard(t, "r"), testCard(t, "r")
	lookupOnce(cc, []string{"r"}, func(string) lookupResult { return lookupResult{card: old, count: 1} })

	// A search in flight when forget runs must not store its (stale) card,
	// and later callers must not wait for it.
	found := map[string]*Card{}
	_, mine := cc.claim([]string{"r"}, found)
	if len(found) != 0 || mine == nil {
		// "r" is cached and fresh: expire it first.
		clk.add(2 * time.Minute)
		_, mine = cc.claim([]string{"r"}, found)
	}
	stale := mine["r"]
	cc.forget("r")
	waits, mine2 := cc.claim([]string{"r"}, map[string]*Card{})
	if waits != nil || mine2["r"] == nil {
		t.Fatal("after forget, a new caller waits for the old search")
	}
	cc.finish("r", stale, lookupResult{card: old, count: 1})
	if prev := cc.finish("r", mine2["r"], lookupResult{card: cur, count: 1}); prev != "" {
		t.Fatalf("changed-from %q after forget, want none (the old card was forgotten)", prev)
	}
	if f, _ := lookupOnce(cc, []string{"r"}, nil); f["r"] != cur {
		t.Fatal("the forgotten search stored its card, or the new one was not stored")
	}

	// A refresh that finds another card reports the change.
	clk.add(2 * time.Minute)
	_, mine3 := cc.claim([]string{"r"}, map[string]*Card{})
	if prev := cc.finish("r", mine3["r"], lookupResult{card: old, count: 1}); prev != cur.ID {
		t.Fatalf("changed-from = %q, want %q", prev, cur.ID)
	}
}

func TestCardCacheCoalesces(t *testing.T) {
	cc := newCardCache(10, time.Minute, time.Now)
	card := testCard(t, "co")
	found := map[string]*Card{}
	_, mine := cc.claim([]string{"co"}, found)
	const n = 8
	var wg sync.WaitGroup
	got := make([]*Card, n)
	for i := range n {
		waits, other := cc.claim([]string{"co"}, map[string]*Card{})
		if other != nil || waits["co"] != mine["co"] {
			t.Fatal("a second caller did not join the search in flight")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-waits["co"].done
			got[i] = waits["co"].res.card
		}()
	}
	cc.finish("co", mine["co"], lookupResult{card: card, count: 1})
	wg.Wait()
	for i, c := range got {
		if c != card {
			t.Fatalf("waiter %d got %v", i, c)
		}
	}
}
