package keyring

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testParams = ScryptParams{LogN: 10, R: 8, P: 1}

func seedEntries() []*Entry {
	t0 := time.Unix(1700000000, 123456789)
	return []*Entry{
		{Info: Info{Name: "alice", Created: t0, Modified: t0}, Data: []byte("MC4CAQAwBQYDK2VwBCIEIP4gDn0Z")},
		{Info: Info{Name: "a", Metadata: map[string]string{"b": "", "a": "é"}, Created: t0, Modified: t0.Add(time.Hour)}, Data: []byte{}},
		{Info: Info{Name: strings.Repeat("~", MaxNameLen), Metadata: map[string]string{"k": strings.Repeat("v", 300)}, Created: time.Unix(0, 0), Modified: time.Unix(0, -1)}, Data: bytes.Repeat([]byte{0}, 70000)},
	}
}

// FuzzParsePlaintext checks the decoder of the authenticated entry record:
// no panics, and whatever it accepts it re-encodes byte for byte (one
// encoding per entry).
func FuzzParsePlaintext(f *testing.F) {
	seeds := 0
	for _, e := range seedEntries() {
		b := encodePlaintext(e)
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(b, 0))
		seeds += 3
	}
	f.Add([]byte{})
	f.Add([]byte{0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parsePlaintext(b)
		if err != nil {
			if e != nil {
				t.Fatal("entry and error both returned")
			}
			return
		}
		if err := ValidateEntry(e.Name, e.Data, e.Metadata); err != nil {
			t.Fatalf("accepted an invalid entry: %v", err)
		}
		if got := encodePlaintext(e); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
		}
	})
}

func testKeys(t testing.TB) *keys {
	k, err := newKeys(bytes.Repeat([]byte{7}, keyLen))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzOpenEntry checks the entry file parser end to end: for any bytes it
// returns an entry or an error wrapping ErrCorrupted or a *VersionError,
// never panics, and never accepts a file for a name other than the one its
// file name was derived from.
func FuzzOpenEntry(f *testing.F) {
	k := testKeys(f)
	id := k.fileID("alice")
	seeds := 0
	for _, e := range seedEntries()[:2] {
		e := *e
		e.Name = "alice"
		b, err := k.sealEntry(&e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:entryAADLen+tagLen])
		seeds += 2
	}
	f.Add([]byte("E3KRE\x02"))
	f.Add([]byte("E3KRH\x01"))
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := k.openEntry("fuzz", id, b)
		var ve *VersionError
		switch {
		case err == nil:
			if e.Name != "alice" {
				t.Fatalf("accepted an entry named %q under alice's id", e.Name)
			}
		case e != nil:
			t.Fatal("entry and error both returned")
		case !errors.Is(err, ErrCorrupted) && !errors.As(err, &ve):
			t.Fatalf("error is neither ErrCorrupted nor *VersionError: %v", err)
		}
	})
}

