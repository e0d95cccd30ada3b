package e3

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"io"
	"testing"
)

// Benchmarks of the one-shot operations against their floor, measured in
// the same run: BenchmarkFloor/encrypt/N is what N recipients cost at the
// least with the standard library (per recipient one X25519 key generation
// and one X25519, plus one Ed25519 signature), BenchmarkFloor/decrypt one
// X25519 and one Ed25519 verification. Compare
// BenchmarkSignAndEncrypt/N with BenchmarkFloor/encrypt/N and
// BenchmarkDecryptAndVerify/N with BenchmarkFloor/decrypt/N (the target is
// a ratio of at most 1.3).

const benchMsgSize = 200

func benchKeys(b *testing.B, n int) (*PrivateKey, []*PrivateKey, []*PublicKey) {
	signer, err := GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	var privs []*PrivateKey
	var pubs []*PublicKey
	for i := 0; i < n; i++ {
		k, _ := GenerateKey()
		privs = append(privs, k)
		pubs = append(pubs, k.Public())
	}
	return signer, privs, pubs
}

var recipientCounts = []int{1, 10}

func BenchmarkSignAndEncrypt(b *testing.B) {
	msg := make([]byte, benchMsgSize)
	for _, n := range recipientCounts {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			signer, _, pubs := benchKeys(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SignAndEncrypt(msg, signer, pubs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptAndVerify(b *testing.B) {
	msg := make([]byte, benchMsgSize)
	for _, n := range recipientCounts {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			signer, privs, pubs := benchKeys(b, n)
			ct, err := SignAndEncrypt(msg, signer, pubs...)
			if err != nil {
				b.Fatal(err)
			}
			key := privs[n-1]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecryptAndVerify(ct, key, signer.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFloor(b *testing.B) {
	for _, n := range recipientCounts {
		b.Run(fmt.Sprint("encrypt/", n), func(b *testing.B) {
			var peers []*ecdh.PublicKey
			for i := 0; i < n; i++ {
				k, _ := ecdh.X25519().GenerateKey(rand.Reader)
				peers = append(peers, k.PublicKey())
			}
			_, sk, _ := ed25519.GenerateKey(rand.Reader)
			digest := sha512.Sum512(make([]byte, benchMsgSize))
			for b.Loop() {
				for _, p := range peers {
					eph, err := ecdh.X25519().GenerateKey(rand.Reader)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := eph.ECDH(p); err != nil {
						b.Fatal(err)
					}
				}
				ed25519.Sign(sk, digest[:])
			}
		})
	}
	b.Run("decrypt", func(b *testing.B) {
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
		pk, sk, _ := ed25519.GenerateKey(rand.Reader)
		digest := sha512.Sum512(make([]byte, benchMsgSize))
		sig := ed25519.Sign(sk, digest[:])
		for b.Loop() {
			if _, err := k.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
			if !ed25519.Verify(pk, digest[:], sig) {
				b.Fatal("verify")
			}
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	for _, size := range []int{benchMsgSize, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			_, _, pubs := benchKeys(b, 1)
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encrypt(data, pubs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, size := range []int{benchMsgSize, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			_, privs, pubs := benchKeys(b, 1)
			ct, _ := Encrypt(make([]byte, size), pubs...)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decrypt(ct, privs[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkStream measures streaming throughput (io.Copy, 32 KiB writes)
// against the one-shot forms of the same size (the peer).
func BenchmarkStream(b *testing.B) {
	const size = 16 << 20
	data := make([]byte, size)
	signer, privs, pubs := benchKeys(b, 1)
	b.Run("SignAndEncryptStream/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			w, err := SignAndEncryptStream(io.Discard, size, signer, pubs...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SignAndEncrypt/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := SignAndEncrypt(data, signer, pubs...); err != nil {
				b.Fatal(err)
			}
		}
	})
	ct, _ := SignAndEncrypt(data, signer, pubs...)
	b.Run("DecryptAndVerifyStream/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			r, err := DecryptAndVerifyStream(bytes.NewReader(ct), privs[0], signer.Public())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecryptAndVerify/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := DecryptAndVerify(ct, privs[0], signer.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
	ctEnc, _ := Encrypt(data, pubs...)
	b.Run("EncryptStream/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			w, _ := EncryptStream(io.Discard, pubs...)
			io.Copy(w, bytes.NewReader(data))
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecryptStream/16MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			r, _ := DecryptStream(bytes.NewReader(ctEnc), privs[0])
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
