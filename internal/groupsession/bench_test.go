package groupsession

import (
	"crypto/ed25519"
	"testing"
)

// BenchmarkGroup200 times Encrypt and Decrypt of a 200-byte message against
// their floor in the same run: one Ed25519 signature (Encrypt) and one
// Ed25519 verification (Decrypt) over the 216-byte ciphertext, which each
// of them includes. The rest is HKDF-SHA512, AES-GCM over 320 bytes and the
// protobuf work.
func BenchmarkGroup200(b *testing.B) {
	sk, pk := testSigner(b)
	s, err := Generate(nil, testGroupID)
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, 200)
	ct, err := s.Encrypt(nil, pt, sk)
	if err != nil {
		b.Fatal(err)
	}
	m, err := ParseMessage(ct)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encrypt", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			if _, err := s.Encrypt(nil, pt, sk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor=Ed25519Sign", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			ed25519.Sign(sk, m.Ciphertext)
		}
	})
	b.Run("Decrypt", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			if _, err := s.Decrypt(ct, pk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor=Ed25519Verify", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			if !ed25519.Verify(pk, m.Ciphertext, m.Signature[:]) {
				b.Fatal("verify")
			}
		}
	})
}
