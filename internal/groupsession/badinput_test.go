package groupsession

import (
	"bytes"
	"errors"
	"testing"
)

// typed reports whether err matches one of the package's failure kinds.
func typed(err error) bool {
	for _, k := range []error{ErrMalformed, ErrAuthFailed, ErrWrongSession, ErrUnknownEpoch} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// TestFlippedMessage flips every byte of a message (XOR 0x01 and 0xff) and
// checks each result: a typed error naming the right failure for the part
// hit, never a plaintext (except the unauthenticated version field, which
// may take any value).
func TestFlippedMessage(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	if _, err := s.AddNewEpoch(nil); err != nil {
		t.Fatal(err)
	}
	msg := []byte("Hello, Virgil! This is a known test message for wire-format analysis.")
	ct, err := s.Encrypt(nil, msg, sk)
	if err != nil {
		t.Fatal(err)
	}
	// Layout (spec §15): 0-6 outer, 7-76 header (9-40 session id, 42
	// epoch, 45-76 salt), 77-78 signature tag, 79-142 signature, 143-145
	// ciphertext tag, 146- ciphertext.
	for i := range ct {
		for _, mask := range []byte{0x01, 0xff} {
			bad := bytes.Clone(ct)
			bad[i] ^= mask
			pt, err := s.Decrypt(bad, pk)
			if err == nil {
				if i == 1 && bytes.Equal(pt, msg) {
					continue // version 1 or 0x7e... is still a message
				}
				t.Fatalf("byte %d ^ %02x: decrypted to %q", i, mask, pt)
			}
			if pt != nil {
				t.Fatalf("byte %d ^ %02x: plaintext returned with error %v", i, mask, err)
			}
			if !typed(err) {
				t.Fatalf("byte %d ^ %02x: untyped error %v", i, mask, err)
			}
			var want error
			switch {
			case i >= 9 && i < 41:
				want = ErrWrongSession
			case i >= 45 && i < 77:
				want = ErrAuthFailed
			case i >= 79 && i < 143:
				want = ErrBadSignature
			case i >= 146:
				want = ErrAuthFailed
				if errors.Is(err, ErrBadSignature) {
					t.Errorf("byte %d ^ %02x (ciphertext): %v, want a tag failure, not a signature one", i, mask, err)
				}
			case i == 42 && mask == 0x01: // epoch 1 -> 0: the session holds it, the tag fails
				want = ErrAuthFailed
			}
			if want != nil && !errors.Is(err, want) {
				t.Errorf("byte %d ^ %02x: %v, want %v", i, mask, err, want)
			}
		}
	}
}

// TestTruncatedMessage: every prefix and every suffix-cut of a message
// fails with a typed error.
func TestTruncatedMessage(t *testing.T) {
	sk, pk := testSigner(t)
	s, _ := Generate(nil, testGroupID)
	ct, err := s.Encrypt(nil, []byte("truncate me"), sk)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(ct) {
		for _, in := range [][]byte{ct[:n], ct[len(ct)-n:]} {
			pt, err := s.Decrypt(in, pk)
			if err == nil || pt != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d of %d bytes: %q, %v; want a malformed error", n, len(ct), pt, err)
			}
		}
	}
	// Appended bytes: trailing garbage is not a field.
	for _, tail := range [][]byte{{0x00}, {0xff}, {0x20, 0x00}, {0x08, 0x00}} {
		if _, err := s.Decrypt(append(bytes.Clone(ct), tail...), pk); !errors.Is(err, ErrMalformed) {
			t.Errorf("with %x appended: %v", tail, err)
		}
	}
}

// TestFlippedTicket: a flipped ticket either fails to parse (typed) or is a
// different valid ticket (tickets are authenticated by the layer that
// distributes them, not here) that re-marshals to exactly the flipped bytes.
func TestFlippedTicket(t *testing.T) {
	e := NewEpochWithKey(SessionID(testGroupID), 3, [KeySize]byte{1, 2, 3})
	ticket := e.Marshal()
	for i := range ticket {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(ticket)
			bad[i] ^= mask
			p, err := ParseEpoch(bad)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
					t.Fatalf("byte %d ^ %02x: %v is not a *ParseError", i, mask, err)
				}
				continue
			}
			if p.Equal(e) || !bytes.Equal(p.Marshal(), bad) {
				t.Fatalf("byte %d ^ %02x: parsed as the original, or does not re-marshal", i, mask)
			}
		}
	}
	for n := range len(ticket) {
		if _, err := ParseEpoch(ticket[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ticket cut to %d bytes: %v", n, err)
		}
	}
}

