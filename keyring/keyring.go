package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Store holds named secret entries. Implementations must be safe for
// concurrent use by multiple goroutines, must copy data and metadata on the
// way in and on the way out (a caller can never alias stored bytes), and must
// honour ctx: a method called with a done context returns an error wrapping
// ctx.Err() and changes nothing.
//
// Names are checked with [ValidateName] and whole entries with
// [ValidateEntry]; every method rejects an invalid name with an error wrapping
// [ErrInvalidName]. Names are case-sensitive: "Alice" and "alice" are two
// entries on every platform.
//
// The package [github.com/e3go/e3go/keyring/keyringtest] holds the
// conformance suite every implementation must pass.
type Store interface {
	// Save stores a new entry. If an entry with that name already exists,
	// Save returns an error wrapping ErrExists and leaves it untouched.
	Save(ctx context.Context, name string, data []byte, metadata map[string]string) error

	// Put stores an entry, replacing any entry of the same name. A
	// replaced entry keeps its Created time; metadata is replaced, not
	// merged.
	Put(ctx context.Context, name string, data []byte, metadata map[string]string) error

	// Load returns the named entry, or an error wrapping ErrNotFound.
	Load(ctx context.Context, name string) (*Entry, error)

	// Delete removes the named entry, or returns an error wrapping
	// ErrNotFound if there is none.
	Delete(ctx context.Context, name string) error

	// List returns the name, metadata and times of every entry, sorted by
	// name in byte order, without the secret data. An implementation that
	// cannot read some entries returns the others together with an error
	// describing the failures.
	List(ctx context.Context) ([]Info, error)
}

// Info describes an entry without its secret data. Metadata is not secret:
// a file store encrypts it anyway, but other backends may not.
type Info struct {
	// Name identifies the entry; see ValidateName.
	Name string
	// Metadata is free-form, non-secret data (for example a key id or a
	// key type). It may be nil when empty.
	Metadata map[string]string
	// Created is when the entry was first stored under this name.
	Created time.Time
	// Modified is when the entry was last stored (by Save or Put).
	Modified time.Time
}

// Entry is an entry with its secret data. It redacts Data when formatted
// with the fmt package or logged with log/slog.
type Entry struct {
	Info
	// Data is the secret. Callers own the slice they receive.
	Data []byte
}

// Format implements fmt.Formatter: every verb prints the name, the metadata,
// the times and the length of Data, never Data itself.
func (e Entry) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "keyring.Entry{Name:%q Metadata:%v Created:%s Modified:%s Data:REDACTED(%d bytes)}",
		e.Name, e.Metadata, e.Created.Format(time.RFC3339Nano), e.Modified.Format(time.RFC3339Nano), len(e.Data))
}

// LogValue implements slog.LogValuer: it logs the name, the metadata keys
// and the length of Data, never Data itself.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", e.Name),
		slog.Any("metadata_keys", slices.Sorted(maps.Keys(e.Metadata))),
		slog.Time("modified", e.Modified),
		slog.String("data", fmt.Sprintf("REDACTED(%d bytes)", len(e.Data))),
	)
}

// Limits every Store enforces (see ValidateName and ValidateEntry).
const (
	// MaxNameLen is the longest valid name, in bytes.
	MaxNameLen = 255
	// MaxDataLen is the largest secret an entry may hold, in bytes.
	MaxDataLen = 16 << 20
	// MaxMetadataLen bounds the sum of len(key)+len(value) over an
	// entry's metadata.
	MaxMetadataLen = 64 << 10
	// MaxMetadataKeyLen is the longest valid metadata key, in bytes.
	MaxMetadataKeyLen = 255
)

