package e3_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
)

var bg = context.Background()

func TestClientNew(t *testing.T) {
	srv := newServer(t)
	d := newDevice(t, srv, "alice")
	if d.Identity() != "alice" {
		t.Fatalf("Identity() = %q", d.Identity())
	}
	if has, err := d.HasLocalPrivateKey(bg); err != nil || has {
		t.Fatalf("HasLocalPrivateKey = %v, %v on a fresh device", has, err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("New sent %d requests; e3kit's initialize sends none", n)
	}
	if _, err := d.AuthEncrypt([]byte("x")); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Fatalf("AuthEncrypt without a key: %v, want ErrNoLocalKey", err)
	}

	if _, err := e3.New(bg, e3.Config{}); err == nil {
		t.Fatal("New without a TokenProvider succeeded")
	}
	boom := errors.New("backend down")
	cfg := srv.ClientConfig("alice")
	cfg.TokenProvider = e3.TokenProviderFunc(func(context.Context) (string, error) { return "", boom })
	if _, err := e3.New(bg, cfg); !errors.Is(err, boom) {
		t.Fatalf("New with a failing provider: %v", err)
	}
	cfg.TokenProvider = e3.TokenProviderFunc(func(context.Context) (string, error) { return "not.a.jwt", nil })
	if _, err := e3.New(bg, cfg); !errors.Is(err, e3.ErrTokenInvalid) {
		t.Fatalf("New with a bad token: %v, want ErrTokenInvalid", err)
	}
}

func TestClientRegister(t *testing.T) {
	srv := newServer(t)
	d := newDevice(t, srv, "alice")
	n := len(srv.Requests())
	if err := d.Register(bg); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "Register", requestsSince(srv, n), "POST /card/v5/actions/search", "POST /card/v5")
	if has, err := d.HasLocalPrivateKey(bg); err != nil || !has {
		t.Fatalf("HasLocalPrivateKey after Register = %v, %v", has, err)
	}
	cards := activeCards(srv, "alice")
	if len(cards) != 1 {
		t.Fatalf("server holds %d active cards for alice", len(cards))
	}
	// The key is stored as e3kit stores it: under the identity, base64
	// PKCS#8, and it is the card's key.
	e, err := d.ring.Load(bg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if e.Metadata["card_id"] != cards[0].ID {
		t.Errorf("keyring metadata %v, want card_id %s", e.Metadata, cards[0].ID)
	}
	own := mustFind(t, d, "alice")
	if !own.PublicKey.Equal(d.privateKey(t).Public()) || own.ID != cards[0].ID {
		t.Fatal("the published card is not the stored key's")
	}
	if names := d.entryNames(t); !slices.Equal(names, []string{"alice"}) {
		t.Fatalf("keyring entries %v, want only alice", names)
	}
	ev := d.audit.last(t, e3.AuditRegister)
	if ev.Err != nil || ev.CardID != cards[0].ID || ev.Identity != "alice" {
		t.Fatalf("audit %+v", ev)
	}

	// Again: already registered (this device or another).
	if err := d.Register(bg); !errors.Is(err, e3.ErrAlreadyRegistered) {
		t.Fatalf("second Register: %v, want ErrAlreadyRegistered", err)
	}
	if ev := d.audit.last(t, e3.AuditRegister); !errors.Is(ev.Err, e3.ErrAlreadyRegistered) {
		t.Fatalf("failed Register audited as %+v", ev)
	}
	other := newDevice(t, srv, "alice")
	err = other.Register(bg)
	if !errors.Is(err, e3.ErrAlreadyRegistered) || !strings.Contains(err.Error(), "RestorePrivateKey") {
		t.Fatalf("Register on a second device: %v", err)
	}
	if len(activeCards(srv, "alice")) != 1 {
		t.Fatal("a failed Register published a card")
	}
}

func TestClientRegisterConcurrent(t *testing.T) {
	srv := newServer(t)
	d := newDevice(t, srv, "alice")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = d.Register(bg) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, e3.ErrAlreadyRegistered):
			t.Errorf("concurrent Register: %v", err)
		}
	}
	if ok != 1 || len(activeCards(srv, "alice")) != 1 {
		t.Fatalf("%d Registers succeeded, %d cards; want exactly one of each", ok, len(activeCards(srv, "alice")))
	}
}

