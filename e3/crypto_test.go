package e3

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/e3go/e3go/internal/envelope"
)

func TestRoundTrips(t *testing.T) {
	alice, _ := GenerateKey()
	var recips []*PrivateKey
	for i := 0; i < 25; i++ {
		typ := Ed25519
		if i%3 == 2 {
			typ = Curve25519
		}
		k, err := GenerateKeyOfType(typ)
		if err != nil {
			t.Fatal(err)
		}
		recips = append(recips, k)
	}
	pubs := func(ks []*PrivateKey) []*PublicKey {
		var out []*PublicKey
		for _, k := range ks {
			out = append(out, k.Public())
		}
		return out
	}
	sizes := []int{0, 1, 5, 155, 156, 157, 159, 160, 161, 316, 4096, 100000}
	utf8 := []byte("Grüße, 世界! 🔐")
	for _, n := range sizes {
		for _, set := range [][]*PrivateKey{recips[:1], recips[2:3], recips} {
			data := make([]byte, n)
			rand.Read(data)
			if n == 5 {
				data = utf8
			}
			to := pubs(set)
			enc, err := Encrypt(data, to...)
			if err != nil {
				t.Fatal(err)
			}
			ste, err := SignThenEncrypt(data, alice, to...)
			if err != nil {
				t.Fatal(err)
			}
			meta, body, err := SignThenEncryptDetached(data, alice, to...)
			if err != nil {
				t.Fatal(err)
			}
			sae, err := SignAndEncrypt(data, alice, to...)
			if err != nil {
				t.Fatal(err)
			}
			// The body is padded to a multiple of 160 with at least 5 bytes
			// of room, and the footer is 113 bytes for an 8-byte id.
			mi, ni, _ := envelope.Parse(sae)
			if mi.Footer.DataSize%160 != 0 || mi.Footer.DataSize < int64(len(data))+5 || mi.Footer.DataSize > int64(len(data))+164 ||
				len(sae)-ni-int(mi.Footer.DataSize)-16 != 113 || mi.Version() != 3 {
				t.Fatalf("n=%d: SAE layout: %v, dataSize %d", len(data), mi, mi.Footer.DataSize)
			}
			if _, ne, _ := envelope.Parse(enc); len(enc)-ne != len(data)+16 {
				t.Fatalf("n=%d: encrypt body length", len(data))
			}
			if len(set) == 1 && set[0].Type() == Ed25519 {
				if _, ne, _ := envelope.Parse(enc); ne != 330 {
					t.Fatalf("one Ed25519 recipient: message info %d bytes, want 330", ne)
				}
			}
			for _, k := range set {
				check := func(name string, got []byte, err error) {
					t.Helper()
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("n=%d recipients=%d %s: %v", len(data), len(set), name, err)
					}
				}
				got, err := Decrypt(enc, k)
				check("Decrypt", got, err)
				got, err = DecryptThenVerify(ste, k, alice.Public())
				check("DecryptThenVerify", got, err)
				got, err = DecryptThenVerifyDetached(body, meta, k, alice.Public())
				check("DecryptThenVerifyDetached", got, err)
				got, err = DecryptAndVerify(sae, k, alice.Public())
				check("DecryptAndVerify", got, err)
				got, err = Decrypt(sae, k)
				check("Decrypt(SAE)", got, err)
			}
			if len(set) == 25 {
				// Only the first of each shape: 25 recipients is slow-ish.
				break
			}
		}
	}
	// Detached parts join into the one-shot format.
	meta, body, _ := SignThenEncryptDetached([]byte("x"), alice, recips[0].Public())
	if got, err := DecryptThenVerify(append(append([]byte(nil), meta...), body...), recips[0], alice.Public()); err != nil || string(got) != "x" {
		t.Fatal(err)
	}
	if _, err := DecryptThenVerifyDetached(body, append(meta, 0), recips[0], alice.Public()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("meta with a trailing byte: %v", err)
	}
}

func TestSHA256Identifiers(t *testing.T) {
	alice, _ := GenerateKey()
	bob, _ := GenerateKey()
	alice256, bob256 := alice.WithSHA256ID(), bob.WithSHA256ID()
	data := []byte("e3kit useSha256Identifiers")
	ct, err := SignAndEncrypt(data, alice256, bob256.Public())
	if err != nil {
		t.Fatal(err)
	}
	mi, _, _ := envelope.Parse(ct)
	if len(mi.Recipients[0].ID) != 32 {
		t.Fatal("recipient id is not 32 bytes")
	}
	if got, err := DecryptAndVerify(ct, bob256, alice256.Public()); err != nil || !bytes.Equal(got, data) {
		t.Fatal(err)
	}
	if _, err := DecryptAndVerify(ct, bob, alice256.Public()); !errors.Is(err, ErrNotRecipient) {
		t.Fatalf("8-byte-id key: %v", err)
	}
	if _, err := DecryptAndVerify(ct, bob256, alice.Public()); !errors.Is(err, ErrSignerNotFound) {
		t.Fatalf("8-byte-id signer: %v", err)
	}
	ste, _ := SignThenEncrypt(data, alice256, bob256.Public())
	if got, err := DecryptThenVerify(ste, bob256, alice256.Public(), bob256.Public()); err != nil || !bytes.Equal(got, data) {
		t.Fatal(err)
	}
}

