package envelope

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/e3go/e3go/internal/der"
)

// vectorCiphertexts returns every Node-made ciphertext (and detached
// message info) of the e3 vector files, keyed by a descriptive name.
func vectorCiphertexts(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range []string{"../../e3/testdata/virgil-crypto-5.1.2.json", "../../e3/testdata/virgil-crypto-4.2.2.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Ops           map[string]json.RawMessage `json:"ops"`
			Deterministic map[string]json.RawMessage `json:"deterministic"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		for name, r := range v.Ops {
			var s string
			if json.Unmarshal(r, &s) == nil {
				if strings.HasPrefix(s, "30") && !strings.HasPrefix(name, "calculateSignature") {
					out[f+" "+name], _ = hex.DecodeString(s)
				}
				continue
			}
			var d struct{ Metadata string }
			if json.Unmarshal(r, &d) == nil && d.Metadata != "" {
				out[f+" "+name+" metadata"], _ = hex.DecodeString(d.Metadata)
			}
		}
		for name, r := range v.Deterministic {
			var d struct{ All string }
			if json.Unmarshal(r, &d) == nil && d.All != "" {
				out[f+" deterministic "+name], _ = hex.DecodeString(d.All)
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("only %d vector ciphertexts found", len(out))
	}
	return out
}

func TestParseVectors(t *testing.T) {
	for name, ct := range vectorCiphertexts(t) {
		m, n, err := Parse(ct)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Virgil sorts its SETs, so the canonical encoding is the input.
		enc, err := m.Marshal()
		if err != nil || !bytes.Equal(enc, ct[:n]) {
			t.Errorf("%s: re-encoding differs (%v)", name, err)
		}
		if l, ok, err := Len(ct[:4]); !ok || err != nil || l != n {
			t.Errorf("%s: Len = %d %v %v, want %d", name, l, ok, err, n)
		}
		for _, r := range m.Recipients {
			if len(r.ID) != 8 || len(r.EncryptedKey) != 226 {
				t.Errorf("%s: recipient %x: %d-byte key", name, r.ID, len(r.EncryptedKey))
			}
		}
		// The shapes the spec describes.
		switch {
		case strings.Contains(name, "signAndEncrypt") || strings.Contains(name, "stream_signAndEncrypt"):
			if !m.KDF || m.Footer == nil || !m.Footer.SignedDataInfo {
				t.Errorf("%s: %v", name, m)
			}
		case strings.Contains(name, "signThenEncrypt"):
			sig, ok1 := m.Param(ParamSignature)
			id, ok2 := m.Param(ParamSignerID)
			if !ok1 || !ok2 || sig.Kind != ParamData || len(sig.Value) != 83 || len(id.Value) != 8 || m.KDF || m.Footer != nil {
				t.Errorf("%s: %v", name, m)
			}
		case strings.Contains(name, "streamCipher_with_signature"):
			if _, ok := m.Param(ParamSignature); !ok || len(m.CustomParams) != 1 {
				t.Errorf("%s: %v", name, m)
			}
		default:
			if m.CustomParams != nil || m.KDF || m.Footer != nil {
				t.Errorf("%s: %v", name, m)
			}
		}
		if m.Padding != strings.Contains(name, "padded") {
			t.Errorf("%s: padding = %v", name, m.Padding)
		}
	}
}

func TestVersionRule(t *testing.T) {
	ct := vectorCiphertexts(t)
	for name, c := range ct {
		m, n, _ := Parse(c)
		for v := byte(0); v < 8; v++ {
			if int64(v) == m.Version() {
				continue
			}
			mod := append([]byte(nil), c[:n]...)
			// The version INTEGER follows the outer header.
			hl := 2
			if mod[1]&0x80 != 0 {
				hl += int(mod[1] & 0x7f)
			}
			if mod[hl] != 0x02 || mod[hl+1] != 0x01 {
				t.Fatalf("%s: unexpected layout", name)
			}
			mod[hl+2] = v
			if _, _, err := Parse(mod); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: version %d accepted (%v)", name, v, err)
			}
		}
	}
}

func TestUnsortedSetsAccepted(t *testing.T) {
	for name, c := range vectorCiphertexts(t) {
		m, n, _ := Parse(c)
		if len(m.Recipients) < 2 && len(m.CustomParams) < 2 {
			continue
		}
		r := *m
		r.Recipients = append([]KeyRecipient(nil), m.Recipients...)
		r.CustomParams = append([]Param(nil), m.CustomParams...)
		for i, j := 0, len(r.Recipients)-1; i < j; i, j = i+1, j-1 {
			r.Recipients[i], r.Recipients[j] = r.Recipients[j], r.Recipients[i]
		}
		for i, j := 0, len(r.CustomParams)-1; i < j; i, j = i+1, j-1 {
			r.CustomParams[i], r.CustomParams[j] = r.CustomParams[j], r.CustomParams[i]
		}
		unsorted, err := r.MarshalInOrder()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(unsorted, c[:n]) {
			t.Fatalf("%s: reversal did not change the encoding", name)
		}
		back, _, err := Parse(unsorted)
		if err != nil {
			t.Fatalf("%s: unsorted SET rejected: %v", name, err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(again, c[:n]) {
			t.Errorf("%s: sorting the unsorted SETs does not give Virgil's bytes", name)
		}
	}
}

func TestMessageInfoErrors(t *testing.T) {
	base := &MessageInfo{
		Recipients: []KeyRecipient{{ID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Alg: der.Ed25519, EncryptedKey: []byte{0x30, 0x00}}},
		Nonce:      make([]byte, 12),
	}
	good, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	bads := map[string]func(m *MessageInfo){
		"no recipients":      func(m *MessageInfo) { m.Recipients = nil },
		"short nonce":        func(m *MessageInfo) { m.Nonce = m.Nonce[:11] },
		"empty id":           func(m *MessageInfo) { m.Recipients[0].ID = nil },
		"empty params":       func(m *MessageInfo) { m.CustomParams = []Param{} },
		"footer without kdf": func(m *MessageInfo) { m.Footer = &FooterInfo{DataSize: 1} },
		"negative data size": func(m *MessageInfo) { m.KDF = true; m.Footer = &FooterInfo{DataSize: -1} },
		"duplicate param key": func(m *MessageInfo) {
			m.CustomParams = []Param{{Key: "a", Kind: ParamData}, {Key: "a", Kind: ParamInt}}
		},
	}
	for name, f := range bads {
		m := *base
		m.Recipients = append([]KeyRecipient(nil), base.Recipients...)
		f(&m)
		if _, err := m.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Marshal err = %v", name, err)
		}
	}
	for n := 0; n < len(good); n++ {
		if _, _, err := Parse(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
	// A password recipient ([3]) is rejected.
	pw := bytes.Replace(good, []byte{0x31, 0x1c, 0x30, 0x1a}, []byte{0x31, 0x1c, 0xA3, 0x1a}, 1)
	if bytes.Equal(pw, good) {
		t.Fatal("layout changed")
	}
	if _, _, err := Parse(pw); !errors.Is(err, ErrMalformed) {
		t.Errorf("password recipient: %v", err)
	}
	// Trailing bytes inside the outer SEQUENCE are rejected; after it they
	// belong to the body.
	m2, n, err := Parse(append(append([]byte(nil), good...), 1, 2, 3))
	if err != nil || n != len(good) || m2 == nil {
		t.Errorf("bytes after the message info: %v", err)
	}
	// Len edge cases.
	for _, c := range []struct {
		in  []byte
		ok  bool
		err bool
	}{
		{nil, false, false}, {[]byte{0x30}, false, false}, {[]byte{0x31, 0x00}, false, true},
		{[]byte{0x30, 0x80}, false, true}, {[]byte{0x30, 0x81}, false, false}, {[]byte{0x30, 0x81, 0x10}, false, true},
		{[]byte{0x30, 0x82, 0x00, 0x90}, false, true}, {[]byte{0x30, 0x84, 1, 0, 0, 0}, false, true},
		{[]byte{0x30, 0x83, 0xFF, 0xFF, 0xFF}, false, true},
	} {
		_, ok, err := Len(c.in)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("Len(%x) = %v, %v", c.in, ok, err)
		}
	}
}

func TestCustomParamKinds(t *testing.T) {
	m := &MessageInfo{
		Recipients: []KeyRecipient{{ID: []byte{9}, Alg: der.X25519, EncryptedKey: []byte{1}}},
		Nonce:      make([]byte, 12),
		CustomParams: []Param{
			{Key: "int", Kind: ParamInt, Int: -300},
			{Key: "str", Kind: ParamString, Value: []byte("héllo")},
			{Key: "data", Kind: ParamData, Value: []byte{0, 1, 2}},
			{Key: "big", Kind: ParamInt, Int: 1 << 40},
		},
	}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.CustomParams {
		q, ok := back.Param(p.Key)
		if !ok || q.Kind != p.Kind || q.Int != p.Int || !bytes.Equal(q.Value, p.Value) {
			t.Errorf("param %s: %+v", p.Key, q)
		}
	}
}

// footerSeeds: the footer plaintext of the deterministic padded
// signAndEncrypt vector (e3/testdata/explain_signAndEncrypt_padded_vectors.txt)
// plus the shapes the writer makes.
func footerSeeds(t testing.TB) [][]byte {
	raw, err := os.ReadFile("../../e3/testdata/explain_signAndEncrypt_padded_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "footer plaintext") {
			f := strings.Fields(line)
			b, err := hex.DecodeString(f[len(f)-1])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) != 1 {
		t.Fatal("footer plaintext not found in the explain file")
	}
	two := &Footer{Signers: []SignerInfo{
		{ID: bytes.Repeat([]byte{2}, 32), Alg: der.Ed25519, Signature: make([]byte, 64)},
		{ID: []byte{1}, Alg: der.X25519, Signature: []byte{1}},
	}}
	b, _ := two.Marshal()
	empty, _ := (&Footer{}).Marshal()
	return append(out, b, empty)
}

func TestFooter(t *testing.T) {
	seeds := footerSeeds(t)
	f, err := ParseFooter(seeds[0])
	if err != nil {
		t.Fatal(err)
	}
	want := &Footer{Signers: []SignerInfo{{
		ID:        mustHex("326ae668f3d2fe32"),
		Alg:       der.Ed25519,
		Signature: mustHex("6939609e5e828420b21d499f767448982f3ec4b0534a846739dc4de7a1d9e3d0122f34cc59cda9567b089f85751a85b477e311f11f83fa204d9843b80d5d2600"),
	}}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("parsed footer %+v", f)
	}
	enc, _ := want.Marshal()
	if !bytes.Equal(enc, seeds[0]) || len(enc) != 97 {
		t.Fatal("footer re-encoding differs")
	}
	for n := 0; n < len(enc); n++ {
		if _, err := ParseFooter(enc[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated footer %d: %v", n, err)
		}
	}
	if _, err := ParseFooter(append(append([]byte(nil), enc...), 0)); !errors.Is(err, ErrMalformed) {
		t.Error("trailing byte accepted")
	}
	if _, err := (&Footer{Signers: []SignerInfo{}}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Error("empty signer SET encoded")
	}
	// Signer infos are sorted on encode, any order accepted on decode.
	two, _ := ParseFooter(seeds[1])
	if len(two.Signers) != 2 || len(two.Signers[0].ID) != 1 {
		t.Fatalf("signer infos not sorted: %+v", two)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzParse: no panics, only ErrMalformed errors, and an accepted message
// info re-encodes to exactly its input in parsed order (and canonically,
// sorted, to a fixed point that parses to the same value).
func FuzzParse(f *testing.F) {
	seeds := vectorCiphertexts(f)
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, s := range seeds {
		_, n, _ := Parse(s)
		f.Add(s[:n])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, n, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		same, err := m.MarshalInOrder()
		if err != nil || !bytes.Equal(same, in[:n]) {
			t.Fatalf("in-order re-encoding differs: %v", err)
		}
		canon, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, n2, err := Parse(canon)
		if err != nil || n2 != len(canon) {
			t.Fatalf("canonical encoding does not parse: %v", err)
		}
		canon2, _ := m2.Marshal()
		if !bytes.Equal(canon, canon2) || len(m2.Recipients) != len(m.Recipients) || len(m2.CustomParams) != len(m.CustomParams) {
			t.Fatal("canonical encoding is not a fixed point")
		}
	})
}

// FuzzParseFooter: the same properties for the footer.
func FuzzParseFooter(f *testing.F) {
	seeds := footerSeeds(f)
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ft, err := ParseFooter(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		same, err := ft.MarshalInOrder()
		if err != nil || !bytes.Equal(same, in) {
			t.Fatalf("in-order re-encoding differs: %v", err)
		}
	})
}
