package streamenc

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors of a message that could not be opened. They are found in
// [Message.Err] (always inside an [*OpenError]) and returned by
// [Channel.Open]; match them with [errors.Is]. The e3 error behind one, if
// any, is wrapped too: errors.Is(err, e3.ErrNotRecipient) also works. A
// device without the private key gets e3.ErrNoLocalKey instead (see
// [OpenError]).
var (
	// ErrNotSealed reports a message that carries no ciphertext: sent in
	// clear (by a client without encryption, or a system message). Its
	// text is in Message.Raw only; Message.Text stays empty, since nothing
	// vouches for it.
	ErrNotSealed = errors.New("streamenc: message is not sealed (sent in clear)")

	// ErrNotRecipient reports a sealed message that has no entry for this
	// participant's key: sealed for others (sent before this participant
	// joined the channel, or by a client that did not include it), or for
	// a key this participant has since rotated away. It wraps
	// e3.ErrNotRecipient.
	ErrNotRecipient = errors.New("streamenc: message is not sealed for this participant")

	// ErrTampered reports a sealed message that failed authentication: its
	// ciphertext was altered or truncated, it was not signed by the user
	// Stream names as its author, or its sealed parts do not belong
	// together (parts of different messages, or a message moved to another
	// channel or given another id). It wraps e3.ErrAuthFailed when the
	// cryptography failed.
	ErrTampered = errors.New("streamenc: message failed authentication (altered, or not from its stated sender)")

	// ErrMalformed reports a message marked as sealed whose layout cannot
	// be read: a damaged or unknown marker, ciphertext that is not base64
	// or not a Virgil ciphertext, or a sealed payload that is not what
	// this package writes.
	ErrMalformed = errors.New("streamenc: malformed sealed message")

	// ErrUnsupportedVersion reports a sealed message in a layout version
	// newer than this package reads. It also matches ErrMalformed.
	ErrUnsupportedVersion = &chainedError{msg: "streamenc: sealed message in an unsupported layout version (upgrade e3go)", parent: ErrMalformed}

	// ErrUnknownSender reports a message whose author has no usable card:
	// no author at all, an author that never registered with Virgil (or
	// unregistered), or a card lookup that failed (the lookup's error is
	// wrapped: a network error may be retried).
	ErrUnknownSender = errors.New("streamenc: cannot find the sender's card")

	// ErrGroupNoAccess reports a message sealed in a group session this
	// participant cannot read: it is a member of the Stream channel but
	// the group's initiator has not added it yet (SyncGroup), it was
	// removed before the message's epoch, or the group could not be
	// fetched (the e3 error is wrapped: e3.ErrGroupNoAccess,
	// e3.ErrGroupOutdated or e3.ErrUnknownEpoch say which, a network error
	// may be retried). It also matches ErrNotRecipient: like a message
	// sealed for others, it is not for this participant (yet). A send by a
	// participant the initiator has not added fails with it too.
	ErrGroupNoAccess = &chainedError{msg: "streamenc: message sealed in a group this participant cannot read (not added by the initiator yet, or removed)", parent: ErrNotRecipient}
)

// Errors of sending, editing and the Channel's configuration.
var (
	// ErrTooLong reports a message that does not fit Stream's limits once
	// sealed; it is never truncated. The error is a *TooLongError saying
	// which limit and by how much.
	ErrTooLong = errors.New("streamenc: sealed message too long for Stream")

	// ErrSenderMismatch reports a send or edit as a Stream user other than
	// the e3.Client's identity: the signature would name another user than
	// Stream does, and every recipient would reject the message.
	ErrSenderMismatch = errors.New("streamenc: the Stream user must be the e3.Client's identity")

	// ErrNotAuthor reports an edit of a message the editing participant
	// did not write (or could not open: the error wraps why).
	ErrNotAuthor = errors.New("streamenc: only the author of a sealed message can edit it")

	// ErrNoStreamClient reports a call that needs the stream-chat-go
	// Client (message edits, deletes and search are Client calls in
	// stream-chat-go v6, and a stream.Channel does not expose its Client):
	// set ChannelOptions.StreamClient.
	ErrNoStreamClient = errors.New("streamenc: ChannelOptions.StreamClient is needed for this call")

	// ErrNotFound reports a message id that Stream does not know in this
	// channel.
	ErrNotFound = errors.New("streamenc: message not found in the channel")

	// ErrNoGroup reports a group operation (Group, SyncGroup, a send with
	// SealGroup) on a channel that has not opted in to a group session
	// (no "e3go_group" field) when no ChannelOptions.GroupInitiator says
	// whose group to use: the initiator calls EnableGroup first.
	ErrNoGroup = errors.New("streamenc: the channel has no group session (its initiator calls EnableGroup)")

	// ErrGroupInitiatorMismatch reports a channel whose "e3go_group" field
	// names another initiator than ChannelOptions.GroupInitiator pins, or
	// an EnableGroup by someone other than the initiator the field names.
	ErrGroupInitiatorMismatch = errors.New("streamenc: the channel's group has another initiator")
)

// chainedError is a sentinel that also matches a parent sentinel.
type chainedError struct {
	msg    string
	parent error
}

func (e *chainedError) Error() string { return e.msg }
func (e *chainedError) Unwrap() error { return e.parent }

// OpenError reports why one message could not be opened. It is what
// Message.Err holds; Err matches one of ErrNotSealed, ErrNotRecipient
// (ErrGroupNoAccess for group messages), ErrTampered, ErrMalformed or
// ErrUnknownSender (and the e3 error behind it), which describe the
// message.
//
// One condition describes this device instead: when opening needs the
// participant's private key and the e3.Client has none (a new device
// before e3.Client.RestorePrivateKey, or after Cleanup), Err matches
// e3.ErrNoLocalKey and none of the reasons above. Every sealed message
// then fails the same way until the key is restored; a message that is
// not sealed is still ErrNotSealed, and one whose author has no card
// still ErrUnknownSender.
type OpenError struct {
	MessageID string // Stream's message id
	SenderID  string // the author as Stream names it (not verified)
	Err       error
}

// Error returns "streamenc: message <id> from <sender>: <reason>".
func (e *OpenError) Error() string {
	return "streamenc: message " + strconv.Quote(e.MessageID) + " from " + strconv.Quote(e.SenderID) + ": " + trimPrefix(e.Err.Error())
}

// Unwrap returns the reason.
func (e *OpenError) Unwrap() error { return e.Err }

// TooLongError reports a sealed message over one of Stream's limits.
// It matches ErrTooLong.
type TooLongError struct {
	// What is over the limit: "text" (the base64 ciphertext in the text
	// field, counted in characters) or "custom data" (the JSON of the
	// message's custom fields, in bytes, which hold the sealed payload of
	// the push-safe layout and the sealed extras).
	What       string
	Size       int  // the sealed size (for a text over the limit before sealing, its length in bytes)
	Limit      int  // Stream's limit
	Recipients int  // the number of keys the message was sealed for (1 for a group)
	Group      bool // sealed in the channel's group session, whatever its size
}

// Error describes the overflow.
func (e *TooLongError) Error() string {
	to := fmt.Sprintf("for %d keys", e.Recipients)
	if e.Group {
		to = "for the group"
	}
	return fmt.Sprintf("streamenc: sealed message too long for Stream: %s is %d once sealed %s, the limit is %d (send the content as a file attachment instead)",
		e.What, e.Size, to, e.Limit)
}

// Is reports whether target is ErrTooLong.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// trimPrefix drops a leading "streamenc: " so wrapped reasons read well.
func trimPrefix(s string) string {
	const p = "streamenc: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
