package e3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/e3go/e3go/internal/envelope"
	"github.com/e3go/e3go/internal/kmrng"
)

func patternData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeInPieces writes data to w in pieces of the sizes pick returns.
func writeInPieces(t testing.TB, w io.Writer, data []byte, pick func() int) {
	for len(data) > 0 {
		n := min(pick(), len(data))
		k, err := w.Write(data[:n])
		if err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		data = data[n:]
	}
}

// TestStreamEqualsOneShot: with the same RNG stream, the streaming writers
// produce exactly the one-shot bytes, whatever the write sizes.
func TestStreamEqualsOneShot(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	seed := v.Deterministic.RngSeed
	sizes := []int{0, 1, 69, 155, 156, 65535, 65536, 65537, 150000, 3*65536 + 7}
	modes := []struct {
		name string
		p    func(n int) sealParams
	}{
		{"encrypt", func(int) sealParams { return sealParams{} }},
		{"signAndEncrypt padded", func(n int) sealParams {
			return sealParams{mode: modeSignAndEncrypt, padding: true, signer: ks.alice, size: int64(n)}
		}},
		{"signAndEncrypt unpadded", func(n int) sealParams {
			return sealParams{mode: modeSignAndEncrypt, signer: ks.alice, size: int64(n)}
		}},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	picks := map[string]func() int{
		"one write": func() int { return 1 << 30 },
		"1..300":    func() int { return 1 + rnd.IntN(300) },
		"4K..70K":   func() int { return 4096 + rnd.IntN(66000) },
		"odd 8191":  func() int { return 8191 },
	}
	to := []*PublicKey{ks.bobPub, ks.carolPub}
	for _, n := range sizes {
		data := patternData(n, uint64(n))
		for _, m := range modes {
			r1, _ := kmrng.New(seed)
			want, err := sealOneShot(r1, data, m.p(n), to)
			if err != nil {
				t.Fatal(err)
			}
			for pname, pick := range picks {
				if n > 70000 && pname == "1..300" {
					continue
				}
				r2, _ := kmrng.New(seed)
				var buf bytes.Buffer
				w, err := newStreamWriter(r2, &buf, m.p(n), to)
				if err != nil {
					t.Fatal(err)
				}
				writeInPieces(t, w, data, pick)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("%s n=%d %s: stream output differs from one-shot", m.name, n, pname)
				}
			}
		}
	}
}

// TestStreamNodeVectors decrypts the Node ciphertexts with the stream
// readers, through several reader behaviours.
func TestStreamNodeVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		ks := v.keys(t)
		o := v.Ops
		readers := map[string]func(io.Reader) io.Reader{
			"plain":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"half":     iotest.HalfReader,
			"data+err": iotest.DataErrReader,
		}
		for rname, wrap := range readers {
			check := func(name string, ct []byte, want []byte, verify bool, key *PrivateKey) {
				t.Helper()
				var r io.Reader
				var err error
				if verify {
					r, err = DecryptAndVerifyStream(wrap(bytes.NewReader(ct)), key, ks.alicePub)
				} else {
					r, err = DecryptStream(wrap(bytes.NewReader(ct)), key)
				}
				if err != nil {
					t.Fatalf("%s %s %s: %v", v.file, rname, name, err)
				}
				if rname == "one byte" {
					r = iotest.OneByteReader(r) // small reads from the caller too
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s %s %s: %v", v.file, rname, name, err)
				}
			}
			msg := v.Message
			check("encrypt", o.EncryptBob, msg, false, ks.bob)
			check("encrypt multi (carol)", o.EncryptMultiBobCarolAlice, msg, false, ks.carol)
			check("encrypt padded", o.EncryptBobPadded, msg, false, ks.bob)
			check("encrypt empty", o.EncryptBobEmpty, []byte{}, false, ks.bob)
			check("signThenEncrypt", o.SignThenEncryptAliceToBob, msg, false, ks.bob)
			check("signAndEncrypt (no verify)", o.SignAndEncryptAliceToBob, msg, false, ks.bob)
			check("signAndEncrypt", o.SignAndEncryptAliceToBob, msg, true, ks.bob)
			check("signAndEncrypt padded", o.SignAndEncryptAliceToBobAlicePadded, msg, true, ks.alice)
			check("signAndEncrypt empty padded", o.SignAndEncryptEmptyPadded, []byte{}, true, ks.bob)
			check("deterministic signAndEncrypt padded", v.Deterministic.SignAndEncryptBobPadded.All, msg, true, ks.bob)
			if rname == "plain" || rname == "half" {
				want := patternDataNode(150000)
				if h := sha256.Sum256(want); !bytes.Equal(h[:], o.StreamPlain150000SHA256) {
					t.Fatal("pattern differs from gen.js")
				}
				check("stream signAndEncrypt 150000", o.StreamSignAndEncrypt150000Padded, want, true, ks.bob)
			}
		}
		// io.Copy goes through WriteTo.
		r, err := DecryptAndVerifyStream(bytes.NewReader(o.StreamSignAndEncrypt150000Padded), ks.bob, ks.alicePub)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if n, err := io.Copy(h, r); err != nil || n != 150000 || !bytes.Equal(h.Sum(nil), o.StreamPlain150000SHA256) {
			t.Fatalf("io.Copy: %d %v", n, err)
		}
	}
}