// FuzzParseHeader checks the header parser: errors are ErrCorrupted or
// *VersionError, and an accepted header re-encodes to the same bytes.
func FuzzParseHeader(f *testing.F) {
	for _, p := range []ScryptParams{testParams, {LogN: 11, R: 1, P: 16}} {
		b, err := sealHeader([]byte("pass"), bytes.Repeat([]byte{1}, keyLen), p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte("E3KRH\x09"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader("fuzz", b)
		var ve *VersionError
		switch {
		case err == nil:
			re := append([]byte(magic), kindHeader, headerVersion, h.params.LogN, h.params.R, h.params.P)
			re = append(append(re, h.salt[:]...), h.wrapped[:]...)
			sum := sha256.Sum256(re)
			if re = append(re, sum[:]...); !bytes.Equal(re, b) {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", b, re)
			}
			if h.params.validate() != nil {
				t.Fatalf("accepted parameters %+v", h.params)
			}
		case h != nil:
			t.Fatal("header and error both returned")
		case !errors.Is(err, ErrCorrupted) && !errors.As(err, &ve):
			t.Fatalf("error is neither ErrCorrupted nor *VersionError: %v", err)
		}
	})
}

func TestParsePlaintextRejects(t *testing.T) {
	good := encodePlaintext(seedEntries()[1])
	if _, err := parsePlaintext(good); err != nil {
		t.Fatal(err)
	}
	// Swap the two metadata keys ("a" then "b") to break the order.
	swapped := bytes.Replace(bytes.Replace(good, []byte{0, 1, 'a'}, []byte{0, 1, 'X'}, 1), []byte{0, 1, 'b'}, []byte{0, 1, 'a'}, 1)
	swapped = bytes.Replace(swapped, []byte{0, 1, 'X'}, []byte{0, 1, 'b'}, 1)
	bad := map[string][]byte{
		"empty":          {},
		"keys unordered": swapped,
		"invalid name":   encodePlaintext(&Entry{Info: Info{Name: "a b"}}),
		"trailing":       append(good, 0),
	}
	for what, b := range bad {
		if e, err := parsePlaintext(b); err == nil {
			t.Errorf("%s: accepted %+v", what, e)
		}
	}
}

func TestSealedEntryRoundTrip(t *testing.T) {
	k := testKeys(t)
	for _, e := range seedEntries() {
		b, err := k.sealEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.openEntry("test", k.fileID(e.Name), b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != e.Name || !bytes.Equal(got.Data, e.Data) || !got.Created.Equal(e.Created) || !got.Modified.Equal(e.Modified) || len(got.Metadata) != len(e.Metadata) {
			t.Errorf("round trip of %q changed it: %v", e.Name, got)
		}
		// Two seals of one entry differ (fresh salt, hence fresh key).
		b2, _ := k.sealEntry(e)
		if bytes.Equal(b, b2) {
			t.Error("sealing twice gave the same bytes")
		}
	}
}

func TestPassphraseEncoding(t *testing.T) {
	// HMAC pads keys with zeros; the length prefix keeps these apart.
	salt := make([]byte, saltLen)
	a, _ := testParams.deriveKey([]byte("pass"), salt)
	b, _ := testParams.deriveKey([]byte("pass\x00"), salt)
	if bytes.Equal(a, b) {
		t.Error(`"pass" and "pass\x00" derive the same key`)
	}
}

// TestDefaultParams creates a keyring with the default cost (slow: it runs
// scrypt at 128 MiB) and checks what the header records.
func TestDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scrypt at the default cost")
	}
	dir := t.TempDir()
	if _, err := NewFile(dir, []byte("p")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, headerName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if h.params != DefaultScrypt() {
		t.Errorf("header records %+v, want %+v", h.params, DefaultScrypt())
	}
	if err := DefaultScrypt().validate(); err != nil {
		t.Error(err)
	}
}

// TestLockHonoursContext holds the keyring lock as another process would
// and checks that every operation waits for it, gives up when its context
// ends, and proceeds once it is released.
func TestLockHonoursContext(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir, []byte("p"), func(o *FileOptions) { o.Scrypt = testParams })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), "alice", []byte("a"), nil); err != nil {
		t.Fatal(err)
	}
	release, err := acquire(t.Context(), dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(context.Context) error{
		"Save":   func(ctx context.Context) error { return s.Save(ctx, "bob", nil, nil) },
		"Put":    func(ctx context.Context) error { return s.Put(ctx, "bob", nil, nil) },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, "alice") },
		"Load":   func(ctx context.Context) error { _, err := s.Load(ctx, "alice"); return err },
		"List":   func(ctx context.Context) error { _, err := s.List(ctx); return err },
		"ChangePassphrase": func(ctx context.Context) error {
			return ChangePassphrase(ctx, dir, []byte("p"), []byte("q"))
		},
	}
	for name, op := range ops {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		err := op(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while another holder has the lock: %v, want DeadlineExceeded", name, err)
		}
	}
	// A shared holder lets readers in and keeps writers out.
	release()
	if sharedLocks {
		release, err = acquire(t.Context(), dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(t.Context(), "alice"); err != nil {
			t.Errorf("Load under a shared lock: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		if err := s.Save(ctx, "bob", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Save under a shared lock: %v, want DeadlineExceeded", err)
		}
		release()
	}
	if err := s.Save(t.Context(), "bob", nil, nil); err != nil {
		t.Errorf("Save after the lock was released: %v", err)
	}
}
