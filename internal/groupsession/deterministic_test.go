package groupsession

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"os"
	"testing"

	"github.com/e3go/e3go/internal/kmrng"
)

// TestDeterministicNodeVectors: fed virgil-crypto's KeyMaterialRng with the
// same seed, Generate/AddNewEpoch/Encrypt reproduce Node's tickets and
// messages byte for byte (testdata/deterministic.json): same layout, same
// random draws in the same order and sizes.
func TestDeterministicNodeVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/deterministic.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Seed    hexBytes `json:"seedHex"`
		GroupID hexBytes `json:"groupId"`
		Signer  hexBytes `json:"signerPrivateKeyDer"`
		Message hexBytes `json:"message"`
		Sets    []struct {
			Library        string   `json:"library"`
			Epoch0         hexBytes `json:"epoch0"`
			Epoch1         hexBytes `json:"epoch1"`
			MsgEpoch1      hexBytes `json:"msg_epoch1"`
			MsgEpoch1Empty hexBytes `json:"msg_epoch1_empty"`
		} `json:"sets"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Sets) != 2 {
		t.Fatalf("%d sets, want 2", len(f.Sets))
	}
	k, err := x509.ParsePKCS8PrivateKey(f.Signer)
	if err != nil {
		t.Fatal(err)
	}
	sk := k.(ed25519.PrivateKey)
	rng := func() *kmrng.Reader {
		r, err := kmrng.New(f.Seed)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, v := range f.Sets {
		s, err := Generate(rng(), f.GroupID)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Epochs()[0].Marshal(); !bytes.Equal(got, v.Epoch0) {
			t.Errorf("%s: epoch 0\nGo   %x\nNode %x", v.Library, got, v.Epoch0)
		}
		e1, err := s.AddNewEpoch(rng())
		if err != nil {
			t.Fatal(err)
		}
		if got := e1.Marshal(); !bytes.Equal(got, v.Epoch1) {
			t.Errorf("%s: epoch 1\nGo   %x\nNode %x", v.Library, got, v.Epoch1)
		}
		for _, c := range []struct {
			pt, want []byte
		}{{f.Message, v.MsgEpoch1}, {[]byte{}, v.MsgEpoch1Empty}} {
			got, err := s.Encrypt(rng(), c.pt, sk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("%s: %d-byte message\nGo   %x\nNode %x", v.Library, len(c.pt), got, c.want)
			}
			if pt, err := s.Decrypt(c.want, sk.Public().(ed25519.PublicKey)); err != nil || !bytes.Equal(pt, c.pt) {
				t.Errorf("%s: Decrypt: %v", v.Library, err)
			}
		}
	}
}
