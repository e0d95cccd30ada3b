package groupsession

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Sizes and limits of the format (virgil-crypto-c's vscf_group_session).
const (
	SessionIDSize = 32 // session id: SHA-512(group id)[:32]
	KeySize       = 32 // epoch key
	SaltSize      = 32 // per-message salt
	SignatureSize = 64 // Ed25519 signature

	// MaxPlaintextSize is the largest plaintext Encrypt takes: the largest
	// whose message fits in MaxMessageSize. virgil-crypto's encrypt takes
	// up to VirgilMaxPlaintextSize, but from 29916 bytes on its messages
	// are 30244 bytes long and its own decrypt refuses them.
	MaxPlaintextSize = 29915
	// VirgilMaxPlaintextSize is virgil-crypto's plaintext limit
	// (vscf_group_session MAX_PLAIN_TEXT_LEN).
	VirgilMaxPlaintextSize = 30000
	// MaxMessageSize is the largest serialized group message (ticket or
	// regular message) the parsers take, as virgil-crypto's deserializer.
	MaxMessageSize = 30188
	// MaxEpochs is the number of epochs a Session keeps (the newest ones).
	MaxEpochs = 50
	// MaxHeaderSize is the largest serialized message header (nanopb's
	// max_size for RegularGroupMessage.header).
	MaxHeaderSize = 74
	// MinGroupIDSize is the shortest group id Generate takes, as
	// virgil-crypto's generateGroupSession and e3kit.
	MinGroupIDSize = 10
)

// SessionID returns the session id of a group: the first 32 bytes of
// SHA-512(groupID). e3kit passes the UTF-8 bytes of its group id string and
// shows the result in hex (the Keyknox path of the group's tickets).
func SessionID(groupID []byte) [SessionIDSize]byte {
	h := sha512.Sum512(groupID)
	var id [SessionIDSize]byte
	copy(id[:], h[:SessionIDSize])
	return id
}

// Epoch is one epoch of a group session: its number and its 32-byte key,
// for one session id. Serialized (Marshal, ParseEpoch) it is the epoch
// "ticket" virgil-crypto exports and e3kit distributes through Keyknox: a
// GroupMessage holding a MessageGroupInfo. Anyone holding an epoch's
// ticket can read every message sent in that epoch.
//
// An Epoch is immutable and safe for concurrent use. It redacts its key
// under every fmt verb and in log/slog.
type Epoch struct {
	_         [0]func() // not comparable with ==; use Equal
	sessionID [SessionIDSize]byte
	number    uint32
	version   uint32
	sec       *epochSecret
}

// epochSecret keeps the key two pointers away from an Epoch: fmt's
// reflection (used for an Epoch held in another struct's unexported field,
// where Format cannot be called) expands at most one pointer level, even
// for a bad verb, and prints deeper pointers as addresses.
type epochSecret struct {
	key *[KeySize]byte
}

// NewEpoch returns epoch 0 of session sessionID with a fresh key read from
// random (crypto/rand when nil): what virgil-crypto's generateGroupSession
// starts a session with.
func NewEpoch(random io.Reader, sessionID [SessionIDSize]byte) (*Epoch, error) {
	return newEpoch(random, sessionID, 0)
}

func newEpoch(random io.Reader, sessionID [SessionIDSize]byte, number uint32) (*Epoch, error) {
	if random == nil {
		random = rand.Reader
	}
	key := new([KeySize]byte)
	if _, err := io.ReadFull(random, key[:]); err != nil {
		return nil, fmt.Errorf("groupsession: reading random epoch key: %w", err)
	}
	return &Epoch{sessionID: sessionID, number: number, sec: &epochSecret{key}}, nil
}

// NewEpochWithKey returns the epoch of the given session, number and key
// (for tests and for stores that keep epochs in another form).
func NewEpochWithKey(sessionID [SessionIDSize]byte, number uint32, key [KeySize]byte) *Epoch {
	k := key
	return &Epoch{sessionID: sessionID, number: number, sec: &epochSecret{&k}}
}

// valid reports whether e is a usable epoch (not nil, not the zero Epoch).
func (e *Epoch) valid() bool { return e != nil && e.sec != nil && e.sec.key != nil }

// SessionID returns the epoch's session id.
func (e *Epoch) SessionID() [SessionIDSize]byte { return e.sessionID }

// Number returns the epoch number.
func (e *Epoch) Number() uint32 { return e.number }

// Version returns the version field of the ticket the epoch was parsed
// from. It is 0 in everything virgil-crypto and this package write (see
// the package documentation); any value is accepted when parsing and kept
// so that Marshal reproduces the input.
func (e *Epoch) Version() uint32 { return e.version }

// Equal reports whether e and x are the same epoch of the same session
// with the same key (compared in constant time) and version.
func (e *Epoch) Equal(x *Epoch) bool {
	if !e.valid() || !x.valid() {
		return e == x
	}
	return e.sessionID == x.sessionID && e.number == x.number && e.version == x.version &&
		subtle.ConstantTimeCompare(e.sec.key[:], x.sec.key[:]) == 1
}

// Marshal returns the epoch ticket: GroupMessage{version, group_info:
// MessageGroupInfo{session_id, epoch, key}}, 74 bytes for epochs below 128.
// The result holds the epoch key: it is a secret. The zero Epoch marshals
// to nil.
func (e *Epoch) Marshal() []byte {
	if !e.valid() {
		return nil
	}
	infoLen := bytesFieldLen(SessionIDSize) + uint32FieldLen(e.number) + bytesFieldLen(KeySize)
	b := make([]byte, 0, uint32FieldLen(e.version)+bytesFieldLen(infoLen))
	b = appendUint32Field(b, fieldVersion, e.version)
	b = appendTag(b, fieldGroupInfo, wireBytes)
	b = appendVarint(b, uint64(infoLen))
	b = appendBytesField(b, fieldSessionID, e.sessionID[:])
	b = appendUint32Field(b, fieldEpoch, e.number)
	return appendBytesField(b, fieldKey, e.sec.key[:])
}

// ParseEpoch parses an epoch ticket. It fails with a [*ParseError] on
// anything but the canonical encoding of a GroupMessage holding a
// MessageGroupInfo (a regular message included); errors never contain
// input bytes.
func ParseEpoch(ticket []byte) (*Epoch, error) {
	d, err := decodeGroupMessage(ticket)
	if err != nil {
		return nil, err
	}
	if d.info == nil {
		return nil, parseErrorf("epoch ticket", "is a regular group message, not a ticket")
	}
	var v [3]fieldValue
	if err := parseFields("epoch ticket", d.info.bytes, groupInfoSpecs, v[:]); err != nil {
		return nil, err
	}
	e := &Epoch{number: v[1].u32, version: d.version, sec: &epochSecret{new([KeySize]byte)}}
	copy(e.sessionID[:], v[0].bytes)
	copy(e.sec.key[:], v[2].bytes)
	return e, nil
}

func (e *Epoch) String() string {
	return "groupsession.Epoch(" + hex.EncodeToString(e.sessionID[:4]) + "… #" + strconv.FormatUint(uint64(e.number), 10) + ", key REDACTED)"
}

// Format implements fmt.Formatter: every verb prints the session id
// prefix and the epoch number, never the key.
func (e Epoch) Format(f fmt.State, verb rune) {
	io.WriteString(f, e.String())
}

// LogValue implements slog.LogValuer, without the key.
func (e *Epoch) LogValue() slog.Value {
	return slog.StringValue(e.String())
}
