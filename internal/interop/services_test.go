package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/virgilapi"
)

// Virgil services interop: the real @virgilsecurity/e3kit-node 2.5.1 (and
// the virgil-sdk 6.1.2 it uses) against e3/e3test, and Go against
// e3kit-node across it (node/ops/e3kit.js).

// svcEnv is an e3test server, a Go token endpoint for it (what an app
// backend serves to e3kit's getToken) and the node worker.
type svcEnv struct {
	e3kitOps // op "e3kit.*" (node/ops/e3kit.js)
	srv      *e3test.Server
	tokenURL string
	app      map[string]any // the app credentials, for virgil-sdk's JwtGenerator
}

func newSvcEnv(t *testing.T) *svcEnv {
	w := nodeWorker(t)
	srv := e3test.NewServer()
	t.Cleanup(srv.Close)
	gen := srv.JWTGenerator()
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		tok, err := gen.Generate(r.URL.Query().Get("identity"))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		rw.Write([]byte(tok))
	}))
	t.Cleanup(ts.Close)
	return &svcEnv{e3kitOps: e3kitOps{t: t, w: w, prefix: "e3kit"}, srv: srv, tokenURL: ts.URL,
		app: map[string]any{"appId": gen.AppID, "appKeyId": gen.AppKeyID, "appKey": gen.AppKey.Export()}}
}

// user starts an e3kit user (one device) with fresh storage; jsTokens makes
// its tokens with virgil-sdk's JwtGenerator instead of the Go endpoint. The
// user is closed (its storage with it) before its directory is removed.
func (e *svcEnv) user(identity string, jsTokens bool) string {
	e.t.Helper()
	tokens := map[string]any{"url": e.tokenURL}
	if jsTokens {
		tokens = map[string]any{"app": e.app}
	}
	var r struct {
		Identity           string `json:"identity"`
		HasLocalPrivateKey bool   `json:"hasLocalPrivateKey"`
	}
	h := e.start(identity, map[string]any{"identity": identity, "apiUrl": e.srv.URL, "tokens": tokens}, &r)
	if r.Identity != identity || r.HasLocalPrivateKey {
		e.t.Fatalf("init %s: %+v", identity, r)
	}
	return h
}

type svcCard struct {
	ID             string   `json:"id"`
	Identity       string   `json:"identity"`
	PreviousCardID string   `json:"previousCardId"`
	IsOutdated     bool     `json:"isOutdated"`
	Chain          []string `json:"chain"`
	PublicKey      []byte   `json:"publicKey"`
}

func (e *svcEnv) find(h string, identities ...string) map[string]svcCard {
	e.t.Helper()
	var r map[string]svcCard
	e.must("findUsers", h, map[string]any{"identities": identities}, &r)
	return r
}

// activeCard is the server's one non-outdated card of identity, verified
// with the server's service key.
func (e *svcEnv) activeCard(identity string) *e3.Card {
	e.t.Helper()
	var active []*e3.Card
	for _, rec := range e.srv.Cards(identity) {
		c, err := e3.ParseCard(rec.Model)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.srv.CardVerifier().Verify(c); err != nil {
			e.t.Fatalf("stored card of %s: %v", identity, err)
		}
		if !rec.Outdated() {
			active = append(active, c)
		}
	}
	if len(active) != 1 {
		e.t.Fatalf("%s has %d active cards on the server", identity, len(active))
	}
	return active[0]
}

