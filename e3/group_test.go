package e3_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/internal/groupsession"
)

// Group tests on an e3test server: e3kit's request sequences
// (shared/captures/virgil-services/e3kit-full.summary.md), participants,
// epochs, history, removal, persistence and errors.

const gid = "care-team:ward-7" // a Stream-style channel id, 16 bytes

func TestGroupProtocolSequences(t *testing.T) {
	srv := newServer(t)
	rec := &kkRecorder{}
	alice := registered(t, srv, "alice", withRecorder(rec))
	brec := &kkRecorder{}
	bob := registered(t, srv, "bob", withRecorder(brec))
	carol := registered(t, srv, "carol")
	bobCard, carolCard := mustFind(t, alice, "bob"), mustFind(t, alice, "carol")
	path := sessionHex(gid)
	rec.take()

	// createGroup: one push of epoch 0 for [initiator, members], no
	// previous hash.
	g := groupOf(t, alice, gid, bobCard)
	checkSequence(t, "CreateGroup", rec.take(),
		"push root=group-sessions path="+path+" key=0 identities=[alice,bob]")
	if got := g.Participants(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Participants = %v", got)
	}
	if g.Initiator() != "alice" || g.ID() != gid || g.Epoch() != 0 || g.MaxParticipants() != 100 {
		t.Errorf("group %v: initiator %q id %q epoch %d max %d", g, g.Initiator(), g.ID(), g.Epoch(), g.MaxParticipants())
	}

	// The ticket: bob's copy opens with bob's key, signed by alice; it is
	// virgil-crypto's 74-byte epoch-0 ticket of SHA-512(id)[:32].
	entry, ok := srv.KeyknoxV2("alice", "group-sessions", path, "0")
	if !ok || len(entry.Copies) != 2 || entry.Copies[1].Identity != "bob" {
		t.Fatalf("entry %+v", entry)
	}
	ticket, err := e3.DecryptThenVerifyDetached(entry.Copies[1].Value, entry.Copies[1].Meta, bob.privateKey(t), alice.privateKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if want := "080012460a20" + path + "10001a20"; len(ticket) != 74 || hex.EncodeToString(ticket[:42]) != want {
		t.Fatalf("ticket %x", ticket[:42])
	}
	if _, err := e3.DecryptThenVerifyDetached(entry.Copies[1].Value, entry.Copies[1].Meta, bob.privateKey(t), bob.privateKey(t).Public()); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("ticket verified with another key than the initiator's: %v", err)
	}

	// loadGroup: keys of the initiator, then a pull per key.
	bg2 := loadOf(t, bob, gid, alice)
	checkSequence(t, "LoadGroup", brec.take(),
		"keys root=group-sessions path="+path+" identity=alice",
		"pull root=group-sessions path="+path+" key=0 identity=alice")
	if got := bg2.Participants(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("bob's Participants = %v", got)
	}
	ct := mustGroupEncrypt(t, g, "hello team")
	mustGroupDecrypt(t, bg2, ct, mustFind(t, bob, "alice"), "hello team")

	// group.add: keys, then per key a pull and a push for the new
	// participants only, with the pulled hash.
	if err := g.Add(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "Add", rec.take(),
		"keys root=group-sessions path="+path+" identity=alice",
		"pull root=group-sessions path="+path+" key=0 identity=alice",
		"push root=group-sessions path="+path+" key=0 identities=[carol] [prev-hash]")
	if got := entryIdentities(srv, "alice", gid, "0"); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("entry identities after Add = %v", got)
	}
	cg := loadOf(t, carol, gid, alice)
	mustGroupDecrypt(t, cg, ct, mustFind(t, carol, "alice"), "hello team") // history

	// group.remove: a push of the next epoch for the remaining
	// participants, then a reset per removed identity.
	if err := g.Remove(bg, bobCard); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "Remove", rec.take(),
		"push root=group-sessions path="+path+" key=1 identities=[alice,carol]",
		"reset root=group-sessions path="+path+" identity=bob")
	if g.Epoch() != 1 || !slices.Equal(g.Participants(), []string{"alice", "carol"}) {
		t.Errorf("after Remove: epoch %d, participants %v", g.Epoch(), g.Participants())
	}

	// group.reAdd: keys, then per key a pull, a reset of the member's copy
	// and a push for it with the pulled hash.
	if err := g.ReAdd(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	got := rec.take()
	slices.Sort(got[1:]) // per key, in parallel
	checkSequence(t, "ReAdd", got,
		"keys root=group-sessions path="+path+" identity=alice",
		"pull root=group-sessions path="+path+" key=0 identity=alice",
		"pull root=group-sessions path="+path+" key=1 identity=alice",
		"push root=group-sessions path="+path+" key=0 identities=[carol] [prev-hash]",
		"push root=group-sessions path="+path+" key=1 identities=[carol] [prev-hash]",
		"reset root=group-sessions path="+path+" key=0 identity=carol",
		"reset root=group-sessions path="+path+" key=1 identity=carol")

	// deleteGroup: one reset of the whole path.
	if err := alice.DeleteGroup(bg, gid); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "DeleteGroup", rec.take(), "reset root=group-sessions path="+path)
	if n := len(srv.KeyknoxV2Entries("alice", "group-sessions", "")); n != 0 {
		t.Errorf("%d entries left after DeleteGroup", n)
	}
}

