package interop

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"testing"

	"github.com/e3go/e3go/e3"
)

// messageInfoLen is the length of the DER message info that starts ct.
func messageInfoLen(t *testing.T, ct []byte) int {
	t.Helper()
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(ct, &raw)
	if err != nil {
		t.Fatalf("ciphertext does not start with a DER message info: %v", err)
	}
	return len(ct) - len(rest)
}

// TestNodeRejectsFlippedGoCiphertext: virgil-crypto rejects a Go ciphertext
// with any one bit flipped in its body, GCM tag or (signAndEncrypt) encrypted
// footer, and accepts the unmodified one.
//
// Flips inside the message info are not swept here: some of them make
// virgil-crypto's WASM core hit a C assertion and abort (5.1.2's module is
// dead afterwards), and some are accepted because its DER reader is lenient
// (it still returns the right plaintext). e3's own tests cover Go's side of
// every flip.
func TestNodeRejectsFlippedGoCiphertext(t *testing.T) {
	w := nodeWorker(t)
	msg := []byte("flip me: ünïcødé ✓")
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			alice := goKey(t, e3.Ed25519, "alice")
			for _, rcpt := range []key{goKey(t, e3.Ed25519, "bob"), nodeKey(t, w, v, e3.Curve25519, "carol")} {
				rs := recipientSet{rcpt.name, keys{rcpt}}
				type tc struct {
					name string
					ct   []byte
					op   string
					args func(ct []byte) map[string]any
				}
				var cases []tc
				ct, err := e3.Encrypt(msg, rcpt.pub)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, tc{"Encrypt", ct, "crypto.decrypt", func(ct []byte) map[string]any {
					return map[string]any{"v": v, "data": ct}
				}})
				if ct, err = e3.SignThenEncrypt(msg, alice.priv, rcpt.pub); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, tc{"SignThenEncrypt", ct, "crypto.decryptThenVerify", func(ct []byte) map[string]any {
					return map[string]any{"v": v, "data": ct, "signerPublicKeys": [][]byte{alice.pubDER}}
				}})
				if ct, err = e3.SignAndEncrypt(msg, alice.priv, rcpt.pub); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, tc{"SignAndEncrypt", ct, "crypto.decryptAndVerify", func(ct []byte) map[string]any {
					return map[string]any{"v": v, "data": ct, "signerPublicKeys": [][]byte{alice.pubDER}}
				}})
				meta, body, err := e3.SignThenEncryptDetached(msg, alice.priv, rcpt.pub)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, tc{"SignThenEncryptDetached", append(meta[:len(meta):len(meta)], body...), "crypto.decryptThenVerifyDetached", func(ct []byte) map[string]any {
					return map[string]any{"v": v, "metadata": ct[:len(meta)], "encryptedData": ct[len(meta):], "signerPublicKeys": [][]byte{alice.pubDER}}
				}})

				for _, c := range cases {
					t.Run(rcpt.name+"/"+c.name, func(t *testing.T) {
						nodeDecryptAll(t, w, c.op, c.args(c.ct), rs, msg)
						start := messageInfoLen(t, c.ct)
						for i := start; i < len(c.ct); i++ {
							bad := append([]byte(nil), c.ct...)
							bad[i] ^= 1 << (i % 8)
							args := c.args(bad)
							args["privateKeys"] = [][]byte{rcpt.privDER}
							var got [][]byte
							err := w.Call(t.Context(), c.op, args, &got)
							var ne *NodeError
							if !errors.As(err, &ne) {
								t.Fatalf("byte %d of %d (body starts at %d) flipped: Node %s returned %q, %v; want a rejection", i, len(c.ct), start, c.op, got, err)
							}
							if ne.Name == "RuntimeError" {
								t.Fatalf("byte %d flipped: virgil-crypto's WASM core aborted: %v", i, err)
							}
						}
					})
				}
			}
		})
	}
}

