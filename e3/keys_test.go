package e3

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func TestVectorKeys(t *testing.T) {
	for _, v := range loadVectors(t) {
		for name, vk := range v.Keys {
			priv, err := ParsePrivateKey(vk.PrivateKeyDer)
			if err != nil {
				t.Fatalf("%s %s: ParsePrivateKey: %v", v.file, name, err)
			}
			pub, err := ParsePublicKey(vk.PublicKeyDer)
			if err != nil {
				t.Fatalf("%s %s: ParsePublicKey: %v", v.file, name, err)
			}
			wantType := Ed25519
			if name == "carol" {
				wantType = Curve25519
			}
			if priv.Type() != wantType || pub.Type() != wantType {
				t.Errorf("%s %s: types %v/%v, want %v", v.file, name, priv.Type(), pub.Type(), wantType)
			}
			if !bytes.Equal(priv.Export(), vk.PrivateKeyDer) {
				t.Errorf("%s %s: private Export differs", v.file, name)
			}
			if !bytes.Equal(pub.Export(), vk.PublicKeyDer) || !bytes.Equal(priv.Public().Export(), vk.PublicKeyDer) {
				t.Errorf("%s %s: public Export differs", v.file, name)
			}
			if !bytes.Equal(pub.ID(), vk.Identifier) || !bytes.Equal(priv.Public().ID(), vk.Identifier) {
				t.Errorf("%s %s: ID %x, want %x", v.file, name, pub.ID(), vk.Identifier)
			}
			if len(vk.IdentifierSha256) > 0 {
				if got := pub.WithSHA256ID().ID(); !bytes.Equal(got, vk.IdentifierSha256) {
					t.Errorf("%s %s: SHA-256 ID %x, want %x", v.file, name, got, vk.IdentifierSha256)
				}
				if got := priv.WithSHA256ID().Public().ID(); !bytes.Equal(got, vk.IdentifierSha256) {
					t.Errorf("%s %s: private SHA-256 ID %x", v.file, name, got)
				}
				if !bytes.Equal(pub.ID(), vk.Identifier) {
					t.Errorf("WithSHA256ID modified the original key")
				}
			}
			if !priv.Public().Equal(pub) || !pub.Equal(pub.WithSHA256ID()) {
				t.Errorf("%s %s: Equal", v.file, name)
			}
		}
	}
}

// TestX25519Form checks the cached X25519 forms against crypto/ecdh (the
// oracle): the private scalar's public key equals the converted public key.
func TestX25519Form(t *testing.T) {
	for i := 0; i < 50; i++ {
		for _, typ := range []KeyType{Ed25519, Curve25519} {
			k, err := GenerateKeyOfType(typ)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ecdh.X25519().NewPrivateKey(k.k.sec.xs[:])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.PublicKey().Bytes(), k.Public().u[:]) {
				t.Fatalf("%v: X25519 form mismatch", typ)
			}
		}
	}
}

func TestKeyFromMaterial(t *testing.T) {
	for _, v := range loadVectors(t) {
		km := v.KeyMaterial
		check := func(name string, material []byte, typ KeyType, want vecKey) {
			k, err := generateKeyFromMaterial(material, typ)
			if err != nil {
				t.Fatalf("%s %s: %v", v.file, name, err)
			}
			if !bytes.Equal(k.Export(), want.PrivateKeyDer) || !bytes.Equal(k.Public().Export(), want.PublicKeyDer) ||
				!bytes.Equal(k.Public().ID(), want.Identifier) {
				t.Errorf("%s %s: key from material differs", v.file, name)
			}
		}
		check("ed25519_km32", km.Km32, Ed25519, km.Ed25519Km32)
		check("curve25519_km32", km.Km32, Curve25519, km.Curve25519Km32)
		check("ed25519_km384", km.Km384, Ed25519, km.Ed25519Km384)
		k, err := GenerateKeyFromMaterial(km.Km32)
		if err != nil || !bytes.Equal(k.Export(), km.Ed25519Km32.PrivateKeyDer) {
			t.Errorf("GenerateKeyFromMaterial(km32) = %v", err)
		}
	}

	// The BrainKey vector: the 384-byte deblinded Pythia value is the key
	// material of the backup key pair.
	raw, err := os.ReadFile("testdata/pythia-brainkey.json")
	if err != nil {
		t.Fatal(err)
	}
	var pv struct {
		Runs []struct {
			Deblinded hexBytes `json:"deblinded"`
		} `json:"runs"`
		Key vecKey `json:"brainKeyEd25519"`
	}
	if err := json.Unmarshal(raw, &pv); err != nil {
		t.Fatal(err)
	}
	if len(pv.Runs) == 0 {
		t.Fatal("no pythia runs")
	}
	for _, r := range pv.Runs {
		k, err := GenerateKeyFromMaterial(r.Deblinded)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Export(), pv.Key.PrivateKeyDer) || !bytes.Equal(k.Public().Export(), pv.Key.PublicKeyDer) {
			t.Errorf("BrainKey pair from the deblinded value differs")
		}
	}

	for _, n := range []int{0, 1, 31, 513} {
		_, err := GenerateKeyFromMaterial(make([]byte, n))
		var pe *ParseError
		if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) || pe.What != "key material" {
			t.Errorf("material of %d bytes: err = %v", n, err)
		}
	}
	a, _ := GenerateKeyFromMaterial(make([]byte, 512))
	b, _ := GenerateKeyFromMaterial(make([]byte, 512))
	if a == nil || !a.Equal(b) {
		t.Error("512-byte material not deterministic")
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	for _, typ := range []KeyType{Ed25519, Curve25519} {
		k, err := GenerateKeyOfType(typ)
		if err != nil {
			t.Fatal(err)
		}
		if k.Type() != typ || len(k.Export()) != 48 || len(k.Public().Export()) != 44 || len(k.Public().ID()) != 8 {
			t.Fatalf("%v: bad sizes", typ)
		}
		k2, err := ParsePrivateKey(k.Export())
		if err != nil || !k.Equal(k2) || !k.Public().Equal(k2.Public()) {
			t.Fatalf("%v: private round trip: %v", typ, err)
		}
		p2, err := ParsePublicKey(k.Public().Export())
		if err != nil || !p2.Equal(k.Public()) || !bytes.Equal(p2.ID(), k.Public().ID()) {
			t.Fatalf("%v: public round trip: %v", typ, err)
		}
		other, _ := GenerateKeyOfType(typ)
		if k.Equal(other) || k.Public().Equal(other.Public()) {
			t.Fatal("distinct keys compare equal")
		}
	}
	k, _ := GenerateKey()
	if k.Type() != Ed25519 {
		t.Fatal("GenerateKey is not Ed25519")
	}
	// The Ed25519 key matches crypto/ed25519.
	seed := k.Export()[16:]
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), k.Public().Export()[12:]) {
		t.Fatal("Ed25519 public key mismatch")
	}
	if _, err := GenerateKeyOfType(KeyType(7)); !errors.Is(err, ErrKeyType) {
		t.Fatalf("GenerateKeyOfType(7) err = %v", err)
	}
	if got := KeyType(7).String(); got != "KeyType(7)" {
		t.Fatalf("String = %q", got)
	}
}