func TestGroupUpdateAndRemoval(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	g := groupOf(t, alice, gid, mustFind(t, alice, "bob"), mustFind(t, alice, "carol"))
	bg_ := loadOf(t, bob, gid, alice)
	cg := loadOf(t, carol, gid, alice)
	aliceCard := mustFind(t, bob, "alice")

	before := mustGroupEncrypt(t, g, "before removal")
	if err := g.Remove(bg, mustFind(t, alice, "bob")); err != nil {
		t.Fatal(err)
	}
	after := mustGroupEncrypt(t, g, "after removal")

	// carol has not updated: the message is from a newer epoch.
	_, err := cg.Decrypt(after, aliceCard)
	var ee *e3.GroupEpochError
	if !errors.Is(err, e3.ErrGroupOutdated) || !errors.As(err, &ee) || ee.Epoch != 1 || ee.Newest != 0 {
		t.Fatalf("carol before Update: %v", err)
	}
	staleCarol := mustGroupEncrypt(t, cg, "carol, not updated yet")
	if err := cg.Update(bg); err != nil {
		t.Fatal(err)
	}
	mustGroupDecrypt(t, cg, after, aliceCard, "after removal")
	mustGroupDecrypt(t, cg, before, aliceCard, "before removal")
	if !slices.Equal(cg.Participants(), []string{"alice", "carol"}) || cg.Epoch() != 1 {
		t.Errorf("carol after Update: %v epoch %d", cg.Participants(), cg.Epoch())
	}

	// bob cannot read the new epoch: his group holds epoch 0 only, and the
	// cloud gives him nothing any more.
	if _, err := bg_.Decrypt(after, aliceCard); !errors.Is(err, e3.ErrGroupOutdated) {
		t.Fatalf("bob, removed: %v", err)
	}
	if ids := entryIdentities(srv, "alice", gid, "1"); slices.Contains(ids, "bob") {
		t.Fatalf("epoch 1 is shared with bob: %v", ids)
	}
	if ids := entryIdentities(srv, "alice", gid, "0"); slices.Contains(ids, "bob") {
		t.Fatalf("bob still has a copy of epoch 0: %v", ids)
	}
	// Even with every ticket it ever received (read from its keyring, as a
	// modified client would keep them), bob cannot open epoch 1: its key is
	// fresh, not derived from epoch 0's.
	key0 := ticketKeyOf(t, bob, gid, 0)
	m1, err := groupsession.ParseMessage(after)
	if err != nil || m1.Epoch != 1 {
		t.Fatalf("epoch-1 message: %v", err)
	}
	guess := groupsession.NewEpochWithKey(groupsession.SessionID([]byte(gid)), 1, key0)
	if _, err := guess.Open(m1, ed25519PublicOf(t, alice)); !errors.Is(err, groupsession.ErrAuthFailed) {
		t.Fatalf("epoch 1 opened with epoch 0's key: %v", err)
	}

	// What a removed member keeps: the epochs it held, as long as it does
	// not Update: the messages sent before the removal, and any message a
	// participant who has not updated yet still sends in such an epoch.
	mustGroupDecrypt(t, bg_, before, aliceCard, "before removal")
	mustGroupDecrypt(t, bg_, staleCarol, mustFind(t, bob, "carol"), "carol, not updated yet")
	mustGroupDecrypt(t, g, staleCarol, mustFind(t, alice, "carol"), "carol, not updated yet")

	// Update tells bob he was removed and deletes the group here.
	if err := bg_.Update(bg); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Fatalf("bob's Update after removal: %v", err)
	}
	if _, err := bob.GetGroup(bg, gid); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Fatalf("bob's GetGroup after removal: %v", err)
	}
	if _, err := bg_.Decrypt(before, aliceCard); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Fatalf("bob's deleted group decrypts: %v", err)
	}
	if names := bob.entryNames(t); slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "%group/") }) {
		t.Fatalf("bob's keyring keeps group entries: %v", names)
	}
	if _, err := bob.LoadGroup(bg, gid, aliceCard); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Fatalf("bob's LoadGroup after removal: %v", err)
	}
}