func TestClientRegisterLocalKeyWithoutCard(t *testing.T) {
	srv := newServer(t)
	a := registered(t, srv, "alice")
	// Another device with the same key unregisters the identity: this
	// device still holds the key of a revoked card.
	b := newDevice(t, srv, "alice")
	if err := a.BackupPrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := b.RestorePrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := b.Unregister(bg); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(bg); !errors.Is(err, e3.ErrLocalKeyExists) {
		t.Fatalf("Register with a leftover key: %v, want ErrLocalKeyExists", err)
	}
	if len(activeCards(srv, "alice")) != 0 {
		t.Fatal("card published anyway")
	}
	if err := a.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(bg); err != nil {
		t.Fatalf("Register after Cleanup: %v", err)
	}
}

func TestClientMultipleCards(t *testing.T) {
	srv := newServer(t)
	a := registered(t, srv, "alice")
	publishRaw(t, srv, "alice")
	bob := registered(t, srv, "bob")

	found, err := bob.FindUsers(bg, "alice", "bob")
	var mc *e3.MultipleCardsError
	if !errors.As(err, &mc) || !errors.Is(err, e3.ErrMultipleCards) || !slices.Equal(mc.Identities, []string{"alice"}) {
		t.Fatalf("FindUsers: %v, want *MultipleCardsError naming alice", err)
	}
	if found["bob"] == nil || found["alice"] != nil {
		t.Fatalf("partial result %v: want bob only", found)
	}
	if _, err := bob.FindUser(bg, "alice"); !errors.Is(err, e3.ErrMultipleCards) {
		t.Fatalf("FindUser: %v", err)
	}
	if err := a.Register(bg); !errors.Is(err, e3.ErrMultipleCards) {
		t.Fatalf("Register: %v", err)
	}
	if err := a.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	if err := a.RotatePrivateKey(bg); !errors.Is(err, e3.ErrMultipleCards) {
		t.Fatalf("RotatePrivateKey: %v", err)
	}
	// Unregister revokes every active card.
	n := len(srv.Requests())
	if err := a.Unregister(bg); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "Unregister", requestsSince(srv, n), "POST /card/v5/actions/search",
		"POST /card/v5/actions/revoke/"+a.audit.of(e3.AuditUnregister)[0].CardID,
		"POST /card/v5/actions/revoke/"+a.audit.of(e3.AuditUnregister)[1].CardID)
	if len(activeCards(srv, "alice")) != 0 {
		t.Fatal("cards left after Unregister")
	}
	if err := a.Register(bg); err != nil {
		t.Fatalf("Register after Unregister: %v", err)
	}
}

func TestClientUnregister(t *testing.T) {
	srv := newServer(t)
	a := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	card := mustFind(t, bob, "alice")
	if err := a.Unregister(bg); err != nil {
		t.Fatal(err)
	}
	if has, _ := a.HasLocalPrivateKey(bg); has {
		t.Fatal("local key left after Unregister")
	}
	if ev := a.audit.last(t, e3.AuditUnregister); ev.Err != nil || ev.CardID != card.ID {
		t.Fatalf("audit %+v", ev)
	}
	// bob's cache still has the card; a fresh lookup says not found.
	bob.ForgetCachedUsers("alice")
	_, err := bob.FindUser(bg, "alice")
	var nf *e3.UsersNotFoundError
	if !errors.As(err, &nf) || !slices.Equal(nf.Identities, []string{"alice"}) {
		t.Fatalf("FindUser after Unregister: %v", err)
	}
	if err := a.Unregister(bg); !errors.Is(err, e3.ErrNotRegistered) {
		t.Fatalf("second Unregister: %v, want ErrNotRegistered", err)
	}
	if ev := a.audit.last(t, e3.AuditUnregister); !errors.Is(ev.Err, e3.ErrNotRegistered) {
		t.Fatalf("audit %+v", ev)
	}
}

