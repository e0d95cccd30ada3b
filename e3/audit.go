package e3

import (
	"context"
	"log/slog"
	"time"
)

// AuditEventType names a key event reported to an [AuditSink].
type AuditEventType string

// Key events. Each is reported once per attempt, successful or not (Err
// says which), except AuditCardChanged, AuditDecryptFailed and
// AuditVerifyFailed, which only report what happened.
const (
	// AuditRegister: Register published the identity's first card
	// (CardID) and stored the new private key on this device.
	AuditRegister AuditEventType = "register"
	// AuditRotate: RotatePrivateKey published a card (CardID) replacing
	// PreviousCardID, and stored its new private key on this device.
	AuditRotate AuditEventType = "rotate"
	// AuditUnregister: Unregister revoked a card (CardID; one event per
	// card) and, once all were revoked, deleted the local private key.
	AuditUnregister AuditEventType = "unregister"
	// AuditCleanup: Cleanup deleted the local private key (CardID empty).
	AuditCleanup AuditEventType = "cleanup"
	// AuditBackup: BackupPrivateKey(Named) stored the private key,
	// encrypted under a password, in Keyknox (KeyName "" for the default
	// backup).
	AuditBackup AuditEventType = "backup"
	// AuditRestore: RestorePrivateKey(Named) fetched the private key from
	// its backup onto this device. Failed attempts (wrong password) are
	// reported too: many of them suggest password guessing.
	AuditRestore AuditEventType = "restore"
	// AuditChangePassword: ChangePassword(Named) re-encrypted a backup
	// under a new password.
	AuditChangePassword AuditEventType = "change_password"
	// AuditResetBackup: ResetPrivateKeyBackup(Named) deleted backups.
	AuditResetBackup AuditEventType = "reset_backup"
	// AuditCardChanged: a card lookup found a card for Peer (CardID) that
	// differs from the one this Client saw before (PreviousCardID): Peer
	// rotated its key, or unregistered and registered again.
	AuditCardChanged AuditEventType = "card_changed"
	// AuditDecryptFailed: a message could not be decrypted (not addressed
	// to this key, damaged or altered). Peer and CardID name the expected
	// sender when one was given.
	AuditDecryptFailed AuditEventType = "decrypt_failed"
	// AuditVerifyFailed: a message decrypted but its signature is not the
	// expected sender's (Peer, CardID): forged, or signed by another key.
	// Its plaintext was discarded.
	AuditVerifyFailed AuditEventType = "verify_failed"
)

// AuditEvent is one key event. It carries identities, card ids and backup
// names, never plaintext, ciphertext, passwords, tokens or key material, so
// it may be kept in an ordinary audit log (HIPAA §164.312(b) audit
// controls).
type AuditEvent struct {
	Time           time.Time      // when it happened (Config.Now)
	Type           AuditEventType // what happened
	Identity       string         // the Client's identity
	Peer           string         // the other identity involved, if any
	CardID         string         // the card concerned, if any
	PreviousCardID string         // the card replaced (AuditRotate, AuditCardChanged)
	KeyName        string         // the named backup, "" for the default one
	GroupID        string         // the group, for group events
	Err            error          // nil on success; why it failed otherwise
}

// LogValue implements slog.LogValuer: the event as a group of its non-empty
// fields.
func (e AuditEvent) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.Time("time", e.Time), slog.String("type", string(e.Type)), slog.String("identity", e.Identity))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("peer", e.Peer)
	add("card_id", e.CardID)
	add("previous_card_id", e.PreviousCardID)
	add("key_name", e.KeyName)
	add("group_id", e.GroupID)
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// AuditSink receives the Client's key events (see [AuditEvent]). The
// Client calls Audit synchronously, on the goroutine of the method that
// caused the event, after the event and before the method returns;
// implementations must be safe for concurrent use and should return
// quickly (hand the event to a queue if writing it is slow). The context
// is the method's (context.Background() for methods without one).
type AuditSink interface {
	Audit(ctx context.Context, e AuditEvent)
}

// AuditFunc adapts a function to an [AuditSink].
type AuditFunc func(ctx context.Context, e AuditEvent)

// Audit calls f(ctx, e).
func (f AuditFunc) Audit(ctx context.Context, e AuditEvent) { f(ctx, e) }

// AuditLogger returns an AuditSink writing each event to l as one record
// at level Info (Warn for failures), message "e3 audit", the event under
// the key "event".
func AuditLogger(l *slog.Logger) AuditSink {
	return AuditFunc(func(ctx context.Context, e AuditEvent) {
		level := slog.LevelInfo
		if e.Err != nil || e.Type == AuditDecryptFailed || e.Type == AuditVerifyFailed {
			level = slog.LevelWarn
		}
		l.LogAttrs(ctx, level, "e3 audit", slog.Any("event", e))
	})
}

// audit reports e to the configured sink, if any, filling in the time and
// the Client's identity.
func (c *Client) audit(ctx context.Context, e AuditEvent) {
	if c.auditSink == nil {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	e.Time = c.now()
	e.Identity = c.identity
	c.auditSink.Audit(ctx, e)
}
