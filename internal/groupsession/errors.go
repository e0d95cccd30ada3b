package groupsession

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error of this package matches one of them with
// [errors.Is]; parse failures are [*ParseError] values (which match
// [ErrMalformed]), unknown epochs are [*UnknownEpochError] values (which
// match [ErrUnknownEpoch]).
var (
	// ErrMalformed reports structurally invalid input: bad protobuf, a
	// missing or repeated field, a wrong field length, both or neither of
	// ticket and regular message, or (after authentication) bad padding.
	// It is always returned wrapped in a [*ParseError].
	ErrMalformed = errors.New("groupsession: malformed input")

	// ErrTooLarge reports a plaintext over [MaxPlaintextSize] bytes (from
	// Encrypt), or a serialized message over [MaxMessageSize] bytes (from
	// the parsers, wrapped in a [*ParseError], so it matches ErrMalformed
	// too).
	ErrTooLarge = errors.New("groupsession: too large")

	// ErrAuthFailed reports that the AES-GCM tag did not verify: the
	// message was altered, truncated, or made with another key for this
	// session id and epoch (for instance by someone who is not a member).
	// ErrBadSignature matches it too.
	ErrAuthFailed = errors.New("groupsession: message authentication failed")

	// ErrBadSignature reports that the message decrypted under the epoch
	// key but its Ed25519 signature does not verify with the sender key
	// given: it was sent by another member (or the signature was altered).
	// It matches ErrAuthFailed too.
	ErrBadSignature error = &chainedError{"groupsession: signature does not verify with the sender's key", ErrAuthFailed}

	// ErrWrongSession reports a message or ticket whose session id is not
	// the session's: it belongs to another group.
	ErrWrongSession = errors.New("groupsession: message or ticket belongs to another group session")

	// ErrUnknownEpoch reports a message whose epoch the session does not
	// hold. It is returned as an [*UnknownEpochError] carrying the numbers.
	ErrUnknownEpoch = errors.New("groupsession: epoch not in the session")

	// ErrDuplicateEpoch reports a ticket whose epoch the session already
	// holds.
	ErrDuplicateEpoch = errors.New("groupsession: epoch already in the session")

	// ErrNoEpochs reports an operation on a session that holds no epoch.
	ErrNoEpochs = errors.New("groupsession: session holds no epoch")

	// ErrEpochOverflow reports that the newest epoch is 4294967295, so no
	// next epoch exists.
	ErrEpochOverflow = errors.New("groupsession: epoch number overflow")

	// ErrInvalidKey reports an Ed25519 key of the wrong length.
	ErrInvalidKey = errors.New("groupsession: invalid Ed25519 key")

	// ErrGroupIDTooShort reports a group id shorter than [MinGroupIDSize]
	// bytes (virgil-crypto's generateGroupSession refuses those too).
	ErrGroupIDTooShort = errors.New("groupsession: group id shorter than 10 bytes")
)

// chainedError is a sentinel that also matches a more general sentinel.
type chainedError struct {
	msg    string
	parent error
}

func (e *chainedError) Error() string { return e.msg }
func (e *chainedError) Unwrap() error { return e.parent }

// ParseError reports malformed input. What names the structure ("group
// message", "epoch ticket", "regular message", "message header",
// "padding"); Err says what is wrong and never contains input bytes.
// errors.Is(err, ErrMalformed) is true for every *ParseError.
type ParseError struct {
	What string
	Err  error
}

// Error returns "groupsession: malformed <What>: <Err>".
func (e *ParseError) Error() string {
	if e.Err == nil {
		return "groupsession: malformed " + e.What
	}
	return "groupsession: malformed " + e.What + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

func parseErrorf(what, msg string) error {
	return &ParseError{What: what, Err: errors.New(msg)}
}

// UnknownEpochError reports a message whose epoch the session does not
// hold. Oldest and Newest are the session's epoch range: an Epoch below
// Oldest is an old message whose ticket must be fetched (a session keeps
// only the newest [MaxEpochs]); one above Newest means the session is
// outdated (the group has moved on: fetch the new tickets).
// errors.Is(err, ErrUnknownEpoch) is true.
type UnknownEpochError struct {
	Epoch          uint32
	Oldest, Newest uint32
}

// Error returns a message with the three numbers.
func (e *UnknownEpochError) Error() string {
	s := "groupsession: epoch " + strconv.FormatUint(uint64(e.Epoch), 10) + " not in the session (it holds " +
		strconv.FormatUint(uint64(e.Oldest), 10) + ".." + strconv.FormatUint(uint64(e.Newest), 10) + ")"
	switch {
	case e.Epoch > e.Newest:
		s += ": the session is outdated"
	case e.Epoch < e.Oldest:
		s += ": older than the session's epochs"
	}
	return s
}

// Is reports whether target is ErrUnknownEpoch.
func (e *UnknownEpochError) Is(target error) bool { return target == ErrUnknownEpoch }

// IsOutdated reports whether the message is newer than every epoch of the
// session (the session needs the group's newer tickets).
func (e *UnknownEpochError) IsOutdated() bool { return e.Epoch > e.Newest }
