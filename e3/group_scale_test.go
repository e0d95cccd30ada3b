package e3_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3"
)

// Groups over time and beyond e3kit's limits: more than 50 epochs (old
// messages need tickets from the keyring), a restart on the same keyring,
// and groups past the Keyknox meta limit and past 100 participants.

func TestGroupManyEpochsAndRestart(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	const n = 55 // participants removed one by one: epochs 0..55
	var members []*e3.Card
	for i := 0; i < n; i++ {
		registered(t, srv, fmt.Sprintf("m-%02d", i))
		members = append(members, mustFind(t, alice, fmt.Sprintf("m-%02d", i)))
	}
	g := groupOf(t, alice, gid, append([]*e3.Card{mustFind(t, alice, "bob")}, members...)...)
	bgrp := loadOf(t, bob, gid, alice)
	aliceCard := mustFind(t, bob, "alice")

	var msgs [][]byte
	for i := 0; i < n; i++ {
		msgs = append(msgs, mustGroupEncrypt(t, g, fmt.Sprintf("epoch %d", i)))
		if err := g.Remove(bg, members[i]); err != nil {
			t.Fatalf("Remove %d: %v", i, err)
		}
	}
	msgs = append(msgs, mustGroupEncrypt(t, g, fmt.Sprintf("epoch %d", n)))
	if g.Epoch() != n || !slices.Equal(g.Participants(), []string{"alice", "bob"}) {
		t.Fatalf("after %d removals: epoch %d, %v", n, g.Epoch(), g.Participants())
	}
	if got := len(srv.KeyknoxV2Entries("alice", "group-sessions", sessionHex(gid))); got != n+1 {
		t.Fatalf("%d ticket entries, want %d", got, n+1)
	}
	if ids := entryIdentities(srv, "alice", gid, "0"); !slices.Equal(ids, []string{"alice", "bob"}) {
		t.Fatalf("epoch 0 is still shared with %v", ids)
	}

	// bob is outdated, then updates: epochs 0..55, 50 of them in memory.
	if _, err := bgrp.Decrypt(msgs[n], aliceCard); !errors.Is(err, e3.ErrGroupOutdated) {
		t.Fatalf("outdated: %v", err)
	}
	if err := bgrp.Update(bg); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs { // epochs 0..5 come from the keyring
		mustGroupDecrypt(t, bgrp, m, aliceCard, fmt.Sprintf("epoch %d", i))
	}
	// The initiator reads its own old messages the same way.
	mustGroupDecrypt(t, g, msgs[0], mustFind(t, alice, "alice"), "epoch 0")

	// A restart: a new Client on the same keyring finds the group offline.
	cfg := bob.cfg
	bob2, err := e3.New(bg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	g2, err := bob2.GetGroup(bg, gid)
	if err != nil {
		t.Fatal(err)
	}
	if got := requestsSince(srv, before); len(got) != 0 {
		t.Fatalf("GetGroup sent %v", got)
	}
	if g2.Initiator() != "alice" || g2.Epoch() != n || !slices.Equal(g2.Participants(), []string{"alice", "bob"}) {
		t.Fatalf("reloaded: %v %v", g2, g2.Participants())
	}
	for i, m := range msgs {
		mustGroupDecrypt(t, g2, m, aliceCard, fmt.Sprintf("epoch %d", i))
	}
	if g3, err := bob2.GetGroup(bg, gid); err != nil || g3 != g2 {
		t.Fatalf("GetGroup again: %p %v, want the same Group %p", g3, err, g2)
	}

	// Local storage: a record and one ticket per epoch, e3kit's names, all
	// encrypted for bob's key.
	sid := sessionHex(gid)
	var names []string
	for _, name := range bob.entryNames(t) {
		if strings.HasPrefix(name, "%group/") {
			names = append(names, name)
		}
	}
	if len(names) != n+2 || !slices.Contains(names, "%group/bob/"+sid) ||
		!slices.Contains(names, "%group/bob/"+sid+"!1!0") || !slices.Contains(names, "%group/bob/"+sid+"!2!55") {
		t.Fatalf("keyring names: %d %v", len(names), names[:3])
	}
	for _, name := range []string{"%group/bob/" + sid, "%group/bob/" + sid + "!1!0"} {
		e, err := bob.ring.Load(bg, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e3.Decrypt(e.Data, alice.privateKey(t)); !errors.Is(err, e3.ErrNotRecipient) {
			t.Fatalf("%s readable by another key: %v", name, err)
		}
		pt, err := e3.DecryptThenVerify(e.Data, bob.privateKey(t), bob.privateKey(t).Public())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(string(pt), `"`) || strings.Contains(string(e.Data), "alice") {
			t.Fatalf("%s: unexpected record", name)
		}
	}

	// A ticket lost from the keyring: its epoch becomes unknown, the others
	// still decrypt.
	if err := bob.ring.Delete(bg, "%group/bob/"+sid+"!1!0"); err != nil {
		t.Fatal(err)
	}
	bob3, err := e3.New(bg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	g3, err := bob3.GetGroup(bg, gid)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g3.Decrypt(msgs[0], aliceCard)
	var ee *e3.GroupEpochError
	if !errors.Is(err, e3.ErrUnknownEpoch) || !errors.As(err, &ee) || ee.Epoch != 0 || ee.Outdated() {
		t.Fatalf("lost ticket: %v", err)
	}
	mustGroupDecrypt(t, g3, msgs[1], aliceCard, "epoch 1")
	// Update brings it back.
	if err := g3.Update(bg); err != nil {
		t.Fatal(err)
	}
	mustGroupDecrypt(t, g3, msgs[0], aliceCard, "epoch 0")

	// A damaged record.
	e, err := bob.ring.Load(bg, "%group/bob/"+sid)
	if err != nil {
		t.Fatal(err)
	}
	e.Data[len(e.Data)-1] ^= 1
	if err := bob.ring.Put(bg, "%group/bob/"+sid, e.Data, e.Metadata); err != nil {
		t.Fatal(err)
	}
	bob4, err := e3.New(bg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob4.GetGroup(bg, gid); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatalf("damaged record: %v", err)
	}
	if _, err := bob4.LoadGroup(bg, gid, aliceCard); err != nil {
		t.Fatalf("LoadGroup over a damaged record: %v", err)
	}
	if g5, err := bob4.GetGroup(bg, gid); err != nil || g5.Epoch() != n {
		t.Fatalf("GetGroup after LoadGroup: %v", err)
	}
}

// TestGroupBeyondKeyknoxLimit: e3kit pushes a ticket for all participants
// at once, and Virgil's Keyknox refuses metas over 10 KB (e3kit-js#160:
// "adding more than 30 participants"). e3go pushes in chunks that fit.
func TestGroupBeyondKeyknoxLimit(t *testing.T) {
	// The cliff: one meta for the initiator and n others.
	k, err := e3.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	metaLen := func(n int) int {
		keys := []*e3.PublicKey{k.Public()}
		for _, c := range fakeCards(t, "x", n) {
			keys = append(keys, c.PublicKey)
		}
		meta, _, err := e3.SignThenEncryptDetached(make([]byte, 74), k, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return len(meta)
	}
	per := metaLen(2) - metaLen(1)
	t.Logf("ticket meta: %d bytes + %d per participant (%d + %d in base64); value %d bytes",
		metaLen(0)-per, per, b64Len(metaLen(0)-per), b64Len(per), 74+16)
	maxOne := 0
	for n := 0; b64Len(metaLen(n)) <= e3.KeyknoxMaxMetaSize; n++ {
		maxOne = n
	}
	t.Logf("one push carries the initiator and %d others within %d base64 characters (%d others within 10240, %d within 10240 raw bytes)",
		maxOne, e3.KeyknoxMaxMetaSize, (10240*3/4-(metaLen(0)-per))/per-1, (10240-(metaLen(0)-per))/per-1)
	if maxOne != 27 || b64Len(metaLen(30)) <= 10240 {
		t.Fatalf("one push fits %d others; 30 others need %d characters", maxOne, b64Len(metaLen(30)))
	}

	srv := newServer(t)
	rec := &kkRecorder{metaLimit: e3.KeyknoxMaxMetaSize}
	alice := registered(t, srv, "alice", withRecorder(rec))
	bob := registered(t, srv, "bob")
	members := append(fakeCards(t, "member", 40), mustFind(t, alice, "bob"))
	g := groupOf(t, alice, gid, members...)
	calls := rec.take()
	if len(calls) != 2 || rec.refusals != 0 || rec.maxMeta > e3.KeyknoxMaxMetaSize {
		t.Fatalf("42 participants: %d pushes, %d refused, longest meta %d: %v", len(calls), rec.refusals, rec.maxMeta, calls)
	}
	if !strings.Contains(calls[0], "identities=[alice,member-000,") || strings.Contains(calls[0], "[prev-hash]") ||
		strings.Contains(calls[1], "alice") || !strings.Contains(calls[1], "[prev-hash]") {
		t.Fatalf("pushes: %v", calls)
	}
	if got := entryIdentities(srv, "alice", gid, "0"); len(got) != 42 || got[0] != "alice" || got[41] != "bob" {
		t.Fatalf("entry identities: %d %v", len(got), got)
	}
	bgrp := loadOf(t, bob, gid, alice)
	if len(bgrp.Participants()) != 42 {
		t.Fatalf("bob sees %d participants", len(bgrp.Participants()))
	}
	mustGroupDecrypt(t, bgrp, mustGroupEncrypt(t, g, "hi all"), mustFind(t, bob, "alice"), "hi all")

	// The recorder refuses what Virgil would.
	rec.metaLimit = 1000
	var ae *e3.APIError
	if _, err := alice.CreateGroup(bg, "refused-by-the-limit", members[:3]...); !errors.As(err, &ae) || ae.Code != 50005 {
		t.Fatalf("refused push: %v", err)
	}
}

// TestGroupBeyond100 runs a group of 150 participants (e3kit's limit is
// 100): create, load, encrypt, remove, add, all within the meta limit.
func TestGroupBeyond100(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 150 users")
	}
	srv := newServer(t)
	rec := &kkRecorder{metaLimit: e3.KeyknoxMaxMetaSize}
	alice := registered(t, srv, "alice", withRecorder(rec))
	const n = 149
	devs := make([]*device, n)
	var cards []*e3.Card
	for i := range devs {
		devs[i] = registered(t, srv, fmt.Sprintf("p-%03d", i))
	}
	found, err := alice.FindUsers(bg, func() []string {
		var ids []string
		for _, d := range devs {
			ids = append(ids, d.Identity())
		}
		return ids
	}()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		cards = append(cards, found[d.Identity()])
	}

	if _, err := alice.CreateGroup(bg, gid, cards...); !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Fatalf("150 participants by default: %v", err)
	}
	g, err := alice.CreateGroupWithOptions(bg, gid, e3.GroupOptions{MaxParticipants: 200}, cards...)
	if err != nil {
		t.Fatal(err)
	}
	if pushes := len(rec.take()); pushes != 6 || rec.maxMeta > e3.KeyknoxMaxMetaSize || rec.refusals != 0 {
		t.Fatalf("150 participants: %d pushes (want 6 = ⌈149/27⌉), longest meta %d", pushes, rec.maxMeta)
	}
	if len(g.Participants()) != 150 || g.MaxParticipants() != 200 {
		t.Fatalf("%d participants, max %d", len(g.Participants()), g.MaxParticipants())
	}
	ct := mustGroupEncrypt(t, g, "to 150")
	readers := []*device{devs[0], devs[74], devs[n-1]}
	var groups []*e3.Group
	for _, d := range readers {
		gr := loadOf(t, d, gid, alice)
		if len(gr.Participants()) != 150 || gr.MaxParticipants() != e3.MaxGroupParticipants {
			t.Fatalf("%s sees %d participants, max %d", d.Identity(), len(gr.Participants()), gr.MaxParticipants())
		}
		mustGroupDecrypt(t, gr, ct, mustFind(t, d, "alice"), "to 150")
		groups = append(groups, gr)
	}

	// Remove the middle reader: a new epoch for 148 others, in 6 pushes.
	if err := g.Remove(bg, cards[74]); err != nil {
		t.Fatal(err)
	}
	calls := rec.take()
	if len(calls) != 7 || !strings.HasPrefix(calls[6], "reset ") || rec.refusals != 0 {
		t.Fatalf("Remove in a group of 150: %v", calls)
	}
	ct2 := mustGroupEncrypt(t, g, "without p-074")
	for i, gr := range groups {
		err := gr.Update(bg)
		if i == 1 {
			if !errors.Is(err, e3.ErrGroupNoAccess) {
				t.Fatalf("removed reader's Update: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		mustGroupDecrypt(t, gr, ct2, mustFind(t, readers[i], "alice"), "without p-074")
	}
	if _, err := groups[1].Decrypt(ct2, mustFind(t, devs[74], "alice")); err == nil {
		t.Fatal("the removed participant decrypted the next epoch")
	}

	// Back to 150, then the limit.
	if err := g.Add(bg, cards[74]); err != nil {
		t.Fatal(err)
	}
	if err := g.SetMaxParticipants(bg, 150); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(bg, mustFind(t, alice, registered(t, srv, "one-too-many").Identity())); !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Fatalf("Add past the limit: %v", err)
	}
	if err := g.SetMaxParticipants(bg, 149); !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Fatalf("a limit under the size: %v", err)
	}
}
