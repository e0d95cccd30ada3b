package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileOptions tune NewFile and ChangePassphrase. The zero value selects the
// defaults. Pass them as functions that edit a copy, for example:
//
//	keyring.NewFile(dir, pass, func(o *keyring.FileOptions) {
//		o.Scrypt = keyring.ScryptParams{LogN: 18, R: 8, P: 1}
//	})
type FileOptions struct {
	// Scrypt sets the cost of deriving the key that unlocks the keyring
	// from the passphrase. It applies when NewFile creates a keyring (zero
	// means DefaultScrypt) and when ChangePassphrase re-wraps one (zero
	// means keep the current parameters). An existing keyring is always
	// opened with the parameters recorded in its header.
	Scrypt ScryptParams
}

const (
	headerName = "keyring.e3kr"
	tempPrefix = ".tmp-"

	newFileLockWait = time.Minute
)

// NewFile opens the passphrase-protected keyring in dir, creating dir (mode
// 0700) and an empty keyring if there is none yet. It derives the keyring
// key from the passphrase once, here, and keeps only that derived key; a
// wrong passphrase gives an error wrapping ErrWrongPassphrase, a damaged
// header one wrapping ErrCorrupted, and a header written by a newer e3go a
// *VersionError.
//
// The returned Store is safe for concurrent use, and several processes may
// use the same directory at once: a lock file serialises writers. Entry
// files are mode 0600 and are written atomically (temporary file, fsync,
// rename, fsync of the directory), so a crash leaves every entry either as
// it was or as it was to become. Temporary files left by a crash are
// ignored and removed by the next NewFile.
//
// The passphrase must not be empty. NewFile waits at most a minute for a
// lock held by another process. See the package documentation for the
// cryptography and the byte layout.
func NewFile(dir string, passphrase []byte, optFns ...func(*FileOptions)) (Store, error) {
	var opts FileOptions
	for _, fn := range optFns {
		fn(&opts)
	}
	params := opts.Scrypt
	if params == (ScryptParams{}) {
		params = DefaultScrypt()
	}
	if err := params.validate(); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, errors.New("keyring: empty passphrase")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}

	// NewFile has no context; a lock held for longer than newFileLockWait
	// (operations hold it for milliseconds) means a stuck process.
	ctx, cancel := context.WithTimeout(context.Background(), newFileLockWait)
	defer cancel()
	release, err := acquire(ctx, dir, true)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w: another process has held the lock on %s for %v", err, dir, newFileLockWait)
	}
	if err != nil {
		return nil, err
	}
	removeTemps(dir)
	hpath := filepath.Join(dir, headerName)
	raw, err := readLimited(hpath, headerLen)
	if errors.Is(err, fs.ErrNotExist) {
		defer release()
		return create(dir, passphrase, params)
	}
	release()
	if err != nil {
		return nil, err
	}
	// The key derivation runs outside the lock: it is slow, and the header
	// bytes are already in hand.
	h, err := parseHeader(hpath, raw)
	if err != nil {
		return nil, err
	}
	dek, err := h.unwrap(hpath, passphrase, raw)
	if err != nil {
		return nil, err
	}
	return newFileStore(dir, dek)
}

// create makes a new keyring in dir; the caller holds the exclusive lock.
func create(dir string, passphrase []byte, params ScryptParams) (Store, error) {
	// Entries without a header can never be read again: refuse to start a
	// new keyring over them, rather than silently hiding them.
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	for _, de := range names {
		if _, ok := parseEntryFileName(de.Name()); ok {
			return nil, fmt.Errorf("%w: %s: entry files present but %s is missing", ErrCorrupted, dir, headerName)
		}
	}
	dek := make([]byte, keyLen)
	rand.Read(dek)
	b, err := sealHeader(passphrase, dek, params)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(dir, headerName, b); err != nil {
		return nil, err
	}
	return newFileStore(dir, dek)
}

func newFileStore(dir string, dek []byte) (Store, error) {
	k, err := newKeys(dek)
	if err != nil {
		return nil, err
	}
	return &fileStore{dir: dir, keys: k}, nil
}

