package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/keyring"
)

// e3.Client against the real @virgilsecurity/e3kit-node 2.5.1 on one e3test
// server (node/ops/e3kit_client.js): users of both find each other, exchange
// authEncrypt'ed messages both ways, restore each other's backups (v1 and
// named), survive a key rotation on either side, and disappear after
// unregistering.

// clientEnv is an e3test server, the node worker, and the e3kit sessions
// opened on it.
type clientEnv struct {
	e3kitOps // op "e3kit_client.*" (node/ops/e3kit_client.js)
	srv      *e3test.Server
	gen      *e3.JWTGenerator
}

func newClientEnv(t *testing.T) *clientEnv {
	w := nodeWorker(t)
	srv := e3test.NewServer()
	t.Cleanup(srv.Close)
	gen := srv.JWTGenerator()
	gen.TTL = 2 * time.Hour // one token per e3kit session lasts the test
	return &clientEnv{e3kitOps: e3kitOps{t: t, w: w, prefix: "e3kit_client"}, srv: srv, gen: gen}
}

// goClient returns a Go Client for identity with a fresh keyring (a new
// device).
func (e *clientEnv) goClient(identity string, sha256IDs bool) *e3.Client {
	e.t.Helper()
	cfg := e.srv.ClientConfig(identity)
	cfg.UseSHA256Identifiers = sha256IDs
	cfg.Keyring = keyring.NewMemory()
	c, err := e3.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// jsUser starts an e3kit session for identity with fresh storage (a new
// device) and returns its handle.
func (e *clientEnv) jsUser(identity string, sha256IDs bool) string {
	e.t.Helper()
	tok, err := e.gen.Generate(identity)
	if err != nil {
		e.t.Fatal(err)
	}
	var r struct {
		Identity           string `json:"identity"`
		HasLocalPrivateKey bool   `json:"hasLocalPrivateKey"`
	}
	h := e.start(identity, map[string]any{"apiUrl": e.srv.URL, "token": tok, "sha256": sha256IDs}, &r)
	if r.Identity != identity || r.HasLocalPrivateKey {
		e.t.Fatalf("e3kit init %s: %+v", identity, r)
	}
	return h
}

type jsCard struct {
	ID             string   `json:"id"`
	Identity       string   `json:"identity"`
	PreviousCardID string   `json:"previousCardId"`
	CreatedAt      int64    `json:"createdAt"`
	Chain          []string `json:"chain"`
}

func (e *clientEnv) jsFind(h string, identities ...string) map[string]jsCard {
	e.t.Helper()
	var r map[string]jsCard
	e.must("findUsers", h, map[string]any{"identities": identities}, &r)
	return r
}

type jsMessages struct {
	Data [][]byte `json:"data"`
	Text []string `json:"text"`
}

// jsEncrypt has e3kit session h authEncrypt data and text for to.
func (e *clientEnv) jsEncrypt(h string, to []string, data [][]byte, text []string) jsMessages {
	e.t.Helper()
	var r jsMessages
	e.must("authEncrypt", h, map[string]any{"to": to, "data": data, "text": text}, &r)
	if len(r.Data) != len(data) || len(r.Text) != len(text) {
		e.t.Fatalf("e3kit encrypted %d+%d messages, want %d+%d", len(r.Data), len(r.Text), len(data), len(text))
	}
	return r
}

// jsDecrypt has e3kit session h authDecrypt messages from `from` (at date,
// if not zero) and returns the plaintexts.
func (e *clientEnv) jsDecrypt(h, from string, date time.Time, data [][]byte, text []string) jsMessages {
	e.t.Helper()
	args := map[string]any{"from": from, "data": data, "text": text}
	if !date.IsZero() {
		args["date"] = date.UnixMilli()
	}
	var r jsMessages
	e.must("authDecrypt", h, args, &r)
	return r
}

// jsDecryptEach returns, per message, whether e3kit session h could
// decrypt and verify it.
func (e *clientEnv) jsDecryptEach(h, from string, date time.Time, data [][]byte) []bool {
	e.t.Helper()
	args := map[string]any{"from": from, "data": data}
	if !date.IsZero() {
		args["date"] = date.UnixMilli()
	}
	var r []struct {
		OK bool `json:"ok"`
	}
	e.must("authDecryptEach", h, args, &r)
	out := make([]bool, len(r))
	for i, x := range r {
		out[i] = x.OK
	}
	return out
}

// clientMessages returns n random messages of 0 to 3000 bytes (the first empty,
// one of exactly 160 bytes, the padding frame) and n/5 texts.
func clientMessages(n int) ([][]byte, []string) {
	data := make([][]byte, n)
	for i := range data {
		size := mrand.IntN(3000)
		switch i {
		case 0:
			size = 0
		case 1:
			size = 160
		}
		data[i] = make([]byte, size)
		rand.Read(data[i])
	}
	texts := make([]string, n/5)
	for i := range texts {
		texts[i] = fmt.Sprintf("message %d: Grüße 患者 👋 %x", i, data[i])
	}
	return data, texts
}

func goEncrypt(t *testing.T, c *e3.Client, data [][]byte, texts []string, to ...*e3.Card) ([][]byte, []string) {
	t.Helper()
	cts := make([][]byte, len(data))
	for i, m := range data {
		ct, err := c.AuthEncrypt(m, to...)
		if err != nil {
			t.Fatal(err)
		}
		cts[i] = ct
	}
	strs := make([]string, len(texts))
	for i, s := range texts {
		ct, err := c.AuthEncryptString(s, to...)
		if err != nil {
			t.Fatal(err)
		}
		strs[i] = ct
	}
	return cts, strs
}

func goDecrypt(t *testing.T, c *e3.Client, from *e3.Card, at time.Time, cts [][]byte, strs []string, data [][]byte, texts []string) {
	t.Helper()
	for i, ct := range cts {
		pt, err := c.AuthDecryptAt(ct, from, at)
		if err != nil {
			t.Fatalf("%s: message %d: %v", c.Identity(), i, err)
		}
		if !bytes.Equal(pt, data[i]) {
			t.Fatalf("%s: message %d decrypted to other bytes", c.Identity(), i)
		}
	}
	for i, s := range strs {
		pt, err := c.AuthDecryptStringAt(s, from, at)
		if err != nil || pt != texts[i] {
			t.Fatalf("%s: text %d: %q, %v", c.Identity(), i, pt, err)
		}
	}
}

func checkJSPlaintexts(t *testing.T, who string, got jsMessages, data [][]byte, texts []string) {
	t.Helper()
	if len(got.Data) != len(data) || len(got.Text) != len(texts) {
		t.Fatalf("%s decrypted %d+%d messages, want %d+%d", who, len(got.Data), len(got.Text), len(data), len(texts))
	}
	for i := range data {
		if !bytes.Equal(got.Data[i], data[i]) {
			t.Fatalf("%s: message %d decrypted to other bytes", who, i)
		}
	}
	for i := range texts {
		if got.Text[i] != texts[i] {
			t.Fatalf("%s: text %d = %q, want %q", who, i, got.Text[i], texts[i])
		}
	}
}

func mustFindGo(t *testing.T, c *e3.Client, identity string) *e3.Card {
	t.Helper()
	card, err := c.FindUser(context.Background(), identity)
	if err != nil {
		t.Fatalf("%s: FindUser(%s): %v", c.Identity(), identity, err)
	}
	return card
}

// waitNextSecond sleeps until the wall clock is in a later second than t
// (card creation times have whole seconds; e3kit's date argument is
// compared with them).
func waitNextSecond(t time.Time) {
	time.Sleep(time.Until(t.Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
}

// TestClientE3kit is the interop scenario: Go's alice and e3kit's
// bob on one e3test server.
func TestClientE3kit(t *testing.T) {
	e := newClientEnv(t)
	ctx := context.Background()
	alice := e.goClient("alice", false)
	if err := alice.Register(ctx); err != nil {
		t.Fatal(err)
	}
	bob := e.jsUser("bob", false)
	e.must("register", bob, nil, nil)
	e.mustFail("register", bob, nil, "IdentityAlreadyExistsError")
	if err := e.goClient("bob", false).Register(ctx); !errors.Is(err, e3.ErrAlreadyRegistered) {
		t.Fatalf("Go Register of e3kit's bob: %v", err)
	}

	// Each finds the other, and they agree on the cards.
	bobCard := mustFindGo(t, alice, "bob")
	aliceJS := e.jsFind(bob, "alice", "bob")["alice"]
	if own := mustFindGo(t, alice, "alice"); aliceJS.ID != own.ID {
		t.Fatalf("e3kit sees alice's card %s, Go %s", aliceJS.ID, own.ID)
	}
	if bobCard.ID != e.jsFind(bob, "bob")["bob"].ID {
		t.Fatal("Go and e3kit disagree on bob's card")
	}

	// 100 messages (and 20 texts) each way, batched per worker call.
	a2bData, a2bText := clientMessages(100)
	a2bCT, a2bStr := goEncrypt(t, alice, a2bData, a2bText, bobCard)
	checkJSPlaintexts(t, "e3kit bob", e.jsDecrypt(bob, "alice", time.Time{}, a2bCT, a2bStr), a2bData, a2bText)
	b2aData, b2aText := clientMessages(100)
	b2a := e.jsEncrypt(bob, []string{"alice"}, b2aData, b2aText)
	goDecrypt(t, alice, bobCard, time.Time{}, b2a.Data, b2a.Text, b2aData, b2aText)
	// Both senders are recipients of their own messages.
	goDecrypt(t, alice, nil, time.Time{}, a2bCT[:5], nil, a2bData[:5], nil)
	checkJSPlaintexts(t, "e3kit bob (own messages)", e.jsDecrypt(bob, "bob", time.Time{}, b2a.Data[:5], nil), b2aData[:5], nil)
	sentBeforeRotation := time.Now()

	// Each side refuses an altered message and an impostor's.
	bad := bytes.Clone(b2a.Data[1])
	bad[len(bad)-1] ^= 1
	if _, err := alice.AuthDecrypt(bad, bobCard); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("Go: altered e3kit message: %v", err)
	}
	mallory := e.goClient("mallory", false)
	if err := mallory.Register(ctx); err != nil {
		t.Fatal(err)
	}
	forged, err := mallory.AuthEncrypt([]byte("from alice, honest"), mustFindGo(t, mallory, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	bad2 := bytes.Clone(a2bCT[1])
	bad2[len(bad2)-1] ^= 1
	if ok := e.jsDecryptEach(bob, "alice", time.Time{}, [][]byte{forged, bad2, a2bCT[2]}); !slices.Equal(ok, []bool{false, false, true}) {
		t.Fatalf("e3kit on impostor, altered and genuine messages: %v", ok)
	}

	t.Run("e3kit backup restores in Go", func(t *testing.T) {
		e.must("backupPrivateKey", bob, map[string]any{"password": "bob-pw"}, nil)
		e.must("backupPrivateKey", bob, map[string]any{"password": "bob-pw-2", "keyName": "laptop"}, nil)
		goBob := e.goClient("bob", false)
		if err := goBob.RestorePrivateKey(ctx, "not bob-pw"); !errors.Is(err, e3.ErrWrongPassword) {
			t.Fatalf("wrong password: %v", err)
		}
		if err := goBob.RestorePrivateKey(ctx, "bob-pw"); err != nil {
			t.Fatal(err)
		}
		aliceCard := mustFindGo(t, goBob, "alice")
		goDecrypt(t, goBob, aliceCard, time.Time{}, a2bCT, a2bStr, a2bData, a2bText)
		goDecrypt(t, goBob, nil, time.Time{}, b2a.Data[:3], nil, b2aData[:3], nil) // bob's own messages
		if err := goBob.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := goBob.RestorePrivateKeyNamed(ctx, "laptop", "bob-pw"); !errors.Is(err, e3.ErrWrongPassword) {
			t.Fatalf("named, wrong password: %v", err)
		}
		if err := goBob.RestorePrivateKeyNamed(ctx, "laptop", "bob-pw-2"); err != nil {
			t.Fatal(err)
		}
		goDecrypt(t, goBob, aliceCard, time.Time{}, a2bCT[:10], nil, a2bData[:10], nil)
		// A password changed in e3kit: the new one works in Go, the old
		// one no longer.
		e.must("changePassword", bob, map[string]any{"oldPassword": "bob-pw", "newPassword": "bob-pw-new"}, nil)
		e.must("changePassword", bob, map[string]any{"oldPassword": "bob-pw-2", "newPassword": "bob-pw-2-new", "keyName": "laptop"}, nil)
		d := e.goClient("bob", false)
		if err := d.RestorePrivateKey(ctx, "bob-pw"); !errors.Is(err, e3.ErrWrongPassword) {
			t.Fatalf("old password after e3kit's change: %v", err)
		}
		if err := d.RestorePrivateKey(ctx, "bob-pw-new"); err != nil {
			t.Fatal(err)
		}
		if err := d.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.RestorePrivateKeyNamed(ctx, "laptop", "bob-pw-2-new"); err != nil {
			t.Fatal(err)
		}
		// Go sees e3kit's backup as existing.
		if err := d.BackupPrivateKey(ctx, "bob-pw-new"); !errors.Is(err, e3.ErrBackupExists) {
			t.Fatalf("Go backup over e3kit's: %v", err)
		}
	})

	t.Run("Go backup restores in e3kit", func(t *testing.T) {
		if err := alice.BackupPrivateKey(ctx, "alice-pw"); err != nil {
			t.Fatal(err)
		}
		if err := alice.BackupPrivateKeyNamed(ctx, "phone", "alice-pw-2"); err != nil {
			t.Fatal(err)
		}
		jsAlice := e.jsUser("alice", false)
		e.mustFail("restorePrivateKey", jsAlice, map[string]any{"password": "wrong"}, "WrongKeyknoxPasswordError")
		e.must("restorePrivateKey", jsAlice, map[string]any{"password": "alice-pw"}, nil)
		e.jsFind(jsAlice, "bob")
		checkJSPlaintexts(t, "e3kit alice (v1 restore)", e.jsDecrypt(jsAlice, "bob", time.Time{}, b2a.Data, b2a.Text), b2aData, b2aText)
		e.mustFail("backupPrivateKey", jsAlice, map[string]any{"password": "alice-pw"}, "CloudEntryExistsError")
		e.must("cleanup", jsAlice, nil, nil)
		e.must("restorePrivateKey", jsAlice, map[string]any{"password": "alice-pw-2", "keyName": "phone"}, nil)
		checkJSPlaintexts(t, "e3kit alice (named restore)", e.jsDecrypt(jsAlice, "bob", time.Time{}, b2a.Data[:10], nil), b2aData[:10], nil)
		// Passwords changed in Go.
		if err := alice.ChangePassword(ctx, "alice-pw", "alice-pw-new"); err != nil {
			t.Fatal(err)
		}
		if err := alice.ChangePasswordNamed(ctx, "phone", "alice-pw-2", "alice-pw-2-new"); err != nil {
			t.Fatal(err)
		}
		js2 := e.jsUser("alice", false)
		e.mustFail("restorePrivateKey", js2, map[string]any{"password": "alice-pw"}, "WrongKeyknoxPasswordError")
		e.must("restorePrivateKey", js2, map[string]any{"password": "alice-pw-new"}, nil)
		e.must("cleanup", js2, nil, nil)
		e.must("restorePrivateKey", js2, map[string]any{"password": "alice-pw-2-new", "keyName": "phone"}, nil)
		e.jsFind(js2, "bob")
		checkJSPlaintexts(t, "e3kit alice (after Go's password change)", e.jsDecrypt(js2, "bob", time.Time{}, b2a.Data[:3], nil), b2aData[:3], nil)
		// Go resets; e3kit finds nothing.
		if err := alice.ResetPrivateKeyBackup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := alice.ResetPrivateKeyBackupNamed(ctx, "phone"); err != nil {
			t.Fatal(err)
		}
		js3 := e.jsUser("alice", false)
		e.mustFail("restorePrivateKey", js3, map[string]any{"password": "alice-pw-new"}, "PrivateKeyNoBackupError")
	})

	t.Run("alice rotates in Go", func(t *testing.T) {
		old := mustFindGo(t, alice, "alice")
		waitNextSecond(sentBeforeRotation)
		if err := alice.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := alice.RotatePrivateKey(ctx); err != nil {
			t.Fatal(err)
		}
		// e3kit: the new card, linked; old messages verify at their date.
		found := e.jsFind(bob, "alice")["alice"]
		if found.PreviousCardID != old.ID || !slices.Equal(found.Chain, []string{old.ID}) {
			t.Fatalf("e3kit sees alice's card %+v, want one replacing %s", found, old.ID)
		}
		checkJSPlaintexts(t, "e3kit bob (before the rotation)", e.jsDecrypt(bob, "alice", sentBeforeRotation, a2bCT, a2bStr), a2bData, a2bText)
		if ok := e.jsDecryptEach(bob, "alice", time.Time{}, a2bCT[:3]); slices.Contains(ok, true) {
			t.Fatalf("e3kit verified pre-rotation messages with the new card: %v", ok)
		}
		// Go: bob restored in Go does the same.
		goBob := e.goClient("bob", false)
		if err := goBob.RestorePrivateKey(ctx, "bob-pw-new"); err != nil {
			t.Fatal(err)
		}
		aliceCard := mustFindGo(t, goBob, "alice")
		if aliceCard.PreviousCard == nil || aliceCard.PreviousCard.ID != old.ID {
			t.Fatal("Go did not link alice's cards")
		}
		goDecrypt(t, goBob, aliceCard, sentBeforeRotation, a2bCT, a2bStr, a2bData, a2bText)
		if _, err := goBob.AuthDecrypt(a2bCT[0], aliceCard); !errors.Is(err, e3.ErrAuthFailed) {
			t.Fatalf("Go verified a pre-rotation message with the new card: %v", err)
		}
		// And new messages flow both ways.
		data, texts := clientMessages(10)
		cts, strs := goEncrypt(t, alice, data, texts, mustFindGo(t, alice, "bob"))
		checkJSPlaintexts(t, "e3kit bob (after the rotation)", e.jsDecrypt(bob, "alice", time.Time{}, cts, strs), data, texts)
		back := e.jsEncrypt(bob, []string{"alice"}, data, texts)
		goDecrypt(t, alice, mustFindGo(t, alice, "bob"), time.Time{}, back.Data, back.Text, data, texts)
	})

	t.Run("bob rotates in e3kit", func(t *testing.T) {
		alice.ForgetCachedUsers()
		e.jsFind(bob, "alice")
		data, texts := clientMessages(10)
		before := e.jsEncrypt(bob, []string{"alice"}, data, texts)
		sent := time.Now()
		old := mustFindGo(t, alice, "bob")
		waitNextSecond(sent)
		e.must("cleanup", bob, nil, nil)
		e.must("rotatePrivateKey", bob, nil, nil)
		alice.ForgetCachedUsers("bob")
		card := mustFindGo(t, alice, "bob")
		if card.PreviousCardID != old.ID || card.PreviousCard == nil {
			t.Fatal("Go does not see e3kit's rotated card linked to the old one")
		}
		goDecrypt(t, alice, card, sent, before.Data, before.Text, data, texts)
		if _, err := alice.AuthDecrypt(before.Data[0], card); !errors.Is(err, e3.ErrAuthFailed) {
			t.Fatalf("pre-rotation e3kit message verified with the new card: %v", err)
		}
	})

	t.Run("unregister", func(t *testing.T) {
		if err := alice.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		e.mustFail("findUsers", bob, map[string]any{"identities": []string{"alice"}}, "UsersNotFoundError")
		e.must("unregister", bob, nil, nil)
		e.mustFail("unregister", bob, nil, "RegisterRequiredError")
		checker := e.goClient("carol", false)
		_, err := checker.FindUsers(ctx, "alice", "bob", "mallory")
		var nf *e3.UsersNotFoundError
		if !errors.As(err, &nf) || !slices.Equal(nf.Identities, []string{"alice", "bob"}) {
			t.Fatalf("Go FindUsers after both unregistered: %v", err)
		}
		if err := alice.Unregister(ctx); !errors.Is(err, e3.ErrNotRegistered) {
			t.Fatalf("second Unregister: %v", err)
		}
		// Registering again works on both sides.
		if err := alice.Register(ctx); err != nil {
			t.Fatal(err)
		}
		e.must("cleanup", bob, nil, nil)
		e.must("register", bob, nil, nil)
		e.jsFind(bob, "alice")
	})
}

// TestClientE3kitSHA256 runs a shorter exchange with e3kit's
// useSha256Identifiers on both sides, backups included (e3kit derives the
// BrainKey with the same option).
func TestClientE3kitSHA256(t *testing.T) {
	e := newClientEnv(t)
	ctx := context.Background()
	carol := e.goClient("carol", true)
	if err := carol.Register(ctx); err != nil {
		t.Fatal(err)
	}
	dave := e.jsUser("dave", true)
	e.must("register", dave, nil, nil)
	e.jsFind(dave, "carol")
	daveCard := mustFindGo(t, carol, "dave")

	data, texts := clientMessages(20)
	cts, strs := goEncrypt(t, carol, data, texts, daveCard)
	checkJSPlaintexts(t, "e3kit dave", e.jsDecrypt(dave, "carol", time.Time{}, cts, strs), data, texts)
	back := e.jsEncrypt(dave, []string{"carol"}, data, texts)
	goDecrypt(t, carol, daveCard, time.Time{}, back.Data, back.Text, data, texts)

	e.must("backupPrivateKey", dave, map[string]any{"password": "dave-pw"}, nil)
	goDave := e.goClient("dave", true)
	if err := goDave.RestorePrivateKey(ctx, "dave-pw"); err != nil {
		t.Fatal(err)
	}
	goDecrypt(t, goDave, mustFindGo(t, goDave, "carol"), time.Time{}, cts[:5], nil, data[:5], nil)
	if err := e.goClient("dave", false).RestorePrivateKey(ctx, "dave-pw"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("SHA-256 backup restored with the SHA-512 scheme: %v", err)
	}

	if err := carol.BackupPrivateKeyNamed(ctx, "desk", "carol-pw"); err != nil {
		t.Fatal(err)
	}
	jsCarol := e.jsUser("carol", true)
	e.must("restorePrivateKey", jsCarol, map[string]any{"password": "carol-pw", "keyName": "desk"}, nil)
	e.jsFind(jsCarol, "dave")
	checkJSPlaintexts(t, "e3kit carol", e.jsDecrypt(jsCarol, "dave", time.Time{}, back.Data[:5], nil), data[:5], nil)
}

// TestClientDerivePasswordsE3kit checks DerivePasswords against e3kit's
// EThree.derivePasswords on a few passwords.
func TestClientDerivePasswordsE3kit(t *testing.T) {
	w := nodeWorker(t)
	for _, pw := range []string{"correct horse battery staple", "пароль", string(bytes.Repeat([]byte{'x'}, 1000))} {
		var r struct {
			LoginPassword  []byte `json:"loginPassword"`
			BackupPassword []byte `json:"backupPassword"`
		}
		mustCall(t, w, "e3kit_client.derivePasswords", map[string]any{"password": pw}, &r)
		login, backup := e3.DerivePasswords(pw)
		if !bytes.Equal(login, r.LoginPassword) || !bytes.Equal(backup, r.BackupPassword) {
			t.Fatalf("DerivePasswords(%.20q): Go %s/%s, e3kit %s/%s", pw,
				base64.StdEncoding.EncodeToString(login), base64.StdEncoding.EncodeToString(backup),
				base64.StdEncoding.EncodeToString(r.LoginPassword), base64.StdEncoding.EncodeToString(r.BackupPassword))
		}
	}
}