func TestGroupErrors(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	bobCard, carolCard := mustFind(t, alice, "bob"), mustFind(t, alice, "carol")

	for _, id := range []string{"", "short-id!", "\xff\xfe-not-utf8-id"} {
		if _, err := alice.CreateGroup(bg, id, bobCard); !errors.Is(err, e3.ErrInvalidGroupID) {
			t.Errorf("CreateGroup(%q): %v", id, err)
		}
		if _, err := alice.LoadGroup(bg, id, bobCard); !errors.Is(err, e3.ErrInvalidGroupID) {
			t.Errorf("LoadGroup(%q): %v", id, err)
		}
		if _, err := alice.GetGroup(bg, id); !errors.Is(err, e3.ErrInvalidGroupID) {
			t.Errorf("GetGroup(%q): %v", id, err)
		}
		if err := alice.DeleteGroup(bg, id); !errors.Is(err, e3.ErrInvalidGroupID) {
			t.Errorf("DeleteGroup(%q): %v", id, err)
		}
	}
	if _, err := alice.CreateGroup(bg, "exactly10b", bobCard); err != nil {
		t.Errorf("a 10-byte id: %v", err)
	}

	// 100 participants, the initiator included, and no more.
	many := fakeCards(t, "member", 100)
	_, err := alice.CreateGroup(bg, "too-many-members", many...)
	var pce *e3.ParticipantCountError
	if !errors.Is(err, e3.ErrTooManyParticipants) || !errors.As(err, &pce) || pce.Count != 101 || pce.Max != 100 {
		t.Fatalf("101 participants: %v", err)
	}
	if n := len(srv.KeyknoxV2Entries("alice", "group-sessions", sessionHex("too-many-members"))); n != 0 {
		t.Fatalf("a refused group left %d entries", n)
	}
	if _, err := alice.CreateGroupWithOptions(bg, "options-group", e3.GroupOptions{MaxParticipants: 1001}); !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Errorf("MaxParticipants 1001: %v", err)
	}
	g100, err := alice.CreateGroup(bg, "hundred-members", many[:99]...)
	if err != nil {
		t.Fatal(err)
	}
	if err := g100.Add(bg, bobCard); !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Fatalf("Add to a group of 100: %v", err)
	}

	g := groupOf(t, alice, gid, bobCard, bobCard) // repeated members count once
	if got := g.Participants(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Participants = %v", got)
	}
	if _, err := alice.CreateGroup(bg, gid, carolCard); !errors.Is(err, e3.ErrGroupExists) {
		t.Errorf("CreateGroup again on this device: %v", err)
	}
	other := newDevice(t, srv, "alice") // a second device: no local group, the cloud answers 50010
	if err := other.RestorePrivateKey(bg, "x"); err == nil {
		t.Fatal("restore without backup")
	}
	if err := alice.BackupPrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := other.RestorePrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateGroup(bg, gid, carolCard); !errors.Is(err, e3.ErrGroupExists) {
		t.Errorf("CreateGroup again from a second device: %v", err)
	}

	bgrp := loadOf(t, bob, gid, alice)
	for name, err := range map[string]error{
		"Add":    bgrp.Add(bg, mustFind(t, bob, "carol")),
		"Remove": bgrp.Remove(bg, mustFind(t, bob, "alice")),
		"ReAdd":  bgrp.ReAdd(bg, mustFind(t, bob, "alice")),
	} {
		if !errors.Is(err, e3.ErrNotGroupInitiator) {
			t.Errorf("%s by a participant: %v", name, err)
		}
	}
	if err := g.Add(bg, bobCard); !errors.Is(err, e3.ErrAlreadyParticipant) {
		t.Errorf("Add of a participant: %v", err)
	}
	if err := g.Remove(bg, carolCard); !errors.Is(err, e3.ErrNotParticipant) {
		t.Errorf("Remove of a non-participant: %v", err)
	}
	if err := g.Remove(bg, mustFind(t, bob, "alice")); !errors.Is(err, e3.ErrNotParticipant) {
		t.Errorf("Remove of the initiator: %v", err)
	}
	if err := g.ReAdd(bg, carolCard); !errors.Is(err, e3.ErrNotParticipant) {
		t.Errorf("ReAdd of a non-participant: %v", err)
	}
	if err := g.Add(bg); err == nil {
		t.Error("Add of nobody")
	}
	if err := g.Add(bg, nil); err == nil {
		t.Error("Add of a nil card")
	}
	if g.Epoch() != 0 || len(srv.KeyknoxV2Entries("alice", "group-sessions", sessionHex(gid))) != 1 {
		t.Errorf("refused changes changed the group: epoch %d", g.Epoch())
	}

	// carol was never added.
	if _, err := carol.LoadGroup(bg, gid, mustFind(t, carol, "alice")); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Errorf("LoadGroup by a non-participant: %v", err)
	}
	if _, err := carol.LoadGroup(bg, "no-such-group-id", mustFind(t, carol, "alice")); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Errorf("LoadGroup of a missing group: %v", err)
	}
	if _, err := carol.LoadGroup(bg, gid, mustFind(t, carol, "bob")); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Errorf("LoadGroup with the wrong initiator: %v", err)
	}
	// bob asks carol (wrongly) for the group he has from alice: he keeps it.
	if _, err := bob.LoadGroup(bg, gid, mustFind(t, bob, "carol")); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Errorf("LoadGroup with the wrong initiator: %v", err)
	}
	if g2, err := bob.GetGroup(bg, gid); err != nil || g2 != bgrp {
		t.Errorf("bob's group after asking the wrong initiator: %v", err)
	}
	if _, err := carol.GetGroup(bg, gid); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Errorf("GetGroup of a group not on this device: %v", err)
	}
	if err := carol.DeleteGroup(bg, "not-on-this-device"); err != nil {
		t.Errorf("DeleteGroup of a group not on this device: %v", err)
	}

	// Message sizes.
	if _, err := g.Encrypt(make([]byte, e3.MaxGroupPlaintextSize)); err != nil {
		t.Errorf("Encrypt of %d bytes: %v", e3.MaxGroupPlaintextSize, err)
	}
	if _, err := g.Encrypt(make([]byte, e3.MaxGroupPlaintextSize+1)); !errors.Is(err, e3.ErrMessageTooLarge) {
		t.Errorf("Encrypt of %d bytes: %v", e3.MaxGroupPlaintextSize+1, err)
	}

	// No local key.
	if err := bob.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	ct := mustGroupEncrypt(t, g, "x")
	if _, err := bgrp.Encrypt([]byte("x")); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Errorf("Encrypt without a local key: %v", err)
	}
	if _, err := bgrp.Decrypt(ct, mustFind(t, bob, "alice")); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Errorf("Decrypt without a local key: %v", err)
	}
	if _, err := bob.GetGroup(bg, gid); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Errorf("GetGroup without a local key: %v", err)
	}
	if _, err := bgrp.Decrypt(ct, nil); err == nil {
		t.Error("Decrypt without a sender")
	}
}

