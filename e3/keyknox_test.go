package e3

import (
	"bytes"
	"errors"
	"testing"
)

func TestKeyknoxCrypto(t *testing.T) {
	writer, _ := GenerateKey()
	reader, _ := GenerateKey()
	other, _ := GenerateKey()
	data := []byte(`{"alice":{"data":"MC4CAQAwBQYDK2VwBCIE","creation_date":1,"name":"alice","modification_date":1}}`)
	meta, value, err := keyknoxEncrypt(data, writer, writer.Public(), reader.Public())
	if err != nil {
		t.Fatal(err)
	}
	if meta[0] != 0x30 || len(value) != len(data)+16 {
		t.Errorf("meta starts %x, value %d bytes for %d", meta[0], len(value), len(data))
	}
	for _, k := range []*PrivateKey{writer, reader} {
		got, ok, err := keyknoxDecrypt(meta, value, k, writer.Public())
		if err != nil || !ok || !bytes.Equal(got, data) {
			t.Fatalf("decrypt: %v %v", ok, err)
		}
	}
	// A wrong BrainKey (wrong password) is not a recipient.
	if _, _, err := keyknoxDecrypt(meta, value, other, writer.Public()); !errors.Is(err, ErrNotRecipient) {
		t.Errorf("wrong key: %v", err)
	}
	// Another writer's signature is rejected.
	if _, _, err := keyknoxDecrypt(meta, value, reader, other.Public()); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("wrong signer: %v", err)
	}
	// Tampering.
	bad := bytes.Clone(value)
	bad[0] ^= 1
	if _, _, err := keyknoxDecrypt(meta, bad, reader, writer.Public()); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("flipped value: %v", err)
	}
	// Empty means empty; half-empty is malformed.
	if got, ok, err := keyknoxDecrypt(nil, []byte{}, reader); err != nil || ok || got != nil {
		t.Errorf("empty: %v %v %v", got, ok, err)
	}
	for _, mv := range [][2][]byte{{meta, nil}, {nil, value}} {
		if _, _, err := keyknoxDecrypt(mv[0], mv[1], reader, writer.Public()); !errors.Is(err, ErrMalformed) {
			t.Errorf("half empty: %v", err)
		}
	}
	// An encrypted empty plaintext is an entry, not "empty".
	meta, value, _ = keyknoxEncrypt(nil, writer, writer.Public())
	if got, ok, err := keyknoxDecrypt(meta, value, writer, writer.Public()); err != nil || !ok || len(got) != 0 {
		t.Errorf("empty plaintext: %v %v", ok, err)
	}
}
