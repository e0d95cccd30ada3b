package keyring_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3go/e3go/keyring"
	"github.com/e3go/e3go/keyring/keyringtest"
)

// fastKDF keeps tests quick; real keyrings use DefaultScrypt.
func fastKDF(o *keyring.FileOptions) { o.Scrypt = keyring.ScryptParams{LogN: 10, R: 8, P: 1} }

var pass = []byte("correct horse battery staple")

func openFile(t testing.TB, dir string) keyring.Store {
	t.Helper()
	s, err := keyring.NewFile(dir, pass, fastKDF)
	if err != nil {
		t.Fatalf("NewFile(%s): %v", dir, err)
	}
	return s
}

func TestFileConformance(t *testing.T) {
	keyringtest.TestStore(t, func(t *testing.T) keyring.Store { return openFile(t, t.TempDir()) })
}

// entryFiles returns the entry files in dir, sorted.
func entryFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.e3ke"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// saveOne stores name in a fresh store and returns the path of its file.
func saveOne(t *testing.T, s keyring.Store, dir, name string, data []byte) string {
	t.Helper()
	before := entryFiles(t, dir)
	if err := s.Save(t.Context(), name, data, map[string]string{"kind": "test"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range entryFiles(t, dir) {
		if !slices.Contains(before, f) {
			return f
		}
	}
	t.Fatalf("Save(%q) made no new entry file", name)
	return ""
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	md := map[string]string{"card_id": "abc"}
	if err := s.Save(t.Context(), "alice", []byte("key"), md); err != nil {
		t.Fatal(err)
	}
	first, err := s.Load(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	// A second store, as another process would open it, reads the same
	// entry with the same times.
	s2, err := keyring.NewFile(dir, pass) // parameters come from the header
	if err != nil {
		t.Fatal(err)
	}
	e, err := s2.Load(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Data) != "key" || e.Metadata["card_id"] != "abc" || !e.Created.Equal(first.Created) || !e.Modified.Equal(first.Modified) {
		t.Errorf("reopened entry = %+v, want %+v", e, first)
	}
	// Writes through one store are seen by the other.
	if err := s2.Save(t.Context(), "bob", []byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), "bob", []byte("b2"), nil); !errors.Is(err, keyring.ErrExists) {
		t.Errorf("Save through the first store after the second saved: %v, want ErrExists", err)
	}
}

// Two stores on one directory in one process exclude each other as two
// processes do.
func TestFileTwoStoresOneProcess(t *testing.T) {
	dir := t.TempDir()
	stores := []keyring.Store{openFile(t, dir), openFile(t, dir)}
	wins := make(chan string, 100)
	var wg sync.WaitGroup
	for i, s := range stores {
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range 10 {
					name := fmt.Sprintf("contested-%d", n)
					switch err := s.Save(t.Context(), name, []byte(fmt.Sprint(i, g)), nil); {
					case err == nil:
						wins <- name
					case !errors.Is(err, keyring.ErrExists):
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(wins)
	seen := map[string]bool{}
	for n := range wins {
		if seen[n] {
			t.Errorf("%s saved twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d names saved, want 10", len(seen))
	}
}

func TestFileWrongPassphrase(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	if err := s.Save(t.Context(), "alice", []byte("key"), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{[]byte("hunter2-xyz"), append(slices.Clone(pass), 0), pass[:len(pass)-1]} {
		s2, err := keyring.NewFile(dir, p, fastKDF)
		if !errors.Is(err, keyring.ErrWrongPassphrase) || errors.Is(err, keyring.ErrCorrupted) || s2 != nil {
			t.Errorf("NewFile with passphrase %q = %v, %v; want nil, ErrWrongPassphrase", p, s2, err)
		}
		if strings.Contains(fmt.Sprint(err), string(p)) {
			t.Errorf("the error repeats the passphrase: %v", err)
		}
	}
	if _, err := keyring.NewFile(dir, nil); err == nil {
		t.Error("NewFile with an empty passphrase succeeded")
	}
	// The keyring is unharmed.
	if _, err := openFile(t, dir).Load(t.Context(), "alice"); err != nil {
		t.Error(err)
	}
}

func TestFileBadOptions(t *testing.T) {
	for _, p := range []keyring.ScryptParams{
		{LogN: 9, R: 8, P: 1}, {LogN: 23, R: 8, P: 1}, {LogN: 17, R: 0, P: 1},
		{LogN: 17, R: 8, P: 0}, {LogN: 17, R: 33, P: 1}, {LogN: 22, R: 32, P: 1},
	} {
		if _, err := keyring.NewFile(t.TempDir(), pass, func(o *keyring.FileOptions) { o.Scrypt = p }); err == nil {
			t.Errorf("NewFile accepted scrypt parameters %+v", p)
		}
	}
}

func TestFileHeaderDamage(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	if err := s.Save(t.Context(), "alice", []byte("key"), nil); err != nil {
		t.Fatal(err)
	}
	hpath := filepath.Join(dir, "keyring.e3kr")
	orig, err := os.ReadFile(hpath)
	if err != nil {
		t.Fatal(err)
	}
	try := func(what string, b []byte) error {
		t.Helper()
		if err := os.WriteFile(hpath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := keyring.NewFile(dir, pass, fastKDF)
		if err == nil || s != nil {
			t.Fatalf("%s: NewFile = %v, %v; want an error", what, s, err)
		}
		return err
	}
	for n := range len(orig) {
		if err := try(fmt.Sprintf("header truncated to %d bytes", n), orig[:n]); !errors.Is(err, keyring.ErrCorrupted) {
			t.Errorf("header truncated to %d bytes: %v, want ErrCorrupted", n, err)
		}
	}
	if err := try("header with a byte appended", append(slices.Clone(orig), 0)); !errors.Is(err, keyring.ErrCorrupted) {
		t.Errorf("header with a byte appended: %v, want ErrCorrupted", err)
	}
	for i := range 8 * len(orig) {
		b := slices.Clone(orig)
		b[i/8] ^= 1 << (i % 8)
		err := try(fmt.Sprintf("bit %d flipped", i), b)
		var ve *keyring.VersionError
		if i/8 == 5 { // the version byte
			if !errors.As(err, &ve) || ve.Version != int(b[5]) || ve.Kind != "header" {
				t.Errorf("version bit %d flipped: %v, want *VersionError", i, err)
			}
			continue
		}
		if !errors.Is(err, keyring.ErrCorrupted) || errors.Is(err, keyring.ErrWrongPassphrase) {
			t.Errorf("header bit %d flipped: %v, want ErrCorrupted", i, err)
		}
	}
	// Restored, it opens again.
	if err := os.WriteFile(hpath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openFile(t, dir).Load(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
}

func TestFileEntryDamage(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	path := saveOne(t, s, dir, "alice", []byte("MC4CAQAwBQYDK2VwBCIEIP4gDn0ZQbSfM8pR2H0iU2hNEnDYlGkALQ6v7EwJHC8y"))
	saveOne(t, s, dir, "bob", []byte("bob's key"))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	check := func(what string, b []byte, versionByte bool) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := s.Load(ctx, "alice")
		var ve *keyring.VersionError
		switch {
		case e != nil:
			t.Fatalf("%s: Load returned an entry", what)
		case versionByte && !errors.As(err, &ve):
			t.Fatalf("%s: Load: %v, want *VersionError", what, err)
		case !versionByte && !errors.Is(err, keyring.ErrCorrupted):
			t.Fatalf("%s: Load: %v, want ErrCorrupted", what, err)
		}
		// List still returns the intact entry, and reports the other.
		infos, err := s.List(ctx)
		if err == nil || len(infos) != 1 || infos[0].Name != "bob" {
			t.Fatalf("%s: List = %v, %v; want bob and an error", what, infos, err)
		}
	}
	for n := range len(orig) {
		check(fmt.Sprintf("entry truncated to %d bytes", n), orig[:n], false)
	}
	check("entry with a byte appended", append(slices.Clone(orig), 0), false)
	for i := range 8 * len(orig) {
		b := slices.Clone(orig)
		b[i/8] ^= 1 << (i % 8)
		check(fmt.Sprintf("entry bit %d flipped", i), b, i/8 == 5)
	}

	// Damage does not stop recovery: Save refuses the occupied name, Put
	// replaces the damaged entry, Delete removes it.
	if err := s.Save(ctx, "alice", []byte("new"), nil); !errors.Is(err, keyring.ErrExists) {
		t.Errorf("Save over a damaged entry: %v, want ErrExists", err)
	}
	if err := s.Put(ctx, "alice", []byte("new"), nil); err != nil {
		t.Fatalf("Put over a damaged entry: %v", err)
	}
	if e, err := s.Load(ctx, "alice"); err != nil || string(e.Data) != "new" {
		t.Fatalf("Load after Put = %v, %v", e, err)
	}
	if err := os.WriteFile(path, orig[:10], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatalf("Delete of a damaged entry: %v", err)
	}
	if infos, err := s.List(ctx); err != nil || len(infos) != 1 {
		t.Errorf("List after deleting the damaged entry = %v, %v", infos, err)
	}
}

func TestFileNewerVersion(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	path := saveOne(t, s, dir, "alice", []byte("key"))

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[5] = 2
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(t.Context(), "alice")
	var ve *keyring.VersionError
	if !errors.As(err, &ve) || ve.Version != 2 || ve.Supported != 1 || ve.Kind != "entry" || ve.Path != path {
		t.Fatalf("Load of a version 2 entry: %v, want *VersionError{entry, 2}", err)
	}
	if errors.Is(err, keyring.ErrCorrupted) {
		t.Errorf("a newer version is reported as corruption: %v", err)
	}
	t.Log(err)

	// A newer header: a different length, and not ours to judge.
	hpath := filepath.Join(dir, "keyring.e3kr")
	h, err := os.ReadFile(hpath)
	if err != nil {
		t.Fatal(err)
	}
	h = append(h[:6:6], []byte("a future header layout")...)
	h[5] = 7
	if err := os.WriteFile(hpath, h, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = keyring.NewFile(dir, pass, fastKDF)
	if !errors.As(err, &ve) || ve.Version != 7 || ve.Kind != "header" {
		t.Fatalf("NewFile on a version 7 header: %v, want *VersionError{header, 7}", err)
	}
}

func TestFileMovedEntry(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	alice := saveOne(t, s, dir, "alice", []byte("alice's key"))
	bob := saveOne(t, s, dir, "bob", []byte("bob's key"))
	b, err := os.ReadFile(alice)
	if err != nil {
		t.Fatal(err)
	}
	// Alice's file under Bob's name must not pass for Bob's entry.
	if err := os.WriteFile(bob, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Load(t.Context(), "bob"); !errors.Is(err, keyring.ErrCorrupted) {
		t.Errorf("Load(bob) with alice's file = %v, %v; want ErrCorrupted", e, err)
	}
	if _, err := s.Load(t.Context(), "alice"); err != nil {
		t.Errorf("Load(alice): %v", err)
	}

	// Nor does a file from another keyring with the same passphrase.
	dir2 := t.TempDir()
	s2 := openFile(t, dir2)
	other := saveOne(t, s2, dir2, "alice", []byte("another alice"))
	b, err = os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	// Its file name differs (the name key is per keyring): put it where
	// this keyring looks for alice.
	if filepath.Base(other) == filepath.Base(alice) {
		t.Error("two keyrings store the same name under the same file name")
	}
	if err := os.WriteFile(alice, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Load(t.Context(), "alice"); !errors.Is(err, keyring.ErrCorrupted) {
		t.Errorf("Load(alice) with another keyring's file = %v, %v; want ErrCorrupted", e, err)
	}
}

func TestFileNothingInClear(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	secrets := []string{"alice@example.com", "s3cr3t-private-key", "card-id-123456", "metadata-value-xyz"}
	if err := s.Save(t.Context(), secrets[0], []byte(secrets[1]), map[string]string{secrets[2]: secrets[3]}); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(strings.ToLower(path), strings.ToLower(sec)) {
				t.Errorf("file name %s reveals %q", path, sec)
			}
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range secrets {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("%s holds %q in clear", path, sec)
				}
			}
		}
		return nil
	})
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" || runtime.GOOS == "plan9" {
		t.Skip("no Unix permission bits on " + runtime.GOOS)
	}
	dir := filepath.Join(t.TempDir(), "new", "keyring")
	s := openFile(t, dir)
	saveOne(t, s, dir, "alice", []byte("key"))
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("keyring directory mode %v, want 0700", fi.Mode().Perm())
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) < 3 {
		t.Errorf("directory holds %d files, want header, lock and entry", len(des))
	}
	for _, de := range des {
		fi, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", de.Name(), fi.Mode().Perm())
		}
	}
}

func TestFileLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	alice := saveOne(t, s, dir, "alice", []byte("old key"))
	// A crash between writing a temporary file and renaming it leaves the
	// temporary file: one holding a complete new version, one half written.
	full, err := os.ReadFile(alice)
	if err != nil {
		t.Fatal(err)
	}
	leftovers := map[string][]byte{".tmp-123456": full, ".tmp-999": full[:len(full)/2], ".tmp-": nil}
	for n, b := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Files that are not the keyring's are ignored too.
	for _, n := range []string{".DS_Store", "notes.txt", "ABCDEF.e3ke", strings.Repeat("0", 63) + ".e3ke"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := s.List(t.Context())
	if err != nil || len(infos) != 1 {
		t.Fatalf("List with leftovers = %v, %v; want alice alone", infos, err)
	}
	if e, err := s.Load(t.Context(), "alice"); err != nil || string(e.Data) != "old key" {
		t.Fatalf("Load(alice) with leftovers = %v, %v", e, err)
	}
	openFile(t, dir)
	for n := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("NewFile left the temporary file %s: %v", n, err)
		}
	}
}

func TestFileMissingHeader(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	saveOne(t, s, dir, "alice", []byte("key"))
	if err := os.Remove(filepath.Join(dir, "keyring.e3kr")); err != nil {
		t.Fatal(err)
	}
	// Starting a fresh keyring would hide alice's entry for good.
	if _, err := keyring.NewFile(dir, pass, fastKDF); !errors.Is(err, keyring.ErrCorrupted) {
		t.Errorf("NewFile with entries but no header: %v, want ErrCorrupted", err)
	}
}

func TestChangePassphrase(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	saveOne(t, s, dir, "alice", []byte("key"))
	newPass := []byte("a new passphrase")
	ctx := t.Context()

	if err := keyring.ChangePassphrase(ctx, dir, []byte("wrong"), newPass); !errors.Is(err, keyring.ErrWrongPassphrase) {
		t.Errorf("ChangePassphrase with a wrong old passphrase: %v", err)
	}
	if err := keyring.ChangePassphrase(ctx, dir, pass, nil); err == nil {
		t.Error("ChangePassphrase to an empty passphrase succeeded")
	}
	if err := keyring.ChangePassphrase(ctx, dir, pass, newPass, func(o *keyring.FileOptions) {
		o.Scrypt = keyring.ScryptParams{LogN: 11, R: 8, P: 2}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.NewFile(dir, pass); !errors.Is(err, keyring.ErrWrongPassphrase) {
		t.Errorf("old passphrase after the change: %v", err)
	}
	s2, err := keyring.NewFile(dir, newPass)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []keyring.Store{s, s2} { // the open store keeps working
		if e, err := st.Load(ctx, "alice"); err != nil || string(e.Data) != "key" {
			t.Errorf("Load after ChangePassphrase = %v, %v", e, err)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := keyring.ChangePassphrase(canceled, dir, newPass, pass); !errors.Is(err, context.Canceled) {
		t.Errorf("ChangePassphrase with a canceled context: %v", err)
	}
}

// Entries must not print their secret, whatever the verb or logger.
func TestEntryRedaction(t *testing.T) {
	secret := "s3cr3t-private-key-material"
	e := &keyring.Entry{Info: keyring.Info{Name: "alice", Metadata: map[string]string{"k": "v"}}, Data: []byte(secret)}
	forms := []string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		forms = append(forms, fmt.Sprintf(verb, e), fmt.Sprintf(verb, *e))
	}
	forms = append(forms, fmt.Sprint(e), fmt.Sprintln(*e), fmt.Sprintf("%v", []*keyring.Entry{e}))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "entry", e, "value", *e)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "entry", e)
	forms = append(forms, buf.String())
	for _, f := range forms {
		for _, leak := range []string{secret, fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret), fmt.Sprint([]byte(secret)[:4])} {
			if strings.Contains(f, leak) {
				t.Errorf("formatted entry leaks its data: %s", f)
			}
		}
	}
	if !strings.Contains(forms[0], "alice") || !strings.Contains(buf.String(), "alice") {
		t.Errorf("formatted entry lost its name: %s / %s", forms[0], buf.String())
	}
}

// TestFileProcesses runs several processes against one new directory at
// once: they race to create the keyring, every process saves its own
// entries, all race to Save the same names, and all Put one name. No entry
// may be lost or damaged, and each contested name has exactly one winner.
func TestFileProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	const procs, own, contested = 3, 20, 10
	root := t.TempDir()
	dir := filepath.Join(root, "keyring")
	start := filepath.Join(root, "start")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for p := range procs {
		cmd := helper(t, "writer", dir, fmt.Sprint(p), start, fmt.Sprint(own), fmt.Sprint(contested))
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wins := map[string]string{}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", p, err, outs[p])
		}
		sc := bufio.NewScanner(outs[p])
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "won "); ok {
				if w, dup := wins[n]; dup {
					t.Errorf("%s won by helper %s and helper %d", n, w, p)
				}
				wins[n] = fmt.Sprint(p)
			}
		}
	}
	s := openFile(t, dir)
	ctx := t.Context()
	for i := range contested {
		n := fmt.Sprintf("contested-%d", i)
		e, err := s.Load(ctx, n)
		if err != nil {
			t.Fatalf("Load(%s): %v", n, err)
		}
		if w, ok := wins[n]; !ok || string(e.Data) != "from "+w {
			t.Errorf("%s holds %q; the winner reported was %q", n, e.Data, w)
		}
	}
	for p := range procs {
		for i := range own {
			n := fmt.Sprintf("p%d-%d", p, i)
			if e, err := s.Load(ctx, n); err != nil || string(e.Data) != n {
				t.Errorf("Load(%s) = %v, %v", n, e, err)
			}
		}
	}
	infos, err := s.List(ctx)
	if want := procs*own + contested + 1; err != nil || len(infos) != want {
		t.Errorf("List = %d entries, %v; want %d", len(infos), err, want)
	}
}

