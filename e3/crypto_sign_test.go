package e3

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/e3go/e3go/internal/vsig"
)

func TestSignVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		ks := v.keys(t)
		sig, err := Sign(v.Message, ks.alice)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sig, v.Ops.CalculateSignature) || !bytes.Equal(sig, v.Ops.CalculateSignatureAgain) || len(sig) != 83 {
			t.Errorf("%s: Sign differs from calculateSignature", v.file)
		}
		if err := Verify(v.Message, v.Ops.CalculateSignature, ks.alicePub); err != nil {
			t.Errorf("%s: Verify: %v", v.file, err)
		}
		if err := Verify(v.Message[1:], sig, ks.alicePub); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: Verify(other data) = %v", v.file, err)
		}
		if err := Verify(v.Message, sig, ks.bobPub); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: Verify(wrong key) = %v", v.file, err)
		}
		// Virgil's bug (spec §18.13) accepts anything with a Curve25519
		// key; e3 must not.
		err = Verify(v.Message, sig, ks.carolPub)
		if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, ErrKeyType) {
			t.Errorf("%s: Verify with Curve25519 key = %v", v.file, err)
		}
		if _, err := Sign(v.Message, ks.carol); !errors.Is(err, ErrKeyType) {
			t.Errorf("%s: Sign with Curve25519 key = %v", v.file, err)
		}
		// Every single-bit change of the signature fails, with a matchable
		// error and no panic.
		for i := range sig {
			for bit := 0; bit < 8; bit++ {
				m := append([]byte(nil), sig...)
				m[i] ^= 1 << bit
				err := Verify(v.Message, m, ks.alicePub)
				if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("byte %d bit %d: err = %v", i, bit, err)
				}
			}
		}
		for n := 0; n < len(sig); n++ {
			if err := Verify(v.Message, sig[:n], ks.alicePub); !errors.Is(err, ErrMalformed) {
				t.Fatalf("truncated to %d: err = %v", n, err)
			}
		}
	}
}

// TestVerifyOtherHashes: virgil-crypto's verifier hashes with the algorithm
// the signature names; so does Verify.
func TestVerifyOtherHashes(t *testing.T) {
	k, _ := GenerateKey()
	data := []byte("data to sign")
	for _, h := range []crypto.Hash{crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		s := vsig.Signature{Hash: h, Sig: ed25519.Sign(k.k.sec.ed[:], vsig.Digest(h, data))}
		if err := Verify(data, s.Marshal(), k.Public()); err != nil {
			t.Errorf("%v: %v", h, err)
		}
		// The same signature claimed under another hash fails.
		other := crypto.SHA512
		if h == crypto.SHA512 {
			other = crypto.SHA256
		}
		s.Hash = other
		if err := Verify(data, s.Marshal(), k.Public()); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%v relabelled: %v", h, err)
		}
	}
}