func TestUsageErrors(t *testing.T) {
	k, _ := GenerateKey()
	c, _ := GenerateKeyOfType(Curve25519)
	if _, err := Encrypt([]byte("x")); err == nil {
		t.Error("no recipients")
	}
	if _, err := Encrypt([]byte("x"), k.Public(), nil); err == nil {
		t.Error("nil recipient")
	}
	if _, err := SignAndEncrypt([]byte("x"), c, k.Public()); !errors.Is(err, ErrKeyType) {
		t.Errorf("SignAndEncrypt with Curve25519 signer: %v", err)
	}
	if _, err := SignThenEncrypt([]byte("x"), c, k.Public()); !errors.Is(err, ErrKeyType) {
		t.Errorf("SignThenEncrypt with Curve25519 signer: %v", err)
	}
	if _, err := SignAndEncrypt([]byte("x"), nil, k.Public()); err == nil {
		t.Error("nil signer")
	}
	ct, _ := Encrypt([]byte("x"), k.Public())
	if _, err := Decrypt(ct, nil); err == nil {
		t.Error("nil key")
	}
	if _, err := Decrypt(ct, &PrivateKey{}); err == nil {
		t.Error("zero key")
	}
	if _, err := DecryptThenVerify(ct, k, nil); err == nil {
		t.Error("nil signer key")
	}
	if _, err := DecryptAndVerify(ct, k, nil, nil); err == nil {
		t.Error("nil signer keys")
	}
}

// FuzzDecrypt feeds arbitrary bytes to every decrypting function: no
// panics, only matchable errors, and nothing that was not made for the key
// decrypts.
func FuzzDecrypt(f *testing.F) {
	vs := loadVectors(f)
	v := vs[0]
	ks := v.keys(f)
	n := 0
	for _, vv := range vs {
		for _, ct := range [][]byte{vv.Ops.EncryptBob, vv.Ops.SignThenEncryptAliceToBob, vv.Ops.SignAndEncryptAliceToBob,
			vv.Ops.SignAndEncryptEmptyPadded, vv.Ops.EncryptMultiBobCarolAlice, vv.Deterministic.SignAndEncryptBobPadded.All} {
			f.Add(ct)
			n++
		}
	}
	if n == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for i, dec := range []func() ([]byte, error){
			func() ([]byte, error) { return Decrypt(in, ks.bob) },
			func() ([]byte, error) { return Decrypt(in, ks.carol) },
			func() ([]byte, error) { return DecryptThenVerify(in, ks.bob, ks.alicePub) },
			func() ([]byte, error) { return DecryptThenVerify(in, ks.bob, ks.alicePub, ks.carolPub) },
			func() ([]byte, error) { return DecryptAndVerify(in, ks.bob, ks.alicePub) },
			func() ([]byte, error) { return DecryptThenVerifyDetached(in, in, ks.bob, ks.alicePub) },
			func() ([]byte, error) { return readAllStream(DecryptStream(bytes.NewReader(in), ks.bob)) },
			func() ([]byte, error) {
				return readAllStream(DecryptAndVerifyStream(bytes.NewReader(in), ks.bob, ks.alicePub))
			},
		} {
			got, err := dec()
			if err != nil {
				if got != nil || !isOurError(err) {
					t.Fatalf("decrypter %d: %v (plaintext %v)", i, err, got != nil)
				}
			}
		}
	})
}

// readAllStream reads a stream reader to its end; the plaintext is returned
// only if the reader ended with io.EOF.
func readAllStream(r io.Reader, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// TestConcurrentUse shares keys between goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	alice, _ := GenerateKey()
	bob, _ := GenerateKey()
	bob256 := bob.WithSHA256ID()
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				msg := []byte{byte(g), byte(i)}
				ct, err := SignAndEncrypt(msg, alice, bob.Public(), bob256.Public(), alice.Public())
				if err == nil {
					var got []byte
					got, err = DecryptAndVerify(ct, bob, alice.Public())
					if err == nil && !bytes.Equal(got, msg) {
						err = errors.New("wrong plaintext")
					}
				}
				if err != nil {
					done <- err
					return
				}
				_ = alice.Public().String() + bob256.Public().String()
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
