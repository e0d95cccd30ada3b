package e3

import (
	"errors"
	"strings"
)

// Errors of the Client. Each names a state the caller can act on, and its
// text says what to do next. Every Client method returns them wrapped with
// the identity or the backup involved: match them with [errors.Is]. The
// e3kit error each one corresponds to is given in parentheses.
var (
	// ErrNotRegistered reports that the identity has no card (e3kit's
	// RegisterRequiredError): call Register first.
	ErrNotRegistered = errors.New("e3: identity is not registered (call Register first)")

	// ErrAlreadyRegistered reports that the identity already has a card
	// (IdentityAlreadyExistsError). On a new device, get the private key
	// with RestorePrivateKey; if it is lost for good, RotatePrivateKey
	// publishes a new key.
	ErrAlreadyRegistered = errors.New("e3: identity is already registered (on a new device call RestorePrivateKey; if the key is lost, RotatePrivateKey)")

	// ErrNoLocalKey reports that the private key is not on this device
	// (MissingPrivateKeyError): call Register (new identity),
	// RestorePrivateKey (a backup exists) or RotatePrivateKey (the key is
	// lost).
	ErrNoLocalKey = errors.New("e3: no private key on this device (call Register, RestorePrivateKey or RotatePrivateKey)")

	// ErrLocalKeyExists reports that a private key is already on this
	// device (PrivateKeyAlreadyExistsError). Cleanup deletes it; back it
	// up first unless it is known to be useless.
	ErrLocalKeyExists = errors.New("e3: a private key is already on this device (call Cleanup first, after BackupPrivateKey if it may still be needed)")

	// ErrMultipleCards reports an identity with more than one active card
	// (MultipleCardsError, UsersFoundWithMultipleCardsError), which e3kit
	// treats as unusable: its owner must Unregister (which revokes them
	// all) and Register again.
	ErrMultipleCards = errors.New("e3: identity has more than one active card (its owner must Unregister and Register again)")

	// ErrWrongPassword reports a backup password that does not open the
	// backup (WrongKeyknoxPasswordError). Ask the user again; if the
	// password is forgotten, ResetPrivateKeyBackup and back up anew.
	ErrWrongPassword = errors.New("e3: wrong backup password (ask again; if it is forgotten, ResetPrivateKeyBackup and back up anew)")

	// ErrNoBackup reports that there is no backup of the private key
	// (PrivateKeyNoBackupError): call BackupPrivateKey on a device that has
	// the key.
	ErrNoBackup = errors.New("e3: no backup of the private key (call BackupPrivateKey on a device that has the key)")

	// ErrBackupExists reports that a backup of the private key already
	// exists (CloudEntryExistsError): ChangePassword changes its password;
	// ResetPrivateKeyBackup deletes it.
	ErrBackupExists = errors.New("e3: a backup of the private key already exists (call ChangePassword, or ResetPrivateKeyBackup first)")

	// ErrBackupCorrupted reports a backup that the password's key opens
	// only partly: it was altered or damaged in storage (or the password
	// is wrong in a way that cannot be told apart). e3kit reports these as
	// WrongKeyknoxPasswordError. Nothing was changed locally.
	ErrBackupCorrupted = errors.New("e3: the backup is damaged or was altered (restore another backup, or back up again from a device that has the key)")

	// ErrInvalidPassword reports a backup password outside 1 to 128 bytes,
	// the range BrainKey accepts.
	ErrInvalidPassword = errors.New("e3: a backup password must be 1 to 128 bytes long")

	// ErrCardOutdated reports a card that was superseded by a newer card or
	// revoked, passed where an active card is needed (as a recipient):
	// find the user again.
	ErrCardOutdated = errors.New("e3: the card is outdated (superseded or revoked; find the user again)")

	// ErrNoCardAtTime reports that the sender's card, and every card it
	// replaced, was created after the time given to AuthDecryptAt: the
	// sender probably unregistered and registered again after sending.
	ErrNoCardAtTime = errors.New("e3: the sender's card is newer than the message (they may have registered again since; decrypt with the card they had then)")
)

// UsersNotFoundError reports identities that have no card (e3kit's
// UsersNotFoundError): they never registered, or unregistered. Nothing can
// be encrypted for them until they Register.
type UsersNotFoundError struct {
	Identities []string // in the order they were asked for
}

// Error returns "e3: users not found: a, b (they must Register first)".
func (e *UsersNotFoundError) Error() string {
	return "e3: users not found: " + strings.Join(e.Identities, ", ") + " (they must Register first)"
}

// MultipleCardsError reports identities that have more than one active
// card (e3kit's UsersFoundWithMultipleCardsError). It matches
// ErrMultipleCards.
type MultipleCardsError struct {
	Identities []string // in the order they were asked for
}

// Error returns "e3: users with more than one active card: a, b (...)".
func (e *MultipleCardsError) Error() string {
	return "e3: users with more than one active card: " + strings.Join(e.Identities, ", ") + " (each must Unregister and Register again)"
}

// Is reports whether target is ErrMultipleCards.
func (e *MultipleCardsError) Is(target error) bool { return target == ErrMultipleCards }

// identityError wraps a Client error with the identity (and operation) it
// concerns: "e3: Register alice: <err>". It unwraps to err.
type identityError struct {
	op       string
	identity string
	err      error
}

func (e *identityError) Error() string {
	msg := e.err.Error()
	msg = strings.TrimPrefix(msg, "e3: ")
	return "e3: " + e.op + " " + quoteIdentity(e.identity) + ": " + msg
}

func (e *identityError) Unwrap() error { return e.err }

// quoteIdentity returns id as is when it has no space, quoted otherwise.
func quoteIdentity(id string) string {
	if id != "" && !strings.ContainsAny(id, " \"") {
		return id
	}
	return `"` + strings.ReplaceAll(id, `"`, `\"`) + `"`
}
