package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"
	"testing/iotest"
)

func oneShotSeal(t testing.TB, key, nonce, pt, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm.Seal(nil, nonce, pt, aad)
}

type testCase struct {
	key, nonce, aad, pt []byte
}

func newCase(rng *mrand.Rand, size, aadLen int) testCase {
	c := testCase{
		key:   make([]byte, 32),
		nonce: make([]byte, NonceSize),
		aad:   make([]byte, aadLen),
		pt:    make([]byte, size),
	}
	fillRand(rng, c.key)
	fillRand(rng, c.nonce)
	fillRand(rng, c.aad)
	fillRand(rng, c.pt)
	return c
}

// writePattern returns the next write size given the bytes left.
type writePattern struct {
	name string
	next func(rng *mrand.Rand, left int) int
}

var writePatterns = []writePattern{
	{"single", func(_ *mrand.Rand, left int) int { return left }},
	{"mixed", func(rng *mrand.Rand, _ int) int {
		sizes := []int{1, 15, 16, 17, 64<<10 - 1, 64 << 10, 64<<10 + 1}
		return sizes[rng.IntN(len(sizes))]
	}},
	{"small", func(rng *mrand.Rand, _ int) int { return 1 + rng.IntN(3<<10) }},
}

// encryptPattern encrypts c with writes sized by pat, checking that each
// Write reports the full length.
func encryptPattern(t testing.TB, rng *mrand.Rand, cfg config, c testCase, pat writePattern) []byte {
	t.Helper()
	var out bytes.Buffer
	e, err := newEncrypter(&out, c.key, c.nonce, c.aad, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for p := c.pt; len(p) > 0; {
		n := min(pat.next(rng, len(p)), len(p))
		w, err := e.Write(p[:n])
		if err != nil || w != n {
			t.Fatalf("Write(%d) = %d, %v", n, w, err)
		}
		p = p[n:]
	}
	if e.streaming && !cfg.forceCTR && e.ctrMode {
		t.Fatal("steered-J0 path not in use")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var (
	testSizes  = []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 4095, 4096, 4097, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128<<10 + 7}
	testChunks = []int{16, 48, 4080, 64 << 10, 1 << 20}
	testAADs   = []int{0, 1, 15, 16, 17, 20, 100}
)

func modes() []bool { return []bool{false, true} } // forceCTR

func modeName(forceCTR bool) string {
	if forceCTR {
		return "ctr"
	}
	return "steered"
}

func TestEncryptMatchesOneShot(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(10, 10))
	cases := 0
	for _, forceCTR := range modes() {
		for _, chunk := range testChunks {
			cfg := config{chunk: chunk, directMin: directMin, forceCTR: forceCTR}
			for _, size := range testSizes {
				for _, pat := range writePatterns {
					aads := testAADs
					if testing.Short() || chunk < 4080 && size > 8<<10 {
						// Tiny chunks are slow; vary the AAD on the small
						// sizes only.
						aads = []int{20}
					}
					for _, aadLen := range aads {
						c := newCase(rng, size, aadLen)
						got := encryptPattern(t, rng, cfg, c, pat)
						if want := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad); !bytes.Equal(got, want) {
							t.Fatalf("%s chunk=%d size=%d pattern=%s aad=%d: output differs from Seal",
								modeName(forceCTR), chunk, size, pat.name, aadLen)
						}
						cases++
					}
				}
			}
		}
	}
	t.Logf("%d cases byte-identical to Seal", cases)
}

func TestEncryptLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MiB")
	}
	rng := mrand.New(mrand.NewPCG(11, 11))
	for _, forceCTR := range modes() {
		for _, chunk := range []int{4080, 64 << 10, 1 << 20} {
			for _, pat := range writePatterns {
				cfg := config{chunk: chunk, directMin: directMin, forceCTR: forceCTR}
				c := newCase(rng, 10<<20, 20)
				got := encryptPattern(t, rng, cfg, c, pat)
				if !bytes.Equal(got, oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)) {
					t.Fatalf("%s chunk=%d pattern=%s: 10 MiB output differs", modeName(forceCTR), chunk, pat.name)
				}
			}
		}
	}
}

