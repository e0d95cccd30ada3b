package e3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/e3go/e3go/internal/pythia"
	"github.com/e3go/e3go/internal/virgilapi"
)

// Private-key backups, as e3kit 2.5.1 makes them (shared/specs
// virgil-crypto.md §14.4, virgil-services.md §6–§8), so that a backup made
// by e3kit restores in Go and the other way round.
//
// The password never leaves the device: BrainKey (Pythia on BLS12-381)
// turns it, with the help of the Pythia service, which sees only a blinded
// value, into an Ed25519 "BrainKey" key pair; the same password always
// gives the same pair, and nothing else does. The private key is then
// stored in Keyknox, signed and encrypted by the BrainKey (virgil-crypto's
// signThenEncryptDetached, the Keyknox service never sees it in clear):
//
//   - the default backup is the identity's entry in its Keyknox v1 blob: a
//     JSON object of named entries, {"<identity>": {"data": "<base64
//     PKCS#8>", "creation_date": <ms>, "name": "<identity>",
//     "modification_date": <ms>}, ...}, encrypted as a whole (other
//     entries of the blob are kept as they are);
//   - a named backup is the Keyknox v2 entry (root "e3kit", path "backup",
//     key <name>) shared with no one, holding the same JSON with one entry
//     named <name>.

// Keyknox addresses of named backups (e3kit's).
const (
	backupRoot = "e3kit"
	backupPath = "backup"
)

// BackupPrivateKey stores the local private key in the cloud, encrypted
// under password, as e3kit's backupPrivateKey(password) does (BrainKey,
// then the Keyknox v1 entry named after the identity): RestorePrivateKey
// with the same password brings it to another device. Derive password from
// the user's password with DerivePasswords, so that the app's backend never
// sees it, and encode it as DerivePasswords says, so that e3kit apps read
// the backup too. Passwords are 1 to 128 bytes (ErrInvalidPassword).
//
// It fails with ErrNoLocalKey, ErrBackupExists (there is already a backup:
// ChangePassword or ResetPrivateKeyBackup), or ErrWrongPassword (the
// Keyknox v1 blob exists under another password, e3kit's behaviour too).
func (c *Client) BackupPrivateKey(ctx context.Context, password string) error {
	return c.keyOp(ctx, "BackupPrivateKey", AuditBackup, "", func() error {
		lk, bk, err := c.backupKeys(ctx, password)
		if err != nil {
			return err
		}
		cur, plain, _, err := c.pullV1(ctx, bk)
		if err != nil {
			return err
		}
		entries, err := parseCloudEntries(plain)
		if err != nil {
			return err
		}
		if entries.get(c.identity) != nil {
			return ErrBackupExists
		}
		if err := entries.add(c.identity, lk.priv, c.now()); err != nil {
			return err
		}
		data, err := entries.marshal()
		if err != nil {
			return err
		}
		return c.pushV1(ctx, data, bk, cur.Hash)
	})
}

// RestorePrivateKey fetches the private key from its backup (made by
// BackupPrivateKey or e3kit's backupPrivateKey(password)) and stores it on
// this device, as e3kit's restorePrivateKey(password) does: how a second
// device gets the key.
//
// It fails with ErrLocalKeyExists (checked first, before any request),
// ErrWrongPassword, ErrNoBackup, or ErrBackupCorrupted. Every attempt is
// reported to the audit sink (AuditRestore), failed ones included.
func (c *Client) RestorePrivateKey(ctx context.Context, password string) error {
	return c.keyOp(ctx, "RestorePrivateKey", AuditRestore, "", func() error {
		bk, err := c.restoreKey(ctx, password)
		if err != nil {
			return err
		}
		_, plain, ok, err := c.pullV1(ctx, bk)
		if err != nil {
			return err
		}
		return c.restoreFrom(ctx, plain, ok, "")
	})
}

// ChangePassword re-encrypts the backup made by BackupPrivateKey under
// newPassword, as e3kit's changePassword(old, new) does: BrainKey(old),
// read, BrainKey(new), read again, write with the hash read (a concurrent
// change fails with an *APIError of code 50010 instead of being lost). The
// whole Keyknox v1 blob is re-encrypted. It fails with ErrWrongPassword,
// ErrNoBackup (nothing to re-encrypt; e3kit silently does nothing) or
// ErrInvalidPassword.
func (c *Client) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	return c.keyOp(ctx, "ChangePassword", AuditChangePassword, "", func() error {
		if err := checkPasswords(oldPassword, newPassword); err != nil {
			return err
		}
		oldKey, err := c.brainKey(ctx, oldPassword)
		if err != nil {
			return err
		}
		if _, _, _, err := c.pullV1(ctx, oldKey); err != nil {
			return err
		}
		newKey, err := c.brainKey(ctx, newPassword)
		if err != nil {
			return err
		}
		cur, plain, ok, err := c.pullV1(ctx, oldKey)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoBackup
		}
		return c.pushV1(ctx, plain, newKey, cur.Hash)
	})
}