var (
	// ErrNotFound reports that no entry has the requested name.
	ErrNotFound = errors.New("keyring: entry not found")
	// ErrExists reports that Save found an entry with the same name; use
	// Put to replace it.
	ErrExists = errors.New("keyring: entry already exists")
	// ErrWrongPassphrase reports that a passphrase does not open an
	// encrypted keyring. The keyring itself is intact.
	ErrWrongPassphrase = errors.New("keyring: wrong passphrase")
	// ErrCorrupted reports a stored file that is truncated, altered, moved
	// from another name, or otherwise unreadable with the right
	// passphrase.
	ErrCorrupted = errors.New("keyring: corrupted data")
	// ErrInvalidName reports a name that ValidateName rejects.
	ErrInvalidName = errors.New("keyring: invalid name")
	// ErrInvalidMetadata reports a metadata key or value that
	// ValidateEntry rejects.
	ErrInvalidMetadata = errors.New("keyring: invalid metadata")
	// ErrTooLarge reports data longer than MaxDataLen or metadata longer
	// than MaxMetadataLen.
	ErrTooLarge = errors.New("keyring: entry too large")
)

// VersionError reports a keyring file whose format version this package does
// not know: a file written by a newer version of e3go (or one whose version
// byte was damaged). Nothing was changed; upgrade e3go to read it.
type VersionError struct {
	// Path is the file that could not be read.
	Path string
	// Kind is "header" or "entry".
	Kind string
	// Version is the version byte found in the file.
	Version int
	// Supported is the newest version this package reads.
	Supported int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("keyring: %s: %s format version %d is not supported (this version of e3go reads up to %d); upgrade e3go",
		e.Path, e.Kind, e.Version, e.Supported)
}

// ValidateName reports whether name can name an entry: 1 to MaxNameLen bytes
// of printable ASCII (0x21 to 0x7E; no spaces, no control characters). Virgil
// identities, e-mail addresses, UUIDs and Stream user and channel ids all
// fit. Any such name is safe on every backend: the file store never uses
// names as file names, so "../x", "CON" or "Alice" next to "alice" are fine.
// The error wraps ErrInvalidName.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes long (limit %d)", ErrInvalidName, len(name), MaxNameLen)
	}
	if i := strings.IndexFunc(name, notPrintableASCII); i >= 0 {
		return fmt.Errorf("%w: %q has byte 0x%02x at offset %d (allowed: printable ASCII 0x21-0x7e)",
			ErrInvalidName, name, name[i], i)
	}
	return nil
}

func notPrintableASCII(r rune) bool { return r < 0x21 || r > 0x7e }

// ValidateEntry reports whether an entry can be stored: the name passes
// ValidateName, data is at most MaxDataLen bytes, every metadata key is 1 to
// MaxMetadataKeyLen bytes of printable ASCII, every value is valid UTF-8, and
// the metadata keys and values total at most MaxMetadataLen bytes. The error
// wraps ErrInvalidName, ErrTooLarge or ErrInvalidMetadata.
func ValidateEntry(name string, data []byte, metadata map[string]string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if len(data) > MaxDataLen {
		return fmt.Errorf("%w: data is %d bytes (limit %d)", ErrTooLarge, len(data), MaxDataLen)
	}
	total := 0
	for k, v := range metadata {
		switch {
		case k == "":
			return fmt.Errorf("%w: empty key", ErrInvalidMetadata)
		case len(k) > MaxMetadataKeyLen:
			return fmt.Errorf("%w: key of %d bytes (limit %d)", ErrInvalidMetadata, len(k), MaxMetadataKeyLen)
		case strings.IndexFunc(k, notPrintableASCII) >= 0:
			return fmt.Errorf("%w: key %q is not printable ASCII", ErrInvalidMetadata, k)
		case !utf8.ValidString(v):
			return fmt.Errorf("%w: value of key %q is not valid UTF-8", ErrInvalidMetadata, k)
		}
		total += len(k) + len(v)
	}
	if total > MaxMetadataLen {
		return fmt.Errorf("%w: metadata is %d bytes (limit %d)", ErrTooLarge, total, MaxMetadataLen)
	}
	return nil
}

// ctxErr returns a keyring-prefixed error wrapping ctx.Err(), or nil.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}
