package e3_test

import (
	"context"
	"errors"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/groupsession"
)

// Bad input for groups: altered, truncated, foreign and misattributed
// messages; damaged, foreign and misplaced tickets in Keyknox. Every case
// fails with an error callers can match, never a panic or a plaintext.

func TestGroupDecryptBadInput(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	eve := registered(t, srv, "eve")
	g := groupOf(t, alice, gid, mustFind(t, alice, "bob"), mustFind(t, alice, "carol"))
	bgrp := loadOf(t, bob, gid, alice)
	cgrp := loadOf(t, carol, gid, alice)
	aliceCard, carolCard := mustFind(t, bob, "alice"), mustFind(t, bob, "carol")

	ct := mustGroupEncrypt(t, g, "the patient in bed 4 needs a CT scan")
	mustGroupDecrypt(t, bgrp, ct, aliceCard, "the patient in bed 4 needs a CT scan")

	known := func(err error) bool {
		return errors.Is(err, e3.ErrAuthFailed) || errors.Is(err, e3.ErrMalformed) ||
			errors.Is(err, e3.ErrNotFromGroup) || errors.Is(err, e3.ErrGroupOutdated) || errors.Is(err, e3.ErrUnknownEpoch)
	}
	// Every bit of every byte position, flipped; every truncation. Byte 1
	// is the outer version field, which nothing authenticates and every
	// reader ignores (virgil-crypto too): a flip there may decrypt, to the
	// same plaintext.
	for i := range ct {
		for bit := 0; bit < 8; bit++ {
			m := append([]byte(nil), ct...)
			m[i] ^= 1 << bit
			pt, err := bgrp.Decrypt(m, aliceCard)
			if i == 1 && err == nil && string(pt) == "the patient in bed 4 needs a CT scan" {
				continue
			}
			if err == nil || pt != nil || !known(err) {
				t.Fatalf("byte %d bit %d flipped: %q, %v", i, bit, pt, err)
			}
		}
	}
	for n := 0; n < len(ct); n++ {
		if pt, err := bgrp.Decrypt(ct[:n], aliceCard); err == nil || pt != nil || !known(err) {
			t.Fatalf("truncated to %d bytes: %q, %v", n, pt, err)
		}
	}
	if _, err := bgrp.Decrypt(append(ct, 0), aliceCard); !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("a byte appended: %v", err)
	}

	// Misattributed: carol's message said to be alice's.
	fromCarol := mustGroupEncrypt(t, cgrp, "from carol")
	before := len(bob.audit.of(e3.AuditVerifyFailed))
	if _, err := bgrp.Decrypt(fromCarol, aliceCard); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("carol's message as alice's: %v", err)
	}
	if ev := bob.audit.of(e3.AuditVerifyFailed); len(ev) != before+1 || ev[len(ev)-1].Peer != "alice" || ev[len(ev)-1].GroupID != gid {
		t.Fatalf("verify failure audit: %+v", ev)
	}
	mustGroupDecrypt(t, bgrp, fromCarol, carolCard, "from carol")

	// A non-member: eve makes her own group with the same id (same
	// session id, her own key).
	eg := groupOf(t, eve, gid)
	fromEve := mustGroupEncrypt(t, eg, "let me in")
	if _, err := bgrp.Decrypt(fromEve, mustFind(t, bob, "eve")); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("a non-member's message: %v", err)
	}
	sess, err := groupsession.Generate(nil, []byte(gid))
	if err != nil {
		t.Fatal(err)
	}

	// Another group's message.
	g2 := groupOf(t, alice, "another-group-id", mustFind(t, alice, "bob"))
	if _, err := bgrp.Decrypt(mustGroupEncrypt(t, g2, "x"), aliceCard); !errors.Is(err, e3.ErrNotFromGroup) {
		t.Fatalf("another group's message: %v", err)
	}
	// Not a group message at all: a ticket, an authEncrypt ciphertext.
	ticket := sess.Epochs()[0].Marshal()
	if _, err := bgrp.Decrypt(ticket, aliceCard); !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("a ticket as a message: %v", err)
	}
	authCT, err := alice.AuthEncrypt([]byte("x"), mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bgrp.Decrypt(authCT, aliceCard); !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("an authEncrypt ciphertext: %v", err)
	}

	// Unknown epochs: a message of epoch 7 (the group is at 0).
	e7 := groupsession.NewEpochWithKey(groupsession.SessionID([]byte(gid)), 7, [32]byte{1})
	s7, err := groupsession.NewSession(e7)
	if err != nil {
		t.Fatal(err)
	}
	m7, err := s7.Encrypt(nil, []byte("from the future"), alice.privateKeyEd25519(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bgrp.Decrypt(m7, aliceCard)
	var ee *e3.GroupEpochError
	if !errors.Is(err, e3.ErrGroupOutdated) || !errors.As(err, &ee) || ee.Epoch != 7 || !ee.Outdated() {
		t.Fatalf("epoch 7: %v", err)
	}

	// Strings.
	s, err := g.EncryptString("text 💬")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := bgrp.DecryptString(s, aliceCard); err != nil || pt != "text 💬" {
		t.Fatalf("DecryptString: %q, %v", pt, err)
	}
	for _, bad := range []string{"", "!!!!", s[:len(s)-3] + "*=="} {
		if _, err := bgrp.DecryptString(bad, aliceCard); !errors.Is(err, e3.ErrMalformed) {
			t.Errorf("DecryptString(%q): %v", bad, err)
		}
	}
}

// privateKeyEd25519 returns the device's Ed25519 private key in
// crypto/ed25519's form (for crafting group messages).
func (d *device) privateKeyEd25519(t testing.TB) []byte {
	t.Helper()
	der := d.privateKey(t).Export()
	// PKCS#8 Ed25519: the 32-byte seed is the last 32 bytes.
	return ed25519FromSeed(der[len(der)-32:])
}

func TestGroupTicketBadInput(t *testing.T) {
	store := e3test.NewMemoryStorage()
	srv, err := e3test.NewServerWithOptions(e3test.Options{Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	mallory := registered(t, srv, "mallory")
	groupOf(t, alice, gid, mustFind(t, alice, "bob"))
	aliceCard := mustFind(t, bob, "alice")
	path := sessionHex(gid)
	ctx := context.Background()
	orig, err := store.KeyknoxV2(ctx, "alice", "group-sessions", path, "0")
	if err != nil {
		t.Fatal(err)
	}
	aliceKey, bobPub := alice.privateKey(t), mustFind(t, alice, "bob").PublicKey
	sid := groupsession.SessionID([]byte(gid))

	// setBobCopy replaces bob's copy of alice's entry at key (made if need
	// be) with meta and value.
	setBobCopy := func(key string, meta, value []byte) {
		t.Helper()
		r := orig
		r.Key = key
		r.Copies = []e3test.KeyknoxCopy{orig.Copies[0], {Identity: "bob", Meta: meta, Value: value}}
		if err := store.PutKeyknoxV2(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	sealed := func(data []byte, signer *e3.PrivateKey) (meta, value []byte) {
		t.Helper()
		meta, value, err := e3.SignThenEncryptDetached(data, signer, signer.Public(), bobPub)
		if err != nil {
			t.Fatal(err)
		}
		return meta, value
	}
	bobCopy := orig.Copies[1]
	good := groupsession.NewEpochWithKey(sid, 0, [32]byte{9}).Marshal()
	otherSession := groupsession.NewEpochWithKey(groupsession.SessionID([]byte("another-group-id")), 0, [32]byte{9}).Marshal()
	epoch5 := groupsession.NewEpochWithKey(sid, 5, [32]byte{9}).Marshal()
	m, v := sealed(good, aliceKey)
	mm, mv := sealed(good, mallory.privateKey(t))
	tm, tv := sealed(good[:40], aliceKey)
	om, ov := sealed(otherSession, aliceKey)
	fm, fv := sealed(epoch5, aliceKey)

	cases := []struct {
		name        string
		key         string
		meta, value []byte
		want        error
	}{
		{"value truncated", "0", bobCopy.Meta, bobCopy.Value[:len(bobCopy.Value)-1], e3.ErrAuthFailed},
		{"value empty", "0", bobCopy.Meta, nil, e3.ErrMalformed},
		{"meta truncated", "0", bobCopy.Meta[:len(bobCopy.Meta)/2], bobCopy.Value, e3.ErrMalformed},
		{"meta of another entry", "0", m, bobCopy.Value, e3.ErrAuthFailed},
		{"signed by another than the initiator", "0", mm, mv, e3.ErrAuthFailed},
		{"ticket truncated", "0", tm, tv, e3.ErrMalformed},
		{"another group's ticket", "0", om, ov, e3.ErrNotFromGroup},
		{"epoch 5 under key 0", "0", fm, fv, e3.ErrMalformed},
		{"copy deleted", "0", nil, nil, e3.ErrGroupNoAccess},
	}
	for _, c := range cases {
		setBobCopy(c.key, c.meta, c.value)
		_, err := bob.LoadGroup(ctx, gid, aliceCard)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: LoadGroup: %v, want %v", c.name, err, c.want)
		}
	}
	setBobCopy("0", m, v) // a good ticket again
	if _, err := bob.LoadGroup(ctx, gid, aliceCard); err != nil {
		t.Fatalf("restored ticket: %v", err)
	}
	// A key that is not an epoch number.
	for _, key := range []string{"abc", "01", "-1", "4294967296"} {
		setBobCopy(key, m, v)
		if _, err := bob.LoadGroup(ctx, gid, aliceCard); !errors.Is(err, e3.ErrMalformed) {
			t.Errorf("key %q: %v", key, err)
		}
		store.DeleteKeyknoxV2(ctx, "alice", "group-sessions", path, key)
	}
	if _, err := bob.LoadGroup(ctx, gid, aliceCard); err != nil {
		t.Fatalf("after the bad keys: %v", err)
	}
}
