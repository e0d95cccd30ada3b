package e3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/e3go/e3go/internal/envelope"
	"github.com/e3go/e3go/internal/kmrng"
)

// TestDeterministicVectors re-encrypts the deterministic cases of the Node
// vector files with the same KeyMaterialRng stream and requires the exact
// bytes Node produced (which also proves the RNG draw order).
func TestDeterministicVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		ks := v.keys(t)
		d := v.Deterministic
		ste, err := signThenEncryptParams(v.Message, ks.alice)
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			want vecDet
			p    sealParams
			to   []*PublicKey
		}{
			{"encrypt_bob", d.EncryptBob, sealParams{}, []*PublicKey{ks.bobPub}},
			{"encrypt_bob_carol", d.EncryptBobCarol, sealParams{}, []*PublicKey{ks.bobPub, ks.carolPub}},
			{"encrypt_alice_bob_carol", d.EncryptAliceBobCarol, sealParams{}, []*PublicKey{ks.alicePub, ks.bobPub, ks.carolPub}},
			{"signThenEncrypt_alice_to_bob_carol", d.SignThenEncryptAliceToBobCarol, sealParams{params: ste}, []*PublicKey{ks.bobPub, ks.carolPub}},
			{"encrypt_bob_padded", d.EncryptBobPadded, sealParams{padding: true}, []*PublicKey{ks.bobPub}},
			{"signAndEncrypt_bob", d.SignAndEncryptBob, sealParams{mode: modeSignAndEncrypt, signer: ks.alice, size: int64(len(v.Message))}, []*PublicKey{ks.bobPub}},
			{"signAndEncrypt_bob_padded", d.SignAndEncryptBobPadded, sealParams{mode: modeSignAndEncrypt, padding: true, signer: ks.alice, size: int64(len(v.Message))}, []*PublicKey{ks.bobPub}},
		}
		for _, c := range cases {
			if len(c.want.All) == 0 {
				t.Fatalf("%s %s: vector missing", v.file, c.name)
			}
			rng, err := kmrng.New(d.RngSeed)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sealOneShot(rng, v.Message, c.p, c.to)
			if err != nil {
				t.Fatalf("%s %s: %v", v.file, c.name, err)
			}
			if !bytes.Equal(got, c.want.All) {
				t.Errorf("%s %s: output differs from Node's\n got %x\nwant %x", v.file, c.name, got, c.want.All)
				continue
			}
			mi, n, err := envelope.Parse(got)
			if err != nil || !bytes.Equal(got[:n], c.want.MessageInfo) {
				t.Errorf("%s %s: message info split: %v", v.file, c.name, err)
			}
			if c.p.mode == modeSignAndEncrypt {
				if mi.Footer == nil || !bytes.Equal(got[len(got)-len(c.want.Footer):], c.want.Footer) {
					t.Errorf("%s %s: footer", v.file, c.name)
				}
			}
		}
	}
}

