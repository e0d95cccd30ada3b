package e3_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/internal/pythia"
)

// BrainKey end to end: password → Blind → Transform → Deblind → u →
// GenerateKeyFromMaterial, against the key pairs virgil-crypto 4.2.2 (the
// version e3kit-node 2.5.1 bundles) derived from the same u. The vectors live
// with the Pythia implementation in internal/pythia/testdata (see its
// README.md for their origin).

const pythiaTestdata = "../internal/pythia/testdata"

type bkHex []byte

func (h *bkHex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

func bkLoad(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pythiaTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// bkDerive runs the whole BrainKey exchange in-process with a fresh blinding
// and returns u.
func bkDerive(t *testing.T, password, tweak []byte, key *pythia.TransformationKey) []byte {
	t.Helper()
	blinded, secret, err := pythia.Blind(password)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := pythia.Transform(blinded, tweak, key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := pythia.Deblind(seed, secret)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func bkCheckKey(t *testing.T, name string, u, wantPriv, wantPub []byte) {
	t.Helper()
	k, err := e3.GenerateKeyFromMaterial(u)
	if err != nil {
		t.Fatalf("%s: GenerateKeyFromMaterial: %v", name, err)
	}
	if wantPriv != nil && !bytes.Equal(k.Export(), wantPriv) {
		t.Fatalf("%s: BrainKey private key differs from virgil-crypto's", name)
	}
	if got := k.Public().Export(); !bytes.Equal(got, wantPub) {
		t.Fatalf("%s: BrainKey public key\n got %x\nwant %x", name, got, wantPub)
	}
}

// TestBrainKeyOfflineVector: pythia-brainkey.json, both recorded runs' u and
// a fresh in-process derivation give the vector's Ed25519 BrainKey.
func TestBrainKeyOfflineVector(t *testing.T) {
	var v struct {
		Password string `json:"password"`
		Tweak    bkHex  `json:"tweak"`
		Priv     bkHex  `json:"transformationPrivateKey"`
		Runs     []struct {
			Deblinded bkHex `json:"deblinded"`
		} `json:"runs"`
		BrainKey struct {
			PrivateKeyDer bkHex `json:"privateKeyDer"`
			PublicKeyDer  bkHex `json:"publicKeyDer"`
		} `json:"brainKeyEd25519"`
	}
	bkLoad(t, "pythia-brainkey.json", &v)
	if len(v.Runs) != 2 {
		t.Fatalf("%d runs", len(v.Runs))
	}
	for _, r := range v.Runs {
		bkCheckKey(t, "recorded u", r.Deblinded, v.BrainKey.PrivateKeyDer, v.BrainKey.PublicKeyDer)
	}
	key, err := pythia.ParseTransformationKey(v.Priv)
	if err != nil {
		t.Fatal(err)
	}
	u := bkDerive(t, []byte(v.Password), v.Tweak, key)
	bkCheckKey(t, "fresh derivation", u, v.BrainKey.PrivateKeyDer, v.BrainKey.PublicKeyDer)
}

// TestBrainKeyNodeBatch: the 500 WASM-made cases (u recorded, and u derived
// afresh from the password and the server secrets).
func TestBrainKeyNodeBatch(t *testing.T) {
	var f struct {
		Cases []struct {
			Password      bkHex `json:"password"`
			Tweak         bkHex `json:"tweak"`
			KeyID         bkHex `json:"keyId"`
			Secret        bkHex `json:"secret"`
			Scope         bkHex `json:"scope"`
			Deblinded     bkHex `json:"deblinded"`
			PublicKeyDer  bkHex `json:"publicKeyDer"`
			PrivateKeyDer bkHex `json:"privateKeyDer"`
		} `json:"cases"`
	}
	bkLoad(t, "node_batch.json", &f)
	if len(f.Cases) != 500 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	for i, c := range f.Cases {
		name := "node case " + strconv.Itoa(i)
		bkCheckKey(t, name, c.Deblinded, c.PrivateKeyDer, c.PublicKeyDer)
		if i%25 == 0 { // the full exchange on a sample: it costs ~2 ms a case
			key, err := pythia.NewTransformationKey(c.Secret, c.Scope, c.KeyID)
			if err != nil {
				t.Fatal(err)
			}
			u := bkDerive(t, c.Password, c.Tweak, key)
			if !bytes.Equal(u, c.Deblinded) {
				t.Fatalf("case %d: fresh u differs", i)
			}
		}
	}
}

// TestBrainKeyGoCases: the 300 Go-made cases whose key pair virgil-crypto
// 4.2.2 derived from Go's u (raw public key recorded).
func TestBrainKeyGoCases(t *testing.T) {
	var f []struct {
		GoDeblinded bkHex
		GoPublicKey bkHex
	}
	bkLoad(t, "go_cases.json", &f)
	if len(f) != 300 {
		t.Fatalf("%d cases", len(f))
	}
	// GoPublicKey is the raw 32-byte Ed25519 key; Export gives its SPKI DER.
	spki, _ := hex.DecodeString("302a300506032b6570032100")
	for i, c := range f {
		if len(c.GoPublicKey) != 32 {
			t.Fatalf("case %d: public key of %d bytes", i, len(c.GoPublicKey))
		}
		bkCheckKey(t, "go case "+strconv.Itoa(i), c.GoDeblinded, nil, append(spki[:len(spki):len(spki)], c.GoPublicKey...))
	}
}
