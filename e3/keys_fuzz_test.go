package e3

import (
	"bytes"
	"errors"
	"testing"
)

func keySeeds(f *testing.F, private bool) {
	n := 0
	for _, v := range loadVectors(f) {
		for _, k := range v.Keys {
			if private {
				f.Add([]byte(k.PrivateKeyDer))
			} else {
				f.Add([]byte(k.PublicKeyDer))
			}
			n++
		}
	}
	if n == 0 {
		f.Fatal("empty seed corpus")
	}
}

// FuzzParsePrivateKey: no panics, only *ParseError failures, and a parsed
// key re-exports canonically (exactly the input when the input is the
// 48-byte canonical form; attributes are dropped otherwise).
func FuzzParsePrivateKey(f *testing.F) {
	keySeeds(f, true)
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParsePrivateKey(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		out := k.Export()
		if len(in) == 48 && !bytes.Equal(out, in) {
			t.Fatalf("48-byte key does not re-export to itself")
		}
		k2, err := ParsePrivateKey(out)
		if err != nil || !k2.Equal(k) || !k2.Public().Equal(k.Public()) {
			t.Fatalf("re-export does not round-trip: %v", err)
		}
	})
}

// FuzzParsePublicKey: no panics, only *ParseError failures, and whatever
// parses re-exports to exactly the input.
func FuzzParsePublicKey(f *testing.F) {
	keySeeds(f, false)
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParsePublicKey(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		if !bytes.Equal(k.Export(), in) {
			t.Fatalf("public key does not re-export to itself")
		}
	})
}