func TestPublicKeyString(t *testing.T) {
	v := loadVectors(t)[0]
	ks := v.keys(t)
	if got, want := ks.alicePub.String(), "e3.PublicKey(Ed25519 326ae668f3d2fe32)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := ks.carolPub.String(), "e3.PublicKey(Curve25519 deeae754485e2f32)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := ks.alicePub.WithSHA256ID().String(); got != "e3.PublicKey(Ed25519 f1bcf86838e9d00d8211950eb7d4529d59ecf76454284b766935e6e143950b90)" {
		t.Errorf("String = %q", got)
	}
	if got := (*PublicKey)(nil).String(); got != "e3.PublicKey(nil)" {
		t.Errorf("nil String = %q", got)
	}
}

func TestParseKeyErrors(t *testing.T) {
	v := loadVectors(t)[0]
	for name, vk := range v.Keys {
		for _, c := range []struct {
			what  string
			in    []byte
			parse func([]byte) error
		}{
			{"private key", vk.PrivateKeyDer, func(b []byte) error { _, err := ParsePrivateKey(b); return err }},
			{"public key", vk.PublicKeyDer, func(b []byte) error { _, err := ParsePublicKey(b); return err }},
		} {
			check := func(desc string, in []byte) {
				err := c.parse(in)
				var pe *ParseError
				if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) || pe.What != c.what {
					t.Errorf("%s %s %s: err = %v", name, c.what, desc, err)
				}
			}
			for n := 0; n < len(c.in); n++ {
				check("truncated", c.in[:n])
			}
			check("trailing byte", append(append([]byte(nil), c.in...), 0))
			// Flip every bit of the structure (not of the key bytes).
			for i := 0; i < len(c.in)-32; i++ {
				for bit := 0; bit < 8; bit++ {
					m := append([]byte(nil), c.in...)
					m[i] ^= 1 << bit
					if c.parse(m) == nil {
						// Only the OID flip Ed25519<->X25519 (0x70<->0x6E needs
						// two bits) could stay valid; a single bit cannot.
						t.Errorf("%s %s: bit %d of byte %d flipped still parses", name, c.what, bit, i)
					}
				}
			}
		}
	}
	// Attributes after the key are skipped.
	priv := v.Keys["alice"].PrivateKeyDer
	withAttrs := append([]byte{0x30, 0x30}, priv[2:]...)
	withAttrs = append(withAttrs, 0xA0, 0x00)
	k, err := ParsePrivateKey(withAttrs)
	if err != nil || !bytes.Equal(k.Export(), priv) {
		t.Errorf("PKCS#8 with empty attributes: %v", err)
	}
	// PKCS#8 version 1 and parameters on the AlgId are rejected.
	v1 := append([]byte(nil), priv...)
	v1[4] = 1
	if _, err := ParsePrivateKey(v1); !errors.Is(err, ErrMalformed) {
		t.Errorf("version 1 accepted: %v", err)
	}
	pub := v.Keys["alice"].PublicKeyDer
	withNull := append([]byte{0x30, 0x2C, 0x30, 0x07, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x05, 0x00}, pub[9:]...)
	if _, err := ParsePublicKey(withNull); !errors.Is(err, ErrMalformed) {
		t.Errorf("AlgId with NULL accepted: %v", err)
	}
}

func TestZeroValueKeys(t *testing.T) {
	var z PrivateKey
	var np *PrivateKey
	for _, k := range []*PrivateKey{&z, np} {
		if k.Public() != nil || k.Export() != nil || k.Type() != 0 {
			t.Error("zero key methods")
		}
		if !k.Equal(&PrivateKey{}) {
			t.Error("zero keys should be Equal")
		}
		if _, err := Sign([]byte("x"), k); err == nil {
			t.Error("Sign with zero key")
		}
	}
	if err := Verify(nil, nil, nil); err == nil {
		t.Error("Verify with nil key")
	}
}
