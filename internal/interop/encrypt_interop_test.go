package interop

import (
	"bytes"
	"errors"
	"testing"

	"github.com/e3go/e3go/e3"
)

// The one-shot operations, both directions, for both virgil-crypto versions,
// every message of messages() and every recipient set of newParty. Every
// recipient decrypts every message, on both sides.

// nodeDecryptAll runs a Node decrypt-side op over ciphertext args with every
// key of rs and checks that each recovers want.
func nodeDecryptAll(t *testing.T, w *Worker, op string, args map[string]any, rs recipientSet, want []byte) {
	t.Helper()
	args["privateKeys"] = rs.keys.privDERs()
	var got [][]byte
	mustCall(t, w, op, args, &got)
	if len(got) != len(rs.keys) {
		t.Fatalf("%s: %d plaintexts for %d keys", op, len(got), len(rs.keys))
	}
	for i, pt := range got {
		if !bytes.Equal(pt, want) {
			t.Errorf("%s as %s: got %d bytes %.32x..., want %d bytes %.32x...", op, rs.keys[i].name, len(pt), pt, len(want), want)
		}
	}
}

// goDecryptAll runs dec with every key of rs and checks that each recovers want.
func goDecryptAll(t *testing.T, what string, rs recipientSet, want []byte, dec func(k *e3.PrivateKey) ([]byte, error)) {
	t.Helper()
	for _, k := range rs.keys {
		pt, err := dec(k.priv)
		if err != nil {
			t.Errorf("%s as %s: %v", what, k.name, err)
			continue
		}
		if !bytes.Equal(pt, want) {
			t.Errorf("%s as %s: got %d bytes %.32x..., want %d bytes %.32x...", what, k.name, len(pt), pt, len(want), want)
		}
	}
}

// forEachCase runs f for both versions (in parallel), every recipient set and
// every message.
func forEachCase(t *testing.T, f func(t *testing.T, w *Worker, p *party, rs recipientSet, m message)) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			w := nodeWorker(t)
			p := newParty(t, w, v)
			for _, rs := range p.sets {
				for _, m := range messages() {
					t.Run(rs.name+"/"+m.name, func(t *testing.T) { f(t, w, p, rs, m) })
				}
			}
		})
	}
}

func TestEncryptInterop(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *Worker, p *party, rs recipientSet, m message) {
		// Go -> Node
		ct, err := e3.Encrypt(m.data, rs.keys.pubs()...)
		if err != nil {
			t.Fatal(err)
		}
		nodeDecryptAll(t, w, "crypto.decrypt", map[string]any{"v": p.v, "data": ct}, rs, m.data)

		// Node -> Go, with and without padding
		for _, pad := range []bool{false, true} {
			var nct []byte
			mustCall(t, w, "crypto.encrypt", map[string]any{"v": p.v, "data": m.data, "publicKeys": rs.keys.pubDERs(), "enablePadding": pad}, &nct)
			goDecryptAll(t, "Decrypt(node encrypt "+bflag(pad)+")", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.Decrypt(nct, k)
			})
			if _, err := e3.Decrypt(nct, p.mallory.priv); !errors.Is(err, e3.ErrNotRecipient) {
				t.Errorf("Decrypt(node encrypt %s) with a key that is no recipient: %v, want ErrNotRecipient", bflag(pad), err)
			}
		}
	})
}

