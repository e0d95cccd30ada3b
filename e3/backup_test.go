package e3_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

func TestBackupRestoreV1(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	// History: messages bob sent alice before her second device exists.
	var history [][]byte
	for _, m := range []string{"first", "second", "third"} {
		ct, err := bob.AuthEncrypt([]byte(m), mustFind(t, bob, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, ct)
	}
	_, backupPwd := e3.DerivePasswords("correct horse battery staple")
	pwd := base64.StdEncoding.EncodeToString(backupPwd)

	n := len(srv.Requests())
	if err := alice.BackupPrivateKey(bg, pwd); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "BackupPrivateKey", requestsSince(srv, n), "POST /pythia/v1/brainkey", "GET /keyknox/v1", "PUT /keyknox/v1")
	if ev := alice.audit.last(t, e3.AuditBackup); ev.Err != nil || ev.KeyName != "" {
		t.Fatalf("backup audit %+v", ev)
	}
	rec, ok := srv.KeyknoxV1("alice")
	if !ok || len(rec.Meta) == 0 || len(rec.Value) == 0 {
		t.Fatal("nothing stored in Keyknox v1")
	}
	if bytes.Contains(rec.Value, alice.privateKey(t).Export()) || bytes.Contains(rec.Value, []byte(base64.StdEncoding.EncodeToString(alice.privateKey(t).Export()))) {
		t.Fatal("the private key is stored in clear")
	}

	n = len(srv.Requests())
	if err := alice.BackupPrivateKey(bg, pwd); !errors.Is(err, e3.ErrBackupExists) {
		t.Fatalf("second backup: %v, want ErrBackupExists", err)
	}
	checkSequence(t, "BackupPrivateKey (exists)", requestsSince(srv, n), "POST /pythia/v1/brainkey", "GET /keyknox/v1")
	if err := alice.BackupPrivateKey(bg, "another password"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("backup under another password: %v, want ErrWrongPassword", err)
	}

	// A second device: wrong password, then the right one, then history.
	phone := newDevice(t, srv, "alice")
	n = len(srv.Requests())
	if err := phone.RestorePrivateKey(bg, "wrong"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	checkSequence(t, "RestorePrivateKey", requestsSince(srv, n), "POST /pythia/v1/brainkey", "GET /keyknox/v1")
	if ev := phone.audit.last(t, e3.AuditRestore); !errors.Is(ev.Err, e3.ErrWrongPassword) {
		t.Fatalf("failed restore audited as %+v", ev)
	}
	if has, _ := phone.HasLocalPrivateKey(bg); has {
		t.Fatal("a failed restore stored a key")
	}
	if err := phone.RestorePrivateKey(bg, pwd); err != nil {
		t.Fatal(err)
	}
	if !phone.privateKey(t).Equal(alice.privateKey(t)) {
		t.Fatal("restored another key")
	}
	bobCard := mustFind(t, phone, "bob")
	for i, ct := range history {
		if pt, err := phone.AuthDecrypt(ct, bobCard); err != nil || string(pt) != []string{"first", "second", "third"}[i] {
			t.Fatalf("history %d on the second device: %v", i, err)
		}
	}
	// Restore with a key present: refused before any request.
	n = len(srv.Requests())
	if err := phone.RestorePrivateKey(bg, pwd); !errors.Is(err, e3.ErrLocalKeyExists) {
		t.Fatalf("restore over a key: %v", err)
	}
	if got := requestsSince(srv, n); len(got) != 0 {
		t.Fatalf("refused restore sent %v", got)
	}

	// Change the password.
	n = len(srv.Requests())
	if err := alice.ChangePassword(bg, pwd, "new password"); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "ChangePassword", requestsSince(srv, n), "POST /pythia/v1/brainkey", "GET /keyknox/v1",
		"POST /pythia/v1/brainkey", "GET /keyknox/v1", "PUT /keyknox/v1")
	if err := alice.ChangePassword(bg, pwd, "x"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("ChangePassword with the old password: %v", err)
	}
	laptop := newDevice(t, srv, "alice")
	if err := laptop.RestorePrivateKey(bg, pwd); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("old password after change: %v", err)
	}
	if err := laptop.RestorePrivateKey(bg, "new password"); err != nil {
		t.Fatal(err)
	}

	// Reset.
	n = len(srv.Requests())
	if err := alice.ResetPrivateKeyBackup(bg); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "ResetPrivateKeyBackup", requestsSince(srv, n), "POST /keyknox/v1/reset")
	if err := newDevice(t, srv, "alice").RestorePrivateKey(bg, "new password"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("restore after reset: %v, want ErrNoBackup", err)
	}
	if err := alice.ChangePassword(bg, "new password", "x"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("ChangePassword without a backup: %v, want ErrNoBackup", err)
	}
	if err := alice.ResetPrivateKeyBackup(bg); err != nil {
		t.Fatalf("reset without a backup: %v", err)
	}

	// Bad arguments.
	if err := alice.BackupPrivateKey(bg, ""); !errors.Is(err, e3.ErrInvalidPassword) {
		t.Fatalf("empty password: %v", err)
	}
	if err := alice.BackupPrivateKey(bg, strings.Repeat("p", 129)); !errors.Is(err, e3.ErrInvalidPassword) {
		t.Fatalf("129-byte password: %v", err)
	}
	if err := newDevice(t, srv, "carol").BackupPrivateKey(bg, pwd); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Fatalf("backup without a key: %v", err)
	}
	// Audit events never carry the password.
	for _, d := range []*device{alice, phone, laptop} {
		for _, ev := range d.audit.all() {
			if s := ev.LogValue().String(); strings.Contains(s, pwd) || strings.Contains(s, "new password") {
				t.Fatalf("audit leaks a password: %s", s)
			}
		}
	}
}

