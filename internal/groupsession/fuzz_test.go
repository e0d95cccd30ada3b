package groupsession

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds adds the Node vectors' messages or tickets (and Go-made ones)
// to the corpus; it fails when the files yield none.
func fuzzSeeds(f *testing.F, tickets bool) []*vectorSet {
	vs := loadVectors(f)
	n := 0
	for _, v := range vs {
		if tickets {
			f.Add([]byte(v.Epoch0))
			f.Add([]byte(v.Epoch1))
		} else {
			f.Add([]byte(v.MsgEpoch0))
			f.Add([]byte(v.MsgEpoch1))
			f.Add([]byte(v.MsgEpoch1Empty))
		}
		n++
	}
	if n == 0 {
		f.Fatal("empty seed corpus")
	}
	sid := SessionID(testGroupID)
	e := NewEpochWithKey(sid, 300, [KeySize]byte{7})
	if tickets {
		f.Add(e.Marshal())
	} else {
		s, _ := NewSession(e)
		sk, _ := testSigner(f)
		ct, err := s.Encrypt(nil, make([]byte, 400), sk)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	return vs
}

// FuzzParseMessage: no panics; failures are *ParseErrors; whatever parses
// re-marshals to exactly the input; and decryption with the vectors'
// sessions never panics, fails with a typed error, and succeeds only on a
// message alice signed (so with one of the vectors' plaintexts).
func FuzzParseMessage(f *testing.F) {
	vs := fuzzSeeds(f, false)
	type party struct {
		s    *Session
		v    *vectorSet
		sndr []byte
	}
	var parties []party
	for _, v := range vs {
		s, err := Import(v.Epoch0, v.Epoch1)
		if err != nil {
			f.Fatal(err)
		}
		parties = append(parties, party{s, v, v.signer(f)})
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseMessage(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
		} else {
			if out := m.Marshal(); !bytes.Equal(out, in) {
				t.Fatalf("parsed message re-marshals to %x", out)
			}
			m2, err := ParseMessage(m.Marshal())
			if err != nil || m2.Epoch != m.Epoch || m2.SessionID != m.SessionID || m2.Salt != m.Salt {
				t.Fatalf("re-parse: %v", err)
			}
		}
		for _, p := range parties {
			pt, err := p.s.Decrypt(in, p.sndr)
			if err != nil {
				if pt != nil || !typed(err) {
					t.Fatalf("Decrypt: %v (plaintext %d bytes)", err, len(pt))
				}
				continue
			}
			if !bytes.Equal(pt, p.v.Message) && len(pt) != 0 {
				t.Fatalf("Decrypt succeeded with an unexpected plaintext %x", pt)
			}
		}
	})
}

// FuzzParseEpoch: no panics; failures are *ParseErrors; whatever parses
// re-marshals to exactly the input; a parsed ticket goes into a session.
func FuzzParseEpoch(f *testing.F) {
	fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := ParseEpoch(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		if out := e.Marshal(); !bytes.Equal(out, in) {
			t.Fatalf("parsed ticket re-marshals to %x", out)
		}
		s, err := NewSession(e)
		if err != nil || s.CurrentEpoch() != e.Number() || s.ID() != e.SessionID() {
			t.Fatalf("NewSession(parsed): %v", err)
		}
		if e.Number() < ^uint32(0) {
			if n, err := s.AddNewEpoch(nil); err != nil || n.Number() != e.Number()+1 {
				t.Fatalf("AddNewEpoch: %v", err)
			}
		}
	})
}
