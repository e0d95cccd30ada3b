package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"testing"
)

// The stream benchmarks run next to their peer in the same run: the one-shot
// cipher.AEAD Seal/Open on the same data (the floor the stream aims at).
// Stream encryption writes 32 KiB pieces ("w32K") or goes through io.Copy
// (ReadFrom); decryption reads through io.Copy (WriteTo). Each op includes
// setup and the tag.

var benchSizes = []struct {
	name string
	n    int
}{{"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

func benchData(n int) (key, nonce, aad, pt []byte) {
	key = bytes.Repeat([]byte{1}, 32)
	nonce = bytes.Repeat([]byte{2}, NonceSize)
	aad = bytes.Repeat([]byte{3}, 20)
	pt = make([]byte, n)
	for i := range pt {
		pt[i] = byte(i * 7)
	}
	return
}

func BenchmarkEncrypt(b *testing.B) {
	for _, sz := range benchSizes {
		key, nonce, aad, pt := benchData(sz.n)
		b.Run("OneShotSeal/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			out := make([]byte, 0, sz.n+TagSize)
			for b.Loop() {
				block, _ := aes.NewCipher(key)
				gcm, _ := cipher.NewGCM(block)
				gcm.Seal(out[:0], nonce, pt, aad)
			}
		})
		for _, forceCTR := range modes() {
			cfg := config{chunk: ChunkSize, directMin: directMin, forceCTR: forceCTR}
			b.Run("Stream-"+modeName(forceCTR)+"/w32K/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				for b.Loop() {
					e, err := newEncrypter(io.Discard, key, nonce, aad, cfg)
					if err != nil {
						b.Fatal(err)
					}
					for p := pt; len(p) > 0; p = p[min(len(p), 32<<10):] {
						if _, err := e.Write(p[:min(len(p), 32<<10)]); err != nil {
							b.Fatal(err)
						}
					}
					if err := e.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Stream-"+modeName(forceCTR)+"/ioCopy/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				for b.Loop() {
					e, err := newEncrypter(io.Discard, key, nonce, aad, cfg)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(e, noWriterTo{bytes.NewReader(pt)}); err != nil {
						b.Fatal(err)
					}
					if err := e.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, sz := range benchSizes {
		key, nonce, aad, pt := benchData(sz.n)
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		ct := gcm.Seal(nil, nonce, pt, aad)
		b.Run("OneShotOpen/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			out := make([]byte, 0, sz.n)
			for b.Loop() {
				block, _ := aes.NewCipher(key)
				gcm, _ := cipher.NewGCM(block)
				if _, err := gcm.Open(out[:0], nonce, ct, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Stream/ioCopy/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				d, err := NewDecrypter(bytes.NewReader(ct), key, nonce, aad)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Stream/r32K/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			buf := make([]byte, 32<<10)
			for b.Loop() {
				d, err := NewDecrypter(bytes.NewReader(ct), key, nonce, aad)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := d.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkSmallMessage is the per-message overhead of the stream for a
// message that goes through the one-shot path, against a bare Seal.
func BenchmarkSmallMessage(b *testing.B) {
	key, nonce, aad, pt := benchData(1 << 10)
	b.Run("OneShotSeal/1KiB", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			block, _ := aes.NewCipher(key)
			gcm, _ := cipher.NewGCM(block)
			gcm.Seal(nil, nonce, pt, aad)
		}
	})
	b.Run("Stream/1KiB", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			e, _ := NewEncrypter(io.Discard, key, nonce, aad)
			e.Write(pt)
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