// TestFileKilledWriter kills a process while it rewrites large entries in a
// loop, then checks that every entry is intact: the crash left either the
// old or the new version of each file, and only a temporary file, which the
// next NewFile removes.
func TestFileKilledWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a helper process")
	}
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("cannot start processes")
	}
	dir := t.TempDir()
	openFile(t, dir) // create the keyring first, so the kill can only hit entry writes
	// Kill the writer until a kill lands in the middle of a write (a
	// temporary file is left behind), or give up after a few tries.
	for try := 0; try < 10; try++ {
		cmd := helper(t, "rewriter", dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for i := 0; i < 2 && sc.Scan(); i++ { // let it complete a few writes
		}
		time.Sleep(time.Duration(try) * 700 * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) > 0 {
			t.Logf("try %d: the kill left %d temporary file(s)", try, len(m))
			break
		}
	}

	s := openFile(t, dir)
	infos, err := s.List(t.Context())
	if err != nil || len(infos) == 0 {
		t.Fatalf("List after the kill = %d entries, %v", len(infos), err)
	}
	for _, in := range infos {
		e, err := s.Load(t.Context(), in.Name)
		if err != nil {
			t.Fatalf("Load(%s): %v", in.Name, err)
		}
		if len(e.Data) != 1<<20 || !bytes.Equal(e.Data, bytes.Repeat(e.Data[:1], len(e.Data))) {
			t.Errorf("%s is not one whole version", in.Name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left after NewFile: %v", m)
	}
}

// helper returns a command that runs this test binary as a helper process
// (see TestMain).
func helper(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("cannot start processes on " + runtime.GOOS)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KEYRING_TEST_HELPER="+strings.Join(args, "\x1f"))
	return cmd
}

func TestMain(m *testing.M) {
	if h := os.Getenv("KEYRING_TEST_HELPER"); h != "" {
		if err := runHelper(strings.Split(h, "\x1f")); err != nil {
			fmt.Println("helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(args []string) error {
	ctx := context.Background()
	switch args[0] {
	case "writer": // dir id startFile own contested
		dir, id, start := args[1], args[2], args[3]
		var own, contested int
		fmt.Sscan(args[4], &own)
		fmt.Sscan(args[5], &contested)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(start); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("no start signal")
			}
		}
		s, err := keyring.NewFile(dir, pass, fastKDF)
		if err != nil {
			return err
		}
		for i := range max(own, contested) {
			if i < contested {
				n := fmt.Sprintf("contested-%d", i)
				switch err := s.Save(ctx, n, []byte("from "+id), nil); {
				case err == nil:
					fmt.Println("won", n)
				case !errors.Is(err, keyring.ErrExists):
					return err
				}
			}
			if err := s.Put(ctx, "shared", []byte("put by "+id), nil); err != nil {
				return err
			}
			if i < own {
				n := fmt.Sprintf("p%s-%d", id, i)
				if err := s.Save(ctx, n, []byte(n), nil); err != nil {
					return err
				}
			}
			if _, err := s.List(ctx); err != nil {
				return err
			}
		}
		return nil
	case "rewriter": // dir
		s, err := keyring.NewFile(args[1], pass, fastKDF)
		if err != nil {
			return err
		}
		for i := 0; ; i++ {
			data := bytes.Repeat([]byte{byte(i)}, 1<<20)
			if err := s.Put(ctx, fmt.Sprintf("big-%d", i%4), data, nil); err != nil {
				return err
			}
			fmt.Println("wrote", i)
		}
	}
	return fmt.Errorf("unknown helper %q", args[0])
}