func TestBackupNamed(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	n := len(srv.Requests())
	if err := alice.BackupPrivateKeyNamed(bg, "laptop", "pw-laptop"); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "BackupPrivateKeyNamed", requestsSince(srv, n), "POST /pythia/v1/brainkey", "POST /keyknox/v2/pull", "POST /keyknox/v2/push")
	if err := alice.BackupPrivateKeyNamed(bg, "phone", "pw-phone"); err != nil {
		t.Fatal(err)
	}
	rec, ok := srv.KeyknoxV2("alice", "e3kit", "backup", "laptop")
	if !ok || !slicesEqual(rec.Identities(), []string{"alice"}) {
		t.Fatalf("v2 entry %+v", rec)
	}
	if ev := alice.audit.last(t, e3.AuditBackup); ev.KeyName != "phone" || ev.Err != nil {
		t.Fatalf("audit %+v", ev)
	}
	// Same name, same password: replaced, as e3kit does. Another password:
	// refused.
	if err := alice.BackupPrivateKeyNamed(bg, "laptop", "pw-laptop"); err != nil {
		t.Fatalf("re-backup with the same password: %v", err)
	}
	if err := alice.BackupPrivateKeyNamed(bg, "laptop", "other"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("re-backup with another password: %v", err)
	}
	// The v1 backup is independent.
	if err := newDevice(t, srv, "alice").RestorePrivateKey(bg, "pw-laptop"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("v1 restore with only named backups: %v", err)
	}

	for name, pw := range map[string]string{"laptop": "pw-laptop", "phone": "pw-phone"} {
		d := newDevice(t, srv, "alice")
		if err := d.RestorePrivateKeyNamed(bg, name, "pw-phone-typo"); !errors.Is(err, e3.ErrWrongPassword) {
			t.Fatalf("%s, wrong password: %v", name, err)
		}
		n := len(srv.Requests())
		if err := d.RestorePrivateKeyNamed(bg, name, pw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSequence(t, "RestorePrivateKeyNamed", requestsSince(srv, n), "POST /pythia/v1/brainkey", "POST /keyknox/v2/pull")
		if !d.privateKey(t).Equal(alice.privateKey(t)) {
			t.Fatal("restored another key")
		}
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKeyNamed(bg, "tablet", "pw"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("unknown name: %v, want ErrNoBackup", err)
	}

	n = len(srv.Requests())
	if err := alice.ChangePasswordNamed(bg, "laptop", "pw-laptop", "pw-laptop-2"); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "ChangePasswordNamed", requestsSince(srv, n), "POST /pythia/v1/brainkey", "POST /pythia/v1/brainkey",
		"POST /pythia/v1/brainkey", "POST /keyknox/v2/pull", "POST /keyknox/v2/push")
	if err := alice.ChangePasswordNamed(bg, "laptop", "pw-laptop", "x"); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("old password after change: %v", err)
	}
	if err := alice.ChangePasswordNamed(bg, "tablet", "a", "b"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("change of a missing backup: %v", err)
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKeyNamed(bg, "laptop", "pw-laptop-2"); err != nil {
		t.Fatal(err)
	}

	n = len(srv.Requests())
	if err := alice.ResetPrivateKeyBackupNamed(bg, "laptop"); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, "ResetPrivateKeyBackupNamed", requestsSince(srv, n), "POST /keyknox/v2/reset")
	if err := newDevice(t, srv, "alice").RestorePrivateKeyNamed(bg, "laptop", "pw-laptop-2"); !errors.Is(err, e3.ErrNoBackup) {
		t.Fatalf("restore after reset: %v", err)
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKeyNamed(bg, "phone", "pw-phone"); err != nil {
		t.Fatalf("the other named backup is gone too: %v", err)
	}
	if err := alice.BackupPrivateKeyNamed(bg, "", "pw"); err == nil {
		t.Fatal("empty backup name accepted")
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// tamperV1 flips a byte of the stored v1 value (or meta), as a hostile
// server or anyone holding alice's token could.
func tamperV1(t *testing.T, srv *e3test.Server, identity string, meta bool, at int) {
	t.Helper()
	st, hash, body := rawCall(t, srv, identity, http.MethodGet, "/keyknox/v1", nil, "")
	if st != http.StatusOK {
		t.Fatalf("pull: %d", st)
	}
	var v struct{ Meta, Value []byte }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	target := v.Value
	if meta {
		target = v.Meta
	}
	if at < 0 {
		at += len(target)
	}
	target[at] ^= 0x01
	if st, _, b := rawCall(t, srv, identity, http.MethodPut, "/keyknox/v1", map[string][]byte{"meta": v.Meta, "value": v.Value}, hash); st != http.StatusOK {
		t.Fatalf("push: %d %s", st, b)
	}
}

func TestBackupTampered(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	if err := alice.BackupPrivateKey(bg, "pw"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		meta bool
		at   int
	}{{"value start", false, 0}, {"value end (tag)", false, -1}, {"meta end (signature)", true, -3}} {
		t.Run(tc.name, func(t *testing.T) {
			tamperV1(t, srv, "alice", tc.meta, tc.at)
			d := newDevice(t, srv, "alice")
			err := d.RestorePrivateKey(bg, "pw")
			if !errors.Is(err, e3.ErrBackupCorrupted) && !errors.Is(err, e3.ErrWrongPassword) {
				t.Fatalf("restore of a tampered backup: %v", err)
			}
			if !errors.Is(err, e3.ErrBackupCorrupted) && !tc.meta {
				t.Fatalf("a flipped value byte should read as damage, got %v", err)
			}
			if names := d.entryNames(t); len(names) != 0 {
				t.Fatalf("keyring entries after a failed restore: %v", names)
			}
			if ev := d.audit.last(t, e3.AuditRestore); ev.Err == nil {
				t.Fatal("failed restore audited as success")
			}
			tamperV1(t, srv, "alice", tc.meta, tc.at) // undo
			if err := newDevice(t, srv, "alice").RestorePrivateKey(bg, "pw"); err != nil {
				t.Fatalf("after undoing: %v", err)
			}
		})
	}

	// Named backup: a flipped value byte.
	if err := alice.BackupPrivateKeyNamed(bg, "n", "pw"); err != nil {
		t.Fatal(err)
	}
	st, hash, body := rawCall(t, srv, "alice", http.MethodPost, "/keyknox/v2/pull", map[string]string{"root": "e3kit", "path": "backup", "key": "n", "identity": "alice"}, "")
	if st != http.StatusOK {
		t.Fatal(st)
	}
	var v struct{ Meta, Value []byte }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	v.Value[len(v.Value)/2] ^= 0x80
	if st, _, b := rawCall(t, srv, "alice", http.MethodPost, "/keyknox/v2/push",
		map[string]any{"root": "e3kit", "path": "backup", "key": "n", "identities": []string{"alice"}, "meta": v.Meta, "value": v.Value}, hash); st != http.StatusOK {
		t.Fatalf("push: %d %s", st, b)
	}
	if err := newDevice(t, srv, "alice").RestorePrivateKeyNamed(bg, "n", "pw"); !errors.Is(err, e3.ErrBackupCorrupted) {
		t.Fatalf("tampered named backup: %v, want ErrBackupCorrupted", err)
	}
}
