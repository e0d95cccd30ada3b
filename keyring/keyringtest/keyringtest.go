// Package keyringtest is the conformance suite for implementations of
// [keyring.Store], in the manner of testing/fstest.TestFS: a backend written
// outside this module (an OS keychain, a KMS, a database) proves it keeps
// the contract by calling TestStore from its own tests:
//
//	func TestConformance(t *testing.T) {
//		keyringtest.TestStore(t, func(t *testing.T) keyring.Store {
//			return mybackend.New(t.TempDir())
//		})
//	}
//
// The suite checks round trips, ErrNotFound and ErrExists, Put semantics and
// times, List ordering, metadata, that data and metadata are copied rather
// than aliased, concurrent use, name validation (including names that are
// hostile as file names and names that differ only in case), the size limits
// of package keyring, and that a done context is honoured. Run it with -race.
package keyringtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3go/e3go/keyring"
)

// TestStore runs the conformance suite. Every subtest calls newStore for a
// new, empty Store; newStore should register any cleanup with t.Cleanup.
func TestStore(t *testing.T, newStore func(t *testing.T) keyring.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, keyring.Store)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"EmptyData", testEmptyData},
		{"SaveExisting", testSaveExisting},
		{"Put", testPut},
		{"Delete", testDelete},
		{"List", testList},
		{"Copies", testCopies},
		{"ValidNames", testValidNames},
		{"InvalidNames", testInvalidNames},
		{"Limits", testLimits},
		{"InvalidMetadata", testInvalidMetadata},
		{"Concurrent", testConcurrent},
		{"Context", testContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
}

// checkEntry reports how e differs from the expected name, data and
// metadata (nil and empty are equivalent for both).
func checkEntry(t *testing.T, e *keyring.Entry, name string, data []byte, md map[string]string) {
	t.Helper()
	if e == nil {
		t.Fatalf("Load(%q) returned a nil entry and no error", name)
	}
	if e.Name != name {
		t.Errorf("Load(%q).Name = %q", name, e.Name)
	}
	if !bytes.Equal(e.Data, data) {
		t.Errorf("Load(%q).Data: got %d bytes, want %d bytes (contents differ)", name, len(e.Data), len(data))
	}
	checkMetadata(t, name, e.Metadata, md)
	if e.Created.IsZero() || e.Modified.IsZero() {
		t.Errorf("Load(%q): zero time: Created %v, Modified %v", name, e.Created, e.Modified)
	}
	if e.Modified.Before(e.Created) {
		t.Errorf("Load(%q): Modified %v before Created %v", name, e.Modified, e.Created)
	}
}

func checkMetadata(t *testing.T, name string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) || !maps.Equal(got, want) {
		t.Errorf("%q: metadata = %q, want %q", name, got, want)
	}
}

func mustSave(t *testing.T, s keyring.Store, name string, data []byte, md map[string]string) {
	t.Helper()
	if err := s.Save(t.Context(), name, data, md); err != nil {
		t.Fatalf("Save(%q): %v", name, err)
	}
}

func mustLoad(t *testing.T, s keyring.Store, name string) *keyring.Entry {
	t.Helper()
	e, err := s.Load(t.Context(), name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return e
}

func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %v", op, err, target)
	}
}

func testEmpty(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	infos, err := s.List(ctx)
	if err != nil || len(infos) != 0 {
		t.Errorf("List on an empty store = %d entries, %v; want none, nil", len(infos), err)
	}
	e, err := s.Load(ctx, "alice")
	wantErr(t, `Load("alice") on an empty store`, err, keyring.ErrNotFound)
	if e != nil {
		t.Errorf("Load returned an entry with ErrNotFound: %v", e)
	}
	wantErr(t, `Delete("alice") on an empty store`, s.Delete(ctx, "alice"), keyring.ErrNotFound)
}

func testRoundTrip(t *testing.T, s keyring.Store) {
	data := []byte("MC4CAQAwBQYDK2VwBCIEIP4gDn0ZQbSfM8pR2H0iU2hNEnDYlGkALQ6v7EwJHC8y")
	md := map[string]string{"type": "ed25519", "card_id": "3f1c", "empty": "", "unicode": "é✓"}
	before := time.Now()
	mustSave(t, s, "alice@example.com", data, md)
	after := time.Now()
	e := mustLoad(t, s, "alice@example.com")
	checkEntry(t, e, "alice@example.com", data, md)
	// Allow for backends that keep coarse times.
	if e.Created.Before(before.Add(-2*time.Second)) || e.Created.After(after.Add(2*time.Second)) {
		t.Errorf("Created = %v, not within the Save call (%v to %v)", e.Created, before, after)
	}
	if !e.Created.Equal(e.Modified) {
		t.Errorf("a new entry has Created %v != Modified %v", e.Created, e.Modified)
	}
	// A second Load gives the same answer.
	checkEntry(t, mustLoad(t, s, "alice@example.com"), "alice@example.com", data, md)
	if _, err := s.Load(t.Context(), "bob@example.com"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load of another name: %v, want ErrNotFound", err)
	}
}

