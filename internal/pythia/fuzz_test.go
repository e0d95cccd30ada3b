package pythia

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Seed corpora come from the vector files in testdata; each target fails if
// its corpus came out empty (a moved or renamed file must not silently turn
// fuzzing into a no-op).

type seedSet struct {
	g1, gt, scalars, tweaks [][]byte
}

func loadSeeds(f *testing.F) seedSet {
	var s seedSet
	v := loadOffline(f)
	s.g1 = append(s.g1, v.Pub)
	s.scalars = append(s.scalars, v.Priv)
	s.tweaks = append(s.tweaks, v.Tweak)
	for _, r := range v.Runs {
		s.g1 = append(s.g1, r.Blinded)
		s.gt = append(s.gt, r.Transformed, r.Deblinded)
		s.scalars = append(s.scalars, r.Secret)
	}
	for i, c := range loadNodeBatch(f) {
		if i >= 16 {
			break
		}
		s.g1 = append(s.g1, c.Blinded, c.Pub)
		s.gt = append(s.gt, c.Transformed, c.Deblinded)
		s.scalars = append(s.scalars, c.Priv, c.BlindingSecret)
		s.tweaks = append(s.tweaks, c.Tweak)
	}
	var ns struct {
		Cases []struct{ Blinded, Seed hexBytes } `json:"cases"`
	}
	loadJSON(f, "nonsubgroup.json", &ns)
	for _, c := range ns.Cases {
		s.g1 = append(s.g1, c.Blinded)
		s.gt = append(s.gt, c.Seed)
	}
	fh, err := os.Open(filepath.Join("testdata", "e3kit-go-pythia.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Path     string
			Body     json.RawMessage
			Response struct{ Body json.RawMessage }
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Path != "/pythia/v1/brainkey" {
			continue
		}
		var req struct {
			B string `json:"blinded_password"`
		}
		var resp struct {
			S string `json:"seed"`
		}
		_ = json.Unmarshal(rec.Body, &req)
		_ = json.Unmarshal(rec.Response.Body, &resp)
		if b, err := base64.StdEncoding.DecodeString(req.B); err == nil {
			s.g1 = append(s.g1, b)
		}
		if b, err := base64.StdEncoding.DecodeString(resp.S); err == nil {
			s.gt = append(s.gt, b)
		}
	}
	if len(s.g1) == 0 || len(s.gt) == 0 || len(s.scalars) == 0 || len(s.tweaks) == 0 {
		f.Fatal("empty seed corpus: testdata missing?")
	}
	return s
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is not an *InputError", err)
	}
	if !errors.Is(err, ErrLength) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotInGroup) {
		t.Fatalf("error %v has no category", err)
	}
}

// FuzzDecodeG1: the blinded-point decoder never panics, returns only typed
// errors, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeG1(f *testing.F) {
	for _, b := range loadSeeds(f).g1 {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeG1("blinded point", b)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if !a.IsOnCurve() {
			t.Fatal("accepted a point off the curve")
		}
		if enc := encodeG1(&a); !bytes.Equal(enc[:], b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
		if _, err := decodeBlinded(b); err != nil {
			checkTyped(t, err)
			if a.IsInSubGroup() {
				t.Fatal("G1 point rejected")
			}
		}
	})
}

// FuzzDeblind: the seed decoder and Deblind never panic, return only typed
// errors; an accepted seed re-encodes to itself and deblinds to a valid GT
// element.
func FuzzDeblind(f *testing.F) {
	for _, b := range loadSeeds(f).gt {
		f.Add(b)
	}
	secret, err := ParseBlindingSecret(loadOffline(f).Runs[0].Secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := Deblind(b, secret)
		if err != nil {
			checkTyped(t, err)
			return
		}
		y, err := decodeGT("seed", b)
		if err != nil {
			t.Fatalf("Deblind accepted what decodeGT rejects: %v", err)
		}
		if enc := encodeGT(&y); !bytes.Equal(enc[:], b) {
			t.Fatal("seed re-encoding differs")
		}
		if _, err := decodeGT("u", u); err != nil {
			t.Fatalf("deblinded value is not a valid GT element: %v", err)
		}
	})
}

// FuzzTransform: Transform never panics on any (blinded, tweak), returns only
// typed errors, and its seeds are valid GT elements.
func FuzzTransform(f *testing.F) {
	s := loadSeeds(f)
	for i, b := range s.g1 {
		f.Add(b, s.tweaks[i%len(s.tweaks)])
	}
	key := testKey(f)
	f.Fuzz(func(t *testing.T, blinded, tweak []byte) {
		seed, err := Transform(blinded, tweak, key)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if _, err := decodeGT("seed", seed); err != nil {
			t.Fatalf("Transform produced an invalid seed: %v", err)
		}
	})
}

// FuzzParseScalar: libpythia scalar buffers (blinding secrets, transformation
// keys) parse or fail with typed errors; what parses survives Bytes/Parse.
func FuzzParseScalar(f *testing.F) {
	for _, b := range loadSeeds(f).scalars {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseBlindingSecret(b)
		if err != nil {
			checkTyped(t, err)
			return
		}
		s2, err := ParseBlindingSecret(s.Bytes())
		if err != nil || s2.inv != s.inv {
			t.Fatal("Bytes does not round-trip")
		}
		if b[0] == 0 && len(b) > 1 && b[1] != 0 && len(b) <= 33 && s.inv.BitLen() > 0 {
			// Canonical positive inputs below q re-encode identically.
			if v := s.inv.Bytes(); bytes.Equal(b[1:], bytes.TrimLeft(v[:], "\x00")) && !bytes.Equal(s.Bytes(), b) {
				t.Fatal("canonical buffer does not re-encode to itself")
			}
		}
	})
}
