package e3

import (
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/e3go/e3go/internal/envelope"
	"github.com/e3go/e3go/internal/gcmstream"
)

// Streaming forms of Encrypt, Decrypt, SignAndEncrypt and DecryptAndVerify
// for attachments and files. Their output is byte-identical to the one-shot
// forms (and to virgil-crypto's stream ciphers, whose chunking is not
// visible on the wire); memory stays flat whatever the size: one 64 KiB
// window plus the message info.

// maxFooterSize bounds the encrypted footer a stream reader accepts (a
// footer with one signer is 113 bytes).
const maxFooterSize = 64 << 10

var (
	errWriteAfterClose = errors.New("e3: write to a closed stream")
	errStreamTooLarge  = errors.New("e3: stream exceeds the GCM limit of 64 GiB")
)

// EncryptStream returns a writer that encrypts what is written to it for
// the recipients and writes the ciphertext to dst: exactly the bytes
// [Encrypt] would return for the whole input (virgil-crypto's encrypt and
// createStreamCipher format). The message info is written to dst before
// EncryptStream returns; the caller must Close the writer to write the rest
// and the GCM tag (Close does not close dst). Like Encrypt, it does not
// sign.
func EncryptStream(dst io.Writer, to ...*PublicKey) (io.WriteCloser, error) {
	return newStreamWriter(rand.Reader, dst, sealParams{mode: modeEncrypt}, to)
}

// SignAndEncryptStream is the streaming form of [SignAndEncrypt]: the output
// on dst is byte-identical to SignAndEncrypt of the whole input (padding
// on), which is also what e3kit's authEncryptFile and virgil-crypto's
// createStreamSignAndEncrypt produce. The format states the plaintext
// length up front, so size must be exactly the number of bytes that will be
// written: more fails the Write, fewer fails Close, and in both cases the
// output is unusable. Close writes the tag and the encrypted signature
// footer; it does not close dst.
func SignAndEncryptStream(dst io.Writer, size int64, signer *PrivateKey, to ...*PublicKey) (io.WriteCloser, error) {
	if size < 0 || size > gcmstream.MaxPlaintextSize-2*paddingFrame {
		return nil, fmt.Errorf("e3: invalid stream size %d", size)
	}
	return newStreamWriter(rand.Reader, dst, sealParams{mode: modeSignAndEncrypt, padding: true, signer: signer, size: size}, to)
}

// streamWriter is the writer behind EncryptStream and SignAndEncryptStream.
type streamWriter struct {
	s      *sealer
	dst    io.Writer
	enc    *gcmstream.Encrypter
	hash   hash.Hash // signAndEncrypt: SHA-512 of the plaintext
	size   int64     // signAndEncrypt: announced plaintext length; -1 otherwise
	n      int64
	closed bool
	err    error // sticky
}

func newStreamWriter(rnd io.Reader, dst io.Writer, p sealParams, to []*PublicKey) (*streamWriter, error) {
	s, err := newSealer(rnd, p, to)
	if err != nil {
		return nil, err
	}
	w := &streamWriter{s: s, dst: dst, size: -1}
	if p.mode == modeSignAndEncrypt {
		w.size = p.size
		w.hash = sha512.New()
	}
	if _, err := dst.Write(s.info); err != nil {
		return nil, err
	}
	w.enc, err = gcmstream.NewEncrypter(dst, s.bodyKey, s.nonce, s.aad)
	if err != nil {
		return nil, fmt.Errorf("e3: %w", err)
	}
	return w, nil
}

func mapWriteErr(err error) error {
	if errors.Is(err, gcmstream.ErrTooLarge) {
		return errStreamTooLarge
	}
	return err
}

// Write encrypts p.
func (w *streamWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errWriteAfterClose
	}
	if w.size >= 0 && int64(len(p)) > w.size-w.n {
		w.err = fmt.Errorf("e3: more than the announced %d bytes written to the stream", w.size)
		return 0, w.err
	}
	n, err := w.enc.Write(p)
	w.n += int64(n)
	if w.hash != nil {
		w.hash.Write(p[:n])
	}
	if err != nil {
		w.err = mapWriteErr(err)
	}
	return n, w.err
}

