package virgilapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/e3go/e3go/internal/pythia"
)

func TestCardsRequests(t *testing.T) {
	id := strings.Repeat("ab", 32)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.URL.Path == "/card/v5/actions/search":
			var q struct{ Identities []string }
			json.Unmarshal(body, &q)
			var out []RawCard
			for _, i := range q.Identities {
				out = append(out, RawCard{ContentSnapshot: []byte(`{"identity":"` + i + `"}`)})
			}
			jsonAnswer(w, 200, out)
		case r.URL.Path == "/card/v5/"+id:
			w.Header().Set("X-Virgil-Is-Superseeded", r.URL.Query().Get("h"))
			jsonAnswer(w, 200, RawCard{ContentSnapshot: []byte("x")})
		case r.URL.Path == "/card/v5":
			w.Write(body)
		default:
			w.WriteHeader(200)
		}
	})
	c := f.client(t, &counter{})
	ctx := context.Background()
	var ids []string
	for i := range 120 {
		ids = append(ids, fmt.Sprintf("u%03d", i))
	}
	cards, err := c.SearchCards(ctx, append(ids, ids[:10]...))
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 120 {
		t.Errorf("%d cards", len(cards))
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d search requests, want 3 (50+50+20)", len(reqs))
	}
	for i, n := range []int{50, 50, 20} {
		var q struct{ Identities []string }
		json.Unmarshal([]byte(reqs[i].body), &q)
		if len(q.Identities) != n || q.Identities[0] != ids[50*i] {
			t.Errorf("request %d: %d identities starting %s", i, len(q.Identities), q.Identities[0])
		}
	}

	rc := &RawCard{ContentSnapshot: []byte(`{"identity":"a"}`), Signatures: []RawSignature{{Signer: "self", Signature: []byte{1, 2}}}}
	out, err := c.PublishCard(ctx, rc)
	if err != nil || !bytes.Equal(out.ContentSnapshot, rc.ContentSnapshot) || len(out.Signatures) != 1 {
		t.Fatalf("publish: %v %+v", err, out)
	}
	if got := f.requests()[3].body; got != `{"content_snapshot":"eyJpZGVudGl0eSI6ImEifQ==","signatures":[{"signer":"self","signature":"AQI="}]}` {
		t.Errorf("publish body %s", got)
	}
	// No signatures marshal as [], not null.
	c.PublishCard(ctx, &RawCard{ContentSnapshot: []byte("{}")})
	if got := f.requests()[4].body; got != `{"content_snapshot":"e30=","signatures":[]}` {
		t.Errorf("publish body %s", got)
	}

	if err := c.RevokeCard(ctx, id); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[5]; r.path != "/card/v5/actions/revoke/"+id || r.body != "{}" || r.method != "POST" {
		t.Errorf("revoke %+v", r)
	}
	_, outdated, err := c.GetCard(ctx, id)
	if err != nil || outdated {
		t.Errorf("get: %v outdated=%v", err, outdated)
	}
	for h, want := range map[string]bool{"true": true, "True": false, "1": false} {
		f.handler = func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("X-Virgil-Is-Superseeded", h)
			jsonAnswer(w, 200, RawCard{ContentSnapshot: []byte("x")})
		}
		if _, outdated, err := c.GetCard(ctx, id); err != nil || outdated != want {
			t.Errorf("header %q: outdated=%v %v", h, outdated, err)
		}
	}
	// hex(SHA-512("")[:32])
	if got := CardID(nil); got != "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" || !ValidCardID(got) {
		t.Errorf("CardID(empty) = %s", got)
	}
	for _, bad := range []string{"", strings.Repeat("a", 63), strings.Repeat("A", 64), strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		if ValidCardID(bad) {
			t.Errorf("ValidCardID(%q)", bad)
		}
	}
}

