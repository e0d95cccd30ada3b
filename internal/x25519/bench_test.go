package x25519

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"testing"
)

// The benchmarks compare, in the same run, against crypto/ecdh (the peer):
// X25519 vs ecdh ECDH, PublicKey vs ecdh.NewPrivateKey (which runs a ladder
// for the public key), and the per-recipient ECIES key agreement both ways.

func benchKeys(b *testing.B) (scalar, peer [Size]byte, priv *ecdh.PrivateKey, pub *ecdh.PublicKey) {
	b.Helper()
	rand.Read(scalar[:])
	var other [Size]byte
	rand.Read(other[:])
	peer = PublicKey(&other)
	var err error
	if priv, err = ecdh.X25519().NewPrivateKey(scalar[:]); err != nil {
		b.Fatal(err)
	}
	if pub, err = ecdh.X25519().NewPublicKey(peer[:]); err != nil {
		b.Fatal(err)
	}
	return
}

func BenchmarkX25519(b *testing.B) {
	scalar, peer, priv, pub := benchKeys(b)
	b.Run("ladder", func(b *testing.B) {
		for b.Loop() {
			if _, err := X25519(&scalar, &peer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdh.ECDH", func(b *testing.B) {
		for b.Loop() {
			if _, err := priv.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPublicKey(b *testing.B) {
	scalar, _, _, _ := benchKeys(b)
	b.Run("edwards", func(b *testing.B) {
		for b.Loop() {
			PublicKey(&scalar)
		}
	})
	b.Run("ecdh.NewPrivateKey", func(b *testing.B) {
		for b.Loop() {
			priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
			if err != nil {
				b.Fatal(err)
			}
			priv.PublicKey()
		}
	})
}

// BenchmarkPerRecipient is one ECIES key agreement: a fresh ephemeral key and
// its shared secret with the recipient.
func BenchmarkPerRecipient(b *testing.B) {
	_, peer, _, pub := benchKeys(b)
	b.Run("X25519/ecdh.GenerateKey+ECDH", func(b *testing.B) {
		for b.Loop() {
			eph, err := ecdh.X25519().GenerateKey(rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			eph.PublicKey()
			if _, err := eph.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519/PublicKey+ladder", func(b *testing.B) {
		var eph [Size]byte
		for b.Loop() {
			rand.Read(eph[:])
			PublicKey(&eph)
			if _, err := X25519(&eph, &peer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Ed25519eph/stdlib", func(b *testing.B) {
		var seed [Size]byte
		for b.Loop() {
			rand.Read(seed[:])
			ed25519.NewKeyFromSeed(seed[:])
			h := sha512.Sum512(seed[:])
			priv, err := ecdh.X25519().NewPrivateKey(h[:32])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := priv.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Ed25519eph/ladder", func(b *testing.B) {
		var seed [Size]byte
		for b.Loop() {
			rand.Read(seed[:])
			ed25519.NewKeyFromSeed(seed[:])
			s := ScalarFromEd25519Seed(&seed)
			if _, err := X25519(&s, &peer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEdwardsToMontgomery(b *testing.B) {
	var seed [Size]byte
	rand.Read(seed[:])
	edPub := (*[Size]byte)(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
	b.Run("field", func(b *testing.B) {
		for b.Loop() {
			EdwardsToMontgomery(edPub)
		}
	})
	b.Run("math/big", func(b *testing.B) {
		for b.Loop() {
			edToMontBig(edPub)
		}
	})
}
