package gcmstream_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"strings"

	"github.com/e3go/e3go/internal/gcmstream"
)

func Example() {
	key := bytes.Repeat([]byte{0x11}, 32)
	nonce := bytes.Repeat([]byte{0x22}, gcmstream.NonceSize)
	aad := []byte("signed-data-info")
	plaintext := strings.Repeat("a large attachment ", 20000) // 380 KB

	// Encrypt: io.Copy drives ReadFrom; Close writes the tag.
	var ct bytes.Buffer
	enc, err := gcmstream.NewEncrypter(&ct, key, nonce, aad)
	if err != nil {
		panic(err)
	}
	if _, err := io.Copy(enc, strings.NewReader(plaintext)); err != nil {
		panic(err)
	}
	if err := enc.Close(); err != nil {
		panic(err)
	}

	// The bytes are those of the one-shot AEAD.
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	fmt.Println("same as Seal:", bytes.Equal(ct.Bytes(), gcm.Seal(nil, nonce, []byte(plaintext), aad)))

	// Decrypt: io.EOF (a nil error from io.Copy) only after the tag verified.
	dec, err := gcmstream.NewDecrypter(&ct, key, nonce, aad)
	if err != nil {
		panic(err)
	}
	var out strings.Builder
	_, err = io.Copy(&out, dec)
	fmt.Println("round trip:", err == nil && out.String() == plaintext)

	// Tampering is detected at the end; discard whatever was read.
	bad := gcm.Seal(nil, nonce, []byte(plaintext), aad)
	bad[len(bad)-1] ^= 1
	dec, _ = gcmstream.NewDecrypter(bytes.NewReader(bad), key, nonce, aad)
	_, err = io.Copy(io.Discard, dec)
	fmt.Println(err)
	// Output:
	// same as Seal: true
	// round trip: true
	// gcmstream: message authentication failed
}