// TestNonCanonical: what nanopb would accept but no writer produces, and
// what nobody accepts, is refused with a *ParseError.
func TestNonCanonical(t *testing.T) {
	sid := SessionID(testGroupID)
	key := bytes.Repeat([]byte{0x4b}, 32)
	info := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	wrap := func(field byte, inner []byte) []byte {
		return info([]byte{0x08, 0x00, field<<3 | 2}, appendVarint(nil, uint64(len(inner))), inner)
	}
	goodInfo := info([]byte{0x0a, 0x20}, sid[:], []byte{0x10, 0x05, 0x1a, 0x20}, key)
	good := wrap(2, goodInfo)
	if e, err := ParseEpoch(good); err != nil || e.Number() != 5 {
		t.Fatalf("canonical ticket: %v", err)
	}
	// A regular message to mutate.
	sk, _ := testSigner(t)
	s, _ := NewSession(NewEpochWithKey(sid, 5, [KeySize]byte{}))
	msg, _ := s.Encrypt(nil, []byte("x"), sk)
	if _, err := ParseMessage(msg); err != nil {
		t.Fatal(err)
	}
	hdr := msg[7:77]
	sig := msg[79:143]
	ct := msg[146:]
	regular := func(parts ...[]byte) []byte { return wrap(3, info(parts...)) }
	bf := func(field byte, v []byte) []byte {
		return info([]byte{field<<3 | 2}, appendVarint(nil, uint64(len(v))), v)
	}
	if _, err := ParseMessage(regular(bf(1, hdr), bf(2, sig), bf(3, ct))); err != nil {
		t.Fatalf("rebuilt message: %v", err)
	}

	cases := []struct {
		name   string
		in     []byte
		ticket bool
	}{
		{"unknown outer field", append(bytes.Clone(good), 0x20, 0x00), true},
		{"unknown field in info", wrap(2, append(bytes.Clone(goodInfo), 0x20, 0x00)), true},
		{"outer fields reordered", append(bytes.Clone(good[2:]), 0x08, 0x00), true},
		{"version repeated", append([]byte{0x08, 0x07}, good...), true},
		{"non-minimal version", append([]byte{0x08, 0x80, 0x00}, good[2:]...), true},
		{"no version", good[2:], true},
		{"empty session id", wrap(2, info([]byte{0x0a, 0x00, 0x10, 0x05, 0x1a, 0x20}, key)), true},
		{"31-byte session id", wrap(2, info([]byte{0x0a, 0x1f}, sid[:31], []byte{0x10, 0x05, 0x1a, 0x20}, key)), true},
		{"33-byte session id", wrap(2, info([]byte{0x0a, 0x21}, sid[:], []byte{0}, []byte{0x10, 0x05, 0x1a, 0x20}, key)), true},
		{"empty key", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x10, 0x05, 0x1a, 0x00})), true},
		{"no key", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x10, 0x05})), true},
		{"no epoch", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x1a, 0x20}, key)), true},
		{"epoch 2^32", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x10, 0x1a, 0x20}, key)), true},
		{"epoch as bytes", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x12, 0x01, 0x05, 0x1a, 0x20}, key)), true},
		{"11-byte varint", wrap(2, info([]byte{0x0a, 0x20}, sid[:], []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x20}, key)), true},
		{"neither", []byte{0x08, 0x00}, true},
		{"both", info(good, bf(3, info(bf(1, hdr), bf(2, sig), bf(3, ct)))), true},
		{"both (message)", info(good, bf(3, info(bf(1, hdr), bf(2, sig), bf(3, ct)))), false},
		{"empty", nil, true},
		{"empty (message)", nil, false},
		{"group_info as varint", []byte{0x08, 0x00, 0x10, 0x00}, true},
		{"length beyond input", []byte{0x08, 0x00, 0x12, 0x50, 0x0a}, true},
		{"field number 0", []byte{0x00, 0x00}, true},
		{"ticket given as message", good, false},
		{"message given as ticket", msg, true},
		{"header 75 bytes", regular(bf(1, append(bytes.Clone(hdr), 0x20, 0x00, 0x00)[:75]), bf(2, sig), bf(3, ct)), false},
		{"header with unknown field", regular(bf(1, append(bytes.Clone(hdr), 0x20, 0x00)), bf(2, sig), bf(3, ct)), false},
		{"header without salt", regular(bf(1, hdr[:36]), bf(2, sig), bf(3, ct)), false},
		{"63-byte signature", regular(bf(1, hdr), bf(2, sig[:63]), bf(3, ct)), false},
		{"empty signature", regular(bf(1, hdr), bf(2, nil), bf(3, ct)), false},
		{"no ciphertext", regular(bf(1, hdr), bf(2, sig)), false},
		{"regular fields reordered", regular(bf(2, sig), bf(1, hdr), bf(3, ct)), false},
		{"ciphertext twice", regular(bf(1, hdr), bf(2, sig), bf(3, ct), bf(3, ct)), false},
		{"oversized (30189 bytes)", regular(bf(1, hdr), bf(2, sig), bf(3, make([]byte, 30189-148))), false},
	}
	for _, c := range cases {
		var err error
		if c.ticket {
			_, err = ParseEpoch(c.in)
		} else {
			_, err = ParseMessage(c.in)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want a *ParseError", c.name, err)
		}
	}
	// The largest message the parser takes.
	max := regular(bf(1, hdr), bf(2, sig), bf(3, make([]byte, 30188-148)))
	if len(max) != MaxMessageSize {
		t.Fatalf("max-size layout is %d bytes", len(max))
	}
	if _, err := ParseMessage(max); err != nil {
		t.Errorf("%d-byte message: %v", len(max), err)
	}
	if over := regular(bf(1, hdr), bf(2, sig), bf(3, make([]byte, 30189-148))); len(over) != MaxMessageSize+1 {
		t.Fatalf("oversized layout is %d bytes", len(over))
	}
	// Any version is accepted and kept.
	v9 := append([]byte{0x08, 0x09}, msg[2:]...)
	if m, err := ParseMessage(v9); err != nil || m.Version != 9 || !bytes.Equal(m.Marshal(), v9) {
		t.Errorf("version 9 message: %v", err)
	}
	t9 := append([]byte{0x08, 0x09}, good[2:]...)
	if e, err := ParseEpoch(t9); err != nil || e.Version() != 9 || !bytes.Equal(e.Marshal(), t9) {
		t.Errorf("version 9 ticket: %v", err)
	}
}