// ticketKeyOf reads the key of epoch n of group id from d's keyring.
func ticketKeyOf(t *testing.T, d *device, id string, n uint32) [32]byte {
	t.Helper()
	name := fmt.Sprintf("%%group/%s/%s!%d!%d", d.Identity(), sessionHex(id), len(fmt.Sprint(n)), n)
	e, err := d.ring.Load(bg, name)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := e3.DecryptThenVerify(e.Data, d.privateKey(t), d.privateKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Message struct {
			Data []byte `json:"data"`
		} `json:"groupSessionMessage"`
	}
	if err := json.Unmarshal(pt, &rec); err != nil {
		t.Fatal(err)
	}
	ep, err := groupsession.ParseEpoch(rec.Message.Data)
	if err != nil || ep.Number() != n {
		t.Fatalf("ticket %d: %v", n, err)
	}
	// The key is the ticket's last 32 bytes (74-byte tickets below 128).
	var key [32]byte
	copy(key[:], rec.Message.Data[len(rec.Message.Data)-32:])
	return key
}

// ed25519PublicOf returns the device's public key in crypto/ed25519 form.
func ed25519PublicOf(t *testing.T, d *device) []byte {
	t.Helper()
	spki := d.privateKey(t).Public().Export()
	return spki[len(spki)-32:]
}

