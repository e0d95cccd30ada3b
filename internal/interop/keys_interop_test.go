package interop

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
)

type nodeImportedPrivate struct {
	PrivateKey []byte `json:"privateKey"`
	PublicKey  []byte `json:"publicKey"`
	ID         []byte `json:"id"`
	PublicID   []byte `json:"publicId"`
}

type nodeImportedPublic struct {
	PublicKey []byte `json:"publicKey"`
	ID        []byte `json:"id"`
}

// TestKeysNodeToGo: keys virgil-crypto generates parse in Go, re-export to
// the same bytes and have the same ids under both id schemes.
func TestKeysNodeToGo(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		for _, typ := range []e3.KeyType{e3.Ed25519, e3.Curve25519} {
			t.Run(v+"/"+typ.String(), func(t *testing.T) {
				for range 3 {
					var kp nodeKeyPair
					mustCall(t, w, "crypto.generateKeys", map[string]any{"v": v, "type": nodeType[typ]}, &kp)
					sk, err := e3.ParsePrivateKey(kp.PrivateKey)
					if err != nil {
						t.Fatalf("ParsePrivateKey: %v", err)
					}
					pk, err := e3.ParsePublicKey(kp.PublicKey)
					if err != nil {
						t.Fatalf("ParsePublicKey: %v", err)
					}
					if sk.Type() != typ || pk.Type() != typ {
						t.Errorf("types: private %v, public %v, want %v", sk.Type(), pk.Type(), typ)
					}
					if got := sk.Export(); !bytes.Equal(got, kp.PrivateKey) {
						t.Errorf("private key re-exports as %x, Node exported %x", got, kp.PrivateKey)
					}
					if got := sk.Public().Export(); !bytes.Equal(got, kp.PublicKey) {
						t.Errorf("Go derives public key %x, Node %x", got, kp.PublicKey)
					}
					if got := pk.Export(); !bytes.Equal(got, kp.PublicKey) {
						t.Errorf("public key re-exports as %x, Node exported %x", got, kp.PublicKey)
					}
					if !pk.Equal(sk.Public()) {
						t.Error("parsed public key != Public() of the parsed private key")
					}
					if !bytes.Equal(pk.ID(), kp.ID) || !bytes.Equal(sk.Public().ID(), kp.PrivateID) {
						t.Errorf("ids: Go %x/%x, Node %x/%x", pk.ID(), sk.Public().ID(), kp.ID, kp.PrivateID)
					}
					var n256 nodeImportedPublic
					mustCall(t, w, "crypto.importPublicKey", map[string]any{"v": v, "publicKey": kp.PublicKey, "sha256Ids": true}, &n256)
					if !bytes.Equal(pk.WithSHA256ID().ID(), n256.ID) || !bytes.Equal(sk.WithSHA256ID().Public().ID(), n256.ID) {
						t.Errorf("SHA-256 ids: Go %x/%x, Node %x", pk.WithSHA256ID().ID(), sk.WithSHA256ID().Public().ID(), n256.ID)
					}
				}
			})
		}
	}
}