// patternDataNode is gen.js's 150 000-byte stream input: (i*7+3) & 0xff.
func patternDataNode(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// TestStreamPaddingAcrossWindows: sizes whose padding straddles the last
// two 64 KiB windows, round trip through both stream directions.
func TestStreamPaddingAcrossWindows(t *testing.T) {
	alice, _ := GenerateKey()
	bob, _ := GenerateKey()
	var sizes []int
	for n := 65536 - 400; n <= 65536+400; n += 23 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 65536-164, 65536-165, 65536-160, 65536-5, 65536-4, 2*65536-164, 2*65536+3)
	for _, n := range sizes {
		data := patternData(n, uint64(n))
		var buf bytes.Buffer
		w, err := SignAndEncryptStream(&buf, int64(n), alice, bob.Public())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := DecryptAndVerify(buf.Bytes(), bob, alice.Public())
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("n=%d one-shot: %v", n, err)
		}
		r, err := DecryptAndVerifyStream(bytes.NewReader(buf.Bytes()), bob, alice.Public())
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("n=%d stream: %v (%d bytes)", n, err, len(got))
		}
		r, _ = DecryptStream(iotest.HalfReader(bytes.NewReader(buf.Bytes())), bob)
		got, err = io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("n=%d DecryptStream: %v", n, err)
		}
	}
}

// readStream reads a stream reader to the end and returns the error it
// ended with (nil for io.EOF), checking that errors are sticky.
func readStream(r io.Reader) ([]byte, error) {
	got, err := io.ReadAll(r)
	if err != nil {
		if _, err2 := r.Read(make([]byte, 10)); err2 != err {
			return got, errors.New("error not sticky")
		}
	}
	return got, err
}