func TestSignThenEncryptInterop(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *Worker, p *party, rs recipientSet, m message) {
		// Go -> Node. One verification key (e3kit decrypt: the signer id is
		// not consulted) and two (the signer is picked by id).
		ct, err := e3.SignThenEncrypt(m.data, p.goSigner.priv, rs.keys.pubs()...)
		if err != nil {
			t.Fatal(err)
		}
		for _, signers := range [][][]byte{{p.goSigner.pubDER}, {p.mallory.pubDER, p.goSigner.pubDER}} {
			nodeDecryptAll(t, w, "crypto.decryptThenVerify", map[string]any{"v": p.v, "data": ct, "signerPublicKeys": signers}, rs, m.data)
		}
		meta, body, err := e3.SignThenEncryptDetached(m.data, p.goSigner.priv, rs.keys.pubs()...)
		if err != nil {
			t.Fatal(err)
		}
		nodeDecryptAll(t, w, "crypto.decryptThenVerifyDetached", map[string]any{"v": p.v, "encryptedData": body, "metadata": meta, "signerPublicKeys": [][]byte{p.goSigner.pubDER}}, rs, m.data)

		// Node -> Go
		for _, pad := range []bool{false, true} {
			var nct []byte
			mustCall(t, w, "crypto.signThenEncrypt", map[string]any{"v": p.v, "data": m.data, "privateKey": p.nodeSigner.privDER, "publicKeys": rs.keys.pubDERs(), "enablePadding": pad}, &nct)
			goDecryptAll(t, "DecryptThenVerify(node signThenEncrypt "+bflag(pad)+")", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptThenVerify(nct, k, p.nodeSigner.pub)
			})
			goDecryptAll(t, "DecryptThenVerify(node signThenEncrypt "+bflag(pad)+", 2 signer keys)", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptThenVerify(nct, k, p.mallory.pub, p.nodeSigner.pub)
			})
		}
		var det struct {
			Metadata      []byte `json:"metadata"`
			EncryptedData []byte `json:"encryptedData"`
		}
		mustCall(t, w, "crypto.signThenEncryptDetached", map[string]any{"v": p.v, "data": m.data, "privateKey": p.nodeSigner.privDER, "publicKeys": rs.keys.pubDERs()}, &det)
		goDecryptAll(t, "DecryptThenVerifyDetached(node signThenEncryptDetached)", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
			return e3.DecryptThenVerifyDetached(det.EncryptedData, det.Metadata, k, p.nodeSigner.pub)
		})
	})
}

func TestSignAndEncryptInterop(t *testing.T) {
	forEachCase(t, func(t *testing.T, w *Worker, p *party, rs recipientSet, m message) {
		// Go -> Node
		ct, err := e3.SignAndEncrypt(m.data, p.goSigner.priv, rs.keys.pubs()...)
		if err != nil {
			t.Fatal(err)
		}
		for _, signers := range [][][]byte{{p.goSigner.pubDER}, {p.mallory.pubDER, p.goSigner.pubDER}} {
			nodeDecryptAll(t, w, "crypto.decryptAndVerify", map[string]any{"v": p.v, "data": ct, "signerPublicKeys": signers}, rs, m.data)
		}

		// Node -> Go: padding on (e3kit authEncrypt) and off (the library default)
		for _, pad := range []bool{true, false} {
			var nct []byte
			mustCall(t, w, "crypto.signAndEncrypt", map[string]any{"v": p.v, "data": m.data, "privateKey": p.nodeSigner.privDER, "publicKeys": rs.keys.pubDERs(), "enablePadding": pad}, &nct)
			goDecryptAll(t, "DecryptAndVerify(node signAndEncrypt "+bflag(pad)+")", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptAndVerify(nct, k, p.nodeSigner.pub)
			})
			goDecryptAll(t, "DecryptAndVerify(node signAndEncrypt "+bflag(pad)+", 2 signer keys)", rs, m.data, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptAndVerify(nct, k, p.mallory.pub, p.nodeSigner.pub)
			})
		}
	})
}