func testEmptyData(t *testing.T, s keyring.Store) {
	mustSave(t, s, "nil", nil, nil)
	mustSave(t, s, "empty", []byte{}, map[string]string{})
	for _, name := range []string{"nil", "empty"} {
		checkEntry(t, mustLoad(t, s, name), name, nil, nil)
	}
}

func testSaveExisting(t *testing.T, s keyring.Store) {
	mustSave(t, s, "alice", []byte("first"), map[string]string{"v": "1"})
	err := s.Save(t.Context(), "alice", []byte("second"), map[string]string{"v": "2"})
	wantErr(t, "second Save of the same name", err, keyring.ErrExists)
	checkEntry(t, mustLoad(t, s, "alice"), "alice", []byte("first"), map[string]string{"v": "1"})
}

func testPut(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	if err := s.Put(ctx, "alice", []byte("first"), map[string]string{"v": "1", "old": "x"}); err != nil {
		t.Fatalf("Put of a new name: %v", err)
	}
	first := mustLoad(t, s, "alice")
	checkEntry(t, first, "alice", []byte("first"), map[string]string{"v": "1", "old": "x"})
	time.Sleep(10 * time.Millisecond)
	if err := s.Put(ctx, "alice", []byte("second"), map[string]string{"v": "2"}); err != nil {
		t.Fatalf("Put over an existing name: %v", err)
	}
	second := mustLoad(t, s, "alice")
	// Metadata is replaced, not merged.
	checkEntry(t, second, "alice", []byte("second"), map[string]string{"v": "2"})
	if !second.Created.Equal(first.Created) {
		t.Errorf("Put changed Created from %v to %v", first.Created, second.Created)
	}
	if second.Modified.Before(first.Modified) {
		t.Errorf("Put moved Modified back from %v to %v", first.Modified, second.Modified)
	}
	infos, err := s.List(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("List after two Puts of one name = %d entries, %v; want 1", len(infos), err)
	}
}

func testDelete(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	mustSave(t, s, "alice", []byte("a"), nil)
	mustSave(t, s, "bob", []byte("b"), nil)
	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Load(ctx, "alice")
	wantErr(t, "Load after Delete", err, keyring.ErrNotFound)
	wantErr(t, "second Delete", s.Delete(ctx, "alice"), keyring.ErrNotFound)
	checkEntry(t, mustLoad(t, s, "bob"), "bob", []byte("b"), nil)
	// The name is free again.
	mustSave(t, s, "alice", []byte("again"), nil)
	checkEntry(t, mustLoad(t, s, "alice"), "alice", []byte("again"), nil)
}