func TestEncryptRandom(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	rng := mrand.New(mrand.NewPCG(12, 12))
	for i := 0; i < n; i++ {
		cfg := config{
			chunk:     16 * (1 + rng.IntN(8192)),
			directMin: []int{16, 100, directMin}[rng.IntN(3)],
			forceCTR:  rng.IntN(2) == 0,
		}
		c := newCase(rng, rng.IntN(300<<10), rng.IntN(70))
		pat := writePatterns[rng.IntN(len(writePatterns))]
		got := encryptPattern(t, rng, cfg, c, pat)
		if !bytes.Equal(got, oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)) {
			t.Fatalf("case %d (%+v, size %d, aad %d, %s): differs", i, cfg, len(c.pt), len(c.aad), pat.name)
		}
	}
}

func TestKeySizes(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(13, 13))
	for _, ks := range []int{16, 24, 32} {
		c := newCase(rng, 200<<10, 20)
		c.key = c.key[:ks]
		got := encryptPattern(t, rng, defaultConfig(), c, writePatterns[2])
		if !bytes.Equal(got, oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)) {
			t.Fatalf("key size %d: differs", ks)
		}
		pt, err := io.ReadAll(mustDecrypter(t, bytes.NewReader(got), c, -1, defaultConfig()))
		if err != nil || !bytes.Equal(pt, c.pt) {
			t.Fatalf("key size %d: decrypt: %v", ks, err)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 31)} {
		if _, err := NewEncrypter(io.Discard, bad, make([]byte, 12), nil); err == nil {
			t.Errorf("key of %d bytes accepted", len(bad))
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 11), make([]byte, 16)} {
		if _, err := NewEncrypter(io.Discard, make([]byte, 32), bad, nil); err == nil {
			t.Errorf("nonce of %d bytes accepted", len(bad))
		}
		if _, err := NewDecrypter(bytes.NewReader(nil), make([]byte, 32), bad, nil); err == nil {
			t.Errorf("nonce of %d bytes accepted by decrypter", len(bad))
		}
	}
}

// noWriterTo hides the source's WriterTo so io.Copy uses ReadFrom.
type noWriterTo struct{ io.Reader }

// randomReader returns reads of random sizes (and sometimes (0, nil)).
type randomReader struct {
	r   io.Reader
	rng *mrand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.rng.IntN(20) == 0 {
		return 0, nil
	}
	return r.r.Read(p[:1+r.rng.IntN(len(p))])
}

func readers(rng *mrand.Rand) []struct {
	name string
	wrap func(io.Reader) io.Reader
} {
	return []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return noWriterTo{r} }},
		{"onebyte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"dataerr", iotest.DataErrReader},
		{"random", func(r io.Reader) io.Reader { return &randomReader{r, rng} }},
	}
}

func TestIOCopyPaths(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(14, 14))
	sizes := []int{0, 1, 17, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, 64<<10 + 16, 64<<10 + 17, 200<<10 + 3}
	for _, forceCTR := range modes() {
		for _, chunk := range []int{48, 4080, 64 << 10} {
			cfg := config{chunk: chunk, directMin: directMin, forceCTR: forceCTR}
			for _, size := range sizes {
				for _, rd := range readers(rng) {
					if rd.name == "onebyte" && size > 70<<10 {
						continue
					}
					c := newCase(rng, size, 20)
					want := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)

					// Encrypt through ReadFrom.
					var out bytes.Buffer
					e, err := newEncrypter(&out, c.key, c.nonce, c.aad, cfg)
					if err != nil {
						t.Fatal(err)
					}
					n, err := io.Copy(e, rd.wrap(bytes.NewReader(c.pt)))
					if err != nil || n != int64(size) {
						t.Fatalf("io.Copy into Encrypter: %d, %v", n, err)
					}
					if err := e.Close(); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(out.Bytes(), want) {
						t.Fatalf("%s chunk=%d size=%d reader=%s: ReadFrom output differs", modeName(forceCTR), chunk, size, rd.name)
					}

					// Decrypt through WriteTo, both modes.
					for _, sized := range []bool{false, true} {
						size64 := int64(-1)
						if sized {
							size64 = int64(size)
						}
						d := mustDecrypter(t, rd.wrap(bytes.NewReader(want)), c, size64, cfg)
						var pt bytes.Buffer
						if _, err := io.Copy(&pt, d); err != nil {
							t.Fatalf("%s size=%d reader=%s sized=%v: io.Copy from Decrypter: %v", modeName(forceCTR), size, rd.name, sized, err)
						}
						if !bytes.Equal(pt.Bytes(), c.pt) {
							t.Fatalf("size=%d reader=%s: WriteTo plaintext differs", size, rd.name)
						}
					}
				}
			}
		}
	}
}

func TestIOCopyLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	rng := mrand.New(mrand.NewPCG(15, 15))
	c := newCase(rng, 64<<20, 20)
	want := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)
	var ct bytes.Buffer
	e, err := NewEncrypter(&ct, c.key, c.nonce, c.aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(e, noWriterTo{bytes.NewReader(c.pt)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ct.Bytes(), want) {
		t.Fatal("64 MiB ReadFrom output differs")
	}
	d, err := NewDecrypter(noWriterTo{bytes.NewReader(want)}, c.key, c.nonce, c.aad)
	if err != nil {
		t.Fatal(err)
	}
	var pt bytes.Buffer
	if _, err := io.Copy(&pt, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt.Bytes(), c.pt) {
		t.Fatal("64 MiB round trip differs")
	}
}

func mustDecrypter(t testing.TB, src io.Reader, c testCase, size int64, cfg config) *Decrypter {
	t.Helper()
	d, err := newDecrypter(src, c.key, c.nonce, c.aad, size, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readAllSmall reads with small random buffers through Read (not WriteTo).
func readAllSmall(rng *mrand.Rand, r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 70<<10)
	for {
		n, err := r.Read(buf[:1+rng.IntN(len(buf))])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestDecrypt(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(16, 16))
	for _, chunk := range []int{16, 48, 4080, 64 << 10} {
		cfg := config{chunk: chunk, directMin: directMin}
		for _, size := range testSizes {
			for _, rd := range readers(rng) {
				if rd.name == "onebyte" && size > 70<<10 {
					continue
				}
				for _, sized := range []bool{false, true} {
					c := newCase(rng, size, testAADs[rng.IntN(len(testAADs))])
					ct := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)
					size64 := int64(-1)
					if sized {
						size64 = int64(size)
					}
					name := fmt.Sprintf("chunk=%d size=%d reader=%s sized=%v", chunk, size, rd.name, sized)
					d := mustDecrypter(t, rd.wrap(bytes.NewReader(ct)), c, size64, cfg)
					pt, err := readAllSmall(rng, d)
					if err != nil || !bytes.Equal(pt, c.pt) {
						t.Fatalf("%s: %v", name, err)
					}
					if d.Consumed() != int64(len(ct)) {
						t.Fatalf("%s: Consumed = %d, want %d", name, d.Consumed(), len(ct))
					}
					// EOF is sticky.
					if n, err := d.Read(make([]byte, 10)); n != 0 || err != io.EOF {
						t.Fatalf("%s: Read after EOF = %d, %v", name, n, err)
					}
					checkTampering(t, rng, name, c, ct, size64, cfg)
				}
			}
		}
	}
}

// releasedLimit is the most plaintext a Decrypter may return before failing
// authentication: everything but the last window (a message of at most one
// chunk returns nothing).
func releasedLimit(ctLen, chunk int) int {
	if ctLen <= 0 {
		return 0
	}
	return (ctLen - 1) / chunk * chunk
}

// decryptExpectAuthFailure decrypts src and checks the error is ErrAuth,
// that it is sticky and that the last window was withheld.
func decryptExpectAuthFailure(t testing.TB, rng *mrand.Rand, what string, c testCase, src []byte, size int64, cfg config) {
	t.Helper()
	d := mustDecrypter(t, bytes.NewReader(src), c, size, cfg)
	var got []byte
	var err error
	if rng.IntN(2) == 0 {
		got, err = readAllSmall(rng, d)
	} else {
		var buf bytes.Buffer
		_, err = d.WriteTo(&buf)
		got = buf.Bytes()
	}
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("%s: err = %v, want ErrAuth", what, err)
	}
	ctLen := len(src) - TagSize
	if size >= 0 {
		ctLen = int(size)
	}
	if lim := releasedLimit(ctLen, cfg.chunk); len(got) > lim {
		t.Fatalf("%s: %d bytes released before failing, limit %d", what, len(got), lim)
	}
	for i := 0; i < 2; i++ {
		if n, err2 := d.Read(make([]byte, 100)); n != 0 || !errors.Is(err2, ErrAuth) {
			t.Fatalf("%s: Read after failure = %d, %v (not sticky)", what, n, err2)
		}
	}
	if n, err2 := d.WriteTo(io.Discard); n != 0 || !errors.Is(err2, ErrAuth) {
		t.Fatalf("%s: WriteTo after failure = %d, %v", what, n, err2)
	}
}

func checkTampering(t testing.TB, rng *mrand.Rand, name string, c testCase, ct []byte, size int64, cfg config) {
	t.Helper()
	// A random bit flip anywhere, one in the tag, one in the last
	// ciphertext byte, one in the first.
	positions := []int{rng.IntN(len(ct)), len(ct) - 1 - rng.IntN(TagSize), 0}
	if len(ct) > TagSize {
		positions = append(positions, len(ct)-TagSize-1)
	}
	for _, pos := range positions {
		bad := bytes.Clone(ct)
		bad[pos] ^= 1 << rng.IntN(8)
		decryptExpectAuthFailure(t, rng, name+fmt.Sprintf(" flip@%d", pos), c, bad, size, cfg)
	}
	if size < 0 {
		// Truncated by one byte, or one extra byte: the tag moves.
		decryptExpectAuthFailure(t, rng, name+" truncated", c, ct[:len(ct)-1], size, cfg)
		decryptExpectAuthFailure(t, rng, name+" extended", c, append(bytes.Clone(ct), byte(rng.Uint32())), size, cfg)
	} else {
		// Sized: a short input is a truncation error; a wrong size moves
		// the tag.
		d := mustDecrypter(t, bytes.NewReader(ct[:len(ct)-1]), c, size, cfg)
		_, err := io.ReadAll(d)
		if !errors.Is(err, ErrAuth) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s truncated: %v", name, err)
		}
		if size > 0 {
			decryptExpectAuthFailure(t, rng, name+" size-1", c, ct, size-1, cfg)
		}
		decryptExpectAuthFailure(t, rng, name+" size+1", c, append(bytes.Clone(ct), 0), size+1, cfg)
	}
	// Wrong AAD, wrong nonce, wrong key.
	for i, mutate := range []func(*testCase){
		func(c *testCase) { c.aad = append(bytes.Clone(c.aad), 0) },
		func(c *testCase) { c.nonce = bytes.Clone(c.nonce); c.nonce[11] ^= 1 },
		func(c *testCase) { c.key = bytes.Clone(c.key); c.key[0] ^= 0x80 },
	} {
		c2 := c
		mutate(&c2)
		decryptExpectAuthFailure(t, rng, name+fmt.Sprintf(" param%d", i), c2, ct, size, cfg)
	}
}

