package gcmstream

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// errTruncated is returned by a sized Decrypter whose input ends early.
var errTruncated = fmt.Errorf("%w: %w", ErrAuth, io.ErrUnexpectedEOF)

// Decrypter is a streaming AES-GCM decrypter: an io.Reader that yields the
// plaintext of a single GCM message (ciphertext ‖ 16-byte tag) read from
// src, as produced by cipher.AEAD.Seal or by Encrypter. Memory use is one
// 64 KiB window whatever the message size.
//
// It returns io.EOF only after the tag has verified. If it does not, every
// Read returns ErrAuth from then on. Messages of up to one chunk (64 KiB)
// are verified before any plaintext is returned. Longer messages are
// returned window by window before the tag at the end can be checked — only
// the last window is withheld until it verifies — so a caller MUST discard
// everything it has read if Read ends with any error other than io.EOF.
//
// A Decrypter is not safe for concurrent use.
type Decrypter struct {
	core
	cfg config
	src io.Reader

	bufp *[]byte
	buf  []byte // len cfg.chunk + 32
	used int

	pt    []byte // decrypted bytes not yet returned (a window of buf)
	ctOff int    // unprocessed ciphertext is buf[ctOff:have]
	have  int

	sized     bool
	remaining int64 // sized: bytes still to read from src (ciphertext + tag)
	consumed  int64
	eof       bool // src is exhausted (or the sized input fully read)
	streaming bool // the first window has been released
	ctLen     uint64
	ctr       cipher.Stream
	final     bool // the tag verified; pt is the last window
	released  bool
	err       error // sticky

	hash  hash.Hash               // optional: receives every plaintext byte before release
	check func(last []byte) error // optional: runs after the tag verified, before the last window
}

// NewDecrypter returns a Decrypter for a message that extends to the end of
// src: the tag is the last 16 bytes before io.EOF, so the Decrypter always
// holds back the most recent 16 bytes it has read.
func NewDecrypter(src io.Reader, key, nonce, aad []byte) (*Decrypter, error) {
	return newDecrypter(src, key, nonce, aad, -1, defaultConfig())
}

// NewSizedDecrypter returns a Decrypter for a message whose ciphertext
// (without the tag) is exactly size bytes, as announced by Virgil's
// signAndEncrypt message info (dataSize). It reads exactly size+16 bytes
// from src and never more, so after the Decrypter has returned io.EOF the
// caller continues reading src (the encrypted footer). An input that ends
// early fails with an error matching both ErrAuth and io.ErrUnexpectedEOF.
func NewSizedDecrypter(src io.Reader, key, nonce, aad []byte, size int64) (*Decrypter, error) {
	if size < 0 || size > MaxPlaintextSize {
		return nil, fmt.Errorf("gcmstream: invalid ciphertext size %d", size)
	}
	return newDecrypter(src, key, nonce, aad, size, defaultConfig())
}

func newDecrypter(src io.Reader, key, nonce, aad []byte, size int64, cfg config) (*Decrypter, error) {
	d := &Decrypter{cfg: cfg, src: src}
	if err := d.core.init(key, nonce, aad); err != nil {
		return nil, err
	}
	if size >= 0 {
		d.sized = true
		d.remaining = size + TagSize
	}
	d.bufp = getBuf(cfg)
	d.buf = *d.bufp
	return d, nil
}

// Consumed returns the number of bytes read from src so far. After a sized
// Decrypter returned io.EOF it is size+16.
func (d *Decrypter) Consumed() int64 { return d.consumed }

// SetFinalCheck adds a check that must pass before the message ends, for
// formats that authenticate more than the GCM tag (Virgil's signAndEncrypt
// signs SHA-512 of the plaintext in a footer that follows the tag).
//
// If h is not nil, every plaintext byte is written to h as soon as it is
// decrypted, before the caller sees it. If check is not nil, it runs once,
// after the tag has verified and before the last window is released, with
// that window's plaintext (read-only, valid during the call; h has already
// absorbed it). For a sized Decrypter, src is then positioned just after
// the tag, so check may read the footer from it. If check returns an error,
// the Decrypter fails with that error (sticky) and the last window is never
// released. check does not run when authentication fails.
//
// SetFinalCheck must be called before the first Read or WriteTo; it panics
// otherwise.
func (d *Decrypter) SetFinalCheck(h hash.Hash, check func(last []byte) error) {
	if d.consumed > 0 || d.err != nil || d.final {
		panic("gcmstream: SetFinalCheck called after reading started")
	}
	d.hash, d.check = h, check
}

// Read reads decrypted plaintext into p. It returns io.EOF once the message
// is complete and authenticated, and ErrAuth (sticky) if authentication
// fails; see the type documentation for what to do with earlier output.
func (d *Decrypter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, d.err
	}
	for len(d.pt) == 0 {
		if err := d.advance(); err != nil {
			return 0, err
		}
	}
	n := copy(p, d.pt)
	d.pt = d.pt[n:]
	return n, nil
}

