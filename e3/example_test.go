package e3_test

import (
	"bytes"
	"encoding/hex"
	"fmt"

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
