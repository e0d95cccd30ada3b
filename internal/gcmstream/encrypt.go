package gcmstream

import (
	"crypto/cipher"
	"encoding/binary"
	"io"
)

// Encrypter is a streaming AES-GCM encrypter: an io.WriteCloser whose output
// on dst is exactly cipher.NewGCM(aes.NewCipher(key)).Seal(nil, nonce,
// plaintext, aad), whatever the sizes of the writes. Memory use is one
// 64 KiB chunk buffer, whatever the message size.
//
// Close writes the last ciphertext bytes and then the 16-byte tag; it never
// closes dst, so the caller may append more data (such as the encrypted
// footer of Virgil's signAndEncrypt format) after Close returns.
//
// An Encrypter is not safe for concurrent use.
type Encrypter struct {
	core
	cfg config
	dst io.Writer

	bufp *[]byte
	buf  []byte // len cfg.chunk + 32
	n    int    // plaintext bytes buffered in buf[:n]
	used int    // high-water mark of buf, for clearing

	total     uint64 // plaintext bytes accepted
	streaming bool   // more than one chunk: per-chunk processing has begun
	ctrMode   bool   // fallback CTR + AAD-GHASH (else steered J0)
	done      bool
	err       error // sticky

	// steered-J0 state
	gcm16  cipher.AEAD
	hinv2  elem // H⁻², secret
	l16h   elem // [0]₆₄‖[128]₆₄ · H, secret
	ctr    cipher.Stream
	nblock uint64 // blocks of ciphertext emitted so far

	// Scratch space kept in the struct to avoid per-chunk heap allocations.
	jc, n16, la [blockSize]byte
}

// NewEncrypter returns an Encrypter that writes the AES-GCM encryption of
// everything written to it, followed at Close by the tag, to dst. The key
// must be 16, 24 or 32 bytes (Virgil uses AES-256), the nonce 12 bytes. The
// AAD is copied.
func NewEncrypter(dst io.Writer, key, nonce, aad []byte) (*Encrypter, error) {
	return newEncrypter(dst, key, nonce, aad, defaultConfig())
}

func newEncrypter(dst io.Writer, key, nonce, aad []byte, cfg config) (*Encrypter, error) {
	e := &Encrypter{cfg: cfg, dst: dst}
	if err := e.core.init(key, nonce, aad); err != nil {
		return nil, err
	}
	e.bufp = getBuf(cfg)
	e.buf = *e.bufp
	return e, nil
}

// Write encrypts p. Writes of at least 4 KiB are encrypted straight from p;
// smaller ones are collected into 64 KiB chunks. Nothing is written to dst
// until the message is known to be longer than one chunk: a message of at
// most one chunk is encrypted by a single one-shot Seal at Close.
func (e *Encrypter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.done {
		return 0, ErrClosed
	}
	if uint64(len(p)) > MaxPlaintextSize-e.total {
		e.fail(ErrTooLarge)
		return 0, ErrTooLarge
	}
	written := len(p)
	chunk := e.cfg.chunk
	for len(p) > 0 {
		if !e.streaming {
			if e.n+len(p) <= chunk {
				e.n += copy(e.buf[e.n:], p)
				e.total += uint64(len(p))
				e.mark(e.n)
				return written, nil
			}
			e.startStreaming()
		}
		if e.n > 0 || len(p) < max(e.cfg.directMin, blockSize) {
			k := copy(e.buf[e.n:chunk], p)
			e.n += k
			e.total += uint64(k)
			e.mark(e.n)
			p = p[k:]
			if e.n == chunk {
				if err := e.flushBuffer(); err != nil {
					return written - len(p), err
				}
			}
			continue
		}
		// Direct: whole blocks (len(p) ≥ 16 here), at most one chunk per
		// piece; a ragged tail is buffered on the next iteration.
		m := min(len(p), chunk) &^ (blockSize - 1)
		e.total += uint64(m)
		e.mark(m + TagSize)
		if err := e.emit(e.buf[:0], p[:m]); err != nil {
			return written - len(p), err
		}
		p = p[m:]
	}
	return written, nil
}

// ReadFrom encrypts everything read from r until io.EOF, reading straight
// into the chunk buffer. It returns the number of bytes read.
func (e *Encrypter) ReadFrom(r io.Reader) (int64, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.done {
		return 0, ErrClosed
	}
	chunk := e.cfg.chunk
	var read int64
	for {
		if e.n == chunk {
			if e.streaming {
				if err := e.flushBuffer(); err != nil {
					return read, err
				}
				continue
			}
			// A full first chunk: the message is a single one-shot Seal
			// unless at least one more byte comes. Read ahead into the
			// tag area.
			la := e.la[:]
			k, err := readSome(r, la)
			read += int64(k)
			if k == 0 {
				if err == io.EOF {
					return read, nil
				}
				return read, e.fail(err)
			}
			if uint64(k) > MaxPlaintextSize-e.total {
				return read, e.fail(ErrTooLarge)
			}
			e.startStreaming()
			if ferr := e.flushBuffer(); ferr != nil {
				return read, ferr
			}
			e.n = copy(e.buf, la[:k])
			e.total += uint64(k)
			clear(la)
			if err == io.EOF {
				return read, nil
			}
			if err != nil {
				return read, e.fail(err)
			}
			continue
		}
		k, err := r.Read(e.buf[e.n:chunk])
		if k < 0 || k > chunk-e.n {
			return read, e.fail(io.ErrShortBuffer)
		}
		read += int64(k)
		if uint64(k) > MaxPlaintextSize-e.total {
			return read, e.fail(ErrTooLarge)
		}
		e.n += k
		e.total += uint64(k)
		e.mark(e.n)
		if err == io.EOF {
			return read, nil
		}
		if err != nil {
			return read, e.fail(err)
		}
	}
}