// Close writes the padding (signAndEncrypt), the end of the ciphertext, the
// tag and the footer (signAndEncrypt) to dst.
func (w *streamWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if w.size >= 0 && w.n != w.size {
		w.err = fmt.Errorf("e3: %d bytes written to the stream, %d announced", w.n, w.size)
		return w.err
	}
	if w.s.padding {
		pad, err := w.s.appendPadding(nil, w.n)
		if err == nil {
			_, err = w.enc.Write(pad)
		}
		if err != nil {
			w.err = mapWriteErr(err)
			return w.err
		}
	}
	if err := w.enc.Close(); err != nil {
		w.err = mapWriteErr(err)
		return w.err
	}
	if w.s.signer != nil {
		f, err := w.s.footer(w.hash.Sum(nil))
		if err == nil {
			_, err = w.dst.Write(f)
		}
		if err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// DecryptStream returns a reader of the plaintext of a ciphertext read from
// src, in any format [Decrypt] accepts (so any virgil-crypto encrypt,
// signThenEncrypt, signAndEncrypt or stream cipher output), without
// checking signatures. The message info is read and the key entry opened
// before it returns (errors such as ErrNotRecipient come from DecryptStream
// itself); src is read exactly to the end of the ciphertext.
//
// Everything but the last window (up to 64 KiB) is returned before the GCM
// tag at the end can be checked. The reader returns io.EOF only after the
// tag (and for signAndEncrypt the footer) verified; on failure every later
// Read returns the same error, which matches ErrAuthFailed. Callers must
// then discard everything read so far (write to a temporary file and keep
// it only on io.EOF, for example).
func DecryptStream(src io.Reader, key *PrivateKey) (io.Reader, error) {
	return newStreamReader(src, key, false, nil)
}

// DecryptAndVerifyStream is the streaming form of [DecryptAndVerify]: it
// decrypts a signAndEncrypt ciphertext from src (one-shot, streamed, or made
// by e3kit's authEncryptFile) and verifies the footer signature against
// signers before it returns io.EOF. A ciphertext without a footer fails
// immediately with ErrNotSigned. The same rules as for [DecryptStream]
// apply: discard the output unless the reader ended with io.EOF.
func DecryptAndVerifyStream(src io.Reader, key *PrivateKey, signers ...*PublicKey) (io.Reader, error) {
	return newStreamReader(src, key, true, signers)
}

// readMessageInfo reads exactly one message info from src.
func readMessageInfo(src io.Reader) ([]byte, error) {
	buf := make([]byte, 2, 64)
	if err := readFull(src, buf); err != nil {
		return nil, err
	}
	for {
		n, ok, err := envelope.Len(buf)
		if err != nil {
			return nil, parseError("message info", err)
		}
		if ok {
			if n > cap(buf) {
				nb := make([]byte, len(buf), n)
				copy(nb, buf)
				buf = nb
			}
			have := len(buf)
			buf = buf[:n]
			if err := readFull(src, buf[have:]); err != nil {
				return nil, err
			}
			return buf, nil
		}
		// The long-form length bytes are still missing.
		have := len(buf)
		buf = buf[:2+int(buf[1]&0x7f)]
		if err := readFull(src, buf[have:]); err != nil {
			return nil, err
		}
	}
}

func readFull(src io.Reader, b []byte) error {
	if _, err := io.ReadFull(src, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return parseErrorf("message info", "truncated")
		}
		return err
	}
	return nil
}

// streamReader is the reader behind DecryptStream and DecryptAndVerifyStream.
// With padding it holds back the last 164 bytes it decrypted, since they
// may be padding, and strips the padding in the final check, which runs
// after the tag verified and before the last window is released.
type streamReader struct {
	d        *gcmstream.Decrypter
	o        *opener
	src      io.Reader
	verify   bool
	signers  []*PublicKey
	holdBack int
	ws       []byte // workspace: held-back bytes then newly decrypted ones
	hold     []byte
	out      []byte // decrypted bytes ready for the caller
	pos      int64  // plaintext (padded) bytes obtained from d
	hashed   int64  // plaintext bytes hashed so far
	end      int64  // end of the unpadded plaintext, set by the final check; -1 before
	h        hash.Hash
	eof      bool
	err      error // sticky
}

func newStreamReader(src io.Reader, key *PrivateKey, verify bool, signers []*PublicKey) (*streamReader, error) {
	if !key.valid() {
		return nil, errZeroKey
	}
	if verify && len(signers) == 0 {
		return nil, fmt.Errorf("e3: no verification keys given: %w", ErrSignerNotFound)
	}
	info, err := readMessageInfo(src)
	if err != nil {
		return nil, err
	}
	mi, _, err := envelope.Parse(info)
	if err != nil {
		return nil, parseError("message info", err)
	}
	if verify && mi.Footer == nil {
		return nil, ErrNotSigned
	}
	o, err := newOpener(mi, key)
	if err != nil {
		return nil, err
	}
	r := &streamReader{o: o, src: src, verify: verify, signers: signers, end: -1}
	if mi.Padding {
		r.holdBack = paddingFrame + paddingLenSize
	}
	if verify {
		r.h = sha512.New()
	}
	if o.bodyLen >= 0 {
		r.d, err = gcmstream.NewSizedDecrypter(src, o.bodyKey, o.nonce, o.aad, o.bodyLen-tagSize)
	} else {
		r.d, err = gcmstream.NewDecrypter(src, o.bodyKey, o.nonce, o.aad)
	}
	if err != nil {
		return nil, parseError("message info", err)
	}
	r.d.SetFinalCheck(nil, r.finalCheck)
	r.ws = make([]byte, gcmstream.ChunkSize+r.holdBack)
	return r, nil
}

// finalCheck runs after the GCM tag verified, with the last window (not yet
// returned by d): it strips the padding, finishes the hash, reads and opens
// the footer, and verifies the signature.
func (r *streamReader) finalCheck(last []byte) error {
	holdStart := r.pos - int64(len(r.hold))
	total := int64(len(r.hold) + len(last))
	keep := total
	if r.holdBack > 0 {
		// The last (at most 164) bytes of hold ‖ last contain the padding.
		t := make([]byte, 0, r.holdBack)
		if len(last) < r.holdBack {
			from := max(0, len(r.hold)-(r.holdBack-len(last)))
			t = append(t, r.hold[from:]...)
			t = append(t, last...)
		} else {
			t = append(t, last[len(last)-r.holdBack:]...)
		}
		unpadded, err := unpad(t)
		if err != nil {
			return err
		}
		keep = total - int64(len(t)-len(unpadded))
	}
	r.end = holdStart + keep
	if r.h != nil {
		// Hash what was not yet: the tail of hold and the start of last, up
		// to the end of the unpadded plaintext.
		from := r.hashed - holdStart
		for _, part := range [][]byte{r.hold, last} {
			n := int64(len(part))
			lo, hi := max(0, from), min(n, keep)
			if hi > lo {
				r.h.Write(part[lo:hi])
			}
			from -= n
			keep -= n
		}
		r.hashed = r.end
	}
	if r.o.footerAEAD == nil {
		return nil
	}
	footerCT, err := io.ReadAll(io.LimitReader(r.src, maxFooterSize+1))
	if err != nil {
		return err
	}
	if len(footerCT) > maxFooterSize {
		return errFooterAuth
	}
	f, err := r.o.openFooter(footerCT)
	if err != nil {
		return err
	}
	if r.verify {
		return verifyFooterDigest(f, r.h.Sum(nil), r.signers)
	}
	return nil
}

func (r *streamReader) mapErr(err error) error {
	if errors.Is(err, gcmstream.ErrAuth) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errTruncated
		}
		return errBodyAuth
	}
	return err
}