// TestSHA256IDsInterop: with e3kit's useSha256Identifiers on both sides the
// operations interoperate; with the schemes mismatched the recipient (or
// signer) is not found, on both sides.
func TestSHA256IDsInterop(t *testing.T) {
	w := nodeWorker(t)
	msg := []byte("sha-256 identifiers ✓")
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			signer := nodeKey(t, w, v, e3.Ed25519, "alice")
			rs := recipientSet{"bob+carol", keys{goKey(t, e3.Ed25519, "bob"), nodeKey(t, w, v, e3.Curve25519, "carol")}}
			var pubs256 []*e3.PublicKey
			for _, k := range rs.keys {
				pubs256 = append(pubs256, k.pub.WithSHA256ID())
			}
			signer256 := signer.priv.WithSHA256ID()

			// Go -> Node
			ct, err := e3.Encrypt(msg, pubs256...)
			if err != nil {
				t.Fatal(err)
			}
			nodeDecryptAll(t, w, "crypto.decrypt", map[string]any{"v": v, "data": ct, "sha256Ids": true}, rs, msg)
			err = w.Call(t.Context(), "crypto.decrypt", map[string]any{"v": v, "data": ct, "privateKeys": rs.keys.privDERs()[:1]}, nil)
			var ne *NodeError
			if !errors.As(err, &ne) || !bytes.Contains([]byte(ne.Message), []byte("not found")) {
				t.Errorf("Node decrypt with SHA-512 ids of a SHA-256-id ciphertext: %v, want recipient not found", err)
			}
			ct, err = e3.SignAndEncrypt(msg, signer256, pubs256...)
			if err != nil {
				t.Fatal(err)
			}
			nodeDecryptAll(t, w, "crypto.decryptAndVerify", map[string]any{"v": v, "data": ct, "signerPublicKeys": [][]byte{signer.pubDER}, "sha256Ids": true}, rs, msg)
			ct, err = e3.SignThenEncrypt(msg, signer256, pubs256...)
			if err != nil {
				t.Fatal(err)
			}
			nodeDecryptAll(t, w, "crypto.decryptThenVerify", map[string]any{"v": v, "data": ct, "signerPublicKeys": [][]byte{goKey(t, e3.Ed25519, "other").pubDER, signer.pubDER}, "sha256Ids": true}, rs, msg)

			// Node -> Go
			var nct []byte
			mustCall(t, w, "crypto.encrypt", map[string]any{"v": v, "data": msg, "publicKeys": rs.keys.pubDERs(), "sha256Ids": true}, &nct)
			goDecryptAll(t, "Decrypt(node encrypt, sha256 ids)", rs, msg, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.Decrypt(nct, k.WithSHA256ID())
			})
			if _, err := e3.Decrypt(nct, rs.keys[0].priv); !errors.Is(err, e3.ErrNotRecipient) {
				t.Errorf("Decrypt of a SHA-256-id ciphertext with a SHA-512-id key: %v, want ErrNotRecipient", err)
			}
			mustCall(t, w, "crypto.signAndEncrypt", map[string]any{"v": v, "data": msg, "privateKey": signer.privDER, "publicKeys": rs.keys.pubDERs(), "enablePadding": true, "sha256Ids": true}, &nct)
			goDecryptAll(t, "DecryptAndVerify(node signAndEncrypt, sha256 ids)", rs, msg, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptAndVerify(nct, k.WithSHA256ID(), signer.pub.WithSHA256ID())
			})
			if _, err := e3.DecryptAndVerify(nct, rs.keys[0].priv.WithSHA256ID(), signer.pub); !errors.Is(err, e3.ErrSignerNotFound) {
				t.Errorf("DecryptAndVerify with a SHA-512-id signer key: %v, want ErrSignerNotFound", err)
			}
			mustCall(t, w, "crypto.signThenEncrypt", map[string]any{"v": v, "data": msg, "privateKey": signer.privDER, "publicKeys": rs.keys.pubDERs(), "sha256Ids": true}, &nct)
			goDecryptAll(t, "DecryptThenVerify(node signThenEncrypt, sha256 ids)", rs, msg, func(k *e3.PrivateKey) ([]byte, error) {
				return e3.DecryptThenVerify(nct, k.WithSHA256ID(), signer.pub.WithSHA256ID())
			})
		})
	}
}