// readSome reads into p until at least one byte arrives or r fails; it
// tolerates readers that return (0, nil).
func readSome(r io.Reader, p []byte) (int, error) {
	for empty := 0; ; empty++ {
		k, err := r.Read(p)
		if k > 0 || err != nil {
			return k, err
		}
		if empty >= 100 {
			return 0, io.ErrNoProgress
		}
	}
}

// Close encrypts what is buffered and writes the remaining ciphertext and the
// 16-byte tag to dst. It does not close dst. Calling Close again returns the
// first call's error.
func (e *Encrypter) Close() error {
	if e.done || e.err != nil {
		return e.err
	}
	e.done = true
	defer e.release()
	if !e.streaming {
		// The whole message fits in one chunk: one-shot Seal in place.
		e.mark(e.n + TagSize)
		out := e.gcm.Seal(e.buf[:0], e.nonce[:], e.buf[:e.n], e.aad)
		return e.write(out)
	}
	// Last piece (any length); its per-chunk tag area is then overwritten
	// with the message tag so that both leave in one Write.
	n := e.n
	e.mark(n + TagSize)
	e.process(e.buf[:0], e.buf[:n])
	e.core.tag(e.total).put(e.buf[n : n+TagSize])
	return e.write(e.buf[:n+TagSize])
}

// startStreaming switches to per-chunk processing: derive H, absorb the AAD
// and, for the steered-J0 path, the constants H⁻² and L16·H.
func (e *Encrypter) startStreaming() {
	e.streaming = true
	e.core.start()
	e.ctrMode = e.cfg.forceCTR || (e.h == elem{})
	if !e.ctrMode {
		gcm16, err := cipher.NewGCMWithNonceSize(e.block, blockSize)
		if err != nil {
			e.ctrMode = true
		} else {
			e.gcm16 = gcm16
			e.hinv2 = gfSqr(gfInv(e.h))
			e.l16h = gfMul(lengthBlock(0, 8*blockSize), e.h)
		}
	}
	if e.ctrMode {
		e.ctr = e.core.ctr()
	}
}

// flushBuffer encrypts and writes the full buffer.
func (e *Encrypter) flushBuffer() error {
	n := e.n
	e.n = 0
	e.mark(n + TagSize)
	return e.emit(e.buf[:0], e.buf[:n])
}

// emit encrypts one piece (a multiple of 16 bytes) into out (which may be
// pt[:0]) and writes the ciphertext.
func (e *Encrypter) emit(out, pt []byte) error {
	ct := e.process(out, pt)
	return e.write(ct)
}

// process encrypts pt into out[:len(pt)] (out may be pt[:0]; it needs
// room for 16 more bytes) and folds the piece into the GHASH state.
// Every piece but the last must be a multiple of 16 bytes.
func (e *Encrypter) process(out, pt []byte) []byte {
	if len(pt) == 0 {
		return out[:0]
	}
	nb := blocks(len(pt))
	if e.ctrMode {
		ct := out[:len(pt)]
		e.ctr.XORKeyStream(ct, pt)
		e.absorbCiphertext(ct)
		e.nblock += nb
		return ct
	}
	// Steered J0: the chunk's counter block J_c = nonce‖(1 + blocks so far)
	// plays the role of J0 for a 16-byte-nonce GCM whose nonce N satisfies
	// GHASH_H(N‖0⁶⁴‖[128]₆₄) = N·H² ⊕ L16·H = J_c, i.e.
	// N = (J_c ⊕ L16·H)·H⁻². Seal then encrypts with inc32(J_c), ... exactly
	// like the whole message, and its tag gives the chunk's GHASH:
	// tag_c = (Y(C) ⊕ [0]₆₄‖[8·len]₆₄)·H ⊕ E_K(J_c).
	jc, nonce := e.jc[:], e.n16[:]
	copy(jc, e.nonce[:])
	binary.BigEndian.PutUint32(jc[12:], uint32(1+e.nblock))
	gfMul(loadElem(jc).xor(e.l16h), e.hinv2).put(nonce)
	sealed := e.gcm16.Seal(out[:0], nonce, pt, nil)
	ct, tagc := sealed[:len(pt)], sealed[len(pt):]

	e.block.Encrypt(jc, jc) // E_K(J_c)
	yh := loadElem(tagc).xor(loadElem(jc)).xor(gfMul(lengthBlock(0, 8*uint64(len(pt))), e.h))
	e.fold(yh, nb)
	clear(tagc)
	clear(jc)
	clear(nonce)
	e.nblock += nb
	return ct
}

func (e *Encrypter) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if _, err := e.dst.Write(p); err != nil {
		return e.fail(err)
	}
	return nil
}

func (e *Encrypter) mark(n int) {
	if n > e.used {
		e.used = n
	}
}

// fail records a sticky error and releases the buffer.
func (e *Encrypter) fail(err error) error {
	if e.err == nil {
		e.err = err
	}
	e.release()
	return e.err
}

func (e *Encrypter) release() {
	if e.bufp != nil {
		putBuf(e.cfg, e.bufp, e.used)
		e.bufp, e.buf = nil, nil
	}
	e.core.wipe()
	e.hinv2, e.l16h = elem{}, elem{}
}