func TestClientFindUsers(t *testing.T) {
	srv := newServer(t)
	a := registered(t, srv, "alice")
	registered(t, srv, "bob")
	registered(t, srv, "carol")

	n := len(srv.Requests())
	found, err := a.FindUsers(bg, "bob", "carol", "bob", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 || found["bob"].Identity != "bob" || found["carol"].Identity != "carol" || found["alice"].Identity != "alice" {
		t.Fatalf("FindUsers = %v", found)
	}
	checkSequence(t, "FindUsers (cold)", requestsSince(srv, n), "POST /card/v5/actions/search")
	n = len(srv.Requests())
	again, err := a.FindUsers(bg, "carol", "bob")
	if err != nil || again["bob"] != found["bob"] {
		t.Fatalf("warm FindUsers: %v", err)
	}
	if got := requestsSince(srv, n); len(got) != 0 {
		t.Fatalf("warm FindUsers sent %v", got)
	}

	found, err = a.FindUsers(bg, "bob", "nobody", "carol", "ghost")
	var nf *e3.UsersNotFoundError
	if !errors.As(err, &nf) || !slices.Equal(nf.Identities, []string{"nobody", "ghost"}) {
		t.Fatalf("FindUsers with unknown users: %v", err)
	}
	if !strings.Contains(err.Error(), "nobody, ghost") || !strings.Contains(err.Error(), "Register") {
		t.Errorf("error text %q does not name them and say what to do", err)
	}
	if len(found) != 2 || found["bob"] == nil || found["carol"] == nil {
		t.Fatalf("partial result %v", found)
	}
	if _, err := a.FindUser(bg, "nobody"); !errors.As(err, &nf) {
		t.Fatalf("FindUser(nobody): %v", err)
	}

	// More than 50 identities: chunks of 50, as e3kit.
	ids := make([]string, 120)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%03d", i)
	}
	n = len(srv.Requests())
	_, err = a.FindUsers(bg, ids...)
	if !errors.As(err, &nf) || len(nf.Identities) != 120 {
		t.Fatalf("FindUsers of 120 unknown: %v", err)
	}
	if got := requestsSince(srv, n); len(got) != 3 {
		t.Fatalf("120 identities took %d requests, want 3 (chunks of 50)", len(got))
	}

	if _, err := a.FindUsers(bg); err == nil {
		t.Fatal("FindUsers() with no identity succeeded")
	}
	if _, err := a.FindUser(bg, "Юзер"); !errors.Is(err, e3.ErrInvalidIdentity) {
		t.Fatalf("non-ASCII identity: %v, want ErrInvalidIdentity", err)
	}
	if _, err := a.FindUser(bg, ""); !errors.Is(err, e3.ErrInvalidIdentity) {
		t.Fatalf("empty identity: %v", err)
	}
}

func TestClientFindUsersCoalesced(t *testing.T) {
	srv := newServer(t)
	a := registered(t, srv, "alice")
	registered(t, srv, "bob")
	srv.SetLatency(100 * time.Millisecond)
	defer srv.SetLatency(0)
	n := len(srv.Requests())
	var wg sync.WaitGroup
	cards := make([]*e3.Card, 16)
	for i := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.FindUser(bg, "bob")
			if err != nil {
				t.Error(err)
			}
			cards[i] = c
		}()
	}
	wg.Wait()
	if got := requestsSince(srv, n); len(got) != 1 {
		t.Fatalf("16 concurrent lookups sent %d requests, want 1", len(got))
	}
	for _, c := range cards {
		if c != cards[0] {
			t.Fatal("concurrent lookups got different cards")
		}
	}

	// A waiter whose leader gives up still gets its answer.
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	a.ForgetCachedUsers()
	done := make(chan error)
	go func() { _, err := a.FindUser(ctx, "bob"); done <- err }()
	time.Sleep(5 * time.Millisecond)
	if _, err := a.FindUser(bg, "bob"); err != nil {
		t.Fatalf("a waiter failed with its leader: %v", err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("leader with a 20ms deadline: %v", err)
	}
}

