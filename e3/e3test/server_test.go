package e3test_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/virgilapi"
)

// api returns a protocol client for identity against srv.
func api(t testing.TB, srv *e3test.Server, identity string) *virgilapi.Client {
	t.Helper()
	cfg := srv.ClientConfig(identity)
	c, err := virgilapi.New(virgilapi.Config{BaseURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, Tokens: cfg.TokenProvider, ThrottleRetryDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rawOf(t testing.TB, c *e3.Card) *virgilapi.RawCard {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var rc virgilapi.RawCard
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	return &rc
}

func newCard(t testing.TB, identity, prev string) (*e3.Card, *e3.PrivateKey) {
	t.Helper()
	k, err := e3.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := e3.NewCard(e3.CardParams{Identity: identity, PrivateKey: k, PreviousCardID: prev})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func parse(t testing.TB, rc *virgilapi.RawCard) *e3.Card {
	t.Helper()
	b, _ := json.Marshal(rc)
	c, err := e3.ParseCard(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends a raw request and returns status, Virgil code and body.
func do(t testing.TB, srv *e3test.Server, method, path, token string, body []byte, hdr ...string) (int, int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Virgil "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e struct{ Code int }
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Errorf("%s %s: %d answer is not JSON: %q", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode, e.Code, b, res.Header
}

func token(t testing.TB, srv *e3test.Server, identity string) string {
	t.Helper()
	tok, err := srv.JWTGenerator().Generate(identity)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokens(t *testing.T) {
	now := time.Unix(1800000000, 0)
	srv, err := e3test.NewServerWithOptions(e3test.Options{Now: func() time.Time { return now }, Leeway: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	good := token(t, srv, "alice")
	gen := srv.JWTGenerator()
	gen.Now = func() time.Time { return now.Add(-20*time.Minute - 31*time.Second) }
	expired, _ := gen.Generate("alice")
	gen.Now = func() time.Time { return now.Add(-20*time.Minute - 29*time.Second) }
	withinLeeway, _ := gen.Generate("alice")
	gen.Now = func() time.Time { return now.Add(time.Minute) }
	future, _ := gen.Generate("alice")
	other := e3test.NewServer()
	defer other.Close()
	otherApp := token(t, other, "alice")
	sameKeyOtherKid := srv.JWTGenerator()
	sameKeyOtherKid.AppKeyID = "ffff"
	okid, _ := sameKeyOtherKid.Generate("alice")
	sameKeyOtherApp := srv.JWTGenerator()
	sameKeyOtherApp.AppID = "ffff"
	oapp, _ := sameKeyOtherApp.Generate("alice")
	segs := strings.Split(good, ".")
	forged := segs[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"virgil-`+srv.AppID()+`","sub":"identity-bob","iat":1800000000,"exp":1800001200}`)) + "." + segs[2]

	for _, tc := range []struct {
		name   string
		header string
		status int
		code   int
	}{
		{"good", "Virgil " + good, 200, 0},
		{"within leeway", "Virgil " + withinLeeway, 200, 0},
		{"expired", "Virgil " + expired, 401, e3test.CodeTokenExpired},
		{"issued in the future", "Virgil " + future, 401, e3test.CodeTokenInvalid},
		{"no header", "", 401, e3test.CodeTokenInvalid},
		{"bearer", "Bearer " + good, 401, e3test.CodeTokenInvalid},
		{"empty", "Virgil ", 401, e3test.CodeTokenInvalid},
		{"malformed", "Virgil abc.def", 401, e3test.CodeTokenInvalid},
		{"forged", "Virgil " + forged, 401, e3test.CodeTokenInvalid},
		{"other server's app", "Virgil " + otherApp, 401, e3test.CodeTokenUnknownApp},
		{"other kid", "Virgil " + okid, 401, e3test.CodeTokenUnknownApp},
		{"other app id", "Virgil " + oapp, 401, e3test.CodeTokenUnknownApp},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/keyknox/v1", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Code int }
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != tc.status || e.Code != tc.code {
			t.Errorf("%s: %d/%d, want %d/%d", tc.name, res.StatusCode, e.Code, tc.status, tc.code)
		}
	}
	reqs := srv.Requests()
	if reqs[0].Identity != "alice" || reqs[2].Identity != "" || reqs[2].Code != e3test.CodeTokenExpired {
		t.Errorf("request log %+v", reqs[:3])
	}
}

func TestExpiredTokenRetry(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	gen := srv.JWTGenerator()
	// The client's clock is an hour behind: it takes a token that expired
	// two minutes ago (beyond the server's one-minute leeway) for valid.
	stale := *gen
	stale.Now = func() time.Time { return time.Now().Add(-22 * time.Minute) }
	calls := 0
	tp := e3.TokenProviderFunc(func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return stale.Generate("alice")
		}
		return gen.Generate("alice")
	})
	c, err := virgilapi.New(virgilapi.Config{BaseURL: srv.URL, Tokens: tp, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeyknoxPullV1(context.Background()); err != nil {
		t.Fatalf("expired token not refreshed: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Code != e3test.CodeTokenExpired || reqs[1].Status != 200 || calls != 2 {
		t.Errorf("requests %+v, %d tokens", reqs, calls)
	}
}

func TestCardsPublishSearchGetRevoke(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	alice := api(t, srv, "alice")
	bob := api(t, srv, "bob")
	ver := srv.CardVerifier()

	c1, _ := newCard(t, "alice", "")
	out, err := alice.PublishCard(ctx, rawOf(t, c1))
	if err != nil {
		t.Fatal(err)
	}
	p1 := parse(t, out)
	if p1.ID != c1.ID || !bytes.Equal(p1.ContentSnapshot, c1.ContentSnapshot) {
		t.Fatal("published card differs")
	}
	if err := ver.Verify(p1); err != nil {
		t.Fatalf("published card does not verify with the server's key: %v", err)
	}
	if err := (&e3.CardVerifier{}).Verify(p1); !errors.Is(err, e3.ErrAuthFailed) {
		t.Errorf("verified with Virgil's production key: %v", err)
	}
	rec, ok := srv.Card(c1.ID)
	if !ok || rec.Identity != "alice" || rec.Outdated() || !bytes.Contains(rec.Model, []byte(`"signer":"virgil"`)) {
		t.Errorf("stored %+v", rec)
	}

	// Rotation: c2 supersedes c1; search returns both, get marks c1.
	c2, _ := newCard(t, "alice", c1.ID)
	if _, err := alice.PublishCard(ctx, rawOf(t, c2)); err != nil {
		t.Fatal(err)
	}
	found, err := bob.SearchCards(ctx, []string{"alice", "bob", "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || parse(t, found[0]).ID != c1.ID || parse(t, found[1]).ID != c2.ID {
		t.Errorf("search after rotation: %d cards", len(found))
	}
	for id, want := range map[string]bool{c1.ID: true, c2.ID: false} {
		rc, outdated, err := bob.GetCard(ctx, id)
		if err != nil || outdated != want || virgilapi.CardID(rc.ContentSnapshot) != id {
			t.Errorf("get %s: outdated=%v %v", id[:8], outdated, err)
		}
	}
	// c1 cannot be superseded twice.
	c3, _ := newCard(t, "alice", c1.ID)
	if _, err := alice.PublishCard(ctx, rawOf(t, c3)); virgilapi.CodeOf(err) != e3test.CodeCardPrevious {
		t.Errorf("second successor of c1: %v", err)
	}
	// An independent second card: two active chains.
	c4, _ := newCard(t, "alice", "")
	if _, err := alice.PublishCard(ctx, rawOf(t, c4)); err != nil {
		t.Fatal(err)
	}
	if found, _ := bob.SearchCards(ctx, []string{"alice"}); len(found) != 3 {
		t.Errorf("search with two chains: %d cards", len(found))
	}
	// Revoke: bob may not; alice may, twice; the revoked chain disappears.
	if err := bob.RevokeCard(ctx, c2.ID); virgilapi.CodeOf(err) != e3test.CodeForbidden {
		t.Errorf("bob revoking alice's card: %v", err)
	}
	for range 2 {
		if err := alice.RevokeCard(ctx, c2.ID); err != nil {
			t.Fatal(err)
		}
	}
	found, _ = bob.SearchCards(ctx, []string{"alice"})
	if len(found) != 1 || parse(t, found[0]).ID != c4.ID {
		t.Errorf("search after revoking c2: %d cards", len(found))
	}
	if _, outdated, err := bob.GetCard(ctx, c2.ID); err != nil || !outdated {
		t.Errorf("revoked card by id: outdated=%v %v", outdated, err)
	}
	if err := alice.RevokeCard(ctx, c4.ID); err != nil {
		t.Fatal(err)
	}
	if found, _ := bob.SearchCards(ctx, []string{"alice"}); len(found) != 0 {
		t.Errorf("search after unregister: %d cards", len(found))
	}
	// A revoked card cannot be superseded.
	c5, _ := newCard(t, "alice", c4.ID)
	if _, err := alice.PublishCard(ctx, rawOf(t, c5)); virgilapi.CodeOf(err) != e3test.CodeCardPrevious {
		t.Errorf("successor of a revoked card: %v", err)
	}
	if _, _, err := bob.GetCard(ctx, strings.Repeat("0", 64)); virgilapi.CodeOf(err) != e3test.CodeNotFound {
		t.Errorf("unknown card: %v", err)
	}
	if err := alice.RevokeCard(ctx, strings.Repeat("0", 64)); virgilapi.CodeOf(err) != e3test.CodeNotFound {
		t.Errorf("revoke unknown card: %v", err)
	}
	if n := len(srv.Cards("alice")); n != 3 {
		t.Errorf("server holds %d cards of alice, want 3", n)
	}
}

func TestCardsRejected(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	alice := api(t, srv, "alice")
	tok := token(t, srv, "alice")
	good, key := newCard(t, "alice", "")
	if _, err := alice.PublishCard(ctx, rawOf(t, good)); err != nil {
		t.Fatal(err)
	}
	before := srv.Cards("alice")

	bobCard, _ := newCard(t, "bob", "")
	other, _ := e3.GenerateKey()
	wrongSig := rawOf(t, good)
	wrongSig.ContentSnapshot = bytes.Replace(wrongSig.ContentSnapshot, []byte(`"created_at":`), []byte(`"created_at":1`), 1)
	noSelf := rawOf(t, good)
	noSelf.Signatures = nil
	foreignSelf := rawOf(t, good)
	foreignSelf.Signatures[0].Signature, _ = e3.Sign(good.ContentSnapshot, other)
	unknownPrev, _ := newCard(t, "alice", strings.Repeat("a", 64))
	bobPrevCard, _ := newCard(t, "bob", "")
	bobAPI := api(t, srv, "bob")
	if _, err := bobAPI.PublishCard(ctx, rawOf(t, bobPrevCard)); err != nil {
		t.Fatal(err)
	}
	prevOfBob, _ := newCard(t, "alice", bobPrevCard.ID)
	v4 := rawOf(t, good)
	v4.ContentSnapshot = bytes.Replace(v4.ContentSnapshot, []byte(`"5.0"`), []byte(`"4.0"`), 1)
	v4.Signatures[0].Signature, _ = e3.Sign(v4.ContentSnapshot, key)

	for name, tc := range map[string]struct {
		body   any
		status int
		code   int
	}{
		"republish":           {rawOf(t, good), 409, e3test.CodeCardExists},
		"another identity":    {rawOf(t, bobCard), 400, e3test.CodeCardIdentity},
		"content changed":     {wrongSig, 400, e3test.CodeCardSelfSignature},
		"no self signature":   {noSelf, 400, e3test.CodeCardSelfSignature},
		"foreign self sig":    {foreignSelf, 400, e3test.CodeCardSelfSignature},
		"unknown previous":    {rawOf(t, unknownPrev), 400, e3test.CodeCardPrevious},
		"bob's card previous": {rawOf(t, prevOfBob), 400, e3test.CodeCardPrevious},
		"version 4.0":         {v4, 400, e3test.CodeCardInvalid},
		"not json":            {[]byte(`{"content_snapshot":`), 400, e3test.CodeInvalidJSON},
		"array":               {[]byte(`[]`), 400, e3test.CodeInvalidJSON},
		"empty":               {[]byte(``), 400, e3test.CodeInvalidJSON},
		"snapshot not json":   {[]byte(`{"content_snapshot":"eyJpZA==","signatures":[]}`), 400, e3test.CodeCardInvalid},
		"too large":           {bytes.Repeat([]byte(" "), e3test.DefaultMaxBodyBytes+1), 413, e3test.CodeBodyTooLarge},
	} {
		var b []byte
		if raw, ok := tc.body.([]byte); ok {
			b = raw
		} else {
			b, _ = json.Marshal(tc.body)
		}
		status, code, _, _ := do(t, srv, "POST", "/card/v5", tok, b, "Content-Type", "application/json")
		if status != tc.status || code != tc.code {
			t.Errorf("%s: %d/%d, want %d/%d", name, status, code, tc.status, tc.code)
		}
	}
	// A "virgil" signature the client made is replaced by the server's.
	c, _ := newCard(t, "alice", "")
	rc := rawOf(t, c)
	fake, _ := e3.Sign(c.ContentSnapshot, other)
	rc.Signatures = append(rc.Signatures, virgilapi.RawSignature{Signer: "virgil", Signature: fake})
	out, err := alice.PublishCard(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CardVerifier().Verify(parse(t, out)); err != nil || len(out.Signatures) != 2 {
		t.Errorf("client-made virgil signature kept: %v", err)
	}
	after := srv.Cards("alice")
	if len(after) != len(before)+1 || !bytes.Equal(after[0].Model, before[0].Model) || after[0].Outdated() {
		t.Errorf("rejected publications changed the store: %d cards before, %d after", len(before), len(after))
	}

	// Search validation.
	for name, body := range map[string]string{
		"no identities":  `{}`,
		"empty list":     `{"identities":[]}`,
		"empty identity": `{"identities":[""]}`,
		"non-ascii":      `{"identities":["Юзер"]}`,
		"not strings":    `{"identities":[1]}`,
		"too many":       `{"identities":[` + strings.TrimSuffix(strings.Repeat(`"x",`, e3test.DefaultMaxSearch+1), ",") + `]}`,
	} {
		status, code, _, _ := do(t, srv, "POST", "/card/v5/actions/search", tok, []byte(body))
		if status != 400 || (code != e3test.CodeSearchInvalid && code != e3test.CodeInvalidJSON) {
			t.Errorf("search %s: %d/%d", name, status, code)
		}
	}
	// 100 identities in one search are fine (e3kit's group.remove).
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%d", i)
	}
	ids[57] = "alice"
	b, _ := json.Marshal(map[string]any{"identities": ids})
	if status, _, body, _ := do(t, srv, "POST", "/card/v5/actions/search", tok, b); status != 200 || !bytes.Contains(body, []byte(`"content_snapshot"`)) {
		t.Errorf("search of 100: %d", status)
	}
	// Routing.
	if status, code, _, _ := do(t, srv, "GET", "/card/v5/not-an-id", tok, nil); status != 404 || code != e3test.CodeNotFound {
		t.Errorf("bad id: %d/%d", status, code)
	}
	if status, code, _, _ := do(t, srv, "DELETE", "/card/v5", tok, nil); status != 405 || code != e3test.CodeNoRoute {
		t.Errorf("DELETE: %d/%d", status, code)
	}
	if status, code, _, _ := do(t, srv, "GET", "/card/v4/x", tok, nil); status != 404 || code != e3test.CodeNoRoute {
		t.Errorf("v4: %d/%d", status, code)
	}
}

func TestKeyknoxV1(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	alice := api(t, srv, "alice")
	tok := token(t, srv, "alice")

	// A never-written entry: 200, "" values (not null), version 1.0, a hash.
	status, _, body, hdr := do(t, srv, "GET", "/keyknox/v1", tok, nil)
	if status != 200 || string(body) != `{"meta":"","value":"","version":"1.0"}` || hdr.Get("Virgil-Keyknox-Hash") == "" {
		t.Fatalf("empty pull: %d %s %q", status, body, hdr.Get("Virgil-Keyknox-Hash"))
	}
	if _, ok := srv.KeyknoxV1("alice"); ok {
		t.Error("a pull created an entry")
	}
	v, _ := alice.KeyknoxPullV1(ctx)
	// First push with the empty pull's hash (as e3kit does), and with none.
	p1, err := alice.KeyknoxPushV1(ctx, []byte("meta1"), []byte("value1"), v.Hash)
	if err != nil || string(p1.Meta) != "meta1" || p1.Version != "1.0" || p1.Hash == v.Hash {
		t.Fatalf("first push: %v %+v", err, p1)
	}
	if v, _ := alice.KeyknoxPullV1(ctx); v.Hash != p1.Hash || string(v.Value) != "value1" {
		t.Errorf("pull after push: hash %q, want %q", v.Hash, p1.Hash)
	}
	// Stale or missing hash over a non-empty entry: 50010, nothing changed.
	for _, h := range []string{"", v.Hash, "garbage"} {
		if _, err := alice.KeyknoxPushV1(ctx, []byte("x"), []byte("y"), h); virgilapi.CodeOf(err) != e3test.CodeInvalidPreviousHash {
			t.Errorf("push with hash %q: %v", h, err)
		}
	}
	if r, _ := srv.KeyknoxV1("alice"); string(r.Value) != "value1" || r.Version != 1 {
		t.Errorf("entry after rejected pushes: %+v", r)
	}
	p2, err := alice.KeyknoxPushV1(ctx, []byte("meta2"), []byte("value2"), p1.Hash)
	if err != nil || p2.Version != "2.0" {
		t.Fatalf("second push: %v %+v", err, p2)
	}
	// Bob's entry is his own.
	if v, _ := api(t, srv, "bob").KeyknoxPullV1(ctx); len(v.Meta) != 0 {
		t.Error("bob sees alice's entry")
	}
	// Reset (no body; e3kit sends a form content type).
	status, _, body, hdr = do(t, srv, "POST", "/keyknox/v1/reset", tok, nil, "Content-Type", "application/x-www-form-urlencoded")
	if status != 200 || string(body) != `{"meta":"","value":"","version":"3.0"}` || hdr.Get("Virgil-Keyknox-Hash") == p2.Hash {
		t.Errorf("reset: %d %s", status, body)
	}
	// After a reset, any hash is accepted again.
	if _, err := alice.KeyknoxPushV1(ctx, []byte("m"), []byte("v"), "anything"); err != nil {
		t.Errorf("push after reset: %v", err)
	}
	for name, body := range map[string]string{
		"no value":   `{"meta":""}`,
		"not base64": `{"meta":"!!","value":""}`,
		"null":       `{"meta":null,"value":null}`,
		"not json":   `meta=1`,
	} {
		status, code, _, _ := do(t, srv, "PUT", "/keyknox/v1", tok, []byte(body))
		if status != 400 || (code != e3test.CodeKeyknoxInvalid && code != e3test.CodeInvalidJSON) {
			t.Errorf("push %s: %d/%d", name, status, code)
		}
	}
	// Pushes with rejected tokens.
	gen := srv.JWTGenerator()
	gen.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	expired, _ := gen.Generate("alice")
	segs := strings.Split(tok, ".")
	forged := segs[0] + "." + segs[1] + "." + segs[2][:len(segs[2])-4] + "AAAA"
	otherSrv := e3test.NewServer()
	defer otherSrv.Close()
	for tk, want := range map[string]int{expired: e3test.CodeTokenExpired, forged: e3test.CodeTokenInvalid, token(t, otherSrv, "alice"): e3test.CodeTokenUnknownApp, "": e3test.CodeTokenInvalid} {
		status, code, _, _ := do(t, srv, "PUT", "/keyknox/v1", tk, []byte(`{"meta":"AQ==","value":"AQ=="}`))
		if status != 401 || code != want {
			t.Errorf("push with a rejected token: %d/%d, want 401/%d", status, code, want)
		}
	}
	if r, _ := srv.KeyknoxV1("alice"); string(r.Value) != "v" {
		t.Errorf("invalid pushes changed the entry: %+v", r)
	}
}

func TestKeyknoxV2(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	alice, bob, carol, dave := api(t, srv, "alice"), api(t, srv, "bob"), api(t, srv, "carol"), api(t, srv, "dave")
	const root, path = "group-sessions", "8e55b01448da9287caaed9e32e8906c8c50abc6e77b370689a9d9714d0b4f675"

	// createGroup: alice pushes epoch 0 for herself and bob, no hash.
	p0, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: root, Path: path, Key: "0", Identities: []string{"alice", "bob"}, Meta: []byte("m-ab"), Value: []byte("v-ab")})
	if err != nil || !slices.Equal(p0.Identities, []string{"alice", "bob"}) || p0.Owner != "alice" || p0.Hash == "" {
		t.Fatalf("create: %v %+v", err, p0)
	}
	// A second create of the same entry is a stale-hash conflict (e3kit's
	// GroupTicketAlreadyExistsError).
	if _, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: root, Path: path, Key: "0", Identities: []string{"bob"}, Meta: []byte("x"), Value: []byte("y")}); virgilapi.CodeOf(err) != e3test.CodeInvalidPreviousHash {
		t.Errorf("recreate: %v", err)
	}
	// group.add(carol): pull (hash), push for carol only.
	pl, err := alice.KeyknoxPullV2(ctx, root, path, "0", "alice")
	if err != nil || pl.Hash != p0.Hash || string(pl.Meta) != "m-ab" {
		t.Fatalf("pull: %v %+v", err, pl)
	}
	p1, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: root, Path: path, Key: "0", Identities: []string{"carol"}, Meta: []byte("m-ac"), Value: []byte("v-ac"), PreviousHash: pl.Hash})
	if err != nil || !slices.Equal(p1.Identities, []string{"alice", "bob", "carol"}) || p1.Hash == p0.Hash {
		t.Fatalf("add carol: %v %+v", err, p1)
	}
	// Each recipient reads its own copy: bob still the old one.
	for who, want := range map[*virgilapi.Client]string{alice: "v-ac", bob: "v-ab", carol: "v-ac"} {
		v, err := who.KeyknoxPullV2(ctx, root, path, "0", "alice")
		if err != nil || string(v.Value) != want || len(v.Identities) != 3 || v.Hash != p1.Hash {
			t.Errorf("copy: got %q, want %q (%v)", v.Value, want, err)
		}
	}
	// dave is no recipient: empty value, no identities, no keys.
	if v, err := dave.KeyknoxPullV2(ctx, root, path, "0", "alice"); err != nil || len(v.Value)+len(v.Meta) != 0 || len(v.Identities) != 0 || v.Hash == p1.Hash {
		t.Errorf("dave pulls: %v %+v", err, v)
	}
	if keys, err := dave.KeyknoxKeysV2(ctx, root, path, "alice"); err != nil || len(keys) != 0 {
		t.Errorf("dave's keys: %v %v", keys, err)
	}
	// group.remove(bob): new epoch for alice (twice) and carol, then reset bob.
	if _, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: root, Path: path, Key: "1", Identities: []string{"alice", "alice", "carol"}, Meta: []byte("m1"), Value: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.KeyknoxV2("alice", root, path, "1"); !slices.Equal(r.Identities(), []string{"alice", "carol"}) {
		t.Errorf("duplicates not collapsed: %v", r.Identities())
	}
	if _, err := alice.KeyknoxResetV2(ctx, root, path, "", "bob"); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.KeyknoxV2("alice", root, path, "0"); r.Hash != p1.Hash || slices.Contains(r.Identities(), "bob") {
		t.Errorf("recipient removal changed the hash or kept bob: %+v", r.Identities())
	}
	if keys, _ := bob.KeyknoxKeysV2(ctx, root, path, "alice"); len(keys) != 0 {
		t.Errorf("removed bob still lists %v", keys)
	}
	if keys, _ := carol.KeyknoxKeysV2(ctx, root, path, "alice"); !slices.Equal(keys, []string{"0", "1"}) {
		t.Errorf("carol's keys %v", keys)
	}
	// reAdd: pull, reset the recipient for one key, push with the pulled hash.
	pl, _ = alice.KeyknoxPullV2(ctx, root, path, "0", "alice")
	if _, err := alice.KeyknoxResetV2(ctx, root, path, "0", "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: root, Path: path, Key: "0", Identities: []string{"carol"}, Meta: []byte("m"), Value: []byte("v"), PreviousHash: pl.Hash}); err != nil {
		t.Errorf("reAdd push with the pulled hash: %v", err)
	}
	// Only the owner's entries are touched by a reset: bob cannot delete alice's.
	if _, err := bob.KeyknoxResetV2(ctx, root, path, "", ""); err != nil {
		t.Fatal(err)
	}
	if len(srv.KeyknoxV2Entries("alice", root, path)) != 2 {
		t.Error("bob's reset deleted alice's entries")
	}
	// deleteGroup.
	rs, err := alice.KeyknoxResetV2(ctx, root, path, "", "")
	if err != nil || len(rs.Meta) != 0 {
		t.Fatal(err)
	}
	if len(srv.KeyknoxV2Entries("alice", root, path)) != 0 {
		t.Error("entries left after delete")
	}
	// Named backups: pull an absent entry, push with its hash, reset with self.
	e, err := alice.KeyknoxPullV2(ctx, "e3kit", "backup", "laptop", "alice")
	if err != nil || len(e.Identities) != 0 || e.Hash == "" || e.Owner != "alice" || e.Key != "laptop" {
		t.Fatalf("absent named backup: %v %+v", err, e)
	}
	b1, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: "e3kit", Path: "backup", Key: "laptop", Identities: []string{"alice"}, Meta: []byte("m"), Value: []byte("v"), PreviousHash: e.Hash})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: "e3kit", Path: "backup", Key: "laptop", Identities: []string{"alice"}, Meta: []byte("m2"), Value: []byte("v2"), PreviousHash: b1.Hash}); err != nil {
		t.Errorf("overwrite with hash: %v", err)
	}
	if _, err := alice.KeyknoxResetV2(ctx, "e3kit", "backup", "laptop", "alice"); err != nil {
		t.Fatal(err)
	}
	// Backup key names are the user's: any UTF-8 without control characters.
	if _, err := alice.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: "e3kit", Path: "backup", Key: "ноутбук", Identities: []string{"alice"}, Meta: []byte("m"), Value: []byte("v")}); err != nil {
		t.Errorf("UTF-8 key name: %v", err)
	}
	alice.KeyknoxResetV2(ctx, "e3kit", "backup", "ноутбук", "")
	if _, ok := srv.KeyknoxV2("alice", "e3kit", "backup", "laptop"); ok {
		t.Error("reset with identity = caller kept the entry")
	}
	tok := token(t, srv, "alice")
	for name, body := range map[string]string{
		"push no root":      `{"path":"p","key":"k","identities":["a"],"meta":"","value":""}`,
		"push no ids":       `{"root":"r","path":"p","key":"k","identities":[],"meta":"","value":""}`,
		"push bad id":       `{"root":"r","path":"p","key":"k","identities":[""],"meta":"","value":""}`,
		"push no meta":      `{"root":"r","path":"p","key":"k","identities":["a"],"value":""}`,
		"push bad base64":   `{"root":"r","path":"p","key":"k","identities":["a"],"meta":"!","value":""}`,
		"push control key":  `{"root":"r","path":"p","key":"k\u0001","identities":["a"],"meta":"","value":""}`,
		"push utf-8 id":     `{"root":"r","path":"p","key":"k","identities":["Юзер"],"meta":"","value":""}`,
		"pull no identity":  `{"root":"r","path":"p","key":"k"}`,
		"reset no root":     `{"path":"p"}`,
		"reset key no path": `{"root":"r","key":"k"}`,
		"keys no root":      `{"path":"p","identity":"a"}`,
		"array":             `[]`,
	} {
		op := strings.Fields(name)[0]
		status, code, _, _ := do(t, srv, "POST", "/keyknox/v2/"+op, tok, []byte(body))
		if op == "array" {
			status, code, _, _ = do(t, srv, "POST", "/keyknox/v2/push", tok, []byte(body))
		}
		if status != 400 || (code != e3test.CodeKeyknoxInvalid && code != e3test.CodeInvalidJSON) {
			t.Errorf("%s: %d/%d", name, status, code)
		}
	}
	if r, ok := srv.KeyknoxV2("alice", "e3kit", "backup", "k"); ok {
		t.Errorf("an invalid request stored %+v", r)
	}
	if len(srv.KeyknoxV2Entries("alice", "r", "")) != 0 {
		t.Error("an invalid push stored an entry")
	}
}

func TestBrainKey(t *testing.T) {
	opts := e3test.Options{AppID: "0123abcd", PythiaSecret: []byte("pythia secret"), PythiaScopeSecret: []byte("scope")}
	srv, err := e3test.NewServerWithOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	alice := api(t, srv, "alice")
	u1, err := alice.BrainKey(ctx, []byte("pwd"), "")
	if err != nil {
		t.Fatal(err)
	}
	u2, _ := alice.BrainKey(ctx, []byte("pwd"), "")
	ub, _ := api(t, srv, "bob").BrainKey(ctx, []byte("pwd"), "")
	ui, _ := alice.BrainKey(ctx, []byte("pwd"), "laptop")
	if !bytes.Equal(u1, u2) || bytes.Equal(u1, ub) || bytes.Equal(u1, ui) {
		t.Error("BrainKey is not deterministic per (identity, brainkey id)")
	}
	// The same options on another server: the same BrainKey.
	srv2, _ := e3test.NewServerWithOptions(opts)
	defer srv2.Close()
	if u, _ := api(t, srv2, "alice").BrainKey(ctx, []byte("pwd"), ""); !bytes.Equal(u, u1) {
		t.Error("same secrets, different BrainKey")
	}
	srv3 := e3test.NewServer()
	defer srv3.Close()
	if u, _ := api(t, srv3, "alice").BrainKey(ctx, []byte("pwd"), ""); bytes.Equal(u, u1) {
		t.Error("random secrets gave the same BrainKey")
	}
	k1, err := e3.GenerateKeyFromMaterial(u1)
	if err != nil || k1.Type() != e3.Ed25519 {
		t.Fatal(err)
	}

	// Throttling: one is retried by the client, two are not.
	srv.ThrottleBrainKey(1)
	if u, err := alice.BrainKey(ctx, []byte("pwd"), ""); err != nil || !bytes.Equal(u, u1) {
		t.Errorf("after one throttle: %v", err)
	}
	srv.ThrottleBrainKey(2)
	if _, err := alice.BrainKey(ctx, []byte("pwd"), ""); virgilapi.CodeOf(err) != e3test.CodeThrottled {
		t.Errorf("two throttles: %v", err)
	}
	tok := token(t, srv, "alice")
	for name, body := range map[string]string{
		"missing":     `{}`,
		"short":       `{"blinded_password":"AAAA"}`,
		"not a point": `{"blinded_password":"` + base64.StdEncoding.EncodeToString(append([]byte{2}, bytes.Repeat([]byte{0xff}, 48)...)) + `"}`,
		"flag 04":     `{"blinded_password":"` + base64.StdEncoding.EncodeToString(append([]byte{4}, make([]byte, 48)...)) + `"}`,
		"not base64":  `{"blinded_password":"!!"}`,
	} {
		status, code, _, _ := do(t, srv, "POST", "/pythia/v1/brainkey", tok, []byte(body))
		if status != 400 || (code != e3test.CodePythiaInvalid && code != e3test.CodeInvalidJSON) {
			t.Errorf("%s: %d/%d", name, status, code)
		}
	}
}

func TestFaultsLatencyCORS(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	alice := api(t, srv, "alice")
	srv.InjectFault(e3test.Fault{PathPrefix: "/keyknox/", Times: 2, Status: 503, Code: 10000})
	srv.InjectFault(e3test.Fault{Method: "POST", PathPrefix: "/card/v5/actions/search", Status: 500})
	for range 2 {
		if _, err := alice.KeyknoxPullV1(ctx); virgilapi.CodeOf(err) != 10000 {
			t.Errorf("fault: %v", err)
		}
	}
	if _, err := alice.KeyknoxPullV1(ctx); err != nil {
		t.Errorf("fault outlived its count: %v", err)
	}
	var e *virgilapi.Error
	if _, err := alice.SearchCards(ctx, []string{"a"}); !errors.As(err, &e) || e.StatusCode != 500 || e.Code != 0 {
		t.Errorf("search fault: %v", err)
	}
	srv.InjectFault(e3test.Fault{Delay: 80 * time.Millisecond})
	start := time.Now()
	if _, err := alice.KeyknoxPullV1(ctx); err != nil || time.Since(start) < 80*time.Millisecond {
		t.Errorf("delay fault: %v after %v", err, time.Since(start))
	}
	srv.SetLatency(50 * time.Millisecond)
	start = time.Now()
	alice.KeyknoxPullV1(ctx)
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("latency not applied")
	}
	srv.InjectFault(e3test.Fault{Status: 418})
	srv.ClearFaults()
	start = time.Now()
	if _, err := alice.KeyknoxPullV1(ctx); err != nil || time.Since(start) > 40*time.Millisecond {
		t.Errorf("after ClearFaults: %v, %v", err, time.Since(start))
	}

	// CORS.
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/keyknox/v1", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Virgil-Keyknox-Previous-Hash") ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("preflight: %d %v", res.StatusCode, h)
	}
	_, _, _, h = do(t, srv, "GET", "/keyknox/v1", token(t, srv, "alice"), nil)
	if !strings.Contains(h.Get("Access-Control-Expose-Headers"), "Virgil-Keyknox-Hash") || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Virgil-Is-Superseeded") {
		t.Errorf("exposed headers: %v", h)
	}
}

func TestClientConfig(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	cfg := srv.ClientConfig("carol")
	if cfg.APIURL != srv.URL || cfg.Keyring == nil || cfg.HTTPClient == nil || cfg.CardVerifier == nil || !cfg.CardVerifier.ServiceKey.Equal(srv.ServiceKey()) {
		t.Fatalf("config %+v", cfg)
	}
	tok, err := cfg.TokenProvider.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := e3.ParseJWTClaims(tok)
	if err != nil || c.Identity != "carol" || c.AppID != srv.AppID() {
		t.Errorf("token claims %+v %v", c, err)
	}
	// Two configs do not share a keyring.
	if srv.ClientConfig("carol").Keyring == cfg.Keyring {
		t.Error("shared keyring")
	}
	// A server without service signatures hands out a verifier that skips it.
	ns, _ := e3test.NewServerWithOptions(e3test.Options{NoServiceSignature: true})
	defer ns.Close()
	card, _ := newCard(t, "dan", "")
	out, err := api(t, ns, "dan").PublishCard(context.Background(), rawOf(t, card))
	if err != nil || len(out.Signatures) != 1 {
		t.Fatalf("publish without service signature: %v", err)
	}
	if v := ns.ClientConfig("dan").CardVerifier; !v.InsecureSkipServiceSignature || v.Verify(parse(t, out)) != nil {
		t.Error("verifier of a server without service signatures")
	}
}

func TestConcurrent(t *testing.T) {
	srv := e3test.NewServer()
	defer srv.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	const n = 16
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("user-%d", i)
			c := api(t, srv, id)
			card, _ := newCard(t, id, "")
			if _, err := c.PublishCard(ctx, rawOf(t, card)); err != nil {
				t.Error(err)
			}
			v, _ := c.KeyknoxPullV1(ctx)
			if _, err := c.KeyknoxPushV1(ctx, []byte{1}, []byte{2}, v.Hash); err != nil {
				t.Error(err)
			}
			// Everyone pushes to a shared owner-less race: only the owner's own entries.
			if _, err := c.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{Root: "r", Path: "p", Key: "k", Identities: []string{"user-0"}, Meta: []byte{1}, Value: []byte{1}}); err != nil {
				t.Error(err)
			}
			if _, err := c.SearchCards(ctx, []string{"user-0", "user-1", id}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all := make([]string, n)
	for i := range all {
		all[i] = fmt.Sprintf("user-%d", i)
	}
	cards, err := api(t, srv, "x").SearchCards(ctx, all)
	if err != nil || len(cards) != n {
		t.Errorf("%d cards after concurrent publishes: %v", len(cards), err)
	}
	// Concurrent pushes over the same entry: exactly one wins per hash.
	c := api(t, srv, "user-0")
	v, _ := c.KeyknoxPullV1(ctx)
	var ok, conflicts sync.Map
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.KeyknoxPushV1(ctx, []byte{byte(i)}, []byte{1}, v.Hash)
			switch {
			case err == nil:
				ok.Store(i, true)
			case virgilapi.CodeOf(err) == e3test.CodeInvalidPreviousHash:
				conflicts.Store(i, true)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wins := 0
	ok.Range(func(any, any) bool { wins++; return true })
	if wins != 1 {
		t.Errorf("%d concurrent pushes with the same hash succeeded, want 1", wins)
	}
}
