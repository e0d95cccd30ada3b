package e3_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/e3go/e3go/e3"
)

// TestGroupConcurrent runs encryption, decryption, updates, membership
// changes and lookups of one group at once (go test -race -run Group).
func TestGroupConcurrent(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	carol := registered(t, srv, "carol")
	registered(t, srv, "dave")
	daveCard := mustFind(t, alice, "dave")
	g := groupOf(t, alice, gid, mustFind(t, alice, "bob"), mustFind(t, alice, "carol"), daveCard)
	bgrp := loadOf(t, bob, gid, alice)
	cgrp := loadOf(t, carol, gid, alice)
	aliceForBob := mustFind(t, bob, "alice")

	const rounds = 40
	msgs := make(chan []byte, rounds)
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	run(func() error { // alice sends
		defer close(msgs)
		for i := 0; i < rounds; i++ {
			ct, err := g.Encrypt([]byte(fmt.Sprint("message ", i)))
			if err != nil {
				return err
			}
			msgs <- ct
		}
		return nil
	})
	run(func() error { // bob reads, updating when the group moved on
		i := 0
		for ct := range msgs {
			pt, err := bgrp.Decrypt(ct, aliceForBob)
			if errors.Is(err, e3.ErrGroupOutdated) {
				if err := bgrp.Update(bg); err != nil {
					return err
				}
				pt, err = bgrp.Decrypt(ct, aliceForBob)
			}
			if err != nil {
				return fmt.Errorf("bob, message %d: %w", i, err)
			}
			if string(pt) != fmt.Sprint("message ", i) {
				return fmt.Errorf("bob, message %d: %q", i, pt)
			}
			i++
		}
		return nil
	})
	run(func() error { // alice removes and adds dave
		for i := 0; i < 5; i++ {
			if err := g.Remove(bg, daveCard); err != nil {
				return err
			}
			if err := g.Add(bg, daveCard); err != nil {
				return err
			}
		}
		return nil
	})
	run(func() error { // carol updates and looks the group up
		for i := 0; i < 10; i++ {
			if err := cgrp.Update(bg); err != nil {
				return err
			}
			g2, err := carol.GetGroup(bg, gid)
			if err != nil {
				return err
			}
			if g2 != cgrp {
				return errors.New("GetGroup returned another Group")
			}
		}
		return nil
	})
	run(func() error { // readers of the state
		for i := 0; i < 200; i++ {
			_ = g.Participants()
			_ = g.Epoch()
			_ = g.String()
			_ = bgrp.Participants()
			_ = cgrp.Epoch()
		}
		return nil
	})
	run(func() error { // the same group loaded again while in use
		for i := 0; i < 5; i++ {
			g2, err := bob.LoadGroup(bg, gid, aliceForBob)
			if err != nil {
				return err
			}
			if g2 != bgrp {
				return errors.New("LoadGroup returned another Group")
			}
		}
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g.Epoch() != 5 || len(g.Participants()) != 4 {
		t.Errorf("after the changes: epoch %d, %v", g.Epoch(), g.Participants())
	}
}

func TestGroupAudit(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	registered(t, srv, "carol")
	bobCard, carolCard := mustFind(t, alice, "bob"), mustFind(t, alice, "carol")
	g := groupOf(t, alice, gid, bobCard)
	if err := g.Add(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	if err := g.ReAdd(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(bg, carolCard); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(bg, carolCard); err == nil {
		t.Fatal("second Remove")
	}
	if err := alice.DeleteGroup(bg, gid); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ     e3.AuditEventType
		peer    string
		failing bool
	}{
		{e3.AuditGroupCreate, "", false},
		{e3.AuditGroupAdd, "carol", false},
		{e3.AuditGroupReAdd, "carol", false},
		{e3.AuditGroupRemove, "carol", false},
		{e3.AuditGroupRemove, "", true},
		{e3.AuditGroupDelete, "", false},
	}
	var got []e3.AuditEvent
	for _, e := range alice.audit.all() {
		if e.GroupID != "" {
			got = append(got, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d group events: %+v", len(got), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Type != w.typ || e.Peer != w.peer || (e.Err != nil) != w.failing || e.GroupID != gid || e.Identity != "alice" {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if got[1].CardID != carolCard.ID {
		t.Errorf("add event card %q", got[1].CardID)
	}

	// A failed decryption is reported with the group, never the message.
	g2 := groupOf(t, alice, "second-group-id", bobCard)
	bg2 := loadOf(t, bob, "second-group-id", alice)
	ct := mustGroupEncrypt(t, g2, "secret words")
	ct[len(ct)-1] ^= 1
	if _, err := bg2.Decrypt(ct, mustFind(t, bob, "alice")); !errors.Is(err, e3.ErrAuthFailed) {
		t.Fatal(err)
	}
	ev := bob.audit.last(t, e3.AuditDecryptFailed)
	if ev.GroupID != "second-group-id" || ev.Peer != "alice" {
		t.Errorf("decrypt failure event %+v", ev)
	}
}

func FuzzGroupDecrypt(f *testing.F) {
	srv := newServer(f)
	alice := registered(f, srv, "alice", func(c *e3.Config) { c.Audit = nil }) // no growing event log
	g := groupOf(f, alice, gid)
	self := mustFind(f, alice, "alice")
	for _, s := range []string{"", "x", string(make([]byte, 200))} {
		f.Add(mustGroupEncrypt(f, g, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := g.Decrypt(b, self)
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext with an error")
			}
			if !errors.Is(err, e3.ErrAuthFailed) && !errors.Is(err, e3.ErrMalformed) && !errors.Is(err, e3.ErrNotFromGroup) &&
				!errors.Is(err, e3.ErrGroupOutdated) && !errors.Is(err, e3.ErrUnknownEpoch) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
