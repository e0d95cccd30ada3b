package interop

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/e3go/e3go/e3"
)

// TestDerivedBackupPasswordE3kit checks the backup password encoding that
// e3.DerivePasswords documents against e3kit-node 2.5.1: an e3kit-js app
// that backs up under backupPassword.toString('base64') of its own
// derivePasswords, and a Go app that backs up under
// base64.StdEncoding.EncodeToString of DerivePasswords' backup half,
// restore each other's backups; the raw bytes (what an e3kit-js app
// passing the Buffer itself uses) are a different password.
func TestDerivedBackupPasswordE3kit(t *testing.T) {
	e := newClientEnv(t)
	ctx := context.Background()
	const userPassword = "correct horse battery staple ✓"
	// The worker sends Buffers as Buffer.toString('base64'): this string is
	// exactly what an e3kit-js app passes to backupPrivateKey.
	var js struct {
		BackupPassword string `json:"backupPassword"`
	}
	mustCall(t, e.w, "e3kit_client.derivePasswords", map[string]any{"password": userPassword}, &js)
	_, backup := e3.DerivePasswords(userPassword)
	goPassword := base64.StdEncoding.EncodeToString(backup)
	if js.BackupPassword != goPassword {
		t.Fatalf("e3kit's backup password %q, Go's %q", js.BackupPassword, goPassword)
	}

	// e3kit backs up, Go restores.
	jsDana := e.jsUser("dana", false)
	e.must("register", jsDana, nil, nil)
	e.must("backupPrivateKey", jsDana, map[string]any{"password": js.BackupPassword}, nil)
	goDana := e.goClient("dana", false)
	if err := goDana.RestorePrivateKey(ctx, string(backup)); !errors.Is(err, e3.ErrWrongPassword) {
		t.Fatalf("restoring under the raw bytes: %v, want ErrWrongPassword", err)
	}
	if err := goDana.RestorePrivateKey(ctx, goPassword); err != nil {
		t.Fatalf("restoring e3kit's backup: %v", err)
	}
	// The restored key is dana's: e3kit reads what the Go device sends her.
	ct, err := goDana.AuthEncryptString("restored")
	if err != nil {
		t.Fatal(err)
	}
	e.jsFind(jsDana, "dana")
	checkJSPlaintexts(t, "e3kit dana", e.jsDecrypt(jsDana, "dana", time.Time{}, nil, []string{ct}), nil, []string{"restored"})

	// Go backs up, e3kit restores.
	goErin := e.goClient("erin", false)
	if err := goErin.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := goErin.BackupPrivateKey(ctx, goPassword); err != nil {
		t.Fatal(err)
	}
	jsErin := e.jsUser("erin", false)
	e.must("restorePrivateKey", jsErin, map[string]any{"password": js.BackupPassword}, nil)
}