// emit makes b (which starts at plaintext position start) the output,
// hashing what was not hashed yet.
func (r *streamReader) emit(b []byte, start int64) {
	if r.h != nil {
		from := max(start, r.hashed)
		to := start + int64(len(b))
		if r.end >= 0 {
			to = min(to, r.end)
		}
		if to > from {
			r.h.Write(b[from-start : to-start])
			r.hashed = to
		}
	}
	r.out = b
}

// fill obtains the next decrypted piece from d.
func (r *streamReader) fill() {
	k := copy(r.ws, r.hold)
	r.hold = r.ws[:k]
	n, err := r.d.Read(r.ws[k:])
	data := r.ws[:k+n]
	start := r.pos - int64(k)
	r.pos += int64(n)
	switch {
	case err == io.EOF:
		if r.end < 0 || r.end < start || r.end > r.pos {
			r.err = errBodyAuth // cannot happen: the final check always runs first
			return
		}
		r.emit(data[:r.end-start], start)
		r.hold = nil
		r.eof = true
	case err != nil:
		r.err = r.mapErr(err)
		r.out, r.hold = nil, nil
	default:
		keep := min(len(data), r.holdBack)
		r.emit(data[:len(data)-keep], start)
		r.hold = data[len(data)-keep:]
	}
}

// Read reads plaintext. It returns io.EOF only after the ciphertext (and
// signature, if verifying) checked out.
func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo writes the plaintext to w until the end (nil error) or a failure.
func (r *streamReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(r.out) == 0 {
			if r.err != nil {
				return total, r.err
			}
			if r.eof {
				return total, nil
			}
			r.fill()
		}
		n, err := w.Write(r.out)
		total += int64(n)
		r.out = r.out[n:]
		if err != nil {
			return total, err
		}
		if len(r.out) > 0 {
			return total, io.ErrShortWrite
		}
	}
}