func TestKeyknoxRequests(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Virgil-Keyknox-Hash", "H-"+r.URL.Path)
		switch r.URL.Path {
		case "/keyknox/v1", "/keyknox/v1/reset":
			jsonAnswer(w, 200, map[string]string{"meta": "AQ==", "value": "Ag==", "version": "3.0"})
		case "/keyknox/v2/keys":
			jsonAnswer(w, 200, []string{"0", "1"})
		default:
			jsonAnswer(w, 200, map[string]any{"owner": "o", "root": "r", "path": "p", "key": "k", "identities": []string{"o", "b"}, "meta": "", "value": ""})
		}
	})
	c := f.client(t, &counter{})
	ctx := context.Background()
	v1, err := c.KeyknoxPullV1(ctx)
	if err != nil || !bytes.Equal(v1.Meta, []byte{1}) || !bytes.Equal(v1.Value, []byte{2}) || v1.Version != "3.0" || v1.Hash != "H-/keyknox/v1" {
		t.Fatalf("pull v1: %v %+v", err, v1)
	}
	if _, err := c.KeyknoxPushV1(ctx, []byte{9}, nil, "prev=="); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeyknoxResetV1(ctx); err != nil {
		t.Fatal(err)
	}
	v2, err := c.KeyknoxPushV2(ctx, KeyknoxV2Push{Root: "r", Path: "p", Key: "k", Identities: []string{"b"}, Meta: []byte{1}, Value: []byte{2}})
	if err != nil || v2.Owner != "o" || len(v2.Identities) != 2 || v2.Hash != "H-/keyknox/v2/push" || len(v2.Meta) != 0 {
		t.Fatalf("push v2: %v %+v", err, v2)
	}
	c.KeyknoxPushV2(ctx, KeyknoxV2Push{Root: "r", Path: "p", Key: "k", Identities: []string{"b"}, PreviousHash: "ph"})
	c.KeyknoxPullV2(ctx, "r", "p", "k", "o")
	keys, err := c.KeyknoxKeysV2(ctx, "r", "p", "o")
	if err != nil || len(keys) != 2 || keys[1] != "1" {
		t.Fatalf("keys: %v %v", keys, err)
	}
	c.KeyknoxResetV2(ctx, "r", "p", "", "")
	c.KeyknoxResetV2(ctx, "r", "p", "k", "b")
	want := []recorded{
		{method: "GET", path: "/keyknox/v1"},
		{method: "PUT", path: "/keyknox/v1", ctype: "application/json", prevHash: "prev==", body: `{"meta":"CQ==","value":""}`},
		{method: "POST", path: "/keyknox/v1/reset"},
		{method: "POST", path: "/keyknox/v2/push", ctype: "application/json", body: `{"root":"r","path":"p","key":"k","identities":["b"],"meta":"AQ==","value":"Ag=="}`},
		{method: "POST", path: "/keyknox/v2/push", ctype: "application/json", prevHash: "ph", body: `{"root":"r","path":"p","key":"k","identities":["b"],"meta":"","value":""}`},
		{method: "POST", path: "/keyknox/v2/pull", ctype: "application/json", body: `{"root":"r","path":"p","key":"k","identity":"o"}`},
		{method: "POST", path: "/keyknox/v2/keys", ctype: "application/json", body: `{"root":"r","path":"p","identity":"o"}`},
		{method: "POST", path: "/keyknox/v2/reset", ctype: "application/json", body: `{"root":"r","path":"p"}`},
		{method: "POST", path: "/keyknox/v2/reset", ctype: "application/json", body: `{"root":"r","path":"p","key":"k","identity":"b"}`},
	}
	got := f.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		g.auth, g.agent = "", ""
		if g != w {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// brainkeyServer answers BrainKey requests with pythia.Transform.
func brainkeyServer(t *testing.T, key *pythia.TransformationKey, throttle *atomic.Int32) func(w http.ResponseWriter, r *http.Request, body []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if throttle.Add(-1) >= 0 {
			jsonAnswer(w, 429, map[string]any{"code": CodeThrottled, "message": "Too many requests"})
			return
		}
		var q struct {
			BlindedPassword []byte `json:"blinded_password"`
			BrainKeyID      string `json:"brainkey_id"`
		}
		if err := json.Unmarshal(body, &q); err != nil {
			t.Error(err)
		}
		seed, err := pythia.Transform(q.BlindedPassword, []byte("tweak/"+q.BrainKeyID), key)
		if err != nil {
			jsonAnswer(w, 400, map[string]any{"code": 60001, "message": err.Error()})
			return
		}
		jsonAnswer(w, 200, map[string][]byte{"seed": seed})
	}
}

func TestBrainKey(t *testing.T) {
	key, err := pythia.NewTransformationKey([]byte("secret"), []byte("scope"), []byte("brainkey-v1"))
	if err != nil {
		t.Fatal(err)
	}
	var throttle atomic.Int32
	f := newFake(t, brainkeyServer(t, key, &throttle))
	c := f.client(t, &counter{})
	ctx := context.Background()
	u1, err := c.BrainKey(ctx, []byte("correct horse"), "")
	if err != nil {
		t.Fatal(err)
	}
	u2, err := c.BrainKey(ctx, []byte("correct horse"), "")
	if err != nil || !bytes.Equal(u1, u2) || len(u1) != pythia.SeedSize {
		t.Fatalf("same password, different material: %v", err)
	}
	if r := f.requests()[0]; r.body == f.requests()[1].body || !strings.HasPrefix(r.body, `{"blinded_password":"`) || strings.Contains(r.body, "brainkey_id") {
		t.Errorf("blinding not fresh, or brainkey_id sent: %s", r.body)
	}
	u3, _ := c.BrainKey(ctx, []byte("correct horse"), "laptop")
	u4, _ := c.BrainKey(ctx, []byte("correct horsf"), "")
	if bytes.Equal(u1, u3) || bytes.Equal(u1, u4) {
		t.Error("brainkey id or password ignored")
	}

	// One throttling answer is retried after the delay; two are returned.
	n := len(f.requests())
	throttle.Store(1)
	d := f.client(t, &counter{}, func(cfg *Config) { cfg.ThrottleRetryDelay = 50 * time.Millisecond })
	start := time.Now()
	if u, err := d.BrainKey(ctx, []byte("correct horse"), ""); err != nil || !bytes.Equal(u, u1) {
		t.Fatalf("after one throttle: %v", err)
	}
	if time.Since(start) < 50*time.Millisecond || len(f.requests())-n != 2 {
		t.Errorf("retry came after %v, %d requests", time.Since(start), len(f.requests())-n)
	}
	throttle.Store(2)
	if _, err := c.BrainKey(ctx, []byte("correct horse"), ""); CodeOf(err) != CodeThrottled {
		t.Errorf("two throttles: %v", err)
	}
	// The wait honours the context.
	throttle.Store(1)
	slow := f.client(t, &counter{}, func(cfg *Config) { cfg.ThrottleRetryDelay = time.Hour })
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := slow.BrainKey(cctx, []byte("pw"), ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: %v", err)
	}
	// Other errors are not retried.
	throttle.Store(0)
	f.handler = func(w http.ResponseWriter, r *http.Request, body []byte) {
		jsonAnswer(w, 400, map[string]any{"code": 60001, "message": "bad"})
	}
	n = len(f.requests())
	if _, err := c.BrainKey(ctx, []byte("pw"), ""); CodeOf(err) != 60001 || len(f.requests())-n != 1 {
		t.Errorf("400: %v", err)
	}
}