// TestDecryptVectors decrypts and verifies every Node-made ciphertext.
func TestDecryptVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		ks := v.keys(t)
		msg := v.Message
		ok := func(name string, got []byte, err error, want []byte) {
			t.Helper()
			if err != nil {
				t.Errorf("%s %s: %v", v.file, name, err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s %s: wrong plaintext", v.file, name)
			}
		}
		o := v.Ops
		p, err := Decrypt(o.EncryptBob, ks.bob)
		ok("encrypt_bob", p, err, msg)
		for _, k := range []*PrivateKey{ks.alice, ks.bob, ks.carol} {
			p, err = Decrypt(o.EncryptMultiBobCarolAlice, k)
			ok("encrypt_multi as "+k.Public().String(), p, err, msg)
		}
		p, err = Decrypt(o.EncryptBobPadded, ks.bob)
		ok("encrypt_bob_padded", p, err, msg)
		p, err = Decrypt(o.EncryptBobEmpty, ks.bob)
		ok("encrypt_bob_empty", p, err, []byte{})
		p, err = DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.alicePub)
		ok("signThenEncrypt", p, err, msg)
		p, err = DecryptThenVerify(o.SignThenEncryptAliceToBob, ks.bob, ks.carolPub, ks.alicePub, ks.bobPub)
		ok("signThenEncrypt (signer by id)", p, err, msg)
		p, err = DecryptThenVerifyDetached(o.SignThenEncryptDetached.EncryptedData, o.SignThenEncryptDetached.Metadata, ks.bob, ks.alicePub)
		ok("signThenEncryptDetached", p, err, msg)
		p, err = DecryptThenVerify(append(append([]byte(nil), o.SignThenEncryptDetached.Metadata...), o.SignThenEncryptDetached.EncryptedData...), ks.bob, ks.alicePub)
		ok("signThenEncryptDetached joined", p, err, msg)
		p, err = DecryptAndVerify(o.SignAndEncryptAliceToBob, ks.bob, ks.alicePub)
		ok("signAndEncrypt", p, err, msg)
		for _, k := range []*PrivateKey{ks.alice, ks.bob} {
			p, err = DecryptAndVerify(o.SignAndEncryptAliceToBobAlicePadded, k, ks.bobPub, ks.alicePub)
			ok("signAndEncrypt padded 2 recipients", p, err, msg)
		}
		p, err = DecryptAndVerify(o.SignAndEncryptEmptyPadded, ks.bob, ks.alicePub)
		ok("signAndEncrypt empty padded", p, err, []byte{})
		p, err = Decrypt(o.SignAndEncryptAliceToBob, ks.bob)
		ok("Decrypt of signAndEncrypt", p, err, msg)

		// The 150 000-byte stream, made with createStreamSignAndEncrypt in
		// 64 KiB chunks, is the one-shot format.
		p, err = DecryptAndVerify(o.StreamSignAndEncrypt150000Padded, ks.bob, ks.alicePub)
		if err != nil {
			t.Errorf("%s stream: %v", v.file, err)
		} else if h := sha256.Sum256(p); len(p) != 150000 || !bytes.Equal(h[:], o.StreamPlain150000SHA256) {
			t.Errorf("%s stream: wrong plaintext", v.file)
		}
		// The legacy stream cipher with only a VIRGIL-DATA-SIGNATURE
		// parameter (no signer id) verifies with a single key.
		p, err = DecryptThenVerify(o.StreamCipherWithSignature, ks.bob, ks.alicePub)
		ok("streamCipher with signature", p, err, msg)
		if _, err := DecryptThenVerify(o.StreamCipherWithSignature, ks.bob, ks.alicePub, ks.carolPub); !errors.Is(err, ErrSignerNotFound) {
			t.Errorf("%s streamCipher, two keys, no signer id: %v", v.file, err)
		}

		// Deterministic vectors decrypt too.
		d := v.Deterministic
		for _, c := range []struct {
			name string
			ct   []byte
			f    func([]byte, *PrivateKey) ([]byte, error)
			keys []*PrivateKey
		}{
			{"det encrypt_bob", d.EncryptBob.All, Decrypt, []*PrivateKey{ks.bob}},
			{"det encrypt_bob_carol", d.EncryptBobCarol.All, Decrypt, []*PrivateKey{ks.bob, ks.carol}},
			{"det encrypt_alice_bob_carol", d.EncryptAliceBobCarol.All, Decrypt, []*PrivateKey{ks.alice, ks.bob, ks.carol}},
			{"det ste", d.SignThenEncryptAliceToBobCarol.All, func(c []byte, k *PrivateKey) ([]byte, error) { return DecryptThenVerify(c, k, ks.alicePub) }, []*PrivateKey{ks.bob, ks.carol}},
			{"det encrypt_bob_padded", d.EncryptBobPadded.All, Decrypt, []*PrivateKey{ks.bob}},
			{"det sae", d.SignAndEncryptBob.All, func(c []byte, k *PrivateKey) ([]byte, error) { return DecryptAndVerify(c, k, ks.alicePub) }, []*PrivateKey{ks.bob}},
			{"det sae padded", d.SignAndEncryptBobPadded.All, func(c []byte, k *PrivateKey) ([]byte, error) { return DecryptAndVerify(c, k, ks.alicePub) }, []*PrivateKey{ks.bob}},
		} {
			for _, k := range c.keys {
				p, err := c.f(c.ct, k)
				ok(c.name, p, err, msg)
			}
		}
	}
}
