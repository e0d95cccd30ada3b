package pythia

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// hexBytes is a JSON string holding hex.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// offlineVector is testdata/pythia-brainkey.json.
type offlineVector struct {
	Password string   `json:"password"`
	Tweak    hexBytes `json:"tweak"`
	Priv     hexBytes `json:"transformationPrivateKey"`
	Pub      hexBytes `json:"transformationPublicKey"`
	Runs     []struct {
		Blinded     hexBytes `json:"blindedPassword"`
		Secret      hexBytes `json:"blindingSecret"`
		Transformed hexBytes `json:"transformedPassword"`
		Deblinded   hexBytes `json:"deblinded"`
	} `json:"runs"`
	BrainKey struct {
		PrivateKeyDer hexBytes `json:"privateKeyDer"`
		PublicKeyDer  hexBytes `json:"publicKeyDer"`
	} `json:"brainKeyEd25519"`
}

// nodeCase is one case of testdata/node_batch.json (all made by WASM libpythia).
type nodeCase struct {
	Password         hexBytes `json:"password"`
	Tweak            hexBytes `json:"tweak"`
	KeyID            hexBytes `json:"keyId"`
	Secret           hexBytes `json:"secret"`
	Scope            hexBytes `json:"scope"`
	Priv             hexBytes `json:"priv"`
	Pub              hexBytes `json:"pub"`
	Blinded          hexBytes `json:"blinded"`
	BlindingSecret   hexBytes `json:"blindingSecret"`
	Transformed      hexBytes `json:"transformed"`
	TransformedTweak hexBytes `json:"transformedTweak"`
	Deblinded        hexBytes `json:"deblinded"`
	PublicKeyDer     hexBytes `json:"publicKeyDer"`
	PrivateKeyDer    hexBytes `json:"privateKeyDer"`
}

// goCase is one case of testdata/go_cases.json (made by the Go prototype,
// accepted step by step by WASM libpythia).
type goCase struct {
	Password       hexBytes
	Tweak          hexBytes
	KeyID          hexBytes
	Secret         hexBytes
	Scope          hexBytes
	Blinded        hexBytes
	BlindingSecret hexBytes
	GoTransformed  hexBytes
	GoDeblinded    hexBytes
	GoPublicKey    hexBytes
}

func loadNodeBatch(t testing.TB) []nodeCase {
	var f struct {
		Cases []nodeCase `json:"cases"`
	}
	loadJSON(t, "node_batch.json", &f)
	if len(f.Cases) != 500 {
		t.Fatalf("node_batch.json: %d cases, want 500", len(f.Cases))
	}
	return f.Cases
}

func loadGoCases(t testing.TB) []goCase {
	var f []goCase
	loadJSON(t, "go_cases.json", &f)
	if len(f) != 300 {
		t.Fatalf("go_cases.json: %d cases, want 300", len(f))
	}
	return f
}

func loadOffline(t testing.TB) offlineVector {
	var v offlineVector
	loadJSON(t, "pythia-brainkey.json", &v)
	if len(v.Runs) != 2 {
		t.Fatalf("pythia-brainkey.json: %d runs, want 2", len(v.Runs))
	}
	return v
}

// rFromSecret recovers the blinding scalar r from a recorded blinding
// secret r⁻¹ (libpythia scalar format, possibly negative).
func rFromSecret(t testing.TB, secret []byte) fr.Element {
	t.Helper()
	s, err := ParseBlindingSecret(secret)
	if err != nil {
		t.Fatalf("ParseBlindingSecret: %v", err)
	}
	var r fr.Element
	r.Inverse(&s.inv)
	return r
}

// checkCase runs every step of one (password, tweak, key) case. key is
// derived from (secret, scope, keyID) when those are given.
type stepCase struct {
	name                    string
	password, tweak         []byte
	secret, scope, keyID    []byte // may be nil
	priv, pub               []byte // may be nil
	blinded, blindingSecret []byte
	transformed, deblinded  []byte
	transformedTweak        []byte // may be nil
}