func TestDecryptShortInputs(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(17, 17))
	c := newCase(rng, 0, 0)
	for n := 0; n < TagSize; n++ {
		src := make([]byte, n)
		d := mustDecrypter(t, bytes.NewReader(src), c, -1, defaultConfig())
		if _, err := io.ReadAll(d); !errors.Is(err, ErrAuth) {
			t.Fatalf("%d-byte input: %v", n, err)
		}
		d = mustDecrypter(t, bytes.NewReader(src), c, 0, defaultConfig())
		if _, err := io.ReadAll(d); !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrAuth) {
			t.Fatalf("%d-byte input, sized: %v", n, err)
		}
	}
	for _, bad := range []int64{-1, MaxPlaintextSize + 1} {
		if _, err := NewSizedDecrypter(bytes.NewReader(nil), c.key, c.nonce, nil, bad); err == nil {
			t.Errorf("size %d accepted", bad)
		}
	}
}

// TestFooter is the Virgil signAndEncrypt layout: messageInfo ‖ GCM body ‖
// tag ‖ encryptedFooter. The Encrypter's Close leaves dst open for the
// footer; the sized Decrypter stops exactly at the tag.
func TestFooter(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(18, 18))
	for _, size := range []int{0, 100, 64 << 10, 300<<10 + 5} {
		c := newCase(rng, size, 20)
		header, footer := []byte("message-info"), []byte("encrypted-footer-bytes")
		var out bytes.Buffer
		out.Write(header)
		e, err := NewEncrypter(&out, c.key, c.nonce, c.aad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Write(c.pt); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		out.Write(footer)
		want := append(append(bytes.Clone(header), oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)...), footer...)
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("size %d: layout differs", size)
		}

		src := bytes.NewReader(out.Bytes()[len(header):])
		d, err := NewSizedDecrypter(iotest.HalfReader(src), c.key, c.nonce, c.aad, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := io.ReadAll(d)
		if err != nil || !bytes.Equal(pt, c.pt) {
			t.Fatalf("size %d: %v", size, err)
		}
		if d.Consumed() != int64(size+TagSize) {
			t.Fatalf("Consumed = %d", d.Consumed())
		}
		rest, _ := io.ReadAll(src)
		if !bytes.Equal(rest, footer) {
			t.Fatalf("size %d: footer left for the caller = %q", size, rest)
		}
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

var errSink = errors.New("sink failed")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errSink
	}
	w.n -= len(p)
	return len(p), nil
}

