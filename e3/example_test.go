package e3_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/e3go/e3go/e3"
)

func ExampleGenerateKey() {
	key, err := e3.GenerateKey()
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Type(), len(key.Export()), len(key.Public().Export()), len(key.Public().ID()))

	// The exported forms parse back to the same keys.
	again, err := e3.ParsePrivateKey(key.Export())
	if err != nil {
		panic(err)
	}
	fmt.Println(again.Equal(key))

	// A private key never prints its secret.
	fmt.Println(key)
	// Output:
	// Ed25519 48 44 8
	// true
	// e3.PrivateKey(REDACTED)
}

func ExampleGenerateKeyFromMaterial() {
	// The same material always gives the same key, here and in
	// virgil-crypto's generateKeysFromKeyMaterial.
	material := bytes.Repeat([]byte{0xAB}, 384)
	key, err := e3.GenerateKeyFromMaterial(material)
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Public())
	// Output:
	// e3.PublicKey(Ed25519 a31291ded7b54f6b)
}

func ExampleSign() {
	key, err := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		panic(err)
	}
	data := []byte("content snapshot to sign")
	sig, err := e3.Sign(data, key)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sig), hex.EncodeToString(sig[:19]))
	fmt.Println(e3.Verify(data, sig, key.Public()))
	fmt.Println(e3.Verify([]byte("other data"), sig, key.Public()))
	// Output:
	// 83 3051300d060960864801650304020305000440
	// <nil>
	// e3: message authentication failed: invalid signature
}

// Example_signAndEncrypt shows e3kit's authEncrypt / authDecrypt: the sender
// signs and encrypts for one or more recipients (typically including
// itself), each recipient decrypts with its private key and verifies with
// the sender's public key (from the sender's Virgil card).
func Example_signAndEncrypt() {
	// In a real program the keys come from GenerateKey and a keyring, and
	// the public keys from Virgil cards (ParsePublicKey).
	alice, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{1}, 32))
	bob, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{2}, 32))
	mallory, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{3}, 32))

	ct, err := e3.SignAndEncrypt([]byte("Blood pressure 120/80, all good."), alice, bob.Public(), alice.Public())
	if err != nil {
		panic(err)
	}
	// The length is public: message info, body padded to 160 bytes, tag,
	// encrypted signature footer.
	fmt.Println(len(ct))

	pt, err := e3.DecryptAndVerify(ct, bob, alice.Public())
	fmt.Printf("%s %v\n", pt, err)

	// Not a recipient.
	_, err = e3.DecryptAndVerify(ct, mallory, alice.Public())
	fmt.Println(errors.Is(err, e3.ErrNotRecipient))

	// Signed by someone else than the expected sender.
	_, err = e3.DecryptAndVerify(ct, bob, mallory.Public())
	fmt.Println(errors.Is(err, e3.ErrSignerNotFound), errors.Is(err, e3.ErrAuthFailed))

	// Any change to the ciphertext fails.
	ct[len(ct)-200] ^= 1
	_, err = e3.DecryptAndVerify(ct, bob, alice.Public())
	fmt.Println(errors.Is(err, e3.ErrAuthFailed))
	// Output:
	// 940
	// Blood pressure 120/80, all good. <nil>
	// true
	// true true
	// true
}

// Example_encrypt shows the other formats: Encrypt (no signature) and
// SignThenEncrypt, which e3kit's encrypt/decrypt use.
func Example_encrypt() {
	alice, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{1}, 32))
	bob, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{2}, 32))

	ct, _ := e3.Encrypt([]byte("hello"), bob.Public())
	pt, err := e3.Decrypt(ct, bob)
	fmt.Printf("%s %v\n", pt, err)

	ct, _ = e3.SignThenEncrypt([]byte("hello again"), alice, bob.Public())
	pt, err = e3.DecryptThenVerify(ct, bob, alice.Public())
	fmt.Printf("%s %v\n", pt, err)
	// Output:
	// hello <nil>
	// hello again <nil>
}

// ExampleSignAndEncryptStream encrypts a file-sized input without holding
// it in memory; the output is the same format as SignAndEncrypt.
func ExampleSignAndEncryptStream() {
	alice, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{1}, 32))
	bob, _ := e3.GenerateKeyFromMaterial(bytes.Repeat([]byte{2}, 32))
	attachment := strings.Repeat("scan line\n", 100000) // 1 MB

	var encrypted bytes.Buffer // a file or an upload in real code
	w, err := e3.SignAndEncryptStream(&encrypted, int64(len(attachment)), alice, bob.Public())
	if err != nil {
		panic(err)
	}
	if _, err := io.Copy(w, strings.NewReader(attachment)); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := e3.DecryptAndVerifyStream(&encrypted, bob, alice.Public())
	if err != nil {
		panic(err)
	}
	var out strings.Builder // write to a temporary file; keep it only if io.Copy succeeds
	n, err := io.Copy(&out, r)
	fmt.Println(n, err, out.String() == attachment)
	// Output:
	// 1000000 <nil> true
}
