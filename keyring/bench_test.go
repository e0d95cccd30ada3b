package keyring_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/scrypt"

	"github.com/e3go/e3go/keyring"
)

// BenchmarkOpen measures NewFile on an existing keyring at the default
// scrypt cost against its floor, one bare scrypt evaluation with the same
// parameters: the difference is the cost of reading and checking the
// header.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	p := keyring.DefaultScrypt()
	if _, err := keyring.NewFile(dir, pass); err != nil {
		b.Fatal(err)
	}
	b.Run("NewFile", func(b *testing.B) {
		for b.Loop() {
			if _, err := keyring.NewFile(dir, pass); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor=scrypt", func(b *testing.B) {
		salt := make([]byte, 32)
		for b.Loop() {
			if _, err := scrypt.Key(pass, salt, 1<<p.LogN, int(p.R), int(p.P), 32); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchData is the size of a base64 PKCS#8 Ed25519 key with some room.
var benchData = bytes.Repeat([]byte{'k'}, 256)

// BenchmarkStore measures Put of a 256-byte entry in the file store against
// the memory store (the peer) and against its floor: writing the same
// number of bytes the same durable way (temporary file, fsync, rename,
// directory fsync) with no encryption and no lock.
func BenchmarkStore(b *testing.B) {
	ctx := b.Context()
	b.Run("file", func(b *testing.B) {
		s := openFile(b, b.TempDir())
		for b.Loop() {
			if err := s.Put(ctx, "alice@example.com", benchData, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		s := keyring.NewMemory()
		for b.Loop() {
			if err := s.Put(ctx, "alice@example.com", benchData, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor=atomic-write", func(b *testing.B) {
		dir := b.TempDir()
		data := make([]byte, 38+2+17+8+8+4+4+len(benchData)+16) // an entry file's size
		rand.Read(data)
		for b.Loop() {
			f, err := os.CreateTemp(dir, ".tmp-*")
			if err != nil {
				b.Fatal(err)
			}
			f.Write(data)
			f.Sync()
			f.Close()
			if err := os.Rename(f.Name(), filepath.Join(dir, "entry")); err != nil {
				b.Fatal(err)
			}
			d, err := os.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			d.Sync()
			d.Close()
		}
	})
}

// BenchmarkLoad measures Load of a 256-byte entry in the file store against
// the memory store (the peer) and against its floor, os.ReadFile of a file
// of the same size.
func BenchmarkLoad(b *testing.B) {
	ctx := b.Context()
	b.Run("file", func(b *testing.B) {
		s := openFile(b, b.TempDir())
		if err := s.Put(ctx, "alice@example.com", benchData, nil); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Load(ctx, "alice@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		s := keyring.NewMemory()
		if err := s.Put(ctx, "alice@example.com", benchData, nil); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Load(ctx, "alice@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor=readfile", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "entry")
		if err := os.WriteFile(path, make([]byte, 38+2+17+8+8+4+4+len(benchData)+16), 0o600); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := os.ReadFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
