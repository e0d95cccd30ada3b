package gcmstream

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

const (
	// NonceSize is the only supported nonce length (96 bits).
	NonceSize = 12
	// TagSize is the length of the GCM authentication tag.
	TagSize = 16
	// ChunkSize is the processing unit: the amount buffered before a piece
	// is encrypted, and the decryption window. It is not visible in the
	// output.
	ChunkSize = 64 << 10
	// MaxPlaintextSize is the GCM limit of 2^32−2 blocks (64 GiB − 32 B).
	MaxPlaintextSize = (1<<32 - 2) * blockSize

	blockSize = 16
	// directMin is the smallest Write that is encrypted straight from the
	// caller's slice instead of being copied into the chunk buffer.
	directMin = 4 << 10
)

var (
	// ErrAuth is returned by the Decrypter when the tag does not verify,
	// when the input is shorter than a tag, or when the input ends before
	// the announced size. Once returned, every later Read returns it again.
	ErrAuth = errors.New("gcmstream: message authentication failed")

	// ErrTooLarge is returned when a message would exceed MaxPlaintextSize.
	ErrTooLarge = errors.New("gcmstream: message exceeds the GCM limit of 2^32-2 blocks")

	// ErrClosed is returned by Write and ReadFrom after Close.
	ErrClosed = errors.New("gcmstream: write after Close")
)

// config holds the tunables; tests shrink the chunk size and force the
// fallback path.
type config struct {
	chunk     int  // multiple of 16, ≥ 16
	directMin int  // Write sizes processed without copying
	forceCTR  bool // use the CTR + AAD-GHASH encrypter even if steering works
}

func defaultConfig() config { return config{chunk: ChunkSize, directMin: directMin} }

// bufPool holds chunk buffers of the default size. A buffer has room for a
// chunk plus 32 bytes: the encrypter needs 16 for the tag appended by Seal
// (and the read-ahead of ReadFrom), the decrypter 32 to see past the tag.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, ChunkSize+2*TagSize)
	return &b
}}

func getBuf(cfg config) *[]byte {
	if cfg.chunk == ChunkSize {
		return bufPool.Get().(*[]byte)
	}
	b := make([]byte, cfg.chunk+2*TagSize)
	return &b
}

// putBuf clears the used part of the buffer (it may hold plaintext or
// H-dependent per-chunk tags) and returns it to the pool.
func putBuf(cfg config, b *[]byte, used int) {
	clear((*b)[:min(used, len(*b))])
	if cfg.chunk == ChunkSize {
		bufPool.Put(b)
	}
}

// core holds the per-message GCM state shared by both directions: the
// one-shot AEAD (used as a GHASH oracle), and the running GHASH value.
//
// The GHASH oracle: Seal(nonce, plaintext = nil, aad = X) returns
// ((Y(X) ⊕ L)·H) ⊕ E_K(J0) with L = [8·len X]₆₄‖0⁶⁴, so
// Y(X)·H = tag ⊕ E_K(J0) ⊕ L·H. The state kept is T = S·H, where S is the
// GHASH state of the whole message so far; absorbing a 16-byte-aligned piece
// of n blocks is T ← T·Hⁿ ⊕ Y(piece)·H, and the final tag is
// T ⊕ [8·|A|]‖[8·|C|]·H ⊕ E_K(J0).
type core struct {
	block cipher.Block
	gcm   cipher.AEAD // 12-byte nonce, 16-byte tag
	nonce [NonceSize]byte
	aad   []byte

	// Set by start (only when the message needs more than one chunk).
	h       elem // E_K(0¹²⁸), secret
	ej0     elem // E_K(J0), secret
	t       elem // S·H, secret
	pow     powTable
	scratch [TagSize]byte   // oracle output, secret
	blk     [blockSize]byte // block-cipher scratch (kept here to avoid a heap allocation)
}

func (c *core) init(key, nonce, aad []byte) error {
	if len(nonce) != NonceSize {
		return fmt.Errorf("gcmstream: nonce must be %d bytes, got %d", NonceSize, len(nonce))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("gcmstream: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("gcmstream: %w", err)
	}
	c.block, c.gcm = block, gcm
	copy(c.nonce[:], nonce)
	c.aad = append([]byte(nil), aad...)
	return nil
}

// start derives H and E_K(J0) and absorbs the AAD. The AAD is absorbed on
// its own (never glued to the first chunk) because GCM zero-pads it
// separately.
func (c *core) start() {
	b := c.blk[:]
	clear(b)
	c.block.Encrypt(b, b)
	c.h = loadElem(b)
	copy(b, c.nonce[:])
	binary.BigEndian.PutUint32(b[12:], 1)
	c.block.Encrypt(b, b)
	c.ej0 = loadElem(b)
	clear(b)
	c.pow.init(c.h)

	tag := c.gcm.Seal(c.scratch[:0], c.nonce[:], nil, c.aad)
	c.t = loadElem(tag).xor(c.ej0).xor(gfMul(lengthBlock(8*uint64(len(c.aad)), 0), c.h))
}

// fold absorbs Y(piece)·H for a piece of n blocks: T ← T·Hⁿ ⊕ yh.
func (c *core) fold(yh elem, n uint64) {
	c.t = gfMul(c.t, c.pow.pow(n)).xor(yh)
}

// absorbCiphertext feeds a ciphertext piece to GHASH through the oracle.
// Every piece but the last of the message must be a multiple of 16 bytes:
// the oracle zero-pads its input, which the real GCM only does at the end.
func (c *core) absorbCiphertext(ct []byte) {
	if len(ct) == 0 {
		return
	}
	tag := c.gcm.Seal(c.scratch[:0], c.nonce[:], nil, ct)
	yh := loadElem(tag).xor(c.ej0).xor(gfMul(lengthBlock(8*uint64(len(ct)), 0), c.h))
	c.fold(yh, blocks(len(ct)))
}

// tag returns the GCM tag of the message, given the total ciphertext length.
func (c *core) tag(ctLen uint64) elem {
	l := lengthBlock(8*uint64(len(c.aad)), 8*ctLen)
	return c.t.xor(gfMul(l, c.h)).xor(c.ej0)
}

// ctr returns the CTR keystream of the message body: it starts at
// inc32(J0) = nonce‖2. cipher.NewCTR increments all 128 bits and GCM only
// the low 32, which agree because a message has at most 2^32−2 blocks, so
// the low word runs from 2 to 2^32−1 and never wraps.
func (c *core) ctr() cipher.Stream {
	iv := c.blk[:]
	copy(iv, c.nonce[:])
	binary.BigEndian.PutUint32(iv[12:], 2)
	return cipher.NewCTR(c.block, iv)
}

// wipe clears the secret GHASH state.
func (c *core) wipe() {
	c.h, c.ej0, c.t = elem{}, elem{}, elem{}
	c.pow.clear()
	clear(c.scratch[:])
	clear(c.blk[:])
}

// blocks returns ⌈n/16⌉.
func blocks(n int) uint64 { return (uint64(n) + blockSize - 1) / blockSize }