func (e *svcEnv) requestsSince(n int) []string {
	var out []string
	for _, r := range e.srv.Requests()[n:] {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// TestE3kitAgainstE3test drives e3kit-node through e3kit's whole API on an
// e3test server, checking each outcome on both sides.
func TestE3kitAgainstE3test(t *testing.T) {
	e := newSvcEnv(t)
	alice := e.user("alice", false)
	bob := e.user("bob", true) // tokens from virgil-sdk's own JwtGenerator
	carol := e.user("carol", false)

	t.Log("register")
	for _, u := range []string{alice, bob, carol} {
		e.must("register", u, nil, nil)
		var has bool
		e.must("hasLocalPrivateKey", u, nil, &has)
		if !has {
			t.Fatalf("%s: no local key after register", u)
		}
	}
	aliceCard := e.activeCard("alice")
	e.activeCard("bob")
	e.activeCard("carol")
	e.mustFail("register", alice, nil, "IdentityAlreadyExistsError")

	t.Log("findUsers")
	found := e.find(alice, "bob", "carol")
	for _, id := range []string{"bob", "carol"} {
		c := e.activeCard(id)
		if found[id].ID != c.ID || !bytes.Equal(found[id].PublicKey, c.PublicKey.Export()) {
			t.Errorf("findUsers(%s) = %s, server has %s", id, found[id].ID, c.ID)
		}
	}
	e.mustFail("findUsers", alice, map[string]any{"identities": []string{"bob", "nobody"}}, "UsersNotFoundError")
	if f := e.find(bob, "alice", "carol"); f["alice"].ID != aliceCard.ID {
		t.Errorf("bob finds alice's card %s, server has %s", f["alice"].ID, aliceCard.ID)
	}
	e.find(carol, "alice", "bob")

	t.Log("authEncrypt/authDecrypt")
	var ct, pt string
	e.must("authEncrypt", alice, map[string]any{"to": []string{"bob"}, "text": "hello bob"}, &ct)
	e.must("authDecrypt", bob, map[string]any{"from": "alice", "text": ct}, &pt)
	if pt != "hello bob" {
		t.Fatalf("bob decrypted %q", pt)
	}
	e.mustFail("authDecrypt", carol, map[string]any{"from": "alice", "text": ct}, "FoundationError")
	e.must("authEncrypt", bob, map[string]any{"to": []string{"alice", "carol"}, "text": "hi both"}, &ct)
	for _, u := range []string{alice, carol} {
		e.must("authDecrypt", u, map[string]any{"from": "bob", "text": ct}, &pt)
		if pt != "hi both" {
			t.Fatalf("%s decrypted %q", u, pt)
		}
	}
	fromBob := ct // alice decrypts it again on her second device

	t.Log("backupPrivateKey, changePassword")
	e.must("backupPrivateKey", alice, map[string]any{"password": "pwd1"}, nil)
	kk, ok := e.srv.KeyknoxV1("alice")
	if !ok || len(kk.Meta) == 0 || len(kk.Value) == 0 || kk.Version != 1 {
		t.Fatalf("v1 backup on the server: %+v", kk)
	}
	e.mustFail("backupPrivateKey", alice, map[string]any{"password": "pwd1"}, "CloudEntryExistsError")
	e.must("changePassword", alice, map[string]any{"oldPassword": "pwd1", "newPassword": "pwd2"}, nil)
	if kk2, _ := e.srv.KeyknoxV1("alice"); kk2.Version != 2 || bytes.Equal(kk2.Meta, kk.Meta) {
		t.Fatalf("after changePassword: version %d", kk2.Version)
	}

	t.Log("restorePrivateKey on a second device")
	alice2 := e.user("alice", false)
	e.mustFail("restorePrivateKey", alice2, map[string]any{"password": "pwd1"}, "WrongKeyknoxPasswordError")
	e.mustFail("restorePrivateKey", alice2, map[string]any{"password": "wrong"}, "WrongKeyknoxPasswordError")
	e.must("restorePrivateKey", alice2, map[string]any{"password": "pwd2"}, nil)
	e.find(alice2, "bob")
	e.must("authDecrypt", alice2, map[string]any{"from": "bob", "text": fromBob}, &pt)
	if pt != "hi both" {
		t.Fatalf("restored key decrypted %q", pt)
	}

	t.Log("named backup (Keyknox v2)")
	e.must("backupPrivateKey", alice, map[string]any{"password": "pwdK", "keyName": "laptop"}, nil)
	if r, ok := e.srv.KeyknoxV2("alice", "e3kit", "backup", "laptop"); !ok || !slices.Equal(r.Identities(), []string{"alice"}) {
		t.Fatalf("named backup on the server: %+v", r)
	}
	alice3 := e.user("alice", false)
	e.must("restorePrivateKey", alice3, map[string]any{"password": "pwdK", "keyName": "laptop"}, nil)
	e.must("resetPrivateKeyBackup", alice, map[string]any{"keyName": "laptop"}, nil)
	if _, ok := e.srv.KeyknoxV2("alice", "e3kit", "backup", "laptop"); ok {
		t.Error("named backup left after its reset")
	}

	t.Log("resetPrivateKeyBackup")
	e.must("resetPrivateKeyBackup", alice, nil, nil)
	if kk, _ := e.srv.KeyknoxV1("alice"); len(kk.Meta)+len(kk.Value) != 0 {
		t.Fatal("v1 backup left after reset")
	}
	e.must("cleanup", alice2, nil, nil)
	e.mustFail("restorePrivateKey", alice2, map[string]any{"password": "pwd2"}, "PrivateKeyNoBackupError")

	t.Log("groups")
	gid := "group-" + t.Name()
	e.find(alice, "bob", "carol")
	var parts []string
	e.must("createGroup", alice, map[string]any{"groupId": gid, "members": []string{"bob"}}, &parts)
	if !slices.Equal(parts, []string{"alice", "bob"}) {
		t.Fatalf("createGroup participants %v", parts)
	}
	e.mustFail("createGroup", alice, map[string]any{"groupId": gid, "members": []string{"bob"}}, "GroupTicketAlreadyExistsError")
	e.must("loadGroup", bob, map[string]any{"groupId": gid, "initiator": "alice"}, &parts)
	if !slices.Equal(parts, []string{"alice", "bob"}) {
		t.Fatalf("bob loads %v", parts)
	}
	e.must("groupEncrypt", alice, map[string]any{"groupId": gid, "text": "group hello"}, &ct)
	e.must("groupDecrypt", bob, map[string]any{"groupId": gid, "text": ct, "from": "alice"}, &pt)
	if pt != "group hello" {
		t.Fatalf("bob decrypted %q", pt)
	}
	e.mustFail("loadGroup", carol, map[string]any{"groupId": gid, "initiator": "alice"}, "GroupError")

	e.must("groupAdd", alice, map[string]any{"groupId": gid, "members": []string{"carol"}}, &parts)
	if !slices.Equal(parts, []string{"alice", "bob", "carol"}) {
		t.Fatalf("after add: %v", parts)
	}
	e.must("loadGroup", carol, map[string]any{"groupId": gid, "initiator": "alice"}, &parts)
	e.must("groupDecrypt", carol, map[string]any{"groupId": gid, "text": ct, "from": "alice"}, &pt)
	if pt != "group hello" {
		t.Fatalf("carol decrypted %q", pt)
	}
	// bob keeps his own ticket copy: update works for the old member.
	e.must("groupUpdate", bob, map[string]any{"groupId": gid}, &parts)
	if !slices.Equal(parts, []string{"alice", "bob", "carol"}) {
		t.Fatalf("bob's update: %v", parts)
	}
	e.must("groupEncrypt", carol, map[string]any{"groupId": gid, "text": "from carol"}, &ct)
	e.must("groupDecrypt", bob, map[string]any{"groupId": gid, "text": ct, "from": "carol"}, &pt)
	if pt != "from carol" {
		t.Fatalf("bob decrypted carol's %q", pt)
	}

	e.must("groupRemove", alice, map[string]any{"groupId": gid, "members": []string{"bob"}}, &parts)
	if !slices.Equal(parts, []string{"alice", "carol"}) {
		t.Fatalf("after remove: %v", parts)
	}
	e.mustFail("groupUpdate", bob, map[string]any{"groupId": gid}, "GroupError")
	e.must("groupUpdate", carol, map[string]any{"groupId": gid}, &parts)
	if !slices.Equal(parts, []string{"alice", "carol"}) {
		t.Fatalf("carol's update after remove: %v", parts)
	}
	e.must("groupEncrypt", alice, map[string]any{"groupId": gid, "text": "without bob"}, &ct)
	e.must("groupDecrypt", carol, map[string]any{"groupId": gid, "text": ct, "from": "alice"}, &pt)
	if pt != "without bob" {
		t.Fatalf("carol decrypted %q", pt)
	}
	if err := e.call("groupDecrypt", bob, map[string]any{"groupId": gid, "text": ct, "from": "alice"}, &pt); err == nil {
		t.Fatal("removed bob decrypted the new epoch")
	}
	if keys := e.srv.KeyknoxV2Entries("alice", "group-sessions", ""); len(keys) != 2 {
		t.Errorf("%d epochs on the server, want 2", len(keys))
	}
	e.must("deleteGroup", alice, map[string]any{"groupId": gid}, nil)
	if keys := e.srv.KeyknoxV2Entries("alice", "group-sessions", ""); len(keys) != 0 {
		t.Errorf("%d entries left after deleteGroup", len(keys))
	}

	t.Log("rotatePrivateKey")
	bobOld := e.activeCard("bob")
	e.mustFail("rotatePrivateKey", bob, nil, "PrivateKeyAlreadyExistsError")
	e.must("cleanup", bob, nil, nil)
	e.must("rotatePrivateKey", bob, nil, nil)
	bobNew := e.activeCard("bob")
	if bobNew.PreviousCardID != bobOld.ID {
		t.Fatalf("new card's previous %s, want %s", bobNew.PreviousCardID, bobOld.ID)
	}
	f := e.find(alice, "bob")["bob"]
	if f.ID != bobNew.ID || f.PreviousCardID != bobOld.ID || !slices.Equal(f.Chain, []string{bobOld.ID}) {
		t.Errorf("alice finds bob's rotated card as %+v", f)
	}
	e.must("authEncrypt", alice, map[string]any{"to": []string{"bob"}, "text": "to the new key"}, &ct)
	e.must("findUsers", bob, map[string]any{"identities": []string{"alice"}}, nil)
	e.must("authDecrypt", bob, map[string]any{"from": "alice", "text": ct}, &pt)
	if pt != "to the new key" {
		t.Fatalf("bob's new key decrypted %q", pt)
	}

	t.Log("unregister")
	n := len(e.srv.Requests())
	e.must("unregister", carol, nil, nil)
	if got := e.requestsSince(n); len(got) != 2 || got[1] != "POST /card/v5/actions/revoke/"+e.srv.Cards("carol")[0].ID {
		t.Errorf("unregister requests %v", got)
	}
	if recs := e.srv.Cards("carol"); len(recs) != 1 || !recs[0].Revoked {
		t.Errorf("carol's card after unregister: %+v", recs)
	}
	e.mustFail("findUsers", alice, map[string]any{"identities": []string{"carol"}}, "UsersNotFoundError")
	e.mustFail("unregister", carol, nil, "RegisterRequiredError")
	// bob unregisters after a rotation: the whole chain disappears.
	e.must("unregister", bob, nil, nil)
	e.mustFail("findUsers", alice, map[string]any{"identities": []string{"bob"}}, "UsersNotFoundError")
}

// TestE3kitRetriesAgainstE3test: e3kit's reactions to e3test's error codes.
func TestE3kitRetriesAgainstE3test(t *testing.T) {
	e := newSvcEnv(t)
	dan := e.user("dan", false)
	// One BrainKey throttle: e3kit waits 2 s and retries once.
	e.must("register", dan, nil, nil)
	e.srv.ThrottleBrainKey(1)
	n := len(e.srv.Requests())
	e.must("backupPrivateKey", dan, map[string]any{"password": "pw"}, nil)
	var throttled, brainkeys int
	for _, r := range e.srv.Requests()[n:] {
		if r.Path == "/pythia/v1/brainkey" {
			brainkeys++
			if r.Code == e3test.CodeThrottled {
				throttled++
			}
		}
	}
	if throttled != 1 || brainkeys != 2 {
		t.Errorf("brainkey requests: %d, throttled %d", brainkeys, throttled)
	}
	// A 401 with code 20304 on a card request: virgil-sdk's CardManager asks
	// for a token again and retries once.
	e.srv.InjectFault(e3test.Fault{PathPrefix: "/card/v5/actions/search", Status: 401, Code: e3test.CodeTokenExpired, Message: "The Virgil access token has expired"})
	n = len(e.srv.Requests())
	if f := e.find(dan, "dan"); f["dan"].ID == "" {
		t.Error("findUsers after a 20304")
	}
	if got := e.requestsSince(n); len(got) != 2 {
		t.Errorf("requests after a 20304: %v", got)
	}
	// Another 401 code is not retried.
	e.srv.InjectFault(e3test.Fault{PathPrefix: "/card/v5/actions/search", Status: 401, Code: e3test.CodeTokenInvalid})
	n = len(e.srv.Requests())
	if err := e.call("findUsers", dan, map[string]any{"identities": []string{"dan"}}, nil); err == nil || len(e.requestsSince(n)) != 1 {
		t.Errorf("findUsers after a 20300: %v, %d requests", err, len(e.requestsSince(n)))
	}
	// A 503 surfaces as an error and changes nothing.
	e.srv.InjectFault(e3test.Fault{PathPrefix: "/card/v5/actions/search", Status: 503, Code: 10000})
	if err := e.call("findUsers", dan, map[string]any{"identities": []string{"dan"}}, nil); err == nil {
		t.Error("findUsers through a 503 succeeded")
	}
	e.find(dan, "dan")
}

// TestE3kitSessionsKeepWorker: whatever happens to an e3kit session's
// storage, the shared worker goes on (both op files start and close their
// sessions through node/lib/e3kit_session.js): a group LevelDB that cannot
// open fails init with levelup's OpenError; a directory removed while its
// session starts makes init fail or succeed, and close then works; a failing
// op is an error reply; a promise rejected with nobody to handle it is
// logged. After each, the same worker answers and the sessions still work.
func TestE3kitSessionsKeepWorker(t *testing.T) {
	e := newSvcEnv(t)
	ctx := context.Background()
	tok, err := e.srv.JWTGenerator().Generate("erin")
	if err != nil {
		t.Fatal(err)
	}
	initArgs := func(prefix, h, dir string) map[string]any {
		if prefix == "e3kit" {
			return map[string]any{"h": h, "identity": "erin", "apiUrl": e.srv.URL, "dir": dir, "tokens": map[string]any{"url": e.tokenURL}}
		}
		return map[string]any{"h": h, "apiUrl": e.srv.URL, "token": tok, "dir": dir}
	}
	alive := func(t *testing.T, after string) {
		t.Helper()
		if err := e.w.Call(ctx, "worker.ping", nil, nil); err != nil || e.w.Exited() {
			t.Fatalf("worker after %s: %v (exited: %v)", after, err, e.w.ExitErr())
		}
	}

	for _, prefix := range []string{"e3kit", "e3kit_client"} {
		t.Run(prefix, func(t *testing.T) {
			// LevelDB cannot take its lock: groups/LOCK is a directory.
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "groups", "LOCK"), 0o755); err != nil {
				t.Fatal(err)
			}
			h := t.Name() + "/locked"
			closeE3kitSession(t, e.w, prefix, h)
			var ne *NodeError
			if err := e.w.Call(ctx, prefix+".init", initArgs(prefix, h, dir), nil); !errors.As(err, &ne) || ne.Name != "OpenError" {
				t.Errorf("init with an unopenable group storage: %v, want levelup's OpenError", err)
			}
			alive(t, "an unopenable group storage")

			// The directory removed, again and again, while the session
			// starts: init may fail (an error reply) or succeed, and the
			// session then closes.
			for i := range 3 {
				dir := t.TempDir()
				h := fmt.Sprintf("%s/removed/%d", t.Name(), i)
				closeE3kitSession(t, e.w, prefix, h)
				done := make(chan error, 1)
				go func() { done <- e.w.Call(ctx, prefix+".init", initArgs(prefix, h, dir), nil) }()
				var initErr error
			removing:
				for {
					select {
					case initErr = <-done:
						break removing
					default:
						os.RemoveAll(dir)
						time.Sleep(time.Millisecond)
					}
				}
				if initErr != nil && !errors.As(initErr, &ne) {
					t.Fatalf("init while its directory is removed: %v", initErr)
				}
				t.Logf("init while its directory is removed: %v", initErr)
				if err := e.w.Call(ctx, prefix+".close", map[string]string{"h": h}, nil); err != nil {
					t.Errorf("close after init (%v) with its directory removed: %v", initErr, err)
				}
				alive(t, "removing a starting session's directory")
			}

			// A working session in the same worker, closed at the end.
			h = t.Name() + "/ok"
			closeE3kitSession(t, e.w, prefix, h)
			mustCall(t, e.w, prefix+".init", initArgs(prefix, h, t.TempDir()), nil)
			mustCall(t, e.w, prefix+".register", map[string]string{"h": h}, nil)
			var has bool
			mustCall(t, e.w, prefix+".hasLocalPrivateKey", map[string]string{"h": h}, &has)
			if !has {
				t.Error("no local key after register")
			}
			if err := e.w.Call(ctx, prefix+".unregister", map[string]string{"h": h}, nil); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("failures", func(t *testing.T) {
		u := e.user("fay", false) // e3kit initialized: pythia's WASM loaded too
		var ne *NodeError
		if err := e.call("findUsers", "nobody", map[string]any{"identities": []string{"fay"}}, nil); !errors.As(err, &ne) || !strings.Contains(ne.Message, "no e3kit user") {
			t.Errorf("op on an unknown user: %v", err)
		}
		e.mustFail("authDecrypt", u, map[string]any{"from": "fay", "text": "AAAA"}, "Error") // no card found yet
		mark := e.w.StderrMark()
		msg := "stray-rejection-probe " + time.Now().Format(time.RFC3339Nano)
		mustCall(t, e.w, "e3kit.strayRejection", map[string]string{"message": msg}, nil)
		alive(t, "a stray rejected promise")
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.w.StderrSince(mark), msg); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("stray rejection not logged; stderr: %q", e.w.StderrSince(mark))
			}
		}
		// Both WASM builds still work, and so does the session.
		for _, v := range versions {
			mustCall(t, e.w, "crypto.generateKeys", map[string]string{"v": v}, nil)
		}
		e.must("register", u, nil, nil)
		if f := e.find(u, "fay"); f["fay"].ID == "" {
			t.Error("fay does not find herself after the stray rejection")
		}
	})
}