func testList(t *testing.T, s keyring.Store) {
	names := []string{"carol", "Bob", "alice", "bob", "a", "b!", "group:1234567890ab", "0", "~"}
	want := slices.Clone(names)
	slices.Sort(want)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i, n := range names {
		mustSave(t, s, n, []byte("secret "+n), map[string]string{"n": n, "i": fmt.Sprint(i)})
	}
	infos, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var got []string
	for _, in := range infos {
		got = append(got, in.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List names = %q, want %q (sorted by byte order)", got, want)
	}
	for _, in := range infos {
		e := mustLoad(t, s, in.Name)
		checkMetadata(t, in.Name, in.Metadata, e.Metadata)
		if in.Metadata["n"] != in.Name {
			t.Errorf("List: entry %q has metadata %q", in.Name, in.Metadata)
		}
		if !in.Created.Equal(e.Created) || !in.Modified.Equal(e.Modified) {
			t.Errorf("List: %q times %v/%v differ from Load's %v/%v", in.Name, in.Created, in.Modified, e.Created, e.Modified)
		}
	}
}

func testCopies(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	data := []byte("private key bytes")
	md := map[string]string{"k": "v"}
	mustSave(t, s, "alice", data, md)
	if err := s.Put(ctx, "bob", data, md); err != nil {
		t.Fatal(err)
	}
	// The caller's slices and maps are still the caller's.
	data[0] ^= 0xff
	md["k"] = "changed"
	md["added"] = "x"
	want := []byte("private key bytes")
	wantMD := map[string]string{"k": "v"}
	for _, n := range []string{"alice", "bob"} {
		checkEntry(t, mustLoad(t, s, n), n, want, wantMD)
	}

	// What Load returns is the caller's too.
	e := mustLoad(t, s, "alice")
	e.Data[0] ^= 0xff
	clear(e.Data)
	e.Metadata["k"] = "changed"
	e.Metadata["added"] = "x"
	e.Name = "mallory"
	checkEntry(t, mustLoad(t, s, "alice"), "alice", want, wantMD)

	// And what List returns.
	infos, err := s.List(ctx)
	if err != nil || len(infos) != 2 {
		t.Fatalf("List = %d entries, %v", len(infos), err)
	}
	for i := range infos {
		infos[i].Metadata["k"] = "changed"
	}
	checkEntry(t, mustLoad(t, s, "alice"), "alice", want, wantMD)
	infos, _ = s.List(ctx)
	for _, in := range infos {
		checkMetadata(t, in.Name, in.Metadata, wantMD)
	}
}

// validNames are names every Store must accept and keep apart: names that
// are hostile as file names on some operating system, names that differ
// only in case (one file on case-insensitive file systems), and the
// extremes of the allowed alphabet and length.
func validNames() []string {
	var all strings.Builder
	for c := byte(0x21); c <= 0x7e; c++ {
		all.WriteByte(c)
	}
	return []string{
		"alice", "Alice", "ALICE", "aLiCe",
		"../../etc/passwd", "..", ".", "...", "a/b", `a\b`, `C:\Windows`, "/abs",
		"CON", "con", "NUL", "aux.txt", "COM1", "LPT9",
		"name.", "name~1", "x:y", `*?<>|"`, "%2e%2e", "-rf", ".lock", ".tmp-x", "keyring.e3kr",
		"0000000000000000000000000000000000000000000000000000000000000000.e3ke",
		"a@b.c", "3f1c2d4e-1111-4222-8333-944455556666",
		all.String(),
		strings.Repeat("x", keyring.MaxNameLen),
		strings.Repeat("X", keyring.MaxNameLen),
	}
}

func testValidNames(t *testing.T, s keyring.Store) {
	names := validNames()
	for i, n := range names {
		if err := keyring.ValidateName(n); err != nil {
			t.Fatalf("ValidateName(%q): %v", n, err)
		}
		mustSave(t, s, n, []byte(fmt.Sprintf("secret %d", i)), map[string]string{"i": fmt.Sprint(i)})
	}
	for i, n := range names {
		checkEntry(t, mustLoad(t, s, n), n, []byte(fmt.Sprintf("secret %d", i)), map[string]string{"i": fmt.Sprint(i)})
	}
	infos, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(infos) != len(names) {
		t.Fatalf("List returned %d entries for %d distinct names", len(infos), len(names))
	}
	for _, n := range names {
		if err := s.Delete(t.Context(), n); err != nil {
			t.Errorf("Delete(%q): %v", n, err)
		}
	}
	if infos, err := s.List(t.Context()); err != nil || len(infos) != 0 {
		t.Errorf("List after deleting every name = %d entries, %v", len(infos), err)
	}
}

// invalidNames are names every Store must reject with ErrInvalidName.
func invalidNames() []string {
	return []string{
		"", " ", "alice ", " alice", "al ice", "a\tb", "a\nb", "a\x00b", "\x7f", "é", "ali\u00adce",
		"\xff", "日本", strings.Repeat("x", keyring.MaxNameLen+1),
	}
}

func testInvalidNames(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	for _, n := range invalidNames() {
		wantErr(t, fmt.Sprintf("Save(%q)", n), s.Save(ctx, n, []byte("x"), nil), keyring.ErrInvalidName)
		wantErr(t, fmt.Sprintf("Put(%q)", n), s.Put(ctx, n, []byte("x"), nil), keyring.ErrInvalidName)
		_, err := s.Load(ctx, n)
		wantErr(t, fmt.Sprintf("Load(%q)", n), err, keyring.ErrInvalidName)
		wantErr(t, fmt.Sprintf("Delete(%q)", n), s.Delete(ctx, n), keyring.ErrInvalidName)
	}
	if infos, err := s.List(ctx); err != nil || len(infos) != 0 {
		t.Errorf("List after invalid names = %d entries, %v; want none", len(infos), err)
	}
}

func testLimits(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	big := make([]byte, keyring.MaxDataLen)
	for i := range big {
		big[i] = byte(i * 7)
	}
	mustSave(t, s, "big", big, nil)
	checkEntry(t, mustLoad(t, s, "big"), "big", big, nil)

	tooBig := append(big, 1)
	wantErr(t, "Save of MaxDataLen+1 bytes", s.Save(ctx, "toobig", tooBig, nil), keyring.ErrTooLarge)
	wantErr(t, "Put of MaxDataLen+1 bytes", s.Put(ctx, "big", tooBig, nil), keyring.ErrTooLarge)
	checkEntry(t, mustLoad(t, s, "big"), "big", big, nil)

	// Metadata of exactly MaxMetadataLen bytes, over several keys.
	md := map[string]string{}
	left := keyring.MaxMetadataLen
	for i := 0; left > 0; i++ {
		k := fmt.Sprintf("key%03d", i)
		n := min(left-len(k), 1000)
		md[k] = strings.Repeat("v", n)
		left -= len(k) + n
	}
	mustSave(t, s, "md", nil, md)
	checkEntry(t, mustLoad(t, s, "md"), "md", nil, md)
	md["x"] = ""
	wantErr(t, "Save of MaxMetadataLen+1 bytes of metadata", s.Save(ctx, "md2", nil, md), keyring.ErrTooLarge)

	long := map[string]string{strings.Repeat("k", keyring.MaxMetadataKeyLen): "v"}
	mustSave(t, s, "longkey", nil, long)
	checkEntry(t, mustLoad(t, s, "longkey"), "longkey", nil, long)

	infos, err := s.List(ctx)
	if err != nil || len(infos) != 3 {
		t.Errorf("List = %d entries, %v; want big, longkey, md", len(infos), err)
	}
}

func testInvalidMetadata(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	for _, md := range []map[string]string{
		{"": "v"},
		{"a b": "v"},
		{"é": "v"},
		{"k\n": "v"},
		{strings.Repeat("k", keyring.MaxMetadataKeyLen+1): "v"},
		{"k": "\xff\xfe"},
	} {
		wantErr(t, fmt.Sprintf("Save with metadata %q", md), s.Save(ctx, "alice", nil, md), keyring.ErrInvalidMetadata)
		wantErr(t, fmt.Sprintf("Put with metadata %q", md), s.Put(ctx, "alice", nil, md), keyring.ErrInvalidMetadata)
	}
	if _, err := s.Load(ctx, "alice"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("an entry with invalid metadata was stored: Load = %v", err)
	}
}

func testConcurrent(t *testing.T, s keyring.Store) {
	ctx := t.Context()
	const workers, each = 8, 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  int
		putBytes = map[string]bool{}
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Everyone races for one name: exactly one Save wins.
			switch err := s.Save(ctx, "contested", []byte(fmt.Sprint(w)), nil); {
			case err == nil:
				mu.Lock()
				winners++
				mu.Unlock()
			case !errors.Is(err, keyring.ErrExists):
				t.Errorf("worker %d: Save(contested): %v", w, err)
			}
			// Everyone overwrites one name: the last Put wins whole.
			v := fmt.Sprintf("put by worker %d", w)
			mu.Lock()
			putBytes[v] = true
			mu.Unlock()
			if err := s.Put(ctx, "shared", []byte(v), map[string]string{"w": fmt.Sprint(w)}); err != nil {
				t.Errorf("worker %d: Put(shared): %v", w, err)
			}
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				data := []byte(strings.Repeat(name, 20))
				if err := s.Save(ctx, name, data, map[string]string{"w": fmt.Sprint(w)}); err != nil {
					t.Errorf("Save(%q): %v", name, err)
					continue
				}
				e, err := s.Load(ctx, name)
				if err != nil || !bytes.Equal(e.Data, data) {
					t.Errorf("Load(%q) right after Save: %v", name, err)
				}
				if _, err := s.Load(ctx, "shared"); err != nil {
					t.Errorf("Load(shared): %v", err)
				}
				if _, err := s.List(ctx); err != nil {
					t.Errorf("List: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d concurrent Saves of one name succeeded; want exactly 1", winners)
	}
	e := mustLoad(t, s, "shared")
	if !putBytes[string(e.Data)] || e.Metadata["w"] != strings.TrimPrefix(string(e.Data), "put by worker ") {
		t.Errorf("after concurrent Puts, shared = %d bytes with metadata %q: a mix of writers", len(e.Data), e.Metadata)
	}
	infos, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers*each + 2; len(infos) != want {
		t.Errorf("List after concurrent Saves = %d entries, want %d", len(infos), want)
	}
}

func testContext(t *testing.T, s keyring.Store) {
	mustSave(t, s, "alice", []byte("a"), nil)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		ctx, want := c.ctx, c.want
		wantErr(t, "Save with a done context", s.Save(ctx, "bob", []byte("b"), nil), want)
		wantErr(t, "Put with a done context", s.Put(ctx, "alice", []byte("changed"), nil), want)
		_, err := s.Load(ctx, "alice")
		wantErr(t, "Load with a done context", err, want)
		wantErr(t, "Delete with a done context", s.Delete(ctx, "alice"), want)
		_, err = s.List(ctx)
		wantErr(t, "List with a done context", err, want)
	}
	// Nothing changed.
	checkEntry(t, mustLoad(t, s, "alice"), "alice", []byte("a"), nil)
	if _, err := s.Load(t.Context(), "bob"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Save with a done context stored the entry: Load = %v", err)
	}
}
