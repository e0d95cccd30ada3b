package e3_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

// Test helpers for the group tests.

// kkCall is one Keyknox v2 request: its path (without "/keyknox/v2/"), its
// JSON body and whether it carried a previous hash.
type kkCall struct {
	op       string
	body     map[string]any
	prevHash bool
}

// String renders the call as the capture summaries do: op, then root,
// path, key, identity and identities, then "[prev-hash]".
func (k kkCall) String() string {
	var b strings.Builder
	b.WriteString(k.op)
	for _, f := range []string{"root", "path", "key", "identity"} {
		if v, ok := k.body[f]; ok {
			fmt.Fprintf(&b, " %s=%v", f, v)
		}
	}
	if ids, ok := k.body["identities"].([]any); ok {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(&b, " identities=[%s]", strings.Join(s, ","))
	}
	if k.prevHash {
		b.WriteString(" [prev-hash]")
	}
	return b.String()
}

// kkRecorder records the Keyknox v2 requests a Client sends and, with
// metaLimit set, answers a push whose meta is longer than metaLimit base64
// characters with Virgil's 400 {"code":50005} instead of sending it (the
// Keyknox value limit e3kit-js#160 reports; e3test enforces one only with
// Options.KeyknoxMaxMetaSize, and this also records what was pushed).
type kkRecorder struct {
	base      http.RoundTripper
	metaLimit int

	mu       sync.Mutex
	calls    []kkCall
	maxMeta  int // longest meta pushed (base64 characters)
	refusals int
}

func (r *kkRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op, ok := strings.CutPrefix(req.URL.Path, "/keyknox/v2/")
	if !ok || req.Body == nil {
		return r.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var m map[string]any
	json.Unmarshal(body, &m)
	meta, _ := m["meta"].(string)
	r.mu.Lock()
	r.calls = append(r.calls, kkCall{op: op, body: m, prevHash: req.Header.Get("Virgil-Keyknox-Previous-Hash") != ""})
	r.maxMeta = max(r.maxMeta, len(meta))
	refuse := op == "push" && r.metaLimit > 0 && len(meta) > r.metaLimit
	if refuse {
		r.refusals++
	}
	r.mu.Unlock()
	if refuse {
		return &http.Response{StatusCode: 400, Status: "400 Bad Request", Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"code":50005,"message":"meta param exceeds the 10kb limit"}`)), Request: req}, nil
	}
	return r.base.RoundTrip(req)
}

// take returns the calls recorded since the last take, rendered.
func (r *kkRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.String()
	}
	r.calls = nil
	return out
}

// withRecorder installs r on cfg's HTTP client.
func withRecorder(r *kkRecorder) func(*e3.Config) {
	return withTransport(func(base http.RoundTripper) http.RoundTripper {
		r.base = base
		return r
	})
}

// sessionHex is e3kit's group session id: hex(SHA-512(id)[:32]).
func sessionHex(id string) string {
	h := sha512.Sum512([]byte(id))
	return hex.EncodeToString(h[:32])
}

// fakeCards returns n cards of unregistered identities prefix-0, ... with
// fresh keys: enough for encryption and Keyknox (e3test accepts any
// identity as a recipient), not for anyone to log in.
func fakeCards(t testing.TB, prefix string, n int) []*e3.Card {
	t.Helper()
	cards := make([]*e3.Card, n)
	for i := range cards {
		k, err := e3.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		cards[i] = &e3.Card{ID: fmt.Sprintf("%064x", i), Identity: fmt.Sprintf("%s-%03d", prefix, i), PublicKey: k.Public()}
	}
	return cards
}

// groupOf creates group id by d for the members, failing the test on error.
func groupOf(t testing.TB, d *device, id string, members ...*e3.Card) *e3.Group {
	t.Helper()
	g, err := d.CreateGroup(context.Background(), id, members...)
	if err != nil {
		t.Fatalf("%s: CreateGroup(%q): %v", d.Identity(), id, err)
	}
	return g
}

// loadOf loads group id of initiator into d.
func loadOf(t testing.TB, d *device, id string, initiator *device) *e3.Group {
	t.Helper()
	g, err := d.LoadGroup(context.Background(), id, mustFind(t, d, initiator.Identity()))
	if err != nil {
		t.Fatalf("%s: LoadGroup(%q): %v", d.Identity(), id, err)
	}
	return g
}

// mustGroupEncrypt encrypts text in g.
func mustGroupEncrypt(t testing.TB, g *e3.Group, text string) []byte {
	t.Helper()
	ct, err := g.Encrypt([]byte(text))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

// mustGroupDecrypt decrypts ct in g, sent by from, and checks the text.
func mustGroupDecrypt(t testing.TB, g *e3.Group, ct []byte, from *e3.Card, want string) {
	t.Helper()
	pt, err := g.Decrypt(ct, from)
	if err != nil {
		t.Fatalf("Decrypt (from %s): %v", from.Identity, err)
	}
	if string(pt) != want {
		t.Fatalf("Decrypt = %q, want %q", pt, want)
	}
}

// entryIdentities returns the recipients of alice's ticket entry of epoch
// key, or nil if there is none.
func entryIdentities(srv *e3test.Server, owner, id, key string) []string {
	r, ok := srv.KeyknoxV2(owner, "group-sessions", sessionHex(id), key)
	if !ok {
		return nil
	}
	return r.Identities()
}

// b64Len is the base64 length of n bytes.
func b64Len(n int) int { return base64.StdEncoding.EncodedLen(n) }

func ed25519FromSeed(seed []byte) []byte { return ed25519.NewKeyFromSeed(seed) }
