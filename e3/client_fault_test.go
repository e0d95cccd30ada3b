package e3_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/keyring"
)

// checkRegisteredWithLocalKey asserts the identity has exactly one active
// card, whose key is the device's local key, and no put-aside entry.
func checkRegisteredWithLocalKey(t *testing.T, srv *e3test.Server, d *device) {
	t.Helper()
	cards := activeCards(srv, d.Identity())
	if len(cards) != 1 {
		t.Fatalf("%d active cards, want 1", len(cards))
	}
	card := mustFind(t, d, d.Identity())
	if card.ID != cards[0].ID || !card.PublicKey.Equal(d.privateKey(t).Public()) {
		t.Fatal("the local key is not the card's")
	}
	if names := d.entryNames(t); !slices.Equal(names, []string{d.Identity()}) {
		t.Fatalf("keyring entries %v, want only the key", names)
	}
	// And the Client uses it.
	ct, err := d.AuthEncrypt([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AuthDecrypt(ct, card); err != nil {
		t.Fatal(err)
	}
}

// checkNothingLeft asserts no card, no key, no put-aside entry.
func checkNothingLeft(t *testing.T, srv *e3test.Server, d *device) {
	t.Helper()
	if n := len(activeCards(srv, d.Identity())); n != 0 {
		t.Fatalf("%d cards published", n)
	}
	if names := d.entryNames(t); len(names) != 0 {
		t.Fatalf("keyring entries left: %v", names)
	}
	if has, err := d.HasLocalPrivateKey(bg); has || err != nil {
		t.Fatalf("HasLocalPrivateKey = %v, %v", has, err)
	}
}

func TestRegisterFaults(t *testing.T) {
	t.Run("publish 5xx, nothing published", func(t *testing.T) {
		srv := newServer(t)
		f := &faultTransport{match: isPublish, mode: "500"}
		f.times.Store(1)
		d := newDevice(t, srv, "alice", withFault(f))
		err := d.Register(bg)
		var ae *e3.APIError
		if !errors.As(err, &ae) || ae.StatusCode != 500 {
			t.Fatalf("Register: %v, want the 500", err)
		}
		checkNothingLeft(t, srv, d)
		if ev := d.audit.last(t, e3.AuditRegister); ev.Err == nil {
			t.Fatal("failed Register audited as success")
		}
		if err := d.Register(bg); err != nil {
			t.Fatalf("retry: %v", err)
		}
		checkRegisteredWithLocalKey(t, srv, d)
	})

	t.Run("publish rejected (4xx)", func(t *testing.T) {
		srv := newServer(t)
		f := &faultTransport{match: isPublish, mode: "400"}
		f.times.Store(1)
		d := newDevice(t, srv, "alice", withFault(f))
		n := len(srv.Requests())
		err := d.Register(bg)
		var ae *e3.APIError
		if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != 40000 {
			t.Fatalf("Register: %v", err)
		}
		// A rejection is final: no follow-up search.
		checkSequence(t, "rejected Register", requestsSince(srv, n), "POST /card/v5/actions/search")
		checkNothingLeft(t, srv, d)
	})

	t.Run("e3test 5xx on publish", func(t *testing.T) {
		srv := newServer(t)
		d := newDevice(t, srv, "alice")
		// The search passes, the publish gets the fault (e3test matches
		// by prefix, so let the first search through with a delay-only
		// fault).
		srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5", Delay: time.Millisecond})
		srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5", Status: http.StatusBadGateway})
		err := d.Register(bg)
		var ae *e3.APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway {
			t.Fatalf("Register: %v", err)
		}
		checkNothingLeft(t, srv, d)
	})

	t.Run("answer lost after the card was stored", func(t *testing.T) {
		srv := newServer(t)
		f := &faultTransport{match: isPublish, mode: "lost"}
		f.times.Store(1)
		d := newDevice(t, srv, "alice", withFault(f))
		// The Client searches, sees its card: registration succeeded.
		if err := d.Register(bg); err != nil {
			t.Fatalf("Register with a lost answer: %v", err)
		}
		if f.hits.Load() != 1 {
			t.Fatal("the fault did not fire")
		}
		checkRegisteredWithLocalKey(t, srv, d)
	})

	t.Run("answer lost and the check fails", func(t *testing.T) {
		srv := newServer(t)
		lost := &faultTransport{match: isPublish, mode: "lost"}
		lost.times.Store(1)
		d := newDevice(t, srv, "alice", withFault(lost))
		// First search passes (delay-only fault), the check search after
		// the lost publish fails.
		srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5/actions/search", Delay: time.Millisecond})
		srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5/actions/search", Status: http.StatusServiceUnavailable})
		err := d.Register(bg)
		if err == nil || !strings.Contains(err.Error(), "call the method again") {
			t.Fatalf("Register: %v, want an error saying to call again", err)
		}
		// Published, key kept aside (not yet the local key).
		if n := len(activeCards(srv, "alice")); n != 1 {
			t.Fatalf("%d cards", n)
		}
		if has, _ := d.HasLocalPrivateKey(bg); has {
			t.Fatal("the key became the local key before the card was confirmed")
		}
		if names := d.entryNames(t); !slices.Equal(names, []string{"alice%pending"}) {
			t.Fatalf("keyring entries %v, want the put-aside key", names)
		}
		// Calling again finishes: no second card.
		if err := d.Register(bg); err != nil {
			t.Fatalf("second Register: %v", err)
		}
		checkRegisteredWithLocalKey(t, srv, d)
	})

	t.Run("timeout mid-publish", func(t *testing.T) {
		srv := newServer(t)
		f := &faultTransport{match: isPublish, mode: "lost-until-done"}
		f.times.Store(1)
		d := newDevice(t, srv, "alice", withFault(f))
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		defer cancel()
		err := d.Register(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Register: %v, want the deadline", err)
		}
		if has, _ := d.HasLocalPrivateKey(bg); has {
			t.Fatal("local key stored without confirmation")
		}
		// The identity looks registered to others; this device finishes
		// on the next call.
		if err := newDevice(t, srv, "alice").Register(bg); !errors.Is(err, e3.ErrAlreadyRegistered) {
			t.Fatalf("other device: %v", err)
		}
		if err := d.Register(bg); err != nil {
			t.Fatalf("Register again: %v", err)
		}
		checkRegisteredWithLocalKey(t, srv, d)
	})

	t.Run("a put-aside key that was never published is dropped", func(t *testing.T) {
		srv := newServer(t)
		d := newDevice(t, srv, "alice")
		// As left by a Register whose publish never reached the service.
		k, err := e3.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ring.Put(bg, "alice%pending", []byte(encodeB64(k.Export())), nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Register(bg); err != nil {
			t.Fatal(err)
		}
		checkRegisteredWithLocalKey(t, srv, d)
		if mustFind(t, d, "alice").PublicKey.Equal(k.Public()) {
			t.Fatal("a stale put-aside key was published")
		}
	})
}

func TestRotateFaults(t *testing.T) {
	srv := newServer(t)
	f := &faultTransport{match: isPublish, mode: "500"}
	d := registered(t, srv, "alice", withFault(f))
	old := mustFind(t, d, "alice")
	if err := d.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	f.times.Store(1)
	if err := d.RotatePrivateKey(bg); err == nil {
		t.Fatal("rotate with a failing publish succeeded")
	}
	if cards := activeCards(srv, "alice"); len(cards) != 1 || cards[0].ID != old.ID {
		t.Fatal("the old card is not the active one after a failed rotation")
	}
	if names := d.entryNames(t); len(names) != 0 {
		t.Fatalf("entries left: %v", names)
	}
	lost := &faultTransport{match: isPublish, mode: "lost"}
	lost.times.Store(1)
	d2 := newDevice(t, srv, "alice", withFault(lost))
	if err := d2.RotatePrivateKey(bg); err != nil {
		t.Fatalf("rotate with a lost answer: %v", err)
	}
	checkRegisteredWithLocalKey(t, srv, d2)
	if c := mustFind(t, d2, "alice"); c.PreviousCardID != old.ID {
		t.Fatal("the new card does not replace the old one")
	}
}

func TestUnregisterFaults(t *testing.T) {
	srv := newServer(t)
	d := registered(t, srv, "alice")
	srv.InjectFault(e3test.Fault{Method: http.MethodPost, PathPrefix: "/card/v5/actions/revoke/", Status: http.StatusInternalServerError})
	if err := d.Unregister(bg); err == nil {
		t.Fatal("Unregister with a failing revoke succeeded")
	}
	if has, _ := d.HasLocalPrivateKey(bg); !has {
		t.Fatal("the local key was deleted although the card is still active")
	}
	if ev := d.audit.last(t, e3.AuditUnregister); ev.Err == nil || ev.CardID == "" {
		t.Fatalf("audit %+v", ev)
	}
	if err := d.Unregister(bg); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, srv, d)
}

func TestBackupFaults(t *testing.T) {
	srv := newServer(t)
	d := registered(t, srv, "alice")
	srv.InjectFault(e3test.Fault{Method: http.MethodPut, PathPrefix: "/keyknox/v1", Status: http.StatusInternalServerError})
	if err := d.BackupPrivateKey(bg, "pw"); err == nil {
		t.Fatal("backup with a failing push succeeded")
	}
	if rec, ok := srv.KeyknoxV1("alice"); ok && len(rec.Value) != 0 {
		t.Fatal("something was stored")
	}
	if has, _ := d.HasLocalPrivateKey(bg); !has {
		t.Fatal("local key lost")
	}
	if err := d.BackupPrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}

	// Restore: Keyknox down, then too slow for the caller.
	phone := newDevice(t, srv, "alice")
	srv.InjectFault(e3test.Fault{Method: http.MethodGet, PathPrefix: "/keyknox/v1", Status: http.StatusServiceUnavailable})
	var ae *e3.APIError
	if err := phone.RestorePrivateKey(bg, "pw"); !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("restore with Keyknox down: %v", err)
	}
	srv.InjectFault(e3test.Fault{Method: http.MethodGet, PathPrefix: "/keyknox/v1", Delay: 2 * time.Second})
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if err := phone.RestorePrivateKey(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("restore past its deadline: %v", err)
	}
	checkNothingLeftLocally(t, phone)

	// BrainKey throttling: one throttled answer is retried, as e3kit does.
	srv.ThrottleBrainKey(1)
	if err := phone.RestorePrivateKey(bg, "pw"); err != nil {
		t.Fatalf("restore with one throttled BrainKey answer: %v", err)
	}
	if err := phone.Cleanup(bg); err != nil {
		t.Fatal(err)
	}
	srv.ThrottleBrainKey(2)
	if err := phone.RestorePrivateKey(bg, "pw"); !errors.As(err, &ae) || ae.Code != 60007 {
		t.Fatalf("restore throttled twice: %v, want code 60007", err)
	}

	// A concurrent change between read and write: the write carries the
	// hash read, the server refuses it (50010), nothing is lost.
	srv.InjectFault(e3test.Fault{Method: http.MethodPut, PathPrefix: "/keyknox/v1", Status: http.StatusConflict, Code: 50010, Message: "invalid previous hash"})
	if err := d.ChangePassword(bg, "pw", "pw2"); !errors.As(err, &ae) || ae.Code != 50010 {
		t.Fatalf("ChangePassword with a conflicting write: %v", err)
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKey(bg, "pw"); err != nil {
		t.Fatalf("old password after a failed change: %v", err)
	}
}

func checkNothingLeftLocally(t *testing.T, d *device) {
	t.Helper()
	if names := d.entryNames(t); len(names) != 0 {
		t.Fatalf("keyring entries: %v", names)
	}
}

func TestClientKeyringFile(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	fast := func(o *keyring.FileOptions) { o.Scrypt = keyring.ScryptParams{LogN: 10, R: 8, P: 1} }
	open := func() keyring.Store {
		s, err := keyring.NewFile(dir, []byte("device passphrase"), fast)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	onFile := func(c *e3.Config) { c.Keyring = open() }
	d := registered(t, srv, "alice", onFile)
	ct, err := d.AuthEncrypt([]byte("kept across restarts"))
	if err != nil {
		t.Fatal(err)
	}
	// A restart: the key comes back from the file.
	d2 := newDevice(t, srv, "alice", onFile)
	if has, err := d2.HasLocalPrivateKey(bg); !has || err != nil {
		t.Fatalf("after restart: %v, %v", has, err)
	}
	if pt, err := d2.AuthDecrypt(ct, nil); err != nil || string(pt) != "kept across restarts" {
		t.Fatal(err)
	}

	entries, err := filepath.Glob(filepath.Join(dir, "*.e3ke"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("entry files %v, %v", entries, err)
	}
	good, err := os.ReadFile(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	newClient := func() error {
		cfg := srv.ClientConfig("alice")
		cfg.Keyring = open()
		_, err := e3.New(bg, cfg)
		return err
	}

	// Truncated entry file: New says so.
	if err := os.WriteFile(entries[0], good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newClient(); !errors.Is(err, keyring.ErrCorrupted) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("truncated key file: %v, want keyring.ErrCorrupted naming alice", err)
	}
	// Written by another (future) version: the version byte.
	future := append([]byte(nil), good...)
	future[5] = 0x7f
	if err := os.WriteFile(entries[0], future, 0o600); err != nil {
		t.Fatal(err)
	}
	var ve *keyring.VersionError
	if err := newClient(); !errors.As(err, &ve) {
		t.Fatalf("key file of another version: %v, want *keyring.VersionError", err)
	}
	// The entry holds something that is not a key (another program wrote
	// it).
	if err := os.WriteFile(entries[0], good, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open()
	if err := s.Put(bg, "alice", []byte("not a private key"), nil); err != nil {
		t.Fatal(err)
	}
	if err := newClient(); !errors.Is(err, e3.ErrMalformed) {
		t.Fatalf("entry that is not a key: %v, want ErrMalformed", err)
	}
	// A truncated header: the keyring itself refuses to open.
	hdr := filepath.Join(dir, "keyring.e3kr")
	h, _ := os.ReadFile(hdr)
	os.WriteFile(hdr, h[:40], 0o600)
	if _, err := keyring.NewFile(dir, []byte("device passphrase"), fast); !errors.Is(err, keyring.ErrCorrupted) {
		t.Fatalf("truncated header: %v", err)
	}
}