// TestCardsGoE3kit: cards cross between Go and e3kit-node through e3test.
func TestCardsGoE3kit(t *testing.T) {
	e := newSvcEnv(t)
	ctx := context.Background()
	frank := e.user("frank", false)
	e.must("register", frank, nil, nil)

	// e3kit's card, found and verified by Go (the protocol client plus
	// e3.ParseCard and a CardVerifier trusting the server).
	cfg := e.srv.ClientConfig("gina")
	api, err := virgilapi.New(virgilapi.Config{BaseURL: cfg.APIURL, Tokens: cfg.TokenProvider})
	if err != nil {
		t.Fatal(err)
	}
	raws, err := api.SearchCards(ctx, []string{"frank"})
	if err != nil || len(raws) != 1 {
		t.Fatalf("search: %v, %d cards", err, len(raws))
	}
	j, _ := json.Marshal(raws[0])
	frankCard, err := e3.ParseCard(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CardVerifier.Verify(frankCard); err != nil {
		t.Fatalf("e3kit's card does not verify in Go: %v", err)
	}
	if frankCard.Identity != "frank" || !strings.Contains(string(frankCard.ContentSnapshot), `{"identity":"frank","created_at":`) {
		t.Errorf("e3kit snapshot %s", frankCard.ContentSnapshot)
	}
	self := frankCard.Signatures[0]
	if self.Signer != "self" || e3.Verify(frankCard.ContentSnapshot, self.Signature, frankCard.PublicKey) != nil {
		t.Error("e3kit's self signature")
	}

	// Go's card, found by e3kit: gina publishes with NewCard through the
	// protocol client.
	gkey, _ := e3.GenerateKey()
	gcard, err := e3.NewCard(e3.CardParams{Identity: "gina", PrivateKey: gkey})
	if err != nil {
		t.Fatal(err)
	}
	var rc virgilapi.RawCard
	j, _ = json.Marshal(gcard)
	json.Unmarshal(j, &rc)
	if _, err := api.PublishCard(ctx, &rc); err != nil {
		t.Fatal(err)
	}
	f := e.find(frank, "gina")["gina"]
	if f.ID != gcard.ID || !bytes.Equal(f.PublicKey, gkey.Public().Export()) {
		t.Fatalf("e3kit finds gina's card as %+v, want %s", f, gcard.ID)
	}
	// ... and uses it both ways.
	var ct, pt string
	e.must("authEncrypt", frank, map[string]any{"to": []string{"gina"}, "text": "hi gina"}, &ct)
	ctb, _ := base64.StdEncoding.DecodeString(ct)
	got, err := e3.DecryptAndVerify(ctb, gkey, frankCard.PublicKey)
	if err != nil || string(got) != "hi gina" {
		t.Fatalf("Go decrypting e3kit's message for gina: %q %v", got, err)
	}
	reply, err := e3.SignAndEncrypt([]byte("hi frank"), gkey, frankCard.PublicKey, gkey.Public())
	if err != nil {
		t.Fatal(err)
	}
	e.must("authDecrypt", frank, map[string]any{"from": "gina", "text": base64.StdEncoding.EncodeToString(reply)}, &pt)
	if pt != "hi frank" {
		t.Fatalf("e3kit decrypted %q", pt)
	}

	// virgil-sdk's CardManager accepts the server's "virgil" signature with
	// the service key whitelisted, and rejects it with another key.
	tok, _ := e.srv.JWTGenerator().Generate("frank")
	var cm struct {
		ID         string   `json:"id"`
		IsOutdated bool     `json:"isOutdated"`
		Signers    []string `json:"signers"`
	}
	args := map[string]any{"apiUrl": e.srv.URL, "token": tok, "cardId": gcard.ID, "serviceKey": base64.StdEncoding.EncodeToString(e.srv.ServiceKey().Export())}
	mustCall(t, e.w, "e3kit.cardManagerGet", args, &cm)
	if cm.ID != gcard.ID || cm.IsOutdated || !slices.Equal(cm.Signers, []string{"self", "virgil"}) {
		t.Errorf("CardManager.getCard: %+v", cm)
	}
	other, _ := e3.GenerateKey()
	args["serviceKey"] = base64.StdEncoding.EncodeToString(other.Public().Export())
	var ne *NodeError
	if err := e.w.Call(ctx, "e3kit.cardManagerGet", args, nil); !errors.As(err, &ne) || ne.Name != "CardVerificationError" || !strings.Contains(ne.Message, "Validation errors") {
		t.Errorf("CardManager with a foreign service key: %v", err)
	}
	// A superseded card read by id is outdated for virgil-sdk too.
	g2key, _ := e3.GenerateKey()
	g2, _ := e3.NewCard(e3.CardParams{Identity: "gina", PrivateKey: g2key, PreviousCardID: gcard.ID})
	j, _ = json.Marshal(g2)
	json.Unmarshal(j, &rc)
	if _, err := api.PublishCard(ctx, &rc); err != nil {
		t.Fatal(err)
	}
	args["serviceKey"] = base64.StdEncoding.EncodeToString(e.srv.ServiceKey().Export())
	mustCall(t, e.w, "e3kit.cardManagerGet", args, &cm)
	if !cm.IsOutdated {
		t.Error("superseded card not outdated for CardManager")
	}
	if f := e.find(frank, "gina")["gina"]; f.ID != g2.ID || !slices.Equal(f.Chain, []string{gcard.ID}) {
		t.Errorf("e3kit after Go's rotation: %+v", f)
	}
}

type jsJWT struct {
	Valid    bool              `json:"valid"`
	Identity string            `json:"identity"`
	AppID    string            `json:"appId"`
	Expired  bool              `json:"expired"`
	Header   map[string]string `json:"header"`
	Body     map[string]any    `json:"body"`
}

// TestJWTGoJS: tokens cross between Go's JWTGenerator/JWTVerifier and
// virgil-sdk's JwtGenerator/JwtVerifier.
func TestJWTGoJS(t *testing.T) {
	w := nodeWorker(t)
	key, _ := e3.GenerateKey()
	gen := &e3.JWTGenerator{AppID: "bfdf4b2a39ff3f4c8e557e26e463ba1e", AppKey: key, AppKeyID: "52c6f81abb1b510b410ae6ef49b9a5bf"}
	pub := key.Public().Export()
	verifyJS := func(tok string) jsJWT {
		t.Helper()
		var r jsJWT
		mustCall(t, w, "e3kit.jwtVerify", map[string]any{"token": tok, "appPublicKey": pub, "appKeyId": gen.AppKeyID}, &r)
		return r
	}

	// Go → virgil-sdk.
	tok, err := gen.GenerateWithData("alice-131b0ebe", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r := verifyJS(tok)
	if !r.Valid || r.Identity != "alice-131b0ebe" || r.AppID != gen.AppID || r.Expired || r.Body["ada"].(map[string]any)["username"] != "alice" {
		t.Errorf("virgil-sdk on Go's token: %+v", r)
	}
	segs := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"payload changed": segs[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"virgil-`+gen.AppID+`","sub":"identity-mallory","iat":1,"exp":9999999999}`)) + "." + segs[2],
		"other key":       mustGoToken(t, &e3.JWTGenerator{AppID: gen.AppID, AppKey: mustKey(t), AppKeyID: gen.AppKeyID}),
	} {
		if r := verifyJS(bad); r.Valid {
			t.Errorf("virgil-sdk accepted Go token with %s", name)
		}
	}

	// virgil-sdk → Go, and byte for byte the token Go makes for the same
	// instant (Ed25519 signatures are deterministic).
	app := map[string]any{"appId": gen.AppID, "appKeyId": gen.AppKeyID, "appKey": key.Export(), "ttlMs": 3600_000}
	var jsTok string
	mustCall(t, w, "e3kit.jwtGenerate", map[string]any{"app": app, "identity": "bob"}, &jsTok)
	v := &e3.JWTVerifier{AppID: gen.AppID, AppKeyID: gen.AppKeyID, AppPublicKey: key.Public()}
	c, err := v.Verify(jsTok)
	if err != nil {
		t.Fatalf("Go rejects virgil-sdk's token: %v", err)
	}
	if c.Identity != "bob" || c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
		t.Errorf("claims %+v", c)
	}
	same := *gen
	same.TTL = time.Hour
	same.Now = func() time.Time { return c.IssuedAt }
	if goTok, _ := same.Generate("bob"); goTok != jsTok {
		t.Errorf("tokens differ for the same instant\n  go %s\n  js %s", goTok, jsTok)
	}
	var jsAda string
	mustCall(t, w, "e3kit.jwtGenerate", map[string]any{"app": app, "identity": "bob", "ada": map[string]any{"k": "v"}}, &jsAda)
	if c, err := v.Verify(jsAda); err != nil || c.AdditionalData["k"] != "v" {
		t.Errorf("virgil-sdk token with ada: %v %+v", err, c)
	}
	// The wrong app key id: Go says "unknown app", virgil-sdk says invalid.
	v.AppKeyID = "ffff"
	if _, err := v.Verify(jsTok); !errors.Is(err, e3.ErrTokenUnknownApp) {
		t.Errorf("wrong kid: %v", err)
	}
	var r2 jsJWT
	mustCall(t, w, "e3kit.jwtVerify", map[string]any{"token": tok, "appPublicKey": pub, "appKeyId": "ffff"}, &r2)
	if r2.Valid {
		t.Error("virgil-sdk accepted a token for another kid")
	}
}

func mustKey(t *testing.T) *e3.PrivateKey {
	k, err := e3.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustGoToken(t *testing.T, g *e3.JWTGenerator) string {
	tok, err := g.Generate("alice")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
