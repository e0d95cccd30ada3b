package e3_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
)

// The e3kit flow between two users, on an in-process e3test server: each
// registers (a key pair, a published card), finds the other, and they
// exchange end-to-end encrypted messages. Against Virgil's cloud, only the
// Config differs (APIURL "", a TokenProvider asking the app's backend for a
// Virgil JWT, a keyring.NewFile keyring).
func Example() {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()

	alice, err := e3.New(ctx, srv.ClientConfig("alice"))
	if err != nil {
		log.Fatal(err)
	}
	bob, err := e3.New(ctx, srv.ClientConfig("bob"))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []*e3.Client{alice, bob} {
		if err := c.Register(ctx); err != nil {
			log.Fatal(err)
		}
	}

	// alice encrypts for bob (and, implicitly, for herself).
	bobCard, err := alice.FindUser(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	ct, err := alice.AuthEncryptString("Lab results are in: all normal.", bobCard)
	if err != nil {
		log.Fatal(err)
	}

	// bob decrypts, checking that alice signed it.
	aliceCard, err := bob.FindUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	text, err := bob.AuthDecryptString(ct, aliceCard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(text)

	// Someone who is not registered cannot be written to.
	_, err = alice.FindUser(ctx, "carol")
	var nf *e3.UsersNotFoundError
	fmt.Println(errors.As(err, &nf), nf.Identities)
	// Output:
	// Lab results are in: all normal.
	// true [carol]
}

// Backing the private key up under a password and restoring it on a second
// device, which then reads the history. The password given to
// BackupPrivateKey should be derived from the user's password with
// DerivePasswords, so that the app's backend (which sees the login
// password) cannot open the backup.
func ExampleClient_BackupPrivateKey() {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()

	laptop, err := e3.New(ctx, srv.ClientConfig("alice"))
	if err != nil {
		log.Fatal(err)
	}
	if err := laptop.Register(ctx); err != nil {
		log.Fatal(err)
	}
	note, err := laptop.AuthEncrypt([]byte("note to self")) // no recipients: for alice only
	if err != nil {
		log.Fatal(err)
	}
	_, backupPassword := e3.DerivePasswords("the user's password")
	pw := base64.StdEncoding.EncodeToString(backupPassword)
	if err := laptop.BackupPrivateKey(ctx, pw); err != nil {
		log.Fatal(err)
	}

	// A new device: same identity, empty keyring.
	phone, err := e3.New(ctx, srv.ClientConfig("alice"))
	if err != nil {
		log.Fatal(err)
	}
	err = phone.Register(ctx)
	fmt.Println(errors.Is(err, e3.ErrAlreadyRegistered))
	err = phone.RestorePrivateKey(ctx, "a wrong guess")
	fmt.Println(errors.Is(err, e3.ErrWrongPassword))
	if err := phone.RestorePrivateKey(ctx, pw); err != nil {
		log.Fatal(err)
	}
	pt, err := phone.AuthDecrypt(note, nil) // nil: from alice herself
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))
	// Output:
	// true
	// true
	// note to self
}

// Messages stay readable after their sender rotates a lost key: decrypt
// with the time the message was sent, and the card the sender had then is
// used to verify it.
func ExampleClient_AuthDecryptAt() {
	ctx := context.Background()
	srv := e3test.NewServer()
	defer srv.Close()

	// Card creation times have whole seconds: for the example, alice's
	// clock jumps an hour ahead before she rotates.
	var ahead time.Duration
	cfg := srv.ClientConfig("alice")
	cfg.Now = func() time.Time { return time.Now().Add(ahead) }
	alice, err := e3.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	bob, err := e3.New(ctx, srv.ClientConfig("bob"))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []*e3.Client{alice, bob} {
		if err := c.Register(ctx); err != nil {
			log.Fatal(err)
		}
	}
	bobCard, err := alice.FindUser(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	sentAt := time.Now()
	ct, err := alice.AuthEncrypt([]byte("sent before the rotation"), bobCard)
	if err != nil {
		log.Fatal(err)
	}

	// alice loses her key (no backup) and rotates it.
	if err := alice.Cleanup(ctx); err != nil {
		log.Fatal(err)
	}
	ahead = time.Hour
	if err := alice.RotatePrivateKey(ctx); err != nil {
		log.Fatal(err)
	}

	aliceCard, err := bob.FindUser(ctx, "alice") // the new card, linked to the old one
	if err != nil {
		log.Fatal(err)
	}
	_, err = bob.AuthDecrypt(ct, aliceCard)
	fmt.Println(errors.Is(err, e3.ErrAuthFailed))
	pt, err := bob.AuthDecryptAt(ct, aliceCard, sentAt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))
	// Output:
	// true
	// sent before the rotation
}