// TestStreamBadInput: flips, truncations and extensions of streamed
// ciphertexts never end with io.EOF.
func TestStreamBadInput(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	small := v.Ops.SignAndEncryptAliceToBob
	big := v.Ops.StreamSignAndEncrypt150000Padded
	open := func(ct []byte) ([]byte, error) {
		r, err := DecryptAndVerifyStream(bytes.NewReader(ct), ks.bob, ks.alicePub)
		if err != nil {
			return nil, err
		}
		return readStream(r)
	}
	for _, ct := range [][]byte{small, big} {
		signBits := signBitOffsets(t, ct)
		var positions []int
		if len(ct) < 1000 {
			for i := range ct {
				positions = append(positions, i)
			}
		} else {
			// The message info, the first window, around the window
			// boundaries, the padding, the tag and the footer.
			for i := 0; i < 400; i++ {
				positions = append(positions, i)
			}
			for _, p := range []int{1000, 65536, 65936, 131072, 140000, len(ct) - 300} {
				for i := p; i < p+50 && i < len(ct); i++ {
					positions = append(positions, i)
				}
			}
			for i := len(ct) - 200; i < len(ct); i++ {
				positions = append(positions, i)
			}
		}
		mod := append([]byte(nil), ct...)
		for _, i := range positions {
			for _, b := range []byte{1, 0x80} {
				mod[i] ^= b
				_, err := open(mod)
				mod[i] ^= b
				if signBits[i] && b == 0x80 {
					if err != nil {
						t.Fatalf("sign bit %d: %v", i, err)
					}
					continue
				}
				if err == nil || !isOurError(err) {
					t.Fatalf("len %d: byte %d ^ %#x: %v", len(ct), i, b, err)
				}
			}
		}
		step := 1
		if len(ct) > 1000 {
			step = 997
		}
		for n := 0; n < len(ct); n += step {
			if _, err := open(ct[:n]); err == nil || !isOurError(err) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
		for _, n := range []int{len(ct) - 1, len(ct) - 16, len(ct) - 113, len(ct) - 114} {
			if _, err := open(ct[:n]); err == nil || !isOurError(err) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
		if _, err := open(append(append([]byte(nil), ct...), 0)); err == nil || !isOurError(err) {
			t.Fatalf("extended: %v", err)
		}
	}
	// Constructor errors.
	if _, err := DecryptStream(bytes.NewReader(small), ks.carol); !errors.Is(err, ErrNotRecipient) {
		t.Errorf("not recipient: %v", err)
	}
	if _, err := DecryptAndVerifyStream(bytes.NewReader(v.Ops.EncryptBob), ks.bob, ks.alicePub); !errors.Is(err, ErrNotSigned) {
		t.Errorf("unsigned: %v", err)
	}
	r, err := DecryptAndVerifyStream(bytes.NewReader(small), ks.bob, ks.bobPub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(r); !errors.Is(err, ErrSignerNotFound) {
		t.Errorf("wrong signer: %v", err)
	}
	// Footer stripped.
	mi, n, _ := envelope.Parse(small)
	r, _ = DecryptAndVerifyStream(bytes.NewReader(small[:n+int(mi.Footer.DataSize)+16]), ks.bob, ks.alicePub)
	if _, err := readStream(r); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("footer stripped: %v", err)
	}
}

func TestStreamWriterSize(t *testing.T) {
	alice, _ := GenerateKey()
	bob, _ := GenerateKey()
	w, _ := SignAndEncryptStream(io.Discard, 10, alice, bob.Public())
	if _, err := w.Write(make([]byte, 11)); err == nil {
		t.Error("overlong write accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
	w, _ = SignAndEncryptStream(io.Discard, 10, alice, bob.Public())
	w.Write(make([]byte, 9))
	if err := w.Close(); err == nil {
		t.Error("short stream closed without error")
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Error("write after Close")
	}
	if _, err := SignAndEncryptStream(io.Discard, -1, alice, bob.Public()); err == nil {
		t.Error("negative size")
	}
	if _, err := EncryptStream(io.Discard); err == nil {
		t.Error("no recipients")
	}
	w, _ = EncryptStream(io.Discard, bob.Public())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Error("write after Close")
	}
}

// TestStreamFlatMemory streams 64 MiB through SignAndEncryptStream and
// DecryptAndVerifyStream and checks that the heap allocated stays far below
// the data size.
func TestStreamFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB stream")
	}
	const size = 64 << 20
	alice, _ := GenerateKey()
	bob, _ := GenerateKey()
	src := &patternReader{left: size}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		w, err := SignAndEncryptStream(pw, size, alice, bob.Public())
		if err == nil {
			_, err = io.Copy(w, src)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	r, err := DecryptAndVerifyStream(pr, bob, alice.Public())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil || n != size {
		t.Fatalf("copied %d: %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms1)
	want := sha256.New()
	io.Copy(want, &patternReader{left: size})
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatal("plaintext differs")
	}
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes for a %d-byte stream", alloc, size)
	}
}

type patternReader struct {
	left int64
	i    byte
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.left))
	for i := range b[:n] {
		b[i] = p.i
		p.i += 7
	}
	p.left -= int64(n)
	return n, nil
}
