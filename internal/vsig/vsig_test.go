package vsig

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// vectorSignatures returns the calculateSignature outputs of the Node vector
// files (virgil-crypto 5.1.2 and 4.2.2, see e3/testdata/README.md).
func vectorSignatures(t testing.TB) [][]byte {
	var out [][]byte
	for _, f := range []string{"../../e3/testdata/virgil-crypto-5.1.2.json", "../../e3/testdata/virgil-crypto-4.2.2.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Ops map[string]any `json:"ops"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"calculateSignature_alice", "calculateSignature_alice_again"} {
			s, _ := v.Ops[k].(string)
			b, err := hex.DecodeString(s)
			if err != nil || len(b) == 0 {
				t.Fatalf("%s: %s missing", f, k)
			}
			out = append(out, b)
		}
	}
	return out
}

func TestVectors(t *testing.T) {
	for _, in := range vectorSignatures(t) {
		s, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if s.Hash != crypto.SHA512 || len(s.Sig) != 64 || len(in) != Size {
			t.Fatalf("parsed %v, %d-byte sig", s.Hash, len(s.Sig))
		}
		if !bytes.Equal(s.Marshal(), in) {
			t.Fatal("re-encoding differs")
		}
	}
}

func TestMarshal(t *testing.T) {
	sig := bytes.Repeat([]byte{0xAB}, 64)
	got := (&Signature{Hash: crypto.SHA512, Sig: sig}).Marshal()
	want, _ := hex.DecodeString("3051300d060960864801650304020305000440" + hex.EncodeToString(sig))
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal = %x", got)
	}
	for _, h := range []crypto.Hash{crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		s := Signature{Hash: h, Sig: sig}
		p, err := Parse(s.Marshal())
		if err != nil || p.Hash != h || !bytes.Equal(p.Sig, sig) {
			t.Fatalf("%v: %v", h, err)
		}
		if len(s.Digest([]byte("x"))) != h.Size() {
			t.Fatalf("%v digest size", h)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := vectorSignatures(t)[0]
	for n := 0; n < len(good); n++ {
		if _, err := Parse(good[:n]); err == nil {
			t.Fatalf("truncated to %d parses", n)
		}
	}
	if _, err := Parse(append(append([]byte(nil), good...), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: %v", err)
	}
	noNull, _ := hex.DecodeString("304f300b0609608648016503040203" + "0440" + hex.EncodeToString(good[19:]))
	if _, err := Parse(noNull); !errors.Is(err, ErrMalformed) {
		t.Fatalf("AlgId without NULL: %v", err)
	}
	md5ish := append([]byte(nil), good...)
	md5ish[14] = 0x09 // 2.16.840.1.101.3.4.2.9: not a supported hash
	if _, err := Parse(md5ish); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("unknown hash: %v", err)
	}
}

// FuzzParse: no panics; errors are ours; whatever parses re-encodes to the
// exact input (the reader accepts canonical DER only).
func FuzzParse(f *testing.F) {
	seeds := vectorSignatures(f)
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(s.Marshal(), in) {
			t.Fatalf("round trip: %x -> %x", in, s.Marshal())
		}
	})
}