func TestErrorsAreSticky(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(19, 19))
	c := newCase(rng, 300<<10, 20)

	// Writer failure.
	e, err := NewEncrypter(&errWriter{n: 100 << 10}, c.key, c.nonce, c.aad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Write(c.pt)
	if !errors.Is(err, errSink) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := e.Write([]byte{1}); !errors.Is(err, errSink) {
		t.Fatalf("second Write: %v", err)
	}
	if err := e.Close(); !errors.Is(err, errSink) {
		t.Fatalf("Close: %v", err)
	}

	// Write after Close.
	e, _ = NewEncrypter(io.Discard, c.key, c.nonce, c.aad)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write([]byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, err := e.ReadFrom(bytes.NewReader([]byte{1})); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadFrom after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Reader failure while encrypting.
	errSrc := errors.New("source failed")
	e, _ = NewEncrypter(io.Discard, c.key, c.nonce, c.aad)
	if _, err := e.ReadFrom(io.MultiReader(bytes.NewReader(c.pt), iotest.ErrReader(errSrc))); !errors.Is(err, errSrc) {
		t.Fatalf("ReadFrom: %v", err)
	}
	if err := e.Close(); !errors.Is(err, errSrc) {
		t.Fatalf("Close after ReadFrom failure: %v", err)
	}

	// Reader failure while decrypting: surfaced, sticky, not ErrAuth.
	ct := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)
	d := mustDecrypter(t, io.MultiReader(bytes.NewReader(ct[:200<<10]), iotest.ErrReader(errSrc)), c, -1, defaultConfig())
	if _, err := io.ReadAll(d); !errors.Is(err, errSrc) || errors.Is(err, ErrAuth) {
		t.Fatalf("Decrypter: %v", err)
	}
	if _, err := d.Read(make([]byte, 1)); !errors.Is(err, errSrc) {
		t.Fatalf("Decrypter second Read: %v", err)
	}
}

func TestLengthLimit(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(20, 20))
	c := newCase(rng, 0, 0)

	e, _ := NewEncrypter(io.Discard, c.key, c.nonce, nil)
	e.total = MaxPlaintextSize - 10
	if _, err := e.Write(make([]byte, 10)); err != nil {
		t.Fatalf("write up to the limit: %v", err)
	}
	if _, err := e.Write(make([]byte, 1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write past the limit: %v", err)
	}
	if err := e.Close(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Close: %v", err)
	}

	e, _ = NewEncrypter(io.Discard, c.key, c.nonce, nil)
	e.total = MaxPlaintextSize - 10
	if _, err := e.ReadFrom(bytes.NewReader(make([]byte, 11))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFrom past the limit: %v", err)
	}

	// Decrypter: a stream longer than the limit fails authentication.
	d := mustDecrypter(t, bytes.NewReader(make([]byte, 3*ChunkSize)), c, -1, defaultConfig())
	d.ctLen = MaxPlaintextSize - ChunkSize/2
	if _, err := io.ReadAll(d); !errors.Is(err, ErrAuth) {
		t.Fatalf("Decrypter past the limit: %v", err)
	}
}