// TestKeysGoToNode: keys Go generates import into virgil-crypto, which
// re-exports the same bytes, extracts the same public key and computes the
// same ids under both id schemes.
func TestKeysGoToNode(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		for _, typ := range []e3.KeyType{e3.Ed25519, e3.Curve25519} {
			t.Run(v+"/"+typ.String(), func(t *testing.T) {
				for range 3 {
					sk, err := e3.GenerateKeyOfType(typ)
					if err != nil {
						t.Fatal(err)
					}
					for _, sha := range []bool{false, true} {
						wantID := sk.Public().ID()
						if sha {
							wantID = sk.WithSHA256ID().Public().ID()
						}
						var np nodeImportedPrivate
						mustCall(t, w, "crypto.importPrivateKey", map[string]any{"v": v, "privateKey": sk.Export(), "sha256Ids": sha}, &np)
						if !bytes.Equal(np.PrivateKey, sk.Export()) {
							t.Errorf("Node re-exports the Go private key as %x, Go exported %x", np.PrivateKey, sk.Export())
						}
						if !bytes.Equal(np.PublicKey, sk.Public().Export()) {
							t.Errorf("Node extracts public key %x, Go %x", np.PublicKey, sk.Public().Export())
						}
						if !bytes.Equal(np.ID, wantID) || !bytes.Equal(np.PublicID, wantID) {
							t.Errorf("sha256Ids=%v: Node ids %x/%x, Go %x", sha, np.ID, np.PublicID, wantID)
						}
						var npub nodeImportedPublic
						mustCall(t, w, "crypto.importPublicKey", map[string]any{"v": v, "publicKey": sk.Public().Export(), "sha256Ids": sha}, &npub)
						if !bytes.Equal(npub.PublicKey, sk.Public().Export()) || !bytes.Equal(npub.ID, wantID) {
							t.Errorf("sha256Ids=%v: Node imports the Go public key as %x id %x, want id %x", sha, npub.PublicKey, npub.ID, wantID)
						}
					}
					// The ids are the documented hashes of the SPKI.
					h512 := sha512.Sum512(sk.Public().Export())
					h256 := sha256.Sum256(sk.Public().Export())
					if !bytes.Equal(sk.Public().ID(), h512[:8]) || !bytes.Equal(sk.Public().WithSHA256ID().ID(), h256[:]) {
						t.Errorf("Go ids %x / %x are not SHA-512[:8] / SHA-256 of the SPKI", sk.Public().ID(), sk.Public().WithSHA256ID().ID())
					}
				}
			})
		}
	}
}

// TestKeyFromMaterialInterop: GenerateKeyFromMaterial gives the key pair
// virgil-crypto's generateKeysFromKeyMaterial gives (the BrainKey path), for
// key material from the shortest to the longest length virgil-crypto takes.
func TestKeyFromMaterialInterop(t *testing.T) {
	w := nodeWorker(t)
	var materials [][]byte
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	materials = append(materials, seq, bytes.Repeat([]byte{0xab}, 384))
	for _, n := range []int{32, 33, 48, 64, 100, 255, 256, 384, 511, 512} {
		m := make([]byte, n)
		rand.Read(m)
		materials = append(materials, m)
	}
	for _, v := range versions {
		for _, m := range materials {
			t.Run(fmt.Sprintf("%s/%dB", v, len(m)), func(t *testing.T) {
				sk, err := e3.GenerateKeyFromMaterial(m)
				if err != nil {
					t.Fatalf("GenerateKeyFromMaterial(%d bytes): %v", len(m), err)
				}
				var kp nodeKeyPair
				mustCall(t, w, "crypto.generateKeysFromKeyMaterial", map[string]any{"v": v, "keyMaterial": m}, &kp)
				if sk.Type() != e3.Ed25519 {
					t.Errorf("type %v, want Ed25519", sk.Type())
				}
				if !bytes.Equal(sk.Export(), kp.PrivateKey) {
					t.Errorf("private key: Go %x, Node %x", sk.Export(), kp.PrivateKey)
				}
				if !bytes.Equal(sk.Public().Export(), kp.PublicKey) || !bytes.Equal(sk.Public().ID(), kp.ID) {
					t.Errorf("public key: Go %x id %x, Node %x id %x", sk.Public().Export(), sk.Public().ID(), kp.PublicKey, kp.ID)
				}
			})
		}
	}
	// virgil-crypto's C core asserts (and aborts its WASM module) outside
	// 32..512 bytes; Go must return an error instead.
	for _, n := range []int{0, 1, 31, 513, 4096} {
		if _, err := e3.GenerateKeyFromMaterial(make([]byte, n)); err == nil {
			t.Errorf("GenerateKeyFromMaterial(%d bytes) succeeded; virgil-crypto accepts only 32..512", n)
		}
	}
}