func checkSteps(t *testing.T, c stepCase) {
	t.Helper()
	var key *TransformationKey
	var err error
	if c.secret != nil {
		key, err = NewTransformationKey(c.secret, c.scope, c.keyID)
		if err != nil {
			t.Fatalf("%s: NewTransformationKey: %v", c.name, err)
		}
		if c.priv != nil {
			if pk, err := ParseTransformationKey(c.priv); err != nil || pk.kw != key.kw {
				t.Errorf("%s: kw from secrets differs from the recorded private key (%v)", c.name, err)
			}
		}
	} else {
		key, err = ParseTransformationKey(c.priv)
		if err != nil {
			t.Fatalf("%s: ParseTransformationKey: %v", c.name, err)
		}
	}
	if c.priv != nil && c.priv[0] == 0 && !bytes.Equal(key.Bytes(), c.priv) {
		t.Errorf("%s: private key bytes\n got %x\nwant %x", c.name, key.Bytes(), c.priv)
	}
	if c.pub != nil && !bytes.Equal(key.PublicKey(), c.pub) {
		t.Errorf("%s: public key\n got %x\nwant %x", c.name, key.PublicKey(), c.pub)
	}

	// Client: blind with the recorded r.
	r := rFromSecret(t, c.blindingSecret)
	blinded, secret, err := blindScalar(c.password, &r)
	if err != nil {
		t.Fatalf("%s: blind: %v", c.name, err)
	}
	if !bytes.Equal(blinded, c.blinded) {
		t.Errorf("%s: blinded\n got %x\nwant %x", c.name, blinded, c.blinded)
	}
	recorded, _ := ParseBlindingSecret(c.blindingSecret)
	if secret.inv != recorded.inv {
		t.Errorf("%s: r⁻¹ differs from the recorded blinding secret", c.name)
	}
	if c.blindingSecret[0] == 0 && !bytes.Equal(secret.Bytes(), c.blindingSecret) {
		t.Errorf("%s: blinding secret bytes\n got %x\nwant %x", c.name, secret.Bytes(), c.blindingSecret)
	}

	// Server: transform the recorded blinded point.
	if c.transformedTweak != nil {
		h := hashToG2(c.tweak)
		if enc := encodeG2(&h); !bytes.Equal(enc[:], c.transformedTweak) {
			t.Errorf("%s: H₂(tweak)\n got %x\nwant %x", c.name, enc, c.transformedTweak)
		}
	}
	seed, err := Transform(c.blinded, c.tweak, key)
	if err != nil {
		t.Fatalf("%s: Transform: %v", c.name, err)
	}
	if !bytes.Equal(seed, c.transformed) {
		t.Errorf("%s: seed\n got %x\nwant %x", c.name, seed, c.transformed)
	}

	// Client: deblind the recorded seed with the recorded secret.
	u, err := Deblind(c.transformed, recorded)
	if err != nil {
		t.Fatalf("%s: Deblind: %v", c.name, err)
	}
	if !bytes.Equal(u, c.deblinded) {
		t.Errorf("%s: deblinded\n got %x\nwant %x", c.name, u, c.deblinded)
	}

	// Encodings round-trip.
	if a, err := decodeBlinded(c.blinded); err != nil {
		t.Errorf("%s: decode blinded: %v", c.name, err)
	} else if enc := encodeG1(&a); !bytes.Equal(enc[:], c.blinded) {
		t.Errorf("%s: blinded does not re-encode to itself", c.name)
	}
	for _, g := range [][]byte{c.transformed, c.deblinded} {
		if a, err := decodeGT("seed", g); err != nil {
			t.Errorf("%s: decode GT: %v", c.name, err)
		} else if enc := encodeGT(&a); !bytes.Equal(enc[:], g) {
			t.Errorf("%s: GT element does not re-encode to itself", c.name)
		}
	}
}

func TestOfflineVector(t *testing.T) {
	v := loadOffline(t)
	for i, run := range v.Runs {
		checkSteps(t, stepCase{
			name:     "run " + strconv.Itoa(i),
			password: []byte(v.Password), tweak: v.Tweak,
			priv: v.Priv, pub: v.Pub,
			blinded: run.Blinded, blindingSecret: run.Secret,
			transformed: run.Transformed, deblinded: run.Deblinded,
		})
	}
	if !bytes.Equal(v.Runs[0].Deblinded, v.Runs[1].Deblinded) {
		t.Error("the two runs' deblinded values differ")
	}
}

// TestOfflineVectorH1 checks the worked example of brainkey.md §4: H₁ of the
// password (including the Montgomery-parity flag).
func TestOfflineVectorH1(t *testing.T) {
	v := loadOffline(t)
	p := hashToG1([]byte(v.Password))
	a, _ := p.toAffine()
	want, _ := hex.DecodeString("03031c29c56a30e259417496b617b9e20e7a8e78a2646372ff721446a0a08337557a9e6fe0629304dd52da0d6152e1070e")
	if enc := encodeG1(&a); !bytes.Equal(enc[:], want) {
		t.Errorf("H1\n got %x\nwant %x", enc, want)
	}
	// lsb(y) = 0 but the Montgomery parity is 1: the flag must be 03.
	if y := a.Y.Bytes(); y[47]&1 != 0 {
		t.Errorf("lsb(y) = 1, the worked example says 0")
	}
	// u = e(kw·H₁, H₂) directly, independent of any blinding.
	key, err := ParseTransformationKey(v.Priv)
	if err != nil {
		t.Fatal(err)
	}
	y, err := transformPoint(&a, v.Tweak, &key.kw)
	if err != nil {
		t.Fatal(err)
	}
	if enc := encodeGT(&y); !bytes.Equal(enc[:], v.Runs[0].Deblinded) {
		t.Errorf("e(kw·H1, H2) != deblinded")
	}
}

func TestNodeBatch(t *testing.T) {
	cases := loadNodeBatch(t)
	if testing.Short() {
		cases = cases[:50]
	}
	for i, c := range cases {
		checkSteps(t, stepCase{
			name:     "node case " + strconv.Itoa(i),
			password: c.Password, tweak: c.Tweak,
			secret: c.Secret, scope: c.Scope, keyID: c.KeyID,
			priv: c.Priv, pub: c.Pub,
			blinded: c.Blinded, blindingSecret: c.BlindingSecret,
			transformed: c.Transformed, deblinded: c.Deblinded,
			transformedTweak: c.TransformedTweak,
		})
		if t.Failed() {
			t.Fatalf("stopping after the first failing case (%d)", i)
		}
	}
}

func TestGoCases(t *testing.T) {
	cases := loadGoCases(t)
	if testing.Short() {
		cases = cases[:30]
	}
	for i, c := range cases {
		checkSteps(t, stepCase{
			name:     "go case " + strconv.Itoa(i),
			password: c.Password, tweak: c.Tweak,
			secret: c.Secret, scope: c.Scope, keyID: c.KeyID,
			blinded: c.Blinded, blindingSecret: c.BlindingSecret,
			transformed: c.GoTransformed, deblinded: c.GoDeblinded,
		})
		if t.Failed() {
			t.Fatalf("stopping after the first failing case (%d)", i)
		}
	}
}