// ResetPrivateKeyBackup deletes the backup made by BackupPrivateKey, as
// e3kit's resetPrivateKeyBackup() does: it erases the identity's whole
// Keyknox v1 blob (every entry in it, not only the private key), with no
// password. Named backups are not touched (ResetPrivateKeyBackupNamed).
// Resetting when there is no backup is not an error.
func (c *Client) ResetPrivateKeyBackup(ctx context.Context) error {
	return c.keyOp(ctx, "ResetPrivateKeyBackup", AuditResetBackup, "", func() error {
		_, err := c.api.KeyknoxResetV1(ctx)
		return err
	})
}

// BackupPrivateKeyNamed stores the local private key in the cloud under
// name, encrypted under password, as e3kit's backupPrivateKey(password,
// keyName) does (BrainKey, then the Keyknox v2 entry e3kit/backup/<name>):
// a user may keep several, for example one per password. An existing
// backup of that name made with the same password is replaced, as in
// e3kit; one made with another password fails with ErrWrongPassword.
func (c *Client) BackupPrivateKeyNamed(ctx context.Context, name, password string) error {
	return c.keyOp(ctx, "BackupPrivateKeyNamed", AuditBackup, name, func() error {
		if err := checkBackupName(name); err != nil {
			return err
		}
		lk, bk, err := c.backupKeys(ctx, password)
		if err != nil {
			return err
		}
		cur, _, _, err := c.pullNamed(ctx, name, bk)
		if err != nil {
			return err
		}
		entries := &cloudEntries{}
		if err := entries.add(name, lk.priv, c.now()); err != nil {
			return err
		}
		data, err := entries.marshal()
		if err != nil {
			return err
		}
		return c.pushNamed(ctx, name, data, bk, cur.Hash)
	})
}

// RestorePrivateKeyNamed fetches the private key from the backup named
// name (made by BackupPrivateKeyNamed or e3kit's backupPrivateKey(password,
// keyName)) and stores it on this device. Errors as RestorePrivateKey.
func (c *Client) RestorePrivateKeyNamed(ctx context.Context, name, password string) error {
	return c.keyOp(ctx, "RestorePrivateKeyNamed", AuditRestore, name, func() error {
		if err := checkBackupName(name); err != nil {
			return err
		}
		bk, err := c.restoreKey(ctx, password)
		if err != nil {
			return err
		}
		_, plain, ok, err := c.pullNamed(ctx, name, bk)
		if err != nil {
			return err
		}
		return c.restoreFrom(ctx, plain, ok, name)
	})
}

// ChangePasswordNamed re-encrypts the backup named name under newPassword,
// as e3kit's changePassword(old, new, keyName) does (BrainKey of old, new
// and old again, read, write with the hash read). Errors as ChangePassword.
func (c *Client) ChangePasswordNamed(ctx context.Context, name, oldPassword, newPassword string) error {
	return c.keyOp(ctx, "ChangePasswordNamed", AuditChangePassword, name, func() error {
		if err := checkBackupName(name); err != nil {
			return err
		}
		if err := checkPasswords(oldPassword, newPassword); err != nil {
			return err
		}
		// e3kit derives the old BrainKey twice; so does this, to send the
		// same requests.
		if _, err := c.brainKey(ctx, oldPassword); err != nil {
			return err
		}
		newKey, err := c.brainKey(ctx, newPassword)
		if err != nil {
			return err
		}
		oldKey, err := c.brainKey(ctx, oldPassword)
		if err != nil {
			return err
		}
		cur, plain, ok, err := c.pullNamed(ctx, name, oldKey)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoBackup
		}
		return c.pushNamed(ctx, name, plain, newKey, cur.Hash)
	})
}

// ResetPrivateKeyBackupNamed deletes the backup named name, as e3kit's
// resetPrivateKeyBackupWithKeyName does. Resetting a backup that does not
// exist is not an error.
func (c *Client) ResetPrivateKeyBackupNamed(ctx context.Context, name string) error {
	return c.keyOp(ctx, "ResetPrivateKeyBackupNamed", AuditResetBackup, name, func() error {
		if err := checkBackupName(name); err != nil {
			return err
		}
		_, err := c.api.KeyknoxResetV2(ctx, backupRoot, backupPath, name, c.identity)
		return err
	})
}

