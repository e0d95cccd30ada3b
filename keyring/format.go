package keyring

// The on-disk format of the file store. The package documentation (doc.go)
// describes the same layout for readers who do not read Go; keep them in
// step.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/scrypt"
)

const (
	magic = "E3KR"

	kindHeader = 'H'
	kindEntry  = 'E'

	headerVersion = 1
	entryVersion  = 1

	saltLen = 32
	keyLen  = 32
	tagLen  = 16
	idLen   = sha256.Size

	// header: magic, kind, version, logN, r, p, salt, wrapped key, checksum.
	headerPrefixLen = 4 + 1 + 1 + 3
	headerAADLen    = headerPrefixLen + saltLen
	headerSumOffset = headerAADLen + keyLen + tagLen
	headerLen       = headerSumOffset + sha256.Size

	// entry: magic, kind, version, salt, then the AEAD ciphertext.
	entryAADLen = 4 + 1 + 1 + saltLen

	// maxPlaintextLen bounds the plaintext of an entry file: name, two
	// times, metadata with its length prefixes (at most one 6-byte prefix
	// per byte of metadata), data.
	maxPlaintextLen = 2 + MaxNameLen + 8 + 8 + 4 + 7*MaxMetadataLen + 4 + MaxDataLen
	maxEntryFileLen = entryAADLen + maxPlaintextLen + tagLen

	infoEntryKey = "e3go keyring v1 entry key"
	infoNameKey  = "e3go keyring v1 file name key"
	infoWrapKey  = "e3go keyring v1 wrapping key"
)

// ScryptParams are the cost parameters of scrypt (RFC 7914), the
// memory-hard function that turns a passphrase into the key that unlocks a
// file keyring. scrypt uses 128·R·2^LogN bytes of memory and time
// proportional to P·R·2^LogN.
type ScryptParams struct {
	// LogN is log2 of the CPU/memory cost N: 10 to 22.
	LogN uint8
	// R is the block size: 1 to 32.
	R uint8
	// P is the parallelism: 1 to 16.
	P uint8
}

// DefaultScrypt returns the parameters NewFile uses when
// FileOptions.Scrypt is zero: N=2^17, r=8, p=1, that is 128 MiB of memory
// and about a third of a second on one current server core; the minimum
// OWASP recommends for scrypt.
func DefaultScrypt() ScryptParams { return ScryptParams{LogN: 17, R: 8, P: 1} }

// maxScryptMemory bounds 128·r·N so that a damaged or hostile header cannot
// make the process allocate more than 1 GiB.
const maxScryptMemory = 1 << 30

func (p ScryptParams) validate() error {
	if p.LogN < 10 || p.LogN > 22 || p.R < 1 || p.R > 32 || p.P < 1 || p.P > 16 {
		return fmt.Errorf("keyring: scrypt parameters logN=%d r=%d p=%d out of range (logN 10-22, r 1-32, p 1-16)", p.LogN, p.R, p.P)
	}
	if 128*uint64(p.R)<<p.LogN > maxScryptMemory {
		return fmt.Errorf("keyring: scrypt parameters logN=%d r=%d need more than 1 GiB of memory", p.LogN, p.R)
	}
	return nil
}

// deriveKey runs scrypt on the passphrase prefixed with its length. scrypt
// keys HMAC-SHA-256 with the password, and HMAC pads short keys with zero
// bytes, so without the prefix "pass" and "pass\x00" would open the same
// keyring.
func (p ScryptParams) deriveKey(passphrase, salt []byte) ([]byte, error) {
	in := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(passphrase)), uint32(len(passphrase)))
	in = append(in, passphrase...)
	return scrypt.Key(in, salt, 1<<p.LogN, int(p.R), int(p.P), keyLen)
}

// header is the parsed keyring header file.
type header struct {
	params  ScryptParams
	salt    [saltLen]byte
	wrapped [keyLen + tagLen]byte
}

