package e3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/e3go/e3go/internal/virgilapi"
)

// cardFake is a minimal Cards v5 server for the card client's own tests
// (e3test cannot be imported here: it imports e3). tamper lets a test make
// it lie.
type cardFake struct {
	mu       sync.Mutex
	svc      *PrivateKey
	cards    []*virgilapi.RawCard
	outdated map[string]bool
	searches [][]string
	tamper   string
}

func (f *cardFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	answer := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/card/v5":
		var rc virgilapi.RawCard
		json.Unmarshal(body, &rc)
		sig, _ := Sign(rc.ContentSnapshot, f.svc)
		if f.tamper == "wrong service key" {
			other, _ := GenerateKey()
			sig, _ = Sign(rc.ContentSnapshot, other)
		}
		if f.tamper != "no service signature" {
			rc.Signatures = append(rc.Signatures, virgilapi.RawSignature{Signer: SignerVirgil, Signature: sig})
		}
		if f.tamper == "other content" {
			rc.ContentSnapshot = append([]byte(nil), rc.ContentSnapshot...)
			rc.ContentSnapshot[len(rc.ContentSnapshot)-2] ^= 1
		}
		f.cards = append(f.cards, &rc)
		answer(&rc)
	case r.URL.Path == "/card/v5/actions/search":
		var q struct{ Identities []string }
		json.Unmarshal(body, &q)
		f.searches = append(f.searches, q.Identities)
		want := map[string]bool{}
		for _, id := range q.Identities {
			want[id] = true
		}
		out := []*virgilapi.RawCard{}
		for _, rc := range f.cards {
			c, _ := parseContent(rc.ContentSnapshot)
			if want[c.Identity] || f.tamper == "extra identity" {
				out = append(out, rc)
			}
		}
		answer(out)
	case strings.HasPrefix(r.URL.Path, "/card/v5/actions/revoke/"):
		w.WriteHeader(200)
	case strings.HasPrefix(r.URL.Path, "/card/v5/"):
		id := strings.TrimPrefix(r.URL.Path, "/card/v5/")
		for _, rc := range f.cards {
			if virgilapi.CardID(rc.ContentSnapshot) == id || f.tamper == "wrong card" {
				if f.outdated[id] {
					w.Header().Set("X-Virgil-Is-Superseeded", "true")
				}
				answer(rc)
				return
			}
		}
		w.WriteHeader(404)
		answer(map[string]any{"code": 10001, "message": "not found"})
	}
}

func newCardFake(t *testing.T, verifier func(svc *PublicKey) *CardVerifier) (*cardFake, *cardClient) {
	t.Helper()
	svc, _ := GenerateKey()
	f := &cardFake{svc: svc, outdated: map[string]bool{}}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	app, _ := GenerateKey()
	gen := &JWTGenerator{AppID: "app", AppKey: app, AppKeyID: "kid"}
	api, err := newVirgilAPI(&Config{APIURL: hs.URL, TokenProvider: TokenProviderFunc(func(context.Context) (string, error) { return gen.Generate("me") })}, -1)
	if err != nil {
		t.Fatal(err)
	}
	return f, &cardClient{api: api, verifier: verifier(svc.Public())}
}

func trusting(svc *PublicKey) *CardVerifier { return &CardVerifier{ServiceKey: svc} }

func TestCardClient(t *testing.T) {
	f, cc := newCardFake(t, trusting)
	ctx := context.Background()
	k1, _ := GenerateKey()
	c1, _ := NewCard(CardParams{Identity: "alice", PrivateKey: k1})
	p1, err := cc.publish(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	if p1.ID != c1.ID || len(p1.Signatures) != 2 {
		t.Fatalf("published %+v", p1)
	}
	k2, _ := GenerateKey()
	c2, _ := NewCard(CardParams{Identity: "alice", PrivateKey: k2, PreviousCardID: c1.ID})
	if _, err := cc.publish(ctx, c2); err != nil {
		t.Fatal(err)
	}
	// Search links the rotation: one active card, its predecessor linked.
	var ids []string
	for i := range 60 {
		ids = append(ids, fmt.Sprintf("u%d", i))
	}
	cards, err := cc.search(ctx, append(ids, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 || cards[0].ID != c2.ID || cards[0].PreviousCard == nil || cards[0].PreviousCard.ID != c1.ID || !cards[0].PreviousCard.IsOutdated || cards[0].IsOutdated {
		t.Fatalf("search: %+v", cards)
	}
	if len(f.searches) != 2 || len(f.searches[0]) != 50 || len(f.searches[1]) != 11 {
		t.Errorf("search chunks %d", len(f.searches))
	}
	f.outdated[c1.ID] = true
	g, err := cc.get(ctx, c1.ID)
	if err != nil || !g.IsOutdated || g.ID != c1.ID {
		t.Errorf("get: %v %+v", err, g)
	}
	if g, err := cc.get(ctx, c2.ID); err != nil || g.IsOutdated {
		t.Errorf("get active: %v", err)
	}
	if err := cc.revoke(ctx, c2.ID); err != nil {
		t.Error(err)
	}
	var ae *APIError
	if _, err := cc.get(ctx, strings.Repeat("0", 64)); !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Code != 10001 {
		t.Errorf("get unknown: %v", err)
	}
	if _, err := cc.search(ctx, []string{"café"}); !errors.Is(err, ErrInvalidIdentity) {
		t.Errorf("non-ASCII search: %v", err)
	}

	// SHA-256 key identifiers.
	cc.sha256IDs = true
	cards, _ = cc.search(ctx, []string{"alice"})
	if len(cards[0].PublicKey.ID()) != 32 {
		t.Error("sha256IDs not applied")
	}
}

func TestCardClientRejectsLies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		tamper string
		op     string
	}{
		{"other content", "publish"},
		{"wrong service key", "publish"},
		{"no service signature", "publish"},
		{"extra identity", "search"},
		{"wrong card", "get"},
	} {
		f, cc := newCardFake(t, trusting)
		k, _ := GenerateKey()
		c, _ := NewCard(CardParams{Identity: "alice", PrivateKey: k})
		b, _ := NewCard(CardParams{Identity: "bob", PrivateKey: k})
		if tc.op != "publish" {
			if _, err := cc.publish(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := cc.publish(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		f.tamper = tc.tamper
		var err error
		switch tc.op {
		case "publish":
			_, err = cc.publish(ctx, c)
		case "search":
			_, err = cc.search(ctx, []string{"bob"})
		case "get":
			_, err = cc.get(ctx, b.ID)
		}
		var cve *CardVerificationError
		if !errors.Is(err, ErrInvalidCard) || !errors.As(err, &cve) {
			t.Errorf("%s: got %v, want a *CardVerificationError", tc.tamper, err)
		}
	}
	// A server without service signatures is fine for a verifier told so.
	f, cc := newCardFake(t, func(*PublicKey) *CardVerifier { return &CardVerifier{InsecureSkipServiceSignature: true} })
	f.tamper = "no service signature"
	k, _ := GenerateKey()
	c, _ := NewCard(CardParams{Identity: "alice", PrivateKey: k})
	if _, err := cc.publish(ctx, c); err != nil {
		t.Errorf("InsecureSkipServiceSignature: %v", err)
	}
	// The default verifier (Virgil's key) rejects this server's cards.
	_, cc = newCardFake(t, func(*PublicKey) *CardVerifier { return nil })
	c, _ = NewCard(CardParams{Identity: "alice", PrivateKey: k})
	if _, err := cc.publish(ctx, c); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("default verifier on a foreign server: %v", err)
	}
}