// backupKeys checks a backup's password and returns the local key and the
// password's BrainKey.
func (c *Client) backupKeys(ctx context.Context, password string) (lk, bk *localKey, err error) {
	if lk, err = c.localKey(); err != nil {
		return nil, nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, nil, err
	}
	bk, err = c.brainKey(ctx, password)
	return lk, bk, err
}

// restoreKey checks a restore's precondition and password and returns the
// password's BrainKey.
func (c *Client) restoreKey(ctx context.Context, password string) (*localKey, error) {
	if err := c.checkNoLocalKey(ctx); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	return c.brainKey(ctx, password)
}

// pullV1 reads the Keyknox v1 blob and opens it with the BrainKey bk (ok
// false: there is none).
func (c *Client) pullV1(ctx context.Context, bk *localKey) (cur *virgilapi.KeyknoxV1, plain []byte, ok bool, err error) {
	if cur, err = c.api.KeyknoxPullV1(ctx); err != nil {
		return nil, nil, false, err
	}
	plain, ok, err = c.openBackup(cur.Meta, cur.Value, bk)
	return cur, plain, ok, err
}

// pushV1 seals plain with the BrainKey bk and writes it as the v1 blob,
// over the version whose hash is prevHash.
func (c *Client) pushV1(ctx context.Context, plain []byte, bk *localKey, prevHash string) error {
	meta, value, err := keyknoxEncrypt(plain, bk.priv, bk.pub)
	clear(plain)
	if err != nil {
		return err
	}
	_, err = c.api.KeyknoxPushV1(ctx, meta, value, prevHash)
	return err
}

// pullNamed reads the named backup and opens it with the BrainKey bk (ok
// false: there is none).
func (c *Client) pullNamed(ctx context.Context, name string, bk *localKey) (cur *virgilapi.KeyknoxV2, plain []byte, ok bool, err error) {
	if cur, err = c.api.KeyknoxPullV2(ctx, backupRoot, backupPath, name, c.identity); err != nil {
		return nil, nil, false, err
	}
	plain, ok, err = c.openBackup(cur.Meta, cur.Value, bk)
	return cur, plain, ok, err
}

// pushNamed seals plain with the BrainKey bk and writes it as the named
// backup (shared with no one), over the version whose hash is prevHash.
func (c *Client) pushNamed(ctx context.Context, name string, plain []byte, bk *localKey, prevHash string) error {
	meta, value, err := keyknoxEncrypt(plain, bk.priv, bk.pub)
	clear(plain)
	if err != nil {
		return err
	}
	_, err = c.api.KeyknoxPushV2(ctx, virgilapi.KeyknoxV2Push{
		Root: backupRoot, Path: backupPath, Key: name,
		Identities: []string{c.identity}, Meta: meta, Value: value, PreviousHash: prevHash,
	})
	return err
}

// restoreFrom stores the private key of a decrypted backup as the local
// key: the entry named after the identity (v1, name "") or name; a named
// backup holding a single entry of another name is taken as e3kit takes
// it.
func (c *Client) restoreFrom(ctx context.Context, plain []byte, ok bool, name string) error {
	if !ok {
		return ErrNoBackup
	}
	entries, err := parseCloudEntries(plain)
	clear(plain)
	if err != nil {
		return err
	}
	if name == "" {
		return c.restoreEntry(ctx, entries.get(c.identity))
	}
	e := entries.get(name)
	if e == nil && len(entries.list) == 1 {
		e = entries.list[0]
	}
	return c.restoreEntry(ctx, e)
}

// keyOp runs a key-management operation: one at a time, audited, its error
// wrapped with its name and the identity.
func (c *Client) keyOp(ctx context.Context, op string, ev AuditEventType, keyName string, f func() error) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return c.wrap(op, err)
	}
	defer unlock()
	err = f()
	c.audit(ctx, AuditEvent{Type: ev, KeyName: keyName, Err: err})
	return c.wrap(op, err)
}

// checkNoLocalKey fails with ErrLocalKeyExists when the keyring has the
// identity's private key.
func (c *Client) checkNoLocalKey(ctx context.Context) error {
	lk, err := c.reloadKey(ctx)
	if err != nil {
		return err
	}
	if lk != nil {
		return ErrLocalKeyExists
	}
	return nil
}

// restoreEntry stores the private key of a backup entry as the local key.
func (c *Client) restoreEntry(ctx context.Context, e *cloudEntry) error {
	if e == nil {
		return ErrNoBackup
	}
	der, err := base64.StdEncoding.DecodeString(e.Data)
	if err != nil {
		return fmt.Errorf("%w: the entry's data is not base64", ErrBackupCorrupted)
	}
	key, err := ParsePrivateKey(der)
	clear(der)
	if err != nil {
		return fmt.Errorf("%w: the entry's data: %w", ErrBackupCorrupted, err)
	}
	return c.saveLocalKey(ctx, key, "")
}