func TestClientCardCacheExpiry(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	a := registered(t, srv, "alice", func(c *e3.Config) { c.Now = clk.Now; c.CardCacheTTL = time.Minute })
	bob := registered(t, srv, "bob")
	first := mustFind(t, a, "bob")
	// bob loses his key and rotates.
	if err := bob.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	if err := bob.RotatePrivateKey(bg); err != nil {
		t.Fatal(err)
	}
	if c := mustFind(t, a, "bob"); c != first {
		t.Fatal("the cached card was not used within the TTL")
	}
	clk.Add(time.Minute + time.Second)
	now := mustFind(t, a, "bob")
	if now.ID == first.ID || now.PreviousCardID != first.ID || now.PreviousCard == nil || now.PreviousCard.ID != first.ID {
		t.Fatalf("after the TTL: card %s (previous %s), want the rotated card linked to %s", now.ID, now.PreviousCardID, first.ID)
	}
	ev := a.audit.last(t, e3.AuditCardChanged)
	if ev.Peer != "bob" || ev.CardID != now.ID || ev.PreviousCardID != first.ID {
		t.Fatalf("card change audit %+v", ev)
	}

	// No cache at all.
	nc := newDevice(t, srv, "carol", func(c *e3.Config) { c.CardCacheSize = -1 })
	n := len(srv.Requests())
	mustFind(t, nc, "bob")
	mustFind(t, nc, "bob")
	if got := requestsSince(srv, n); len(got) != 2 {
		t.Fatalf("without a cache: %d requests, want 2", len(got))
	}
}

