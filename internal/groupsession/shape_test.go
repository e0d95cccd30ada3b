package groupsession

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"testing"
)

// drawReader is a deterministic random source that records each Read
// (virgil-crypto draws salt and padding in one request each, which matters
// for reproducing its output with a KeyMaterialRng).
type drawReader struct {
	ctr   uint64
	draws [][]byte
}

func (r *drawReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 32 {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], r.ctr)
		r.ctr++
		h := sha256.Sum256(b[:])
		copy(p[i:], h[:])
	}
	r.draws = append(r.draws, bytes.Clone(p))
	return len(p), nil
}

// specOpen decrypts a group ciphertext with the standard library as spec
// §13 describes it and returns the padded plaintext.
func specOpen(tb testing.TB, key, salt, header, ct []byte) []byte {
	tb.Helper()
	okm, err := hkdf.Key(sha512.New, key, salt, "VIRGIL_GROUP_SESSION_KDF_CIPHER_INFO\x00", 44)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := aes.NewCipher(okm[:32])
	g, _ := cipher.NewGCM(block)
	padded, err := g.Open(nil, okm[32:], ct, header)
	if err != nil {
		tb.Fatalf("spec decryption: %v", err)
	}
	return padded
}

var testGroupID = []byte("e3go-groupsession-test-group")

func testSigner(tb testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	tb.Helper()
	seed := sha256.Sum256([]byte("groupsession test signer"))
	sk := ed25519.NewKeyFromSeed(seed[:])
	return sk, sk.Public().(ed25519.PublicKey)
}

// TestGoShapes: Go-made tickets and messages have exactly the layout of
// spec §13/§15, with the randomness where virgil-crypto puts it.
func TestGoShapes(t *testing.T) {
	r := &drawReader{}
	s, err := Generate(r, testGroupID)
	if err != nil {
		t.Fatal(err)
	}
	sid := SessionID(testGroupID)
	key0 := r.draws[0]
	ticket := s.Epochs()[0].Marshal()
	want := append(append(append([]byte{0x08, 0x00, 0x12, 0x46, 0x0a, 0x20}, sid[:]...), 0x10, 0x00, 0x1a, 0x20), key0...)
	if !bytes.Equal(ticket, want) {
		t.Fatalf("epoch-0 ticket\n%x\nwant\n%x", ticket, want)
	}

	e1, err := s.AddNewEpoch(r)
	if err != nil {
		t.Fatal(err)
	}
	want = append(append(append([]byte{0x08, 0x00, 0x12, 0x46, 0x0a, 0x20}, sid[:]...), 0x10, 0x01, 0x1a, 0x20), r.draws[1]...)
	if got := e1.Marshal(); !bytes.Equal(got, want) || e1.Number() != 1 || s.CurrentEpoch() != 1 {
		t.Fatalf("epoch-1 ticket\n%x\nwant\n%x", got, want)
	}

	sk, pk := testSigner(t)
	msg := []byte("Hello, Virgil! This is a known test message for wire-format analysis.")
	if len(msg) != 69 {
		t.Fatal("test message is not 69 bytes")
	}
	r.draws = nil
	ct, err := s.Encrypt(r, msg, sk)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.draws) != 2 || len(r.draws[0]) != 32 || len(r.draws[1]) != 160-69-4 {
		t.Fatalf("Encrypt drew %d times (%v), want salt (32) then padding (87)", len(r.draws), drawSizes(r.draws))
	}
	salt, padding := r.draws[0], r.draws[1]
	if len(ct) != 322 {
		t.Fatalf("69-byte message: %d bytes, want 322", len(ct))
	}
	hdr := append(append(append([]byte{0x0a, 0x20}, sid[:]...), 0x10, 0x01, 0x1a, 0x20), salt...)
	wantPrefix := append([]byte{0x08, 0x00, 0x1a, 0xbd, 0x02, 0x0a, 0x46}, hdr...)
	if !bytes.HasPrefix(ct, wantPrefix) || !bytes.Equal(ct[77:79], []byte{0x12, 0x40}) || !bytes.Equal(ct[143:146], []byte{0x1a, 0xb0, 0x01}) {
		t.Fatalf("message layout:\n%x", ct)
	}
	body := ct[146:]
	if !ed25519.Verify(pk, body, ct[79:143]) {
		t.Error("signature is not pure Ed25519 over the ciphertext")
	}
	padded := specOpen(t, e1.sec.key[:], salt, hdr, body)
	wantPadded := append(append(bytes.Clone(msg), padding...), 69, 0, 0, 0)
	if !bytes.Equal(padded, wantPadded) {
		t.Errorf("padded plaintext\n%x\nwant\n%x", padded, wantPadded)
	}
	if got, err := s.Decrypt(ct, pk); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("Decrypt: %q, %v", got, err)
	}
}

func drawSizes(d [][]byte) []int {
	var n []int
	for _, b := range d {
		n = append(n, len(b))
	}
	return n
}