// ChangePassphrase re-wraps the key of the keyring in dir under a new
// passphrase (and, if FileOptions.Scrypt is set, new scrypt parameters:
// call it with the same passphrase twice to raise the cost). Only the
// header file is rewritten, atomically; entries and open Stores are not
// affected. A copy of the old header together with the old passphrase still
// opens the keyring: if the old passphrase leaked, create a new keyring and
// copy the entries into it instead.
func ChangePassphrase(ctx context.Context, dir string, oldPassphrase, newPassphrase []byte, optFns ...func(*FileOptions)) error {
	var opts FileOptions
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Scrypt != (ScryptParams{}) {
		if err := opts.Scrypt.validate(); err != nil {
			return err
		}
	}
	if len(newPassphrase) == 0 {
		return errors.New("keyring: empty passphrase")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	release, err := acquire(ctx, dir, true)
	if err != nil {
		return err
	}
	defer release()
	hpath := filepath.Join(dir, headerName)
	raw, err := readLimited(hpath, headerLen)
	if err != nil {
		return err
	}
	h, err := parseHeader(hpath, raw)
	if err != nil {
		return err
	}
	dek, err := h.unwrap(hpath, oldPassphrase, raw)
	if err != nil {
		return err
	}
	params := h.params
	if opts.Scrypt != (ScryptParams{}) {
		params = opts.Scrypt
	}
	b, err := sealHeader(newPassphrase, dek, params)
	if err != nil {
		return err
	}
	return writeAtomic(dir, headerName, b)
}

// fileStore needs no mutex: every operation takes the file lock through
// its own open file (or lock file), which excludes other goroutines of this
// process just as it excludes other processes, and waits for it under the
// caller's context.
type fileStore struct {
	dir  string
	keys *keys
}

var _ Store = (*fileStore)(nil)

func (s *fileStore) lock(ctx context.Context, exclusive bool) (func(), error) {
	return acquire(ctx, s.dir, exclusive)
}

func (s *fileStore) path(name string) string {
	return filepath.Join(s.dir, entryFileName(s.keys.fileID(name)))
}

func (s *fileStore) Save(ctx context.Context, name string, data []byte, metadata map[string]string) error {
	return s.store(ctx, name, data, metadata, false)
}

func (s *fileStore) Put(ctx context.Context, name string, data []byte, metadata map[string]string) error {
	return s.store(ctx, name, data, metadata, true)
}

func (s *fileStore) store(ctx context.Context, name string, data []byte, metadata map[string]string, replace bool) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := ValidateEntry(name, data, metadata); err != nil {
		return err
	}
	unlock, err := s.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()

	now := time.Now().Round(0)
	e := &Entry{Info: Info{Name: name, Metadata: metadata, Created: now, Modified: now}, Data: data}
	id := s.keys.fileID(name)
	if replace {
		// Keep the creation time. Put over an unreadable entry replaces
		// it: that is how a caller recovers a name whose file was damaged.
		if old, err := s.read(id); err == nil {
			e.Created = old.Created
		}
	} else if _, err := os.Lstat(filepath.Join(s.dir, entryFileName(id))); err == nil {
		return fmt.Errorf("%w: %q", ErrExists, name)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keyring: %w", err)
	}
	b, err := s.keys.sealEntry(e)
	if err != nil {
		return err
	}
	return writeAtomic(s.dir, entryFileName(id), b)
}

// read loads and authenticates the entry file with the given id.
func (s *fileStore) read(id [idLen]byte) (*Entry, error) {
	path := filepath.Join(s.dir, entryFileName(id))
	b, err := readLimited(path, maxEntryFileLen)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.keys.openEntry(path, id, b)
}

func (s *fileStore) Load(ctx context.Context, name string) (*Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, err := s.read(s.keys.fileID(name))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return e, err
}

func (s *fileStore) Delete(ctx context.Context, name string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := ValidateName(name); err != nil {
		return err
	}
	unlock, err := s.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(s.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		return fmt.Errorf("keyring: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// List reads and authenticates every entry file. Entries it cannot read
// are left out and reported in the returned error, which then wraps
// ErrCorrupted (or holds a *VersionError); the readable entries are still
// returned.
func (s *fileStore) List(ctx context.Context) ([]Info, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	infos := []Info{}
	var errs []error
	for _, de := range des {
		id, ok := parseEntryFileName(de.Name())
		if !ok {
			continue // header, lock, temporary and foreign files
		}
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		e, err := s.read(id)
		switch {
		case err == nil:
			infos = append(infos, e.Info)
		case errors.Is(err, ErrNotFound):
			// Deleted by a process that does not honour the lock.
		default:
			errs = append(errs, err)
		}
	}
	sortInfos(infos)
	return infos, errors.Join(errs...)
}

// readLimited reads a file that must not be longer than limit bytes; a
// longer file is reported as corrupted without being read into memory.
// Errors are prefixed and wrap the os error (fs.ErrNotExist included).
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w: %s: file longer than %d bytes", ErrCorrupted, path, limit)
	}
	return b, nil
}

// writeAtomic replaces dir/name with data: it writes a temporary file in
// dir (mode 0600), syncs it, renames it over the target and syncs dir. A
// crash at any point leaves the old file or the new one, never a mix; at
// worst a temporary file remains, which NewFile removes.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("keyring: %w", err)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeTemps deletes temporary files left by writers that crashed; the
// caller holds the exclusive lock, so no live writer owns one.
func removeTemps(dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}