func TestClientAuthEncryptDecrypt(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	bobCard, aliceCard := mustFind(t, alice, "bob"), mustFind(t, bob, "alice")
	msg := []byte("Patient 4711: potassium 5.9 mmol/L, recheck in 2h.")

	n := len(srv.Requests())
	ct, err := alice.AuthEncrypt(msg, bobCard)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := bob.AuthDecrypt(ct, aliceCard)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("bob: %q, %v", pt, err)
	}
	// The sender can read what it sent (own key added), verified with its
	// own key (from nil).
	if pt, err := alice.AuthDecrypt(ct, nil); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("alice reading her own message: %v", err)
	}
	if got := requestsSince(srv, n); len(got) != 0 {
		t.Fatalf("encryption and decryption sent %v", got)
	}
	// The format is virgil-crypto's signAndEncrypt: the bare core opens it.
	if pt, err := e3.DecryptAndVerify(ct, bob.privateKey(t), aliceCard.PublicKey); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("DecryptAndVerify of a Client message: %v", err)
	}
	// carol is not a recipient.
	if _, err := carol.AuthDecrypt(ct, mustFind(t, carol, "alice")); !errors.Is(err, e3.ErrNotRecipient) {
		t.Fatalf("carol: %v, want ErrNotRecipient", err)
	}
	// The own card among the recipients is not added twice.
	withOwn, err := alice.AuthEncrypt(msg, bobCard, mustFind(t, alice, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if len(withOwn) != len(ct) {
		t.Fatalf("own card listed: %d bytes, without: %d; the own key was added twice", len(withOwn), len(ct))
	}
	// No recipients: for the sender alone.
	self, err := alice.AuthEncrypt(msg)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := alice.AuthDecrypt(self, nil); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("note to self: %v", err)
	}
	if _, err := bob.AuthDecrypt(self, aliceCard); !errors.Is(err, e3.ErrNotRecipient) {
		t.Fatalf("bob reading alice's note to self: %v", err)
	}
	// Several recipients, empty message.
	multi, err := alice.AuthEncrypt(nil, bobCard, mustFind(t, alice, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{bob, carol} {
		if pt, err := d.AuthDecrypt(multi, mustFind(t, d, "alice")); err != nil || len(pt) != 0 {
			t.Fatalf("%s: %q, %v", d.Identity(), pt, err)
		}
	}

	// Bad recipients.
	if _, err := alice.AuthEncrypt(msg, nil); err == nil {
		t.Fatal("nil card accepted")
	}
	outdated := *bobCard
	outdated.IsOutdated = true
	if _, err := alice.AuthEncrypt(msg, &outdated); !errors.Is(err, e3.ErrCardOutdated) {
		t.Fatalf("outdated card: %v, want ErrCardOutdated", err)
	}
}

func TestClientAuthStrings(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	text := "Grüße, 患者 👋"
	b64, err := alice.AuthEncryptString(text, mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(b64); err != nil {
		t.Fatalf("AuthEncryptString is not standard base64: %v", err)
	}
	aliceCard := mustFind(t, bob, "alice")
	for _, in := range []string{b64, strings.TrimRight(b64, "=")} {
		got, err := bob.AuthDecryptString(in, aliceCard)
		if err != nil || got != text {
			t.Fatalf("AuthDecryptString: %q, %v", got, err)
		}
	}
	bads := []string{"", "!!!!", b64[:8] + "*" + b64[9:], b64 + "=="}
	if u := strings.NewReplacer("+", "-", "/", "_").Replace(b64); u != b64 {
		bads = append(bads, u)
	}
	for _, bad := range bads {
		if _, err := bob.AuthDecryptString(bad, aliceCard); err == nil {
			t.Errorf("AuthDecryptString(%.12q...) succeeded", bad)
		}
	}
	if _, err := bob.AuthDecryptString("!!!!", aliceCard); !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("bad base64: %v, want ErrMalformed", err)
	}
}

func TestClientAuthDecryptFailures(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	mallory := registered(t, srv, "mallory")
	aliceCard := mustFind(t, bob, "alice")
	secret := "the plaintext must never reach the audit log"
	ct, err := alice.AuthEncrypt([]byte(secret), mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}

	// Tampered: the header, the body, the encrypted footer. (A flip in
	// another recipient's entry of the message info goes unnoticed by bob:
	// Virgil's format authenticates each entry for its recipient only.)
	for _, i := range []int{3, len(ct) - 200, len(ct) - 100, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x40
		if _, err := bob.AuthDecrypt(bad, aliceCard); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := bob.AuthDecrypt(ct[:len(ct)-20], aliceCard); !errors.Is(err, e3.ErrAuthFailed) && !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
	if ev := bob.audit.last(t, e3.AuditDecryptFailed); ev.Peer != "alice" || ev.CardID != aliceCard.ID || ev.Err == nil {
		t.Fatalf("decrypt failure audit %+v", ev)
	}

	// An impostor: mallory signs, claims to be alice.
	forged, err := mallory.AuthEncrypt([]byte("transfer the records"), mustFind(t, mallory, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AuthDecrypt(forged, aliceCard); !errors.Is(err, e3.ErrAuthFailed) || !errors.Is(err, e3.ErrSignerNotFound) {
		t.Fatalf("impostor: %v, want ErrSignerNotFound", err)
	}
	if ev := bob.audit.last(t, e3.AuditVerifyFailed); ev.Peer != "alice" || ev.CardID != aliceCard.ID {
		t.Fatalf("verify failure audit %+v", ev)
	}
	// ... and with the right card it verifies.
	if _, err := bob.AuthDecrypt(forged, mustFind(t, bob, "mallory")); err != nil {
		t.Fatal(err)
	}
	// A message for bob decrypted as "from myself" fails verification.
	if _, err := bob.AuthDecrypt(ct, nil); !errors.Is(err, e3.ErrSignerNotFound) {
		t.Fatalf("from nil: %v", err)
	}
	// Nothing secret in the audit events.
	for _, ev := range bob.audit.all() {
		if s := fmt.Sprintf("%+v %v", ev, ev.LogValue()); strings.Contains(s, secret) || strings.Contains(s, "records") {
			t.Fatalf("audit event leaks plaintext: %s", s)
		}
	}
	// No key on the device.
	if err := bob.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AuthDecrypt(ct, aliceCard); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Fatalf("after Cleanup: %v, want ErrNoLocalKey", err)
	}
	if ev := bob.audit.last(t, e3.AuditCleanup); ev.Err != nil {
		t.Fatalf("cleanup audit %+v", ev)
	}
}

func TestClientRotateAndDecryptAt(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	alice := registered(t, srv, "alice", func(c *e3.Config) { c.Now = clk.Now })
	bob := registered(t, srv, "bob")
	bobCard := mustFind(t, alice, "bob")
	sentAt := clk.Now()
	var history [][]byte
	for i := range 5 {
		ct, err := alice.AuthEncrypt([]byte(fmt.Sprintf("before rotation %d", i)), bobCard)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, ct)
	}
	oldCard := mustFind(t, bob, "alice")

	// Preconditions, exactly e3kit's.
	if err := alice.RotatePrivateKey(bg); !errors.Is(err, e3.ErrLocalKeyExists) {
		t.Fatalf("rotate with the key present: %v, want ErrLocalKeyExists", err)
	}
	nobody := newDevice(t, srv, "nobody")
	if err := nobody.RotatePrivateKey(bg); !errors.Is(err, e3.ErrNotRegistered) {
		t.Fatalf("rotate unregistered: %v, want ErrNotRegistered", err)
	}

	// alice loses her key and rotates, an hour later.
	if err := alice.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	n := len(srv.Requests())
	if err := alice.RotatePrivateKey(bg); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "RotatePrivateKey", requestsSince(srv, n), "POST /card/v5/actions/search", "POST /card/v5")
	ev := alice.audit.last(t, e3.AuditRotate)
	if ev.Err != nil || ev.PreviousCardID != oldCard.ID || ev.CardID == "" {
		t.Fatalf("rotate audit %+v", ev)
	}
	if cards := activeCards(srv, "alice"); len(cards) != 1 || cards[0].ID != ev.CardID {
		t.Fatal("the new card is not the only active one")
	}

	bob.ForgetCachedUsers("alice")
	newCard := mustFind(t, bob, "alice")
	if newCard.ID != ev.CardID || newCard.PreviousCard == nil || newCard.PreviousCard.ID != oldCard.ID {
		t.Fatal("bob's lookup is not the new card linked to the old one")
	}
	for i, ct := range history {
		if _, err := bob.AuthDecrypt(ct, newCard); !errors.Is(err, e3.ErrSignerNotFound) {
			t.Fatalf("old message %d verified with the new card: %v", i, err)
		}
		pt, err := bob.AuthDecryptAt(ct, newCard, sentAt)
		if err != nil || string(pt) != fmt.Sprintf("before rotation %d", i) {
			t.Fatalf("AuthDecryptAt(old message %d): %q, %v", i, pt, err)
		}
	}
	if _, err := bob.AuthDecryptAt(history[0], newCard, sentAt.Add(-24*time.Hour)); !errors.Is(err, e3.ErrNoCardAtTime) {
		t.Fatalf("a time before every card: %v, want ErrNoCardAtTime", err)
	}
	if s, err := bob.AuthDecryptStringAt(base64.StdEncoding.EncodeToString(history[1]), newCard, sentAt); err != nil || s != "before rotation 1" {
		t.Fatalf("AuthDecryptStringAt: %q, %v", s, err)
	}
	// After the rotation, messages use the new key; alice cannot read
	// what was encrypted for her old key.
	ct, err := alice.AuthEncrypt([]byte("after"), mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := bob.AuthDecryptAt(ct, newCard, clk.Now()); err != nil || string(pt) != "after" {
		t.Fatalf("new message: %v", err)
	}
	if _, err := alice.AuthDecrypt(history[0], nil); !errors.Is(err, e3.ErrNotRecipient) {
		t.Fatalf("alice reading a message for her lost key: %v", err)
	}
}

func TestClientStreams(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	data := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 kB: several 64 KiB windows
	var ct bytes.Buffer
	w, err := alice.AuthEncryptStream(&ct, int64(len(data)), mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	aliceCard := mustFind(t, bob, "alice")
	// The one-shot form opens the stream's output, and the other way round.
	if pt, err := bob.AuthDecrypt(ct.Bytes(), aliceCard); err != nil || !bytes.Equal(pt, data) {
		t.Fatalf("one-shot decryption of a stream: %v", err)
	}
	one, err := alice.AuthEncrypt(data, mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{ct.Bytes(), one} {
		r, err := bob.AuthDecryptStream(bytes.NewReader(in), aliceCard)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(pt, data) {
			t.Fatalf("stream decryption: %v", err)
		}
	}
	// Tampered in the middle: the reader fails and the failure is audited.
	bad := bytes.Clone(ct.Bytes())
	bad[len(bad)/2] ^= 1
	before := len(bob.audit.of(e3.AuditDecryptFailed))
	r, err := bob.AuthDecryptStream(bytes.NewReader(bad), aliceCard)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("tampered stream: %v, want ErrAuthFailed", err)
	}
	if len(bob.audit.of(e3.AuditDecryptFailed)) != before+1 {
		t.Fatal("stream failure not audited (once)")
	}
	// A wrong size fails.
	w, err = alice.AuthEncryptStream(io.Discard, 3, mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ab"))
	if err := w.Close(); err == nil {
		t.Fatal("short stream closed without error")
	}
}

func TestClientSHA256Identifiers(t *testing.T) {
	srv := newServer(t)
	sha := func(c *e3.Config) { c.UseSHA256Identifiers = true }
	alice := registered(t, srv, "alice", sha)
	bob := registered(t, srv, "bob", sha)
	plain := registered(t, srv, "carol")
	ct, err := alice.AuthEncrypt([]byte("hi"), mustFind(t, alice, "bob"), mustFind(t, alice, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := bob.AuthDecrypt(ct, mustFind(t, bob, "alice")); err != nil || string(pt) != "hi" {
		t.Fatalf("SHA-256 ids: %v", err)
	}
	// A recipient using the other scheme does not find its entry.
	if _, err := plain.AuthDecrypt(ct, mustFind(t, plain, "alice")); !errors.Is(err, e3.ErrNotRecipient) {
		t.Fatalf("mixed schemes: %v, want ErrNotRecipient", err)
	}
	// The bare core with SHA-256 ids opens it.
	if _, err := e3.DecryptAndVerify(ct, bob.privateKey(t).WithSHA256ID(), mustFind(t, bob, "alice").PublicKey); err != nil {
		t.Fatal(err)
	}
	// Backups follow the scheme too (e3kit derives the BrainKey with its
	// VirgilCrypto): a SHA-256 backup restores on a SHA-256 device only.
	if err := alice.BackupPrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKey(bg, "pw"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("restoring a SHA-256 backup with SHA-512 ids: %v", err)
	}
	d2 := newDevice(t, srv, "alice", sha)
	if err := d2.RestorePrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.AuthDecrypt(ct, nil); err != nil {
		t.Fatal(err)
	}
}

func TestClientConcurrentUse(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				bc, err := alice.FindUser(bg, "bob")
				if err != nil {
					t.Error(err)
					return
				}
				msg := []byte(fmt.Sprintf("g%d m%d", g, i))
				ct, err := alice.AuthEncrypt(msg, bc)
				if err != nil {
					t.Error(err)
					return
				}
				ac, err := bob.FindUser(bg, "alice")
				if err != nil {
					t.Error(err)
					return
				}
				pt, err := bob.AuthDecrypt(ct, ac)
				if err != nil || !bytes.Equal(pt, msg) {
					t.Errorf("concurrent round trip: %v", err)
					return
				}
				if i%7 == 0 {
					bob.ForgetCachedUsers("alice")
					if _, err := alice.HasLocalPrivateKey(bg); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestClientServiceErrors(t *testing.T) {
	srv := newServer(t)
	a := newDevice(t, srv, "alice")
	srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5/actions/search", Status: http.StatusServiceUnavailable, Code: 10000, Message: "maintenance"})
	err := a.Register(bg)
	var ae *e3.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Register with the search down: %v, want *APIError 503", err)
	}
	if !strings.Contains(err.Error(), "Register alice") {
		t.Errorf("error %q does not say what and who", err)
	}
	// Cards the verifier does not trust are refused.
	untrusting := newDevice(t, srv, "bob", func(c *e3.Config) { c.CardVerifier = nil }) // Virgil's production key
	if err := a.Register(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := untrusting.FindUser(bg, "alice"); !errors.Is(err, e3.ErrInvalidCard) {
		t.Fatalf("card signed by an unknown service key: %v, want ErrInvalidCard", err)
	}
}
