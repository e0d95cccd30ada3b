package groupsession

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func numbers(s *Session) []uint32 {
	var n []uint32
	for _, e := range s.Epochs() {
		n = append(n, e.Number())
	}
	return n
}

func epochRange(lo, hi uint32) []uint32 {
	var n []uint32
	for i := lo; i <= hi; i++ {
		n = append(n, i)
	}
	return n
}

// TestSessionEpochs: sorted, at most 50 (the oldest go), duplicates and
// other sessions refused, the C core's eviction rule.
func TestSessionEpochs(t *testing.T) {
	s, err := Generate(nil, testGroupID)
	if err != nil {
		t.Fatal(err)
	}
	var made []*Epoch
	made = append(made, s.Epochs()[0])
	for range 59 {
		e, err := s.AddNewEpoch(nil)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, e)
	}
	if got := numbers(s); !slices.Equal(got, epochRange(10, 59)) || s.CurrentEpoch() != 59 || s.Len() != MaxEpochs {
		t.Fatalf("after 60 epochs the session holds %v", got)
	}
	// An evicted epoch, added back to a full session, is dropped again
	// (it is the oldest), without an error: virgil-crypto's rule.
	if err := s.AddEpoch(made[3]); err != nil {
		t.Errorf("re-adding evicted epoch 3: %v", err)
	}
	if got := numbers(s); !slices.Equal(got, epochRange(10, 59)) {
		t.Errorf("after re-adding epoch 3: %v", got)
	}
	if err := s.AddEpoch(made[20]); !errors.Is(err, ErrDuplicateEpoch) {
		t.Errorf("duplicate epoch 20: %v", err)
	}
	// Same number, other key: still a duplicate.
	if err := s.AddEpoch(NewEpochWithKey(s.ID(), 20, [KeySize]byte{9})); !errors.Is(err, ErrDuplicateEpoch) {
		t.Errorf("epoch 20 with another key: %v", err)
	}
	other := NewEpochWithKey(SessionID([]byte("another-group-id")), 70, [KeySize]byte{1})
	if err := s.AddEpoch(other); !errors.Is(err, ErrWrongSession) {
		t.Errorf("epoch of another session: %v", err)
	}
	if err := s.AddEpoch(nil); err == nil {
		t.Error("AddEpoch(nil) succeeded")
	}

	// Import in random order: the newest 50, sorted.
	shuffled := slices.Clone(made)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var tickets [][]byte
	for _, e := range shuffled {
		tickets = append(tickets, e.Marshal())
	}
	s2, err := Import(tickets...)
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(s2); !slices.Equal(got, epochRange(10, 59)) || s2.ID() != s.ID() {
		t.Fatalf("Import of 60 shuffled tickets holds %v", got)
	}
	for i, e := range s2.Epochs() {
		if !e.Equal(made[10+i]) {
			t.Errorf("imported epoch %d differs", e.Number())
		}
	}
	// A gap: epochs 0 and 5 only.
	s3, err := NewSession(made[5], made[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s3.Epoch(3); ok {
		t.Error("Epoch(3) found in a session of 0 and 5")
	}
	if e, ok := s3.Epoch(5); !ok || !e.Equal(made[5]) {
		t.Error("Epoch(5) not found")
	}
	// Duplicates are refused even when one copy would be evicted.
	if _, err := NewSession(append(slices.Clone(made), made[0])...); !errors.Is(err, ErrDuplicateEpoch) {
		t.Errorf("NewSession with epoch 0 twice among 61: %v", err)
	}
	if _, err := NewSession(made[0], other); !errors.Is(err, ErrWrongSession) {
		t.Errorf("NewSession mixing sessions: %v", err)
	}
	if _, err := NewSession(); !errors.Is(err, ErrNoEpochs) {
		t.Errorf("NewSession(): %v", err)
	}
	if _, err := NewSession(made[0], nil); err == nil {
		t.Error("NewSession with a nil epoch succeeded")
	}
	if _, err := Import(made[0].Marshal(), []byte{0x08, 0x00}); !errors.Is(err, ErrMalformed) ||
		err.Error() != "groupsession: malformed group message (ticket 1): neither group_info nor regular_message present" {
		t.Errorf("Import of a malformed ticket: %v", err)
	}

	// The empty Session takes its id from the first epoch.
	var z Session
	if err := z.AddEpoch(made[7]); err != nil || z.ID() != s.ID() || z.CurrentEpoch() != 7 {
		t.Errorf("zero Session AddEpoch: %v", err)
	}
	var z2 Session
	if _, err := z2.AddNewEpoch(nil); !errors.Is(err, ErrNoEpochs) || z2.CurrentEpoch() != 0 {
		t.Errorf("AddNewEpoch on an empty session: %v", err)
	}
}

func TestEpochOverflow(t *testing.T) {
	s, err := NewSession(NewEpochWithKey(SessionID(testGroupID), ^uint32(0)-1, [KeySize]byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.AddNewEpoch(nil); err != nil || e.Number() != ^uint32(0) {
		t.Fatalf("epoch 2^32-1: %v", err)
	}
	if _, err := s.AddNewEpoch(nil); !errors.Is(err, ErrEpochOverflow) || s.Len() != 2 {
		t.Errorf("after 2^32-1: %v", err)
	}
}

// TestMessagesAcrossEpochs: each message decrypts in its own epoch only;
// old ones through the session while it holds them, then through the
// epoch itself; a member who never got the newer tickets is outdated.
func TestMessagesAcrossEpochs(t *testing.T) {
	sk, pk := testSigner(t)
	s, err := Generate(nil, testGroupID)
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	var epochs []*Epoch
	for i := range 55 {
		if i > 0 {
			if _, err := s.AddNewEpoch(nil); err != nil {
				t.Fatal(err)
			}
		}
		epochs = append(epochs, s.Epochs()[s.Len()-1])
		ct, err := s.Encrypt(nil, fmt.Appendf(nil, "message in epoch %d", i), sk)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ct)
	}
	for i, ct := range msgs {
		want := fmt.Appendf(nil, "message in epoch %d", i)
		pt, err := s.Decrypt(ct, pk)
		if i < 5 {
			var ue *UnknownEpochError
			if !errors.As(err, &ue) || ue.Epoch != uint32(i) || ue.Oldest != 5 || ue.Newest != 54 || ue.IsOutdated() {
				t.Errorf("epoch %d (evicted): %v", i, err)
			}
			m, _ := ParseMessage(ct)
			pt, err = epochs[i].Open(m, pk)
		}
		if err != nil || !bytes.Equal(pt, want) {
			t.Errorf("epoch %d: %q, %v", i, pt, err)
		}
		// Another epoch's key for it: refused by number, not decrypted.
		m, _ := ParseMessage(ct)
		if _, err := epochs[(i+1)%len(epochs)].Open(m, pk); !errors.Is(err, ErrUnknownEpoch) {
			t.Errorf("epoch %d message opened with another epoch: %v", i, err)
		}
	}
	// A member left at epoch 10 (removed then): cannot read epoch 11 on.
	removed, err := NewSession(epochs[:11]...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 11; i < len(msgs); i++ {
		if _, err := removed.Decrypt(msgs[i], pk); !errors.Is(err, ErrUnknownEpoch) {
			t.Errorf("removed member, epoch %d: %v", i, err)
		}
	}
	// ...and forging the epoch number in its own epoch-10 key gets nowhere:
	// a message it encrypts and relabels as epoch 11 fails the tag for
	// real members.
	forged := relabel(t, removed, 11, sk)
	if _, err := s.Decrypt(forged, pk); !errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrBadSignature) {
		t.Errorf("epoch-10 ciphertext relabelled as epoch 11: %v, want ErrAuthFailed", err)
	}
	// Another group's session with the same epoch numbers.
	other, _ := Generate(nil, []byte("some-other-group-id"))
	if _, err := other.Decrypt(msgs[0], pk); !errors.Is(err, ErrWrongSession) {
		t.Errorf("message of another session: %v", err)
	}
}

// relabel encrypts in s's newest epoch, then rewrites the header to claim
// epoch n (and re-signs, as the attacker holds a signing key).
func relabel(tb testing.TB, s *Session, n uint32, sk ed25519.PrivateKey) []byte {
	tb.Helper()
	ct, err := s.Encrypt(nil, []byte("forged"), sk)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := ParseMessage(ct)
	if err != nil {
		tb.Fatal(err)
	}
	m.Epoch = n
	m.Header = marshalHeader(&m.SessionID, n, &m.Salt)
	copy(m.Signature[:], ed25519.Sign(sk, m.Ciphertext))
	return m.Marshal()
}

// TestNonMember: someone who knows the session id and epoch number but not
// the key makes a message with its own key: the tag fails.
func TestNonMember(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	mallory, _ := NewSession(NewEpochWithKey(s.ID(), 0, [KeySize]byte{0x66}))
	ct, err := mallory.Encrypt(nil, []byte("hi"), sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decrypt(ct, pk); !errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrBadSignature) {
		t.Errorf("non-member message: %v, want ErrAuthFailed", err)
	}
}

func TestOpenHandMadeMessage(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	ct, _ := s.Encrypt(nil, []byte("hello"), sk)
	m, _ := ParseMessage(ct)
	// Header and fields disagree: refused before decrypting.
	m.Header = bytes.Clone(m.Header)
	m.Header[len(m.Header)-1] ^= 1
	if _, err := s.Open(m, pk); !errors.Is(err, ErrMalformed) {
		t.Errorf("header not matching its fields: %v", err)
	}
	m, _ = ParseMessage(ct)
	m.Ciphertext = m.Ciphertext[:15]
	if _, err := s.Open(m, pk); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("15-byte ciphertext: %v", err)
	}
}

// TestPaddingRule: after authentication, the length field must be below
// len−4; messages made with a bad one (by a key holder) are refused.
func TestPaddingRule(t *testing.T) {
	for _, c := range []struct {
		padded []byte
		ok     bool
		n      int
	}{
		{append(make([]byte, 156), 155, 0, 0, 0), true, 155},
		{append(make([]byte, 156), 0, 0, 0, 0), true, 0},
		{append(make([]byte, 156), 156, 0, 0, 0), false, 0}, // n == len-4: no padding byte
		{append(make([]byte, 156), 157, 0, 0, 0), false, 0},
		{append(make([]byte, 156), 0, 0, 0, 0x80), false, 0},
		{[]byte{0, 0, 0, 0}, false, 0},
		{[]byte{0, 0, 0}, false, 0},
		{[]byte{}, false, 0},
		{[]byte{7, 0, 0, 0, 0}, true, 0},
	} {
		pt, err := unpad(bytes.Clone(c.padded))
		if c.ok != (err == nil) || (c.ok && len(pt) != c.n) {
			t.Errorf("unpad(%d bytes, field %x): %d bytes, %v", len(c.padded), c.padded[max(0, len(c.padded)-4):], len(pt), err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("unpad error is not ErrMalformed: %v", err)
		}
	}
	// End to end: a key holder seals a bad padding; Decrypt refuses it.
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	e := s.Epochs()[0]
	salt := [SaltSize]byte{1}
	hdr := marshalHeader(&e.sessionID, 0, &salt)
	g, nonce, _ := aead(e.sec.key, &salt)
	padded := append(make([]byte, 156), 156, 0, 0, 0)
	ct := g.Seal(nil, nonce, padded, hdr)
	var sig [SignatureSize]byte
	copy(sig[:], ed25519.Sign(sk, ct))
	if _, err := s.Decrypt(marshalRegular(0, hdr, &sig, ct), pk); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad padding length: %v", err)
	}
	// A non-multiple of 160 is accepted, as virgil-crypto does.
	padded = append([]byte("abc"), 9, 3, 0, 0, 0)
	ct = g.Seal(nil, nonce, padded, hdr)
	copy(sig[:], ed25519.Sign(sk, ct))
	if pt, err := s.Decrypt(marshalRegular(0, hdr, &sig, ct), pk); err != nil || string(pt) != "abc" {
		t.Errorf("8-byte padded plaintext: %q, %v", pt, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if i == 0 && j%5 == 0 {
					if _, err := s.AddNewEpoch(nil); err != nil {
						t.Error(err)
					}
				}
				ct, err := s.Encrypt(nil, []byte("concurrent"), sk)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Decrypt(ct, pk); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

// TestRedaction: epoch keys never reach fmt or slog output.
func TestRedaction(t *testing.T) {
	key := [KeySize]byte{}
	for i := range key {
		key[i] = 0xd0 + byte(i%16)
	}
	e := NewEpochWithKey(SessionID(testGroupID), 3, key)
	s, _ := NewSession(e)
	type holder struct {
		e  Epoch
		pe *Epoch
		s  *Session
	}
	h := holder{e: *e, pe: e, s: s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, e), fmt.Sprintf(verb, *e), fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, []*Epoch{e}))
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	l.Info("x", "epoch", e, "session", s)
	l = slog.New(slog.NewTextHandler(&buf, nil))
	l.Info("x", "epoch", e, "session", s)
	outs = append(outs, buf.String())
	for _, o := range outs {
		lo := strings.ToLower(o)
		for _, leak := range []string{"d0d1d2d3", "d0 d1 d2", "208 209 210", "[208", "\xd0\xd1"} {
			if strings.Contains(lo, leak) {
				t.Errorf("key bytes in output: %s", o)
			}
		}
	}
	if got := fmt.Sprint(e); !strings.Contains(got, "#3") || !strings.Contains(got, "REDACTED") {
		t.Errorf("Epoch prints as %q", got)
	}
	// Errors carry no input bytes.
	bad := e.Marshal()
	bad = append(bad, 0x20, 0x00)
	if _, err := ParseEpoch(bad); err == nil || strings.Contains(fmt.Sprintf("%x", err.Error()), "d0d1d2") || strings.Contains(err.Error(), "\xd0") {
		t.Errorf("ParseEpoch error %v", err)
	}
}

// oneReadReader serves one Read, then fails.
type oneReadReader struct{ n int }

func (r *oneReadReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		return 0, errors.New("exhausted")
	}
	r.n++
	clear(p)
	return len(p), nil
}

func TestEdges(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	if _, err := s.Encrypt(&oneReadReader{}, []byte("x"), sk); err == nil || !strings.Contains(err.Error(), "padding") {
		t.Errorf("Encrypt whose padding read fails: %v", err)
	}
	ct, _ := s.Encrypt(nil, []byte("x"), sk)
	m, _ := ParseMessage(ct)
	other := NewEpochWithKey(SessionID([]byte("another-group-id")), 0, [KeySize]byte{})
	if _, err := other.Open(m, pk); !errors.Is(err, ErrWrongSession) {
		t.Errorf("Epoch.Open of another session's message: %v", err)
	}
	var zero Epoch
	if _, err := zero.Open(m, pk); !errors.Is(err, ErrNoEpochs) {
		t.Errorf("zero Epoch Open: %v", err)
	}
	if zero.Marshal() != nil || zero.Equal(s.Epochs()[0]) || !(*Epoch)(nil).Equal(nil) {
		t.Error("zero Epoch Marshal/Equal")
	}
	if err := s.AddEpoch(&zero); err == nil {
		t.Error("AddEpoch(zero Epoch) succeeded")
	}
	// A 10-byte varint over 64 bits, as a tag.
	if _, err := ParseEpoch([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}); !errors.Is(err, ErrMalformed) {
		t.Errorf("65-bit varint: %v", err)
	}
	// Texts of the unknown-epoch error.
	for _, c := range []struct {
		e    UnknownEpochError
		want string
	}{
		{UnknownEpochError{Epoch: 2, Oldest: 5, Newest: 9}, "groupsession: epoch 2 not in the session (it holds 5..9): older than the session's epochs"},
		{UnknownEpochError{Epoch: 10, Oldest: 5, Newest: 9}, "groupsession: epoch 10 not in the session (it holds 5..9): the session is outdated"},
		{UnknownEpochError{Epoch: 7, Oldest: 5, Newest: 9}, "groupsession: epoch 7 not in the session (it holds 5..9)"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	if got := (&ParseError{What: "x"}).Error(); got != "groupsession: malformed x" {
		t.Errorf("ParseError text %q", got)
	}
}
