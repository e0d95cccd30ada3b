// Package keyring is where private keys live on the machine: named secret
// entries behind one small interface, [Store], with two implementations.
//
//   - [NewMemory] keeps entries in process memory (tests, short-lived
//     processes, caches).
//   - [NewFile] keeps them in a directory, encrypted under a passphrase,
//     safe against crashes and against several processes sharing it.
//
// e3kit keeps a user's private key in a key-entry storage under the name of
// the identity (the value is the base64 of the PKCS#8 key), and its group
// sessions next to it; package e3 does the same with a Store. Other
// backends (an OS keychain, a KMS) implement Store and prove it with
// [github.com/e3go/e3go/keyring/keyringtest.TestStore].
//
// # Entries
//
// An entry has a name, secret data, non-secret metadata (a
// map[string]string, for a key type or a card id) and its creation and
// modification times. [Store.Save] refuses to overwrite an existing name
// ([ErrExists]; e3kit's KeyEntryAlreadyExistsError); [Store.Put] replaces
// explicitly. Names are 1 to 255 bytes of printable ASCII ([ValidateName]),
// case-sensitive on every platform; data is at most 16 MiB and metadata at
// most 64 KiB. Stores copy what goes in and what comes out. [Entry]
// redacts its data when printed with fmt or logged with log/slog.
//
// # Errors
//
// Callers branch with errors.Is on [ErrNotFound], [ErrExists],
// [ErrWrongPassphrase], [ErrCorrupted], [ErrInvalidName],
// [ErrInvalidMetadata] and [ErrTooLarge], and with errors.As on
// [*VersionError] (a file written by a newer version of e3go). Every method
// takes a context.Context first; a done context makes it return an error
// wrapping ctx.Err() and change nothing. Errors never contain secret data
// or passphrases; they do contain entry names and file paths.
//
// # The file store
//
// What it protects against: someone who obtains a copy of the directory
// (a stolen disk, a backup, another user on the machine) without the
// passphrase learns how many entries there are, their approximate sizes and
// their modification times, and nothing else: names, metadata and data are
// all encrypted, and file names are keyed hashes. Guessing the passphrase
// costs one scrypt evaluation per guess. What it does not protect against:
// malware running as the user, which can read the process memory or
// capture the passphrase; and a weak passphrase.
//
// The passphrase unlocks a random 256-bit keyring key K stored wrapped in
// the header file; entries are encrypted under keys derived from K. So the
// passphrase and the scrypt cost can be changed ([ChangePassphrase]) by
// rewriting the header alone. Note that a copy of the old header plus the
// old passphrase still opens the keyring: after a passphrase leak, make a
// new keyring and copy the entries over.
//
// KDF choice: scrypt (RFC 7914), memory-hard, from golang.org/x/crypto.
// Argon2id would be the other choice; scrypt was taken because it is what
// age uses for passphrase-encrypted files, and because it needs nothing
// beyond golang.org/x/crypto (x/crypto's argon2 also pulls in
// golang.org/x/sys, which go.mod does not list). The
// default, [DefaultScrypt], is N=2^17, r=8, p=1: 128 MiB and a few hundred
// milliseconds, the OWASP minimum for scrypt. It is paid once per [NewFile]:
// the store keeps the derived keys, never the passphrase. The parameters
// and a 256-bit salt are recorded in the header, so they can be raised
// later without touching the entries. The AEAD is AES-256-GCM from the
// standard library; every header and every entry file has its own random
// 256-bit salt and therefore its own key, used for one encryption only,
// which is why a fixed all-zero nonce is safe.
//
// Durability and concurrency: every file is written to a temporary file in
// the same directory (mode 0600), synced, renamed over its target, and the
// directory is synced (where the platform allows), so a crash leaves each
// file either old or new; temporary files left by a crash are ignored and
// removed by the next NewFile. Writers take an exclusive lock and readers a
// shared lock on the file ".lock" in the directory: flock(2) on Linux, the
// BSDs, illumos and macOS; LockFileEx on Windows. Elsewhere (js/wasm,
// wasip1, plan9, solaris, aix) an O_EXCL lock file is used instead; it is
// always exclusive, and one older than 30 s is taken to be left by a dead
// process and removed. The directory is created with mode 0700.
//
// Wrong passphrase versus damage: the header carries a SHA-256 checksum
// over its other bytes. A header that fails the checksum (or is truncated)
// is reported as [ErrCorrupted]; a header that passes it but does not
// unwrap is reported as [ErrWrongPassphrase]. An entry file that fails
// authentication is [ErrCorrupted]: truncated, bit-flipped, or copied from
// another name or another keyring. [Store.List] on a file store returns
// the readable entries along with an error describing the others; Put
// over a damaged entry replaces it and Delete removes it. A version byte
// this package does not know yields a [*VersionError].
//
// No zeroization: the store does not promise to wipe keys from memory. Go's
// garbage collector moves and copies memory, strings are immutable, and
// the standard library's ciphers keep their own key schedules, so wiping
// the slices we control would give a false sense of safety. This follows
// age and x/crypto; the experimental runtime/secret package may change
// that in a later Go.
//
// # File format, version 1
//
// A keyring is a directory holding:
//
//	keyring.e3kr            the header (121 bytes)
//	<64 hex digits>.e3ke    one file per entry
//	.lock                   the lock file (empty; ".lock.excl" on fallback platforms)
//	.tmp-*                  temporary files, present only during a write or after a crash
//
// Other files are ignored. All integers are big-endian. "HKDF" is
// HKDF-SHA-256 (RFC 5869); "GCM" is AES-256-GCM with a 12-byte all-zero
// nonce and a 16-byte tag appended to the ciphertext.
//
// The header, keyring.e3kr:
//
//	offset size  field
//	     0    4  magic "E3KR"
//	     4    1  kind 'H' (0x48)
//	     5    1  version, 0x01
//	     6    1  scrypt log2(N), 10..22
//	     7    1  scrypt r, 1..32
//	     8    1  scrypt p, 1..16 (and 128·r·N at most 1 GiB)
//	     9   32  salt, random
//	    41   48  wrapped keyring key: GCM(W, K), associated data = bytes 0..40
//	    89   32  SHA-256 of bytes 0..88
//
// where K is the random 32-byte keyring key, P the passphrase, and
//
//	W = HKDF(secret = scrypt(uint32(len(P)) || P, salt, N, r, p, 32),
//	         salt = empty, info = "e3go keyring v1 wrapping key", 32 bytes)
//
// (the length prefix keeps passphrases differing in trailing zero bytes
// apart, since scrypt's HMAC pads its key with zeros).
//
// From K two keys are derived: the name key
// NK = HKDF(K, salt = empty, info = "e3go keyring v1 file name key") and,
// per entry file, the entry key
// EK = HKDF(K, salt = the file's salt, info = "e3go keyring v1 entry key").
// An entry named n is stored in the file whose name is the lower-case hex
// of ID = HMAC-SHA-256(NK, n), followed by ".e3ke". Its content:
//
//	offset size  field
//	     0    4  magic "E3KR"
//	     4    1  kind 'E' (0x45)
//	     5    1  version, 0x01
//	     6   32  salt, random, fresh for every write
//	    38    …  GCM(EK, record), associated data = bytes 0..37 || ID
//
// Binding ID into the associated data makes a file copied over another
// name's file fail authentication. The record, once decrypted:
//
//	size  field
//	   2  name length L, 1..255
//	   L  name (printable ASCII); HMAC-SHA-256(NK, name) must equal ID
//	   8  created, Unix time in nanoseconds (signed)
//	   8  modified, Unix time in nanoseconds (signed)
//	   4  metadata count M
//	      M times, keys in strictly increasing byte order:
//	   2    key length, 1..255
//	   …    key (printable ASCII)
//	   4    value length
//	   …    value (UTF-8)
//	   4  data length D, at most 16 MiB
//	   D  data
//
// A reader must reject trailing bytes, and anything else ValidateEntry
// rejects. A later format bumps the version byte of the file kind that
// changes.
package keyring