// TestForeignSigner: a ciphertext or signature made by someone other than
// the expected signer is rejected, Node's by Go and Go's by Node; so is an
// unsigned ciphertext given to a verifying decryption.
func TestForeignSigner(t *testing.T) {
	w := nodeWorker(t)
	msg := []byte("who signed this?")
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			alice := nodeKey(t, w, v, e3.Ed25519, "alice")     // the expected signer
			mallory := nodeKey(t, w, v, e3.Ed25519, "mallory") // who really signed
			bob := goKey(t, e3.Ed25519, "bob")
			carol := goKey(t, e3.Curve25519, "carol")
			call := func(op string, args map[string]any) []byte {
				t.Helper()
				args["v"] = v
				var out []byte
				mustCall(t, w, op, args, &out)
				return out
			}
			wantAuth := func(what string, pt []byte, err error, want error) {
				t.Helper()
				if !errors.Is(err, want) || !errors.Is(err, e3.ErrAuthFailed) {
					t.Errorf("%s: err = %v, want %v (and ErrAuthFailed)", what, err, want)
				}
				if pt != nil {
					t.Errorf("%s: returned %d bytes of plaintext along with the error", what, len(pt))
				}
			}

			// Node -> Go
			base := map[string]any{"data": msg, "privateKey": mallory.privDER, "publicKeys": [][]byte{bob.pubDER}}
			with := func(extra map[string]any) map[string]any {
				m := map[string]any{}
				for k, x := range base {
					m[k] = x
				}
				for k, x := range extra {
					m[k] = x
				}
				return m
			}
			ste := call("crypto.signThenEncrypt", with(nil))
			pt, err := e3.DecryptThenVerify(ste, bob.priv, alice.pub)
			wantAuth("DecryptThenVerify(mallory's signThenEncrypt, alice)", pt, err, e3.ErrAuthFailed)
			pt, err = e3.DecryptThenVerify(ste, bob.priv, alice.pub, carol.pub)
			wantAuth("DecryptThenVerify(mallory's signThenEncrypt, alice+carol)", pt, err, e3.ErrSignerNotFound)

			var det struct {
				Metadata      []byte `json:"metadata"`
				EncryptedData []byte `json:"encryptedData"`
			}
			mustCall(t, w, "crypto.signThenEncryptDetached", with(map[string]any{"v": v}), &det)
			pt, err = e3.DecryptThenVerifyDetached(det.EncryptedData, det.Metadata, bob.priv, alice.pub)
			wantAuth("DecryptThenVerifyDetached(mallory's, alice)", pt, err, e3.ErrAuthFailed)

			for _, pad := range []bool{true, false} {
				sae := call("crypto.signAndEncrypt", with(map[string]any{"enablePadding": pad}))
				pt, err = e3.DecryptAndVerify(sae, bob.priv, alice.pub)
				wantAuth(fmt.Sprintf("DecryptAndVerify(mallory's signAndEncrypt %s, alice)", bflag(pad)), pt, err, e3.ErrSignerNotFound)
			}

			sig := call("crypto.calculateSignature", map[string]any{"data": msg, "privateKey": mallory.privDER})
			if err := e3.Verify(msg, sig, alice.pub); !errors.Is(err, e3.ErrAuthFailed) {
				t.Errorf("Verify(mallory's signature, alice): %v, want ErrAuthFailed", err)
			}

			enc := call("crypto.encrypt", map[string]any{"data": msg, "publicKeys": [][]byte{bob.pubDER}})
			pt, err = e3.DecryptAndVerify(enc, bob.priv, alice.pub)
			wantAuth("DecryptAndVerify(unsigned encrypt)", pt, err, e3.ErrNotSigned)
			pt, err = e3.DecryptThenVerify(enc, bob.priv, alice.pub)
			wantAuth("DecryptThenVerify(unsigned encrypt)", pt, err, e3.ErrNotSigned)

			// Go -> Node
			nodeRejects := func(what, op string, args map[string]any, status string) {
				t.Helper()
				args["v"] = v
				args["privateKeys"] = [][]byte{bob.privDER}
				var got [][]byte
				err := w.Call(t.Context(), op, args, &got)
				var ne *NodeError
				if !errors.As(err, &ne) || (status != "" && ne.Status != status) {
					t.Errorf("%s: Node returned %q, %v; want a rejection with status %q", what, got, err, status)
				}
			}
			gste, err := e3.SignThenEncrypt(msg, mallory.priv, bob.pub)
			if err != nil {
				t.Fatal(err)
			}
			// One key: virgil-crypto ignores the signer id and verifies (spec §8).
			nodeRejects("decryptThenVerify(Go signThenEncrypt by mallory, alice)", "crypto.decryptThenVerify",
				map[string]any{"data": gste, "signerPublicKeys": [][]byte{alice.pubDER}}, "INVALID_SIGNATURE")
			nodeRejects("decryptThenVerify(Go signThenEncrypt by mallory, alice+carol)", "crypto.decryptThenVerify",
				map[string]any{"data": gste, "signerPublicKeys": [][]byte{alice.pubDER, bob.pubDER}}, "SIGNER_NOT_FOUND")
			gsae, err := e3.SignAndEncrypt(msg, mallory.priv, bob.pub)
			if err != nil {
				t.Fatal(err)
			}
			nodeRejects("decryptAndVerify(Go signAndEncrypt by mallory, alice)", "crypto.decryptAndVerify",
				map[string]any{"data": gsae, "signerPublicKeys": [][]byte{alice.pubDER}}, "SIGNER_NOT_FOUND")
			genc, err := e3.Encrypt(msg, bob.pub)
			if err != nil {
				t.Fatal(err)
			}
			nodeRejects("decryptAndVerify(Go encrypt, unsigned)", "crypto.decryptAndVerify",
				map[string]any{"data": genc, "signerPublicKeys": [][]byte{alice.pubDER}}, "DATA_NOT_SIGNED")
		})
	}
}