func checkPassword(p string) error {
	if len(p) < 1 || len(p) > pythia.MaxInputSize {
		return ErrInvalidPassword
	}
	return nil
}

func checkPasswords(pws ...string) error {
	for _, p := range pws {
		if err := checkPassword(p); err != nil {
			return err
		}
	}
	return nil
}

func checkBackupName(name string) error {
	if name == "" {
		return errors.New("e3: a backup name must not be empty")
	}
	return nil
}

// brainKey derives password's BrainKey key pair (in the configured key
// identifier scheme: e3kit derives it with its own VirgilCrypto instance).
func (c *Client) brainKey(ctx context.Context, password string) (*localKey, error) {
	k, err := brainKey(ctx, c.api, password, "")
	if err != nil {
		return nil, err
	}
	return c.withScheme(k), nil
}

// openBackup decrypts a Keyknox value with a BrainKey. ok is false for an
// empty value (no backup). A key that is not a recipient means a wrong
// password; any other failure a damaged or altered backup.
func (c *Client) openBackup(meta, value []byte, bk *localKey) (plain []byte, ok bool, err error) {
	plain, ok, err = keyknoxDecrypt(meta, value, bk.priv, bk.pub)
	switch {
	case err == nil:
		return plain, ok, nil
	case errors.Is(err, ErrNotRecipient):
		return nil, false, ErrWrongPassword
	default:
		return nil, false, fmt.Errorf("%w: %w", ErrBackupCorrupted, err)
	}
}

// cloudEntries is the plaintext of e3kit's Keyknox backups: a JSON object of
// named entries. Entries are kept in their order and as they were read, so
// that writing the object back changes only what was added.
type cloudEntries struct {
	names []string
	raw   map[string]json.RawMessage
	list  []*cloudEntry // parsed, in order (entries that do not parse are kept raw only)
}

// cloudEntry is one entry (virgil-keyknox's CloudEntry, serialised with its
// keys in the order @virgilsecurity/keyknox writes them).
type cloudEntry struct {
	Data             string          `json:"data"`
	Meta             json.RawMessage `json:"meta,omitempty"`
	CreationDate     json.Number     `json:"creation_date"`
	Name             string          `json:"name"`
	ModificationDate json.Number     `json:"modification_date"`
}

// parseCloudEntries reads the plaintext of a backup; empty means none.
func parseCloudEntries(plain []byte) (*cloudEntries, error) {
	ce := &cloudEntries{raw: make(map[string]json.RawMessage)}
	if len(plain) == 0 {
		return ce, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: the decrypted backup is not a JSON object of entries (%s)", ErrBackupCorrupted, why)
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad("no object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad("bad key")
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad("bad value")
		}
		if _, dup := ce.raw[name]; !dup {
			ce.names = append(ce.names, name)
		}
		ce.raw[name] = raw
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, bad("unterminated object")
	}
	if len(bytes.TrimSpace(plain[dec.InputOffset():])) != 0 {
		return nil, bad("trailing data")
	}
	for _, name := range ce.names {
		var e cloudEntry
		if json.Unmarshal(ce.raw[name], &e) == nil {
			if e.Name == "" {
				e.Name = name
			}
			ce.list = append(ce.list, &e)
		}
	}
	return ce, nil
}

// get returns the entry stored under name, or nil.
func (ce *cloudEntries) get(name string) *cloudEntry {
	raw, ok := ce.raw[name]
	if !ok {
		return nil
	}
	var e cloudEntry
	if json.Unmarshal(raw, &e) != nil {
		return &cloudEntry{Name: name} // present but unreadable: restoreEntry reports it
	}
	return &e
}

// add adds an entry holding key under name.
func (ce *cloudEntries) add(name string, key *PrivateKey, now time.Time) error {
	ms := json.Number(strconv.FormatInt(now.UnixMilli(), 10))
	der := key.Export()
	e := &cloudEntry{Data: base64.StdEncoding.EncodeToString(der), CreationDate: ms, Name: name, ModificationDate: ms}
	clear(der)
	raw, err := jsonCompact(e)
	if err != nil {
		return err
	}
	if ce.raw == nil {
		ce.raw = make(map[string]json.RawMessage)
	}
	if _, ok := ce.raw[name]; !ok {
		ce.names = append(ce.names, name)
	}
	ce.raw[name] = raw
	ce.list = append(ce.list, e)
	return nil
}

// marshal writes the entries as one JSON object, in order.
func (ce *cloudEntries) marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range ce.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := jsonCompact(name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(ce.raw[name])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