// WriteTo writes the decrypted plaintext to w until the message is complete
// and authenticated (it then returns a nil error) or an error occurs.
func (d *Decrypter) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(d.pt) == 0 {
			if err := d.advance(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		k, err := w.Write(d.pt)
		if k < 0 || k > len(d.pt) {
			return total, io.ErrShortWrite
		}
		total += int64(k)
		d.pt = d.pt[k:]
		if err != nil {
			return total, err
		}
		if len(d.pt) > 0 {
			return total, io.ErrShortWrite
		}
	}
}

// advance is called when pt is drained: it returns the sticky error, io.EOF
// after the last window, or prepares the next window.
func (d *Decrypter) advance() error {
	if d.err != nil {
		return d.err
	}
	if d.final {
		d.release()
		return io.EOF
	}
	return d.next()
}

// next reads and decrypts the next window into pt.
func (d *Decrypter) next() error {
	if d.ctOff > 0 {
		d.have = copy(d.buf, d.buf[d.ctOff:d.have])
		d.ctOff = 0
	}
	if err := d.fill(); err != nil {
		return d.fail(err)
	}
	chunk := d.cfg.chunk
	if d.have > chunk+TagSize {
		// At least one ciphertext byte follows buf[:chunk], so this is not
		// the last window: decrypt and release it.
		if !d.streaming {
			d.streaming = true
			d.core.start()
			d.ctr = d.core.ctr()
		}
		ct := d.buf[:chunk]
		if err := d.decryptPiece(ct); err != nil {
			return d.fail(err)
		}
		d.pt, d.ctOff = ct, chunk
		return nil
	}
	// fill stops early only at the end of the input: this is the last
	// window, ciphertext ‖ tag.
	if d.have < TagSize {
		if d.sized {
			return d.fail(errTruncated)
		}
		return d.fail(ErrAuth)
	}
	if !d.streaming {
		// The whole message fits in one window: authenticate it first.
		pt, err := d.gcm.Open(d.buf[:0], d.nonce[:], d.buf[:d.have], d.aad)
		if err != nil {
			return d.fail(ErrAuth)
		}
		return d.finish(pt)
	}
	n := d.have - TagSize
	ct := d.buf[:n]
	if uint64(n) > MaxPlaintextSize-d.ctLen {
		return d.fail(ErrAuth)
	}
	d.absorbCiphertext(ct)
	d.ctLen += uint64(n)
	var want [TagSize]byte
	d.core.tag(d.ctLen).put(want[:])
	ok := subtle.ConstantTimeCompare(want[:], d.buf[n:d.have]) == 1
	clear(want[:])
	if !ok {
		return d.fail(ErrAuth)
	}
	d.ctr.XORKeyStream(ct, ct)
	return d.finish(ct)
}

// finish runs the caller's final check and then releases the last window.
func (d *Decrypter) finish(last []byte) error {
	if d.hash != nil {
		d.hash.Write(last)
	}
	if d.check != nil {
		if err := d.check(last); err != nil {
			return d.fail(err)
		}
	}
	d.pt, d.final = last, true
	return nil
}

// decryptPiece absorbs a (16-byte multiple) ciphertext piece into GHASH and
// decrypts it in place.
func (d *Decrypter) decryptPiece(ct []byte) error {
	if uint64(len(ct)) > MaxPlaintextSize-d.ctLen {
		return ErrAuth
	}
	d.absorbCiphertext(ct)
	d.ctr.XORKeyStream(ct, ct)
	d.ctLen += uint64(len(ct))
	if d.hash != nil {
		d.hash.Write(ct)
	}
	return nil
}

// fill reads from src until the buffer is full or the input ends.
func (d *Decrypter) fill() error {
	empty := 0
	for d.have < len(d.buf) && !d.eof {
		limit := len(d.buf)
		if d.sized {
			if d.remaining == 0 {
				d.eof = true
				break
			}
			limit = d.have + int(min(int64(limit-d.have), d.remaining))
		}
		k, err := d.src.Read(d.buf[d.have:limit])
		if k < 0 || k > limit-d.have {
			return io.ErrShortBuffer
		}
		d.have += k
		d.consumed += int64(k)
		if d.sized {
			d.remaining -= int64(k)
		}
		if d.have > d.used {
			d.used = d.have
		}
		switch {
		case err == io.EOF:
			if d.sized && d.remaining > 0 {
				return errTruncated
			}
			d.eof = true
		case err != nil:
			return err
		case k == 0:
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// fail records a sticky error, drops any pending plaintext and releases the
// buffer.
func (d *Decrypter) fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	d.pt = nil
	d.release()
	return d.err
}

func (d *Decrypter) release() {
	if d.released {
		return
	}
	d.released = true
	d.pt = nil
	if d.bufp != nil {
		putBuf(d.cfg, d.bufp, d.used)
		d.bufp, d.buf = nil, nil
	}
	d.core.wipe()
}
