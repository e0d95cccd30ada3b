// Package kmrng reproduces virgil-crypto's KeyMaterialRng bit for bit: the
// deterministic random generator behind generateKeysFromKeyMaterial (e3kit
// BrainKey keys) and the generator Virgil's own tests use to make
// reproducible ciphertexts.
//
// The construction, as virgil-crypto-c wires it on mbedTLS 2.26:
//
//  1. entropy = KDF2-SHA512(material, 48) = SHA-512(material ‖ 00000001)[0:48].
//  2. An NIST SP 800-90A CTR_DRBG with AES-256 and the derivation function is
//     seeded with those 48 bytes (no nonce, since mbedTLS takes none for a
//     48-byte entropy input, and no personalization): Key = 0³², V = 0¹⁶,
//     then Update(Block_Cipher_df(entropy)).
//  3. Each request of n bytes (one Read call here) is one CTR_DRBG generate
//     without additional input: V is incremented as a 128-bit big-endian
//     counter and AES_K(V) emitted, truncated to n; then Update(0⁴⁸).
//
// Like the original, a request may not exceed 1024 bytes (mbedTLS'
// MBEDTLS_CTR_DRBG_MAX_REQUEST; virgil-crypto fails with "Requested data to
// be generated is too big"), and material must be 32 to 512 bytes. After
// 10000 requests mbedTLS would reseed from the material-derived source; that
// path is not reproduced and the Reader fails instead.
package kmrng

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"errors"
)

// Material length bounds (virgil-crypto asserts them).
const (
	MinMaterial = 32
	MaxMaterial = 512
)

// MaxRequest is the largest number of bytes one Read may ask for.
const MaxRequest = 1024

// ReseedInterval is the number of requests after which the generator would
// need to reseed.
const ReseedInterval = 10000

const (
	keyLen  = 32
	blkLen  = aes.BlockSize
	seedLen = keyLen + blkLen // 48
)

// Errors returned by New and Read.
var (
	ErrMaterialLength = errors.New("kmrng: key material must be 32 to 512 bytes")
	ErrRequestTooBig  = errors.New("kmrng: request larger than 1024 bytes")
	ErrReseed         = errors.New("kmrng: reseed interval reached (not reproducible)")
)

// Reader is a KeyMaterialRng. Each Read is one generate request. It is not
// safe for concurrent use.
type Reader struct {
	block    cipher.Block
	v        [blkLen]byte
	requests int
}

// New returns the generator seeded with material.
func New(material []byte) (*Reader, error) {
	if len(material) < MinMaterial || len(material) > MaxMaterial {
		return nil, ErrMaterialLength
	}
	// KDF2-SHA512 to 48 bytes: one hash block, counter 1.
	h := sha512.New()
	h.Write(material)
	h.Write([]byte{0, 0, 0, 1})
	entropy := h.Sum(nil)[:seedLen]

	r := &Reader{}
	var zeroKey [keyLen]byte
	r.setKey(zeroKey[:])
	r.update(blockCipherDF(entropy))
	return r, nil
}

func (r *Reader) setKey(k []byte) {
	b, err := aes.NewCipher(k)
	if err != nil {
		panic("kmrng: " + err.Error()) // 32-byte keys never fail
	}
	r.block = b
}

// incV increments V as a 128-bit big-endian counter.
func (r *Reader) incV() {
	for i := blkLen - 1; i >= 0; i-- {
		r.v[i]++
		if r.v[i] != 0 {
			return
		}
	}
}

// update is CTR_DRBG_Update(provided) with a 48-byte provided data.
func (r *Reader) update(provided []byte) {
	var tmp [seedLen]byte
	for j := 0; j < seedLen; j += blkLen {
		r.incV()
		r.block.Encrypt(tmp[j:j+blkLen], r.v[:])
	}
	for i := range tmp {
		tmp[i] ^= provided[i]
	}
	r.setKey(tmp[:keyLen])
	copy(r.v[:], tmp[keyLen:])
}

// blockCipherDF is SP 800-90A Block_Cipher_df as mbedTLS implements it,
// producing seedLen bytes from data.
func blockCipherDF(data []byte) []byte {
	// buf = IV(16) ‖ L(4, BE) ‖ N(4, BE) ‖ data ‖ 0x80, zero-padded to 16.
	n := blkLen + 8 + len(data) + 1
	n = (n + blkLen - 1) / blkLen * blkLen
	buf := make([]byte, n)
	l := len(data)
	buf[blkLen+0] = byte(l >> 24)
	buf[blkLen+1] = byte(l >> 16)
	buf[blkLen+2] = byte(l >> 8)
	buf[blkLen+3] = byte(l)
	buf[blkLen+7] = seedLen
	copy(buf[blkLen+8:], data)
	buf[blkLen+8+len(data)] = 0x80

	var key [keyLen]byte
	for i := range key {
		key[i] = byte(i)
	}
	b, _ := aes.NewCipher(key[:])
	var tmp [seedLen]byte
	var chain [blkLen]byte
	for j := 0; j < seedLen; j += blkLen {
		clear(chain[:])
		for p := 0; p < len(buf); p += blkLen {
			for i := 0; i < blkLen; i++ {
				chain[i] ^= buf[p+i]
			}
			b.Encrypt(chain[:], chain[:])
		}
		copy(tmp[j:], chain[:])
		buf[3]++ // the IV counter, big-endian in the first 4 bytes
	}

	b, _ = aes.NewCipher(tmp[:keyLen])
	out := make([]byte, seedLen)
	iv := tmp[keyLen:]
	for j := 0; j < seedLen; j += blkLen {
		b.Encrypt(iv, iv)
		copy(out[j:], iv)
	}
	return out
}

// Read fills p with the output of one generate request. len(p) must not
// exceed MaxRequest. A zero-length Read returns 0, nil and draws nothing
// (virgil-crypto aborts on a zero-length request instead).
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > MaxRequest {
		return 0, ErrRequestTooBig
	}
	if r.requests >= ReseedInterval {
		return 0, ErrReseed
	}
	r.requests++
	var blk [blkLen]byte
	for off := 0; off < len(p); off += blkLen {
		r.incV()
		r.block.Encrypt(blk[:], r.v[:])
		copy(p[off:], blk[:])
	}
	var zero [seedLen]byte
	r.update(zero[:])
	return len(p), nil
}