// TestSizes: message and ticket sizes over plaintext lengths and epoch
// numbers (the header and the ticket grow with the epoch varint).
func TestSizes(t *testing.T) {
	sk, pk := testSigner(t)
	sid := SessionID(testGroupID)
	for _, c := range []struct {
		epoch             uint32
		ticket, headerLen int
	}{
		{0, 74, 70}, {1, 74, 70}, {127, 74, 70}, {128, 75, 71}, {16383, 75, 71}, {16384, 76, 72}, {1 << 28, 78, 74}, {^uint32(0), 78, 74},
	} {
		e := NewEpochWithKey(sid, c.epoch, [KeySize]byte{1, 2, 3})
		tk := e.Marshal()
		if len(tk) != c.ticket {
			t.Errorf("epoch %d: ticket %d bytes, want %d", c.epoch, len(tk), c.ticket)
		}
		if p, err := ParseEpoch(tk); err != nil || !p.Equal(e) {
			t.Errorf("epoch %d: ticket does not round-trip: %v", c.epoch, err)
		}
		s, err := NewSession(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []int{0, 1, 155, 156, 157, 315, 316, 4096, MaxPlaintextSize} {
			pt := bytes.Repeat([]byte{0xa5}, l)
			ct, err := s.Encrypt(nil, pt, sk)
			if err != nil {
				t.Fatalf("epoch %d, %d bytes: %v", c.epoch, l, err)
			}
			m, err := ParseMessage(ct)
			if err != nil {
				t.Fatalf("epoch %d, %d bytes: %v", c.epoch, l, err)
			}
			wantCT := ((l+4)/160+1)*160 + 16
			if len(m.Header) != c.headerLen || len(m.Ciphertext) != wantCT || m.Epoch != c.epoch {
				t.Errorf("epoch %d, %d bytes: header %d, ciphertext %d, want %d, %d", c.epoch, l, len(m.Header), len(m.Ciphertext), c.headerLen, wantCT)
			}
			if len(ct) > MaxMessageSize {
				t.Errorf("epoch %d, %d bytes: message of %d bytes", c.epoch, l, len(ct))
			}
			if got, err := s.Decrypt(ct, pk); err != nil || !bytes.Equal(got, pt) {
				t.Errorf("epoch %d, %d bytes: Decrypt: %v", c.epoch, l, err)
			}
		}
	}
}

// TestEncryptLimits: the plaintext limit, and what lies beyond it.
func TestEncryptLimits(t *testing.T) {
	sk, _ := testSigner(t)
	s, err := Generate(nil, testGroupID)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := s.Encrypt(nil, make([]byte, MaxPlaintextSize), sk)
	if err != nil || len(ct) != 30084 {
		t.Fatalf("%d bytes: %d-byte message, %v; want 30084 bytes", MaxPlaintextSize, len(ct), err)
	}
	for _, n := range []int{MaxPlaintextSize + 1, VirgilMaxPlaintextSize, VirgilMaxPlaintextSize + 1, 1 << 20} {
		if _, err := s.Encrypt(nil, make([]byte, n), sk); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes: %v, want ErrTooLarge", n, err)
		}
	}
	// What virgil-crypto makes of 29916..30000 bytes: the same layout,
	// 30244 bytes, over MaxMessageSize. The parser refuses it, as
	// virgil-crypto's does.
	big := marshalRegular(0, make([]byte, 70), &[SignatureSize]byte{}, make([]byte, 30080+16))
	if len(big) != 30244 {
		t.Fatalf("oversized layout is %d bytes", len(big))
	}
	if _, err := ParseMessage(big); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
		t.Errorf("30244-byte message: %v, want ErrTooLarge and ErrMalformed", err)
	}
	if _, err := ParseMessage(big); err.Error() != "groupsession: malformed group message: longer than 30188 bytes" {
		t.Errorf("error text %q", err)
	}
	if _, err := s.Encrypt(nil, nil, sk[:63]); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("63-byte signer: %v", err)
	}
	if _, err := s.Decrypt(ct, make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("31-byte sender key: %v", err)
	}
	var empty Session
	if _, err := empty.Encrypt(nil, nil, sk); !errors.Is(err, ErrNoEpochs) {
		t.Errorf("empty session Encrypt: %v", err)
	}
	if _, err := empty.Decrypt(ct, sk.Public().(ed25519.PublicKey)); !errors.Is(err, ErrNoEpochs) {
		t.Errorf("empty session Decrypt: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestRandomFailure(t *testing.T) {
	if _, err := Generate(failingReader{}, testGroupID); err == nil {
		t.Error("Generate with a failing reader succeeded")
	}
	s, _ := Generate(nil, testGroupID)
	if _, err := s.AddNewEpoch(failingReader{}); err == nil || s.Len() != 1 {
		t.Errorf("AddNewEpoch with a failing reader: %v, %d epochs", err, s.Len())
	}
	sk, _ := testSigner(t)
	if _, err := s.Encrypt(failingReader{}, []byte("x"), sk); err == nil {
		t.Error("Encrypt with a failing reader succeeded")
	}
	if _, err := Generate(nil, testGroupID[:9]); !errors.Is(err, ErrGroupIDTooShort) {
		t.Errorf("9-byte group id: %v", err)
	}
}
