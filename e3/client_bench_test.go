package e3_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
)

// BenchmarkClientAuth compares, in the same run, AuthEncrypt/AuthDecrypt
// through a Client (card cache warm, so no request) with their floor, the
// bare SignAndEncrypt/DecryptAndVerify of the crypto core on the same keys
// (sender and recipient keys, as the Client encrypts for both). The Client
// should add under 10% for a 200-byte message.
func BenchmarkClientAuth(b *testing.B) {
	srv := newServer(b)
	alice := registered(b, srv, "alice")
	bob := registered(b, srv, "bob")
	bobCard, aliceCard := mustFind(b, alice, "bob"), mustFind(b, bob, "alice")
	aliceKey, bobKey := alice.privateKey(b), bob.privateKey(b)
	msg := make([]byte, 200)
	rand.Read(msg)
	ct, err := alice.AuthEncrypt(msg, bobCard)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("encrypt/floor=SignAndEncrypt", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := e3.SignAndEncrypt(msg, aliceKey, bobCard.PublicKey, aliceKey.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encrypt/Client", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := alice.AuthEncrypt(msg, bobCard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encrypt/Client+FindUser", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			c, err := alice.FindUser(context.Background(), "bob")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := alice.AuthEncrypt(msg, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt/floor=DecryptAndVerify", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := e3.DecryptAndVerify(ct, bobKey, aliceCard.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt/Client", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := bob.AuthDecrypt(ct, aliceCard); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClientFindUsers looks up 100 registered identities: cold (every
// call searches, two requests of 50 to an in-process e3test server,
// verifying 100 cards) and warm (all from the card cache).
func BenchmarkClientFindUsers(b *testing.B) {
	srv := newServer(b)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%03d", i)
		registered(b, srv, ids[i])
	}
	d := newDevice(b, srv, "reader")
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			d.ForgetCachedUsers()
			if _, err := d.FindUsers(ctx, ids...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		if _, err := d.FindUsers(ctx, ids...); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := d.FindUsers(ctx, ids...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
