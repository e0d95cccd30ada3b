package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/e3go/e3go/keyring"
)

func ExampleNewMemory() {
	ctx := context.Background()
	ks := keyring.NewMemory()

	// As e3kit does: the private key (base64 PKCS#8) under the identity.
	err := ks.Save(ctx, "alice@example.com", []byte("MC4CAQAwBQYDK2VwBCIEI..."), map[string]string{"type": "ed25519"})
	if err != nil {
		log.Fatal(err)
	}
	// Save never overwrites; Put does.
	err = ks.Save(ctx, "alice@example.com", []byte("another key"), nil)
	fmt.Println("second Save:", errors.Is(err, keyring.ErrExists))

	e, err := ks.Load(ctx, "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Name, e.Metadata["type"], len(e.Data), "bytes")
	// Printing or logging an Entry never shows the data.
	fmt.Println("printed entry shows the key:", strings.Contains(fmt.Sprint(e), "MC4C"))

	_, err = ks.Load(ctx, "bob@example.com")
	fmt.Println("bob:", errors.Is(err, keyring.ErrNotFound))
	// Output:
	// second Save: true
	// alice@example.com ed25519 24 bytes
	// printed entry shows the key: false
	// bob: true
}

func ExampleNewFile() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "keyring-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "keys") // created with mode 0700

	// Opening derives the key from the passphrase once (about a few
	// hundred milliseconds with the default scrypt cost).
	ks, err := keyring.NewFile(dir, []byte("correct horse battery staple"))
	if err != nil {
		log.Fatal(err)
	}
	if err := ks.Put(ctx, "alice@example.com", []byte("MC4CAQAwBQYDK2VwBCIEI..."), nil); err != nil {
		log.Fatal(err)
	}
	infos, err := ks.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range infos {
		fmt.Println("stored:", in.Name)
	}

	// A wrong passphrase is told apart from a damaged keyring.
	_, err = keyring.NewFile(dir, []byte("Tr0ub4dor&3"))
	fmt.Println("wrong passphrase:", errors.Is(err, keyring.ErrWrongPassphrase))
	// Output:
	// stored: alice@example.com
	// wrong passphrase: true
}
