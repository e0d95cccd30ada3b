package e3_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
)

// BenchmarkGroupMessage compares, in the same run, a group message with
// AuthEncrypt to every member's card (the peer: what a chat without groups
// does), for a 200-byte message and 10, 50 and 100 participants. The group
// path costs the same whatever the number of participants (one AES-GCM
// and one Ed25519 signature; the same ct-bytes); AuthEncrypt costs one
// X25519 agreement and about 150 bytes per recipient.
func BenchmarkGroupMessage(b *testing.B) {
	srv := newServer(b)
	alice := registered(b, srv, "alice")
	bob := registered(b, srv, "bob")
	bobCard, aliceCard := mustFind(b, alice, "bob"), mustFind(b, bob, "alice")
	msg := make([]byte, 200)
	rand.Read(msg)
	for _, n := range []int{10, 50, 100} {
		cards := append([]*e3.Card{bobCard}, fakeCards(b, fmt.Sprintf("m%d", n), n-2)...) // n participants with alice
		g, err := alice.CreateGroup(bg, fmt.Sprintf("bench-group-%03d", n), cards...)
		if err != nil {
			b.Fatal(err)
		}
		bgrp := loadOf(b, bob, g.ID(), alice)
		gct := mustGroupEncrypt(b, g, string(msg))
		act, err := alice.AuthEncrypt(msg, cards...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("members=%d/encrypt/Group", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := g.Encrypt(msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(gct)), "ct-bytes")
		})
		b.Run(fmt.Sprintf("members=%d/encrypt/peer=AuthEncrypt", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := alice.AuthEncrypt(msg, cards...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(act)), "ct-bytes")
		})
		b.Run(fmt.Sprintf("members=%d/decrypt/Group", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := bgrp.Decrypt(gct, aliceCard); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("members=%d/decrypt/peer=AuthDecrypt", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := bob.AuthDecrypt(act, aliceCard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGroupMembership measures Add and Remove of one participant in a
// group of 10, 50 and 100 at epoch 0, over an in-process e3test server
// (Keyknox round trips included): Add costs a pull and a push per epoch,
// Remove a ticket encrypted for every remaining participant (pushed in
// chunks of 27) and a reset. Each iteration starts from a fresh group
// (setup not timed).
func BenchmarkGroupMembership(b *testing.B) {
	srv := newServer(b)
	alice := registered(b, srv, "alice")
	var ids []string
	for i := 0; i < 100; i++ {
		registered(b, srv, fmt.Sprintf("u-%03d", i))
		ids = append(ids, fmt.Sprintf("u-%03d", i))
	}
	found, err := alice.FindUsers(bg, ids...)
	if err != nil {
		b.Fatal(err)
	}
	cards := make([]*e3.Card, len(ids))
	for i, id := range ids {
		cards[i] = found[id]
	}
	seq := 0
	fresh := func(b *testing.B, n int) *e3.Group {
		seq++
		g, err := alice.CreateGroup(bg, fmt.Sprintf("bench-membership-%d", seq), cards[:n-1]...)
		if err != nil {
			b.Fatal(err)
		}
		return g
	}
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("members=%d/Add", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				g := fresh(b, n-1) // n with the one added
				b.StartTimer()
				if err := g.Add(bg, cards[n-1]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("members=%d/Remove", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				g := fresh(b, n)
				b.StartTimer()
				if err := g.Remove(bg, cards[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
