package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
)

var fuzzKey = bytes.Repeat([]byte{0x4b}, 32)
var fuzzNonce = bytes.Repeat([]byte{0x4e}, NonceSize)

// FuzzEncrypt: random plaintext, AAD, chunk size, write sizes and mode must
// give exactly the one-shot Seal, and decrypt back through both decrypter
// modes. params seeds the chunking.
func FuzzEncrypt(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint64(0))
	f.Add([]byte("hello"), []byte("aad"), uint64(1))
	f.Add(bytes.Repeat([]byte{1}, 1000), bytes.Repeat([]byte{2}, 20), uint64(0xdeadbeef))
	f.Add(bytes.Repeat([]byte{3}, 5000), []byte{}, uint64(7<<32|3))
	f.Fuzz(func(t *testing.T, pt, aad []byte, params uint64) {
		rng := mrand.New(mrand.NewPCG(params, params>>7))
		cfg := config{
			chunk:     16 * (1 + int(params%64)),
			directMin: []int{16, 64, directMin}[params>>8%3],
			forceCTR:  params>>10&1 == 1,
		}
		c := testCase{key: fuzzKey, nonce: fuzzNonce, aad: aad, pt: pt}
		pat := writePattern{"fuzz", func(rng *mrand.Rand, left int) int { return 1 + rng.IntN(3*cfg.chunk) }}
		got := encryptPattern(t, rng, cfg, c, pat)
		want := oneShotSeal(t, fuzzKey, fuzzNonce, pt, aad)
		if !bytes.Equal(got, want) {
			t.Fatalf("cfg %+v: stream differs from Seal", cfg)
		}
		for _, size := range []int64{-1, int64(len(pt))} {
			d := mustDecrypter(t, &randomReader{bytes.NewReader(got), rng}, c, size, cfg)
			back, err := io.ReadAll(d)
			if err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("cfg %+v size %d: round trip: %v", cfg, size, err)
			}
		}
	})
}

// FuzzDecrypt feeds arbitrary bytes to the Decrypter: it must never panic,
// must fail with ErrAuth exactly when Open fails, and must return exactly
// Open's plaintext otherwise. The first 8 bytes choose the chunk size and
// the sized mode.
func FuzzDecrypt(f *testing.F) {
	block, _ := aes.NewCipher(fuzzKey)
	gcm, _ := cipher.NewGCM(block)
	seed := func(params uint64, pt, aad []byte) []byte {
		var p [8]byte
		binary.LittleEndian.PutUint64(p[:], params)
		return append(p[:], gcm.Seal(nil, fuzzNonce, pt, aad)...)
	}
	f.Add(seed(0, nil, nil), []byte{})
	f.Add(seed(1, []byte("hello"), []byte("x")), []byte("x"))
	f.Add(seed(2, bytes.Repeat([]byte{9}, 200), nil), []byte{})
	f.Add(seed(0x103, bytes.Repeat([]byte{9}, 1000), []byte("aad")), []byte("aad"))
	f.Add([]byte{1, 2, 3}, []byte{})
	f.Fuzz(func(t *testing.T, in, aad []byte) {
		if len(in) < 8 {
			return
		}
		params := binary.LittleEndian.Uint64(in)
		msg := in[8:]
		cfg := config{chunk: 16 * (1 + int(params%32)), directMin: directMin}
		size := int64(-1)
		if params>>8&1 == 1 {
			size = max(int64(len(msg))-TagSize, 0)
		}
		want, openErr := gcm.Open(nil, fuzzNonce, msg, aad)
		c := testCase{key: fuzzKey, nonce: fuzzNonce, aad: aad}
		d := mustDecrypter(t, bytes.NewReader(msg), c, size, cfg)
		got, err := io.ReadAll(d)
		if openErr != nil {
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("Open failed but Decrypter returned %v", err)
			}
			if lim := releasedLimit(len(msg)-TagSize, cfg.chunk); len(got) > lim {
				t.Fatalf("released %d bytes, limit %d", len(got), lim)
			}
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Open succeeded but Decrypter: %v", err)
		}
	})
}