// sealHeader wraps dek under a key derived from passphrase with a fresh salt.
func sealHeader(passphrase, dek []byte, params ScryptParams) ([]byte, error) {
	b := make([]byte, headerAADLen, headerLen)
	copy(b, magic)
	b[4], b[5] = kindHeader, headerVersion
	b[6], b[7], b[8] = params.LogN, params.R, params.P
	rand.Read(b[headerPrefixLen:headerAADLen])
	aead, err := wrapAEAD(passphrase, b[headerPrefixLen:headerAADLen], params)
	if err != nil {
		return nil, err
	}
	b = aead.Seal(b, zeroNonce[:], dek, b[:headerAADLen])
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

// parseHeader checks the structure of a header file. It does not need the
// passphrase: a header that parses is intact, so a failure to unwrap it
// afterwards means a wrong passphrase.
func parseHeader(path string, b []byte) (*header, error) {
	if err := checkPrefix(path, b, kindHeader, "header", headerVersion); err != nil {
		return nil, err
	}
	if len(b) != headerLen {
		return nil, fmt.Errorf("%w: %s: header is %d bytes, want %d", ErrCorrupted, path, len(b), headerLen)
	}
	sum := sha256.Sum256(b[:headerSumOffset])
	if !hmac.Equal(sum[:], b[headerSumOffset:]) {
		return nil, fmt.Errorf("%w: %s: header checksum mismatch", ErrCorrupted, path)
	}
	h := &header{params: ScryptParams{LogN: b[6], R: b[7], P: b[8]}}
	if err := h.params.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupted, path, err)
	}
	copy(h.salt[:], b[headerPrefixLen:headerAADLen])
	copy(h.wrapped[:], b[headerAADLen:headerSumOffset])
	return h, nil
}

// unwrap recovers the data-encryption key from a parsed header.
func (h *header) unwrap(path string, passphrase []byte, raw []byte) ([]byte, error) {
	aead, err := wrapAEAD(passphrase, h.salt[:], h.params)
	if err != nil {
		return nil, err
	}
	dek, err := aead.Open(nil, zeroNonce[:], h.wrapped[:], raw[:headerAADLen])
	if err != nil {
		return nil, fmt.Errorf("%w for %s", ErrWrongPassphrase, path)
	}
	return dek, nil
}

func wrapAEAD(passphrase, salt []byte, params ScryptParams) (cipher.AEAD, error) {
	kek, err := params.deriveKey(passphrase, salt)
	if err != nil {
		return nil, fmt.Errorf("keyring: scrypt: %v", err)
	}
	// The scrypt output is expanded once more so that the wrapping key is
	// bound to its purpose; the salt already makes it unique per header.
	k, err := hkdf.Key(sha256.New, kek, nil, infoWrapKey, keyLen)
	if err != nil {
		return nil, err
	}
	return newGCM(k)
}

// A key is used for exactly one encryption (every header and every entry
// file has its own random salt, hence its own key), so a fixed nonce is safe.
var zeroNonce [12]byte

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func checkPrefix(path string, b []byte, kind byte, kindName string, version int) error {
	if len(b) < 6 || string(b[:4]) != magic || b[4] != kind {
		return fmt.Errorf("%w: %s: not a keyring %s file", ErrCorrupted, path, kindName)
	}
	if int(b[5]) != version {
		return &VersionError{Path: path, Kind: kindName, Version: int(b[5]), Supported: version}
	}
	return nil
}

// keys are the per-keyring keys derived from the data-encryption key.
type keys struct {
	dek     []byte
	nameKey []byte
}

func newKeys(dek []byte) (*keys, error) {
	nk, err := hkdf.Key(sha256.New, dek, nil, infoNameKey, keyLen)
	if err != nil {
		return nil, err
	}
	return &keys{dek: dek, nameKey: nk}, nil
}

// fileID is HMAC-SHA256(nameKey, name): the file name of an entry, which
// reveals nothing about the name and is the same on case-insensitive file
// systems (lower-case hex).
func (k *keys) fileID(name string) [idLen]byte {
	m := hmac.New(sha256.New, k.nameKey)
	m.Write([]byte(name))
	var id [idLen]byte
	m.Sum(id[:0])
	return id
}

const entrySuffix = ".e3ke"

func entryFileName(id [idLen]byte) string { return hex.EncodeToString(id[:]) + entrySuffix }

