package e3_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/e3go/e3go/e3"
)

// Group operations that fail part-way (the service refuses a request, an
// answer is lost), and groups with SHA-256 key identifiers.

func TestGroupRemoveRevocationFails(t *testing.T) {
	srv := newServer(t)
	ft := &faultTransport{mode: "500", match: func(r *http.Request) bool { return r.URL.Path == "/keyknox/v2/reset" }}
	alice := registered(t, srv, "alice", withFault(ft))
	registered(t, srv, "bob")
	registered(t, srv, "carol")
	bobCard, carolCard := mustFind(t, alice, "bob"), mustFind(t, alice, "carol")
	g := groupOf(t, alice, gid, bobCard, carolCard)

	ft.times.Store(1)
	err := g.Remove(bg, bobCard)
	if err == nil || !strings.Contains(err.Error(), "call Remove again") {
		t.Fatalf("Remove with a failing reset: %v", err)
	}
	// The new epoch is there without bob, but bob still has epoch 0.
	if g.Epoch() != 1 || slices.Contains(g.Participants(), "bob") {
		t.Fatalf("after the partial Remove: %v %v", g, g.Participants())
	}
	if ids := entryIdentities(srv, "alice", gid, "0"); !slices.Contains(ids, "bob") {
		t.Fatalf("epoch 0: %v", ids)
	}
	// Calling Remove again finishes it, without a new epoch.
	if err := g.Remove(bg, bobCard); err != nil {
		t.Fatal(err)
	}
	if ids := entryIdentities(srv, "alice", gid, "0"); slices.Contains(ids, "bob") || g.Epoch() != 1 {
		t.Fatalf("epoch 0 after the retry: %v, epoch %d", ids, g.Epoch())
	}
	if err := g.Remove(bg, bobCard); !errors.Is(err, e3.ErrNotParticipant) {
		t.Fatalf("a third Remove: %v", err)
	}
	// The pending revocation survives a restart.
	ft.times.Store(1)
	if err := g.Remove(bg, carolCard); err == nil {
		t.Fatal("Remove of carol with a failing reset")
	}
	alice2, err := e3.New(bg, alice.cfg)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := alice2.GetGroup(bg, gid)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Remove(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	if ids := entryIdentities(srv, "alice", gid, "0"); !slices.Equal(ids, []string{"alice"}) || g2.Epoch() != 2 {
		t.Fatalf("after carol's retry: %v, epoch %d", ids, g2.Epoch())
	}
	// Re-adding someone clears their pending revocation.
	ft.times.Store(1)
	if err := g2.Add(bg, bobCard); err != nil {
		t.Fatal(err)
	}
	if err := g2.Remove(bg, bobCard); err == nil {
		t.Fatal("failing reset")
	}
	if err := g2.Add(bg, bobCard); err != nil {
		t.Fatal(err)
	}
	if err := g2.Remove(bg, carolCard); !errors.Is(err, e3.ErrNotParticipant) {
		t.Fatalf("carol, already revoked: %v", err)
	}
}

func TestGroupCreateRollsBack(t *testing.T) {
	srv := newServer(t)
	var pushes atomic.Int32
	ft := &faultTransport{mode: "500", match: func(r *http.Request) bool {
		return r.URL.Path == "/keyknox/v2/push" && pushes.Add(1) == 2 // the second chunk
	}}
	alice := registered(t, srv, "alice", withFault(ft))
	ft.times.Store(1)
	members := fakeCards(t, "member", 40)
	if _, err := alice.CreateGroup(bg, gid, members...); err == nil {
		t.Fatal("CreateGroup with a failing second push")
	}
	if _, ok := srv.KeyknoxV2("alice", "group-sessions", sessionHex(gid), "0"); ok {
		t.Fatal("the half-made ticket was left in Keyknox")
	}
	if _, err := alice.GetGroup(bg, gid); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Fatalf("GetGroup: %v", err)
	}
	// It can be created again.
	if _, err := alice.CreateGroup(bg, gid, members...); err != nil {
		t.Fatal(err)
	}

	// A failing first push leaves nothing to take back.
	ft2 := &faultTransport{mode: "400", match: func(r *http.Request) bool { return r.URL.Path == "/keyknox/v2/push" }}
	bob := registered(t, srv, "bob", withFault(ft2))
	ft2.times.Store(1)
	var ae *e3.APIError
	if _, err := bob.CreateGroup(bg, gid); !errors.As(err, &ae) || ae.Code != 40000 {
		t.Fatalf("refused push: %v", err)
	}
	if _, err := bob.CreateGroup(bg, gid); err != nil {
		t.Fatal(err)
	}
}

func TestGroupAddFailsPartway(t *testing.T) {
	srv := newServer(t)
	var pushes atomic.Int32
	ft := &faultTransport{mode: "lost", match: func(r *http.Request) bool {
		return r.URL.Path == "/keyknox/v2/push" && pushes.Add(1) == 2
	}}
	alice := registered(t, srv, "alice", withFault(ft))
	registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	bobCard, carolCard := mustFind(t, alice, "bob"), mustFind(t, alice, "carol")
	g := groupOf(t, alice, gid, bobCard, carolCard)
	if err := g.Remove(bg, carolCard); err != nil { // epochs 0 and 1
		t.Fatal(err)
	}
	pushes.Store(0)
	ft.times.Store(1)
	if err := g.Add(bg, carolCard); err == nil {
		t.Fatal("Add with a lost answer")
	}
	if slices.Contains(g.Participants(), "carol") {
		t.Fatal("carol counted in after a failed Add")
	}
	if err := g.Add(bg, carolCard); err != nil {
		t.Fatalf("Add again: %v", err)
	}
	cg := loadOf(t, carol, gid, alice)
	if cg.Epoch() != 1 || !slices.Equal(cg.Participants(), []string{"alice", "bob", "carol"}) {
		t.Fatalf("carol: %v %v", cg, cg.Participants())
	}
}

func TestGroupSHA256Identifiers(t *testing.T) {
	srv := newServer(t)
	sha := func(c *e3.Config) { c.UseSHA256Identifiers = true }
	alice := registered(t, srv, "alice", sha)
	bob := registered(t, srv, "bob", sha)
	g := groupOf(t, alice, gid, mustFind(t, alice, "bob"))
	bgrp := loadOf(t, bob, gid, alice)
	mustGroupDecrypt(t, bgrp, mustGroupEncrypt(t, g, "sha"), mustFind(t, bob, "alice"), "sha")
	if err := g.Add(bg, fakeCards(t, "m", 30)...); err != nil {
		t.Fatal(err)
	}
	if err := bgrp.Update(bg); err != nil || len(bgrp.Participants()) != 32 {
		t.Fatalf("Update: %v, %d participants", err, len(bgrp.Participants()))
	}
	// The same key with the other scheme opens neither the stored group
	// nor the tickets.
	bob2 := newDevice(t, srv, "bob", func(c *e3.Config) { c.Keyring = bob.ring })
	if _, err := bob2.GetGroup(bg, gid); !errors.Is(err, e3.ErrGroupNotFound) {
		t.Fatalf("SHA-512 identifiers on a SHA-256 record: %v", err)
	}
	if _, err := bob2.LoadGroup(bg, gid, mustFind(t, bob2, "alice")); !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Fatalf("SHA-512 identifiers on SHA-256 tickets: %v", err)
	}
}