// TestSignInterop: Sign and calculateSignature agree byte for byte (Ed25519
// is deterministic), and each side verifies the other's signatures and
// rejects wrong ones.
func TestSignInterop(t *testing.T) {
	w := nodeWorker(t)
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			p := newParty(t, w, v)
			for _, m := range messages() {
				for _, signer := range []key{p.goSigner, p.nodeSigner} {
					t.Run(m.name+"/"+signer.name, func(t *testing.T) {
						goSig, err := e3.Sign(m.data, signer.priv)
						if err != nil {
							t.Fatal(err)
						}
						var nodeSig []byte
						mustCall(t, w, "crypto.calculateSignature", map[string]any{"v": v, "data": m.data, "privateKey": signer.privDER}, &nodeSig)
						if len(goSig) != 83 || !bytes.Equal(goSig, nodeSig) {
							t.Errorf("signatures differ:\n Go   %x\n Node %x", goSig, nodeSig)
						}
						// Go -> Node
						var ok bool
						mustCall(t, w, "crypto.verifySignature", map[string]any{"v": v, "data": m.data, "signature": goSig, "publicKey": signer.pubDER}, &ok)
						if !ok {
							t.Error("Node rejects Go's signature")
						}
						mustCall(t, w, "crypto.verifySignature", map[string]any{"v": v, "data": m.data, "signature": goSig, "publicKey": p.mallory.pubDER}, &ok)
						if ok {
							t.Error("Node accepts Go's signature under another key")
						}
						mustCall(t, w, "crypto.verifySignature", map[string]any{"v": v, "data": append(m.data[:len(m.data):len(m.data)], 'x'), "signature": goSig, "publicKey": signer.pubDER}, &ok)
						if ok {
							t.Error("Node accepts Go's signature over other data")
						}
						// Node -> Go
						if err := e3.Verify(m.data, nodeSig, signer.pub); err != nil {
							t.Errorf("Go rejects Node's signature: %v", err)
						}
						if err := e3.Verify(m.data, nodeSig, p.mallory.pub); !errors.Is(err, e3.ErrAuthFailed) {
							t.Errorf("Go Verify of Node's signature under another key: %v, want ErrAuthFailed", err)
						}
						if err := e3.Verify(append(m.data[:len(m.data):len(m.data)], 'x'), nodeSig, signer.pub); !errors.Is(err, e3.ErrAuthFailed) {
							t.Errorf("Go Verify of Node's signature over other data: %v, want ErrAuthFailed", err)
						}
						bad := bytes.Clone(nodeSig)
						bad[len(bad)-1] ^= 0x01
						if err := e3.Verify(m.data, bad, signer.pub); !errors.Is(err, e3.ErrAuthFailed) {
							t.Errorf("Go Verify of Node's signature with a flipped bit: %v, want ErrAuthFailed", err)
						}
					})
				}
			}
		})
	}
}

// TestVerifyCurve25519Quirk pins the virgil-crypto bug of spec §18.13:
// verifySignature with a Curve25519 public key returns true for any data and
// any signature. Go must refuse (ErrKeyType) instead.
func TestVerifyCurve25519Quirk(t *testing.T) {
	w := nodeWorker(t)
	alice := goKey(t, e3.Ed25519, "alice")
	carol := goKey(t, e3.Curve25519, "carol")
	sig, err := e3.Sign([]byte("signed by alice"), alice.priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		var ok bool
		mustCall(t, w, "crypto.verifySignature", map[string]any{"v": v, "data": []byte("anything else"), "signature": sig, "publicKey": carol.pubDER}, &ok)
		if !ok {
			t.Errorf("%s: verifySignature with a Curve25519 key returned false; the spec (§18.13) says virgil-crypto returns true", v)
		}
	}
	if err := e3.Verify([]byte("anything else"), sig, carol.pub); !errors.Is(err, e3.ErrKeyType) {
		t.Errorf("Go Verify with a Curve25519 key: %v, want ErrKeyType", err)
	}
}