// parseEntryFileName returns the id of a file name made by entryFileName.
func parseEntryFileName(name string) ([idLen]byte, bool) {
	var id [idLen]byte
	s, ok := strings.CutSuffix(name, entrySuffix)
	if !ok || len(s) != 2*idLen || strings.ToLower(s) != s {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

func (k *keys) entryAEAD(salt []byte) (cipher.AEAD, error) {
	ek, err := hkdf.Key(sha256.New, k.dek, salt, infoEntryKey, keyLen)
	if err != nil {
		return nil, err
	}
	return newGCM(ek)
}

// sealEntry encrypts an entry into the bytes of its file.
func (k *keys) sealEntry(e *Entry) ([]byte, error) {
	pt := encodePlaintext(e)
	b := make([]byte, entryAADLen, entryAADLen+len(pt)+tagLen+idLen)
	copy(b, magic)
	b[4], b[5] = kindEntry, entryVersion
	rand.Read(b[6:entryAADLen])
	aead, err := k.entryAEAD(b[6:entryAADLen])
	if err != nil {
		return nil, err
	}
	id := k.fileID(e.Name)
	aad := append(b[:entryAADLen:entryAADLen], id[:]...)
	return aead.Seal(b, zeroNonce[:], pt, aad), nil
}

// openEntry authenticates and decodes an entry file read from the file
// whose name carries id.
func (k *keys) openEntry(path string, id [idLen]byte, b []byte) (*Entry, error) {
	if err := checkPrefix(path, b, kindEntry, "entry", entryVersion); err != nil {
		return nil, err
	}
	if len(b) < entryAADLen+tagLen || len(b) > maxEntryFileLen {
		return nil, fmt.Errorf("%w: %s: entry file is %d bytes", ErrCorrupted, path, len(b))
	}
	aead, err := k.entryAEAD(b[6:entryAADLen])
	if err != nil {
		return nil, err
	}
	aad := append(slices.Clip(b[:entryAADLen]), id[:]...)
	pt, err := aead.Open(nil, zeroNonce[:], b[entryAADLen:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: entry failed authentication (altered, truncated, or moved from another name or keyring)", ErrCorrupted, path)
	}
	e, err := parsePlaintext(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: entry record: %v", ErrCorrupted, path, err)
	}
	if got := k.fileID(e.Name); got != id {
		return nil, fmt.Errorf("%w: %s: entry name does not match its file name", ErrCorrupted, path)
	}
	return e, nil
}

// encodePlaintext is the inverse of parsePlaintext. Metadata is written in
// key order, so an entry has one encoding.
func encodePlaintext(e *Entry) []byte {
	n := 2 + len(e.Name) + 8 + 8 + 4 + 4 + len(e.Data)
	for k, v := range e.Metadata {
		n += 2 + len(k) + 4 + len(v)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Name)))
	b = append(b, e.Name...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Modified.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Metadata)))
	for _, k := range slices.Sorted(maps.Keys(e.Metadata)) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Metadata[k])))
		b = append(b, e.Metadata[k]...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
	return append(b, e.Data...)
}

var errTrailing = errors.New("trailing bytes")

// parsePlaintext decodes the authenticated plaintext of an entry file. It
// accepts only what encodePlaintext produces for an entry that passes
// ValidateEntry; its errors are details for the caller to wrap.
func parsePlaintext(b []byte) (*Entry, error) {
	r := reader{b: b}
	name := string(r.next(uint32(r.u16())))
	created := r.u64()
	modified := r.u64()
	count := r.u32()
	var md map[string]string
	prev := ""
	for i := uint32(0); i < count && r.err == nil; i++ {
		k := string(r.next(uint32(r.u16())))
		v := string(r.next(r.u32()))
		if r.err != nil {
			break
		}
		if i > 0 && k <= prev {
			return nil, errors.New("metadata keys out of order")
		}
		prev = k
		if md == nil {
			md = make(map[string]string)
		}
		md[k] = v
	}
	data := slices.Clone(r.next(r.u32()))
	if r.err == nil && len(r.b) != 0 {
		r.err = errTrailing
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := ValidateEntry(name, data, md); err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return &Entry{
		Info: Info{
			Name:     name,
			Metadata: md,
			Created:  time.Unix(0, int64(created)),
			Modified: time.Unix(0, int64(modified)),
		},
		Data: data,
	}, nil
}

// reader consumes big-endian fields; after the first short read every
// method returns zero values and err stays set.
type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n uint32) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if v := r.next(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.next(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