// TestPooledBuffersCleared checks that a released buffer holds no plaintext
// or per-chunk tag.
func TestPooledBuffersCleared(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(21, 21))
	cfg := config{chunk: 4080, directMin: directMin}
	c := newCase(rng, 10000, 20)
	e, _ := newEncrypter(io.Discard, c.key, c.nonce, c.aad, cfg)
	buf := e.buf
	e.Write(c.pt[:3000])
	e.Write(c.pt[3000:])
	e.Close()
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatal("encrypter buffer not cleared")
	}
	ct := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)
	d := mustDecrypter(t, bytes.NewReader(ct), c, -1, cfg)
	buf = d.buf
	if _, err := io.ReadAll(d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatal("decrypter buffer not cleared")
	}
}

// TestFinalCheck is the signAndEncrypt decryption flow: hash the plaintext,
// then, after the tag and before the last window, read and check the footer.
func TestFinalCheck(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(22, 22))
	errSig := errors.New("signature invalid")
	for _, size := range []int{0, 100, 64 << 10, 64<<10 + 1, 300<<10 + 5} {
		for _, failCheck := range []bool{false, true} {
			for _, tamper := range []bool{false, true} {
				c := newCase(rng, size, 20)
				footer := []byte("footer")
				body := oneShotSeal(t, c.key, c.nonce, c.pt, c.aad)
				if tamper {
					body[len(body)-1] ^= 1
				}
				src := bytes.NewReader(append(body, footer...))
				d, err := NewSizedDecrypter(src, c.key, c.nonce, c.aad, int64(size))
				if err != nil {
					t.Fatal(err)
				}
				h := sha512.New()
				calls, released := 0, 0
				d.SetFinalCheck(h, func(last []byte) error {
					calls++
					if start := len(c.pt) - len(last); start != releasedLimit(size, ChunkSize) || !bytes.Equal(last, c.pt[start:]) {
						t.Errorf("size %d: last window is not the plaintext tail after the released part", size)
					}
					if lim := releasedLimit(size, ChunkSize); released > lim {
						t.Errorf("size %d: %d bytes released before the check, limit %d", size, released, lim)
					}
					if want := sha512.Sum512(c.pt); !bytes.Equal(h.Sum(nil), want[:]) {
						t.Errorf("size %d: hash at check time differs", size)
					}
					rest, err := io.ReadAll(src)
					if err != nil || !bytes.Equal(rest, footer) {
						t.Errorf("size %d: footer at check time %q, %v", size, rest, err)
					}
					if failCheck {
						return errSig
					}
					return nil
				})
				var got []byte
				buf := make([]byte, 1000)
				for {
					n, err2 := d.Read(buf)
					released += n
					got = append(got, buf[:n]...)
					if err2 != nil {
						err = err2
						break
					}
				}
				name := fmt.Sprintf("size %d failCheck %v tamper %v", size, failCheck, tamper)
				switch {
				case tamper:
					if !errors.Is(err, ErrAuth) || calls != 0 {
						t.Fatalf("%s: err %v, check called %d times", name, err, calls)
					}
				case failCheck:
					if !errors.Is(err, errSig) || calls != 1 {
						t.Fatalf("%s: err %v, check called %d times", name, err, calls)
					}
					if _, err := d.Read(buf); !errors.Is(err, errSig) {
						t.Fatalf("%s: check error not sticky: %v", name, err)
					}
					if len(got) > releasedLimit(size, ChunkSize) {
						t.Fatalf("%s: last window released", name)
					}
				default:
					if err != io.EOF || calls != 1 || !bytes.Equal(got, c.pt) {
						t.Fatalf("%s: err %v, calls %d", name, err, calls)
					}
				}
			}
		}
	}

	d, _ := NewDecrypter(bytes.NewReader(make([]byte, 40)), make([]byte, 32), make([]byte, 12), nil)
	d.Read(make([]byte, 1))
	defer func() {
		if recover() == nil {
			t.Fatal("SetFinalCheck after Read did not panic")
		}
	}()
	d.SetFinalCheck(nil, nil)
}