func TestGroupSenderRotation(t *testing.T) {
	srv := newServer(t)
	clock := newClock()
	alice := registered(t, srv, "alice", func(c *e3.Config) { c.Now = clock.Now })
	bob := registered(t, srv, "bob", func(c *e3.Config) { c.Now = clock.Now })
	g := groupOf(t, alice, gid, mustFind(t, alice, "bob"))
	bgrp := loadOf(t, bob, gid, alice)
	sentAt := clock.Now()
	old := mustGroupEncrypt(t, bgrp, "signed with bob's first key")
	oldStr, err := bgrp.EncryptString("text, first key")
	if err != nil {
		t.Fatal(err)
	}

	// bob loses his key and rotates.
	clock.Add(time.Hour)
	if err := bob.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	if err := bob.RotatePrivateKey(bg); err != nil {
		t.Fatal(err)
	}
	// His stored group was for the old key; the cloud's tickets too.
	if _, err := bob.GetGroup(bg, gid); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Fatalf("GetGroup after rotation: %v", err)
	}
	if _, err := bob.LoadGroup(bg, gid, mustFind(t, bob, "alice")); !errors.Is(err, e3.ErrGroupNoAccess) || !strings.Contains(err.Error(), "ReAdd") {
		t.Fatalf("LoadGroup after rotation: %v", err)
	}

	// alice sees the new card, linked to the old one.
	alice.ForgetCachedUsers("bob")
	bobNew := mustFind(t, alice, "bob")
	if bobNew.PreviousCard == nil {
		t.Fatal("the new card is not linked to the old one")
	}
	if _, err := g.Decrypt(old, bobNew); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("old message with the new card: %v", err)
	}
	pt, err := g.DecryptAt(old, bobNew, sentAt)
	if err != nil || string(pt) != "signed with bob's first key" {
		t.Fatalf("DecryptAt: %q, %v", pt, err)
	}
	if s, err := g.DecryptStringAt(oldStr, bobNew, sentAt); err != nil || s != "text, first key" {
		t.Fatalf("DecryptStringAt: %q, %v", s, err)
	}
	if _, err := g.DecryptAt(old, bobNew, sentAt.Add(-2*time.Hour)); !errors.Is(err, e3.ErrNoCardAtTime) {
		t.Fatalf("DecryptAt before every card: %v", err)
	}

	// alice re-adds bob's new card; bob is back, with the history.
	if err := g.ReAdd(bg, bobNew); err != nil {
		t.Fatal(err)
	}
	bgrp2 := loadOf(t, bob, gid, alice)
	ct := mustGroupEncrypt(t, bgrp2, "new key")
	mustGroupDecrypt(t, g, ct, bobNew, "new key")
	mustGroupDecrypt(t, bgrp2, mustGroupEncrypt(t, g, "hello again"), mustFind(t, bob, "alice"), "hello again")
}
