package e3

import (
	"errors"
	"strconv"
	"strings"

	"github.com/e3go/e3go/internal/groupsession"
)

// Errors of groups. Like the Client's, each names a state the caller can act
// on and says what to do next; match them with [errors.Is]. The e3kit error
// each corresponds to is given in parentheses: where e3kit fails with a
// Keyknox or WASM error, e3go names the limit instead.
var (
	// ErrInvalidGroupID reports a group id shorter than 10 bytes
	// ([MinGroupIDSize]) or not valid UTF-8: e3kit and virgil-crypto refuse
	// those (virgil-crypto's "groupId" validation error), so no such group
	// can exist.
	ErrInvalidGroupID = errors.New("e3: a group id must be valid UTF-8 of at least 10 bytes")

	// ErrGroupExists reports that the Client's identity already has a group
	// with this id in the cloud (GroupTicketAlreadyExistsError: Keyknox
	// answered 50010), or that this device already holds a group with this
	// id. LoadGroup or GetGroup it, or DeleteGroup it first.
	ErrGroupExists = errors.New("e3: a group with this id already exists (LoadGroup or GetGroup it, or DeleteGroup it first)")

	// ErrGroupNotFound reports that this device holds no group with this
	// id (e3kit's getGroup returns null; LocalGroupNotFound), or holds it
	// for another private key (after RotatePrivateKey or a restore of
	// another key): LoadGroup it from the cloud.
	ErrGroupNotFound = errors.New("e3: group not found on this device (call LoadGroup)")

	// ErrGroupNoAccess reports that the initiator's cloud holds no ticket
	// of the group that this identity can read (GroupError NoAccess and
	// RemoteGroupNotFound): it was never added, it was removed, the group
	// was deleted, or the initiator is not who the caller says. LoadGroup
	// and Update delete the group from this device when they get it, as
	// e3kit does.
	ErrGroupNoAccess = errors.New("e3: no access to the group (not a participant, removed, or the group was deleted)")

	// ErrNotGroupInitiator reports a change of participants (Add, Remove,
	// ReAdd) by someone other than the group's initiator (PermissionDenied):
	// in e3kit's protocol only the initiator can change them, because the
	// tickets live in the initiator's Keyknox space.
	ErrNotGroupInitiator = errors.New("e3: only the group's initiator can change its participants")

	// ErrTooManyParticipants reports a group that would have fewer than 1
	// or more participants (the initiator included) than its limit
	// (InvalidParticipantsCount, InvalidChangeParticipants): 100 for groups
	// e3kit must be able to read ([E3kitMaxGroupParticipants]), at most
	// [MaxGroupParticipants] with GroupOptions.MaxParticipants. The error
	// is a *ParticipantCountError.
	ErrTooManyParticipants = errors.New("e3: too many group participants")

	// ErrAlreadyParticipant reports an Add whose cards are all participants
	// already (ParticipantAlreadyAdded). To give a participant who rotated
	// their key access again, use ReAdd.
	ErrAlreadyParticipant = errors.New("e3: already a participant of the group (to give a new card of theirs access, call ReAdd)")

	// ErrNotParticipant reports a Remove or ReAdd of someone who is not a
	// participant (InvalidChangeParticipants "Attempted to remove
	// non-existent group participants"), or a Remove of the initiator
	// (delete the group instead).
	ErrNotParticipant = errors.New("e3: not a participant of the group")

	// ErrGroupOutdated reports a message encrypted in a newer epoch than
	// the group holds (GroupIsOutdated): the initiator removed someone
	// since this device last loaded the group. Call Update, then decrypt
	// again. The error is a *GroupEpochError.
	ErrGroupOutdated = errors.New("e3: the group is outdated (call Update, then decrypt again)")

	// ErrUnknownEpoch reports a message from an epoch this device never
	// held (older than every epoch it has, or missing in between): call
	// Update (or LoadGroup); if the epoch is still unknown, this identity
	// never had access to it. The error is a *GroupEpochError.
	ErrUnknownEpoch = errors.New("e3: the message's epoch is unknown to this device (call Update)")

	// ErrNotFromGroup reports a message of another group
	// (MessageNotFromThisGroup), or a ticket that is not one of this
	// group's.
	ErrNotFromGroup = errors.New("e3: the message belongs to another group")

	// ErrMessageTooLarge reports a plaintext over [MaxGroupPlaintextSize]
	// bytes (29915): larger group messages could not be decrypted by
	// virgil-crypto (whose own limit, 30000, lets it make messages it then
	// refuses). Send larger data as an encrypted attachment.
	ErrMessageTooLarge = errors.New("e3: group message too large")

	// ErrKeyknoxValueTooLarge reports a Keyknox entry whose meta would
	// exceed [KeyknoxMaxMetaSize] even for a single recipient. Group
	// tickets never reach it: they are pushed in chunks of recipients that
	// fit (see the package documentation's Groups section).
	ErrKeyknoxValueTooLarge = errors.New("e3: Keyknox value over the service's size limit")
)

// ParticipantCountError reports a group size outside 1..Max. It matches
// ErrTooManyParticipants.
type ParticipantCountError struct {
	Count int // participants the group would have, the initiator included
	Max   int // the group's limit
}

// Error returns "e3: too many group participants: 101 (at most 100 ...)".
func (e *ParticipantCountError) Error() string {
	s := "e3: too many group participants: " + strconv.Itoa(e.Count) + " (at most " + strconv.Itoa(e.Max)
	if e.Max == E3kitMaxGroupParticipants {
		s += ", e3kit's limit; GroupOptions.MaxParticipants raises it for groups only e3go reads"
	}
	return s + ")"
}

// Is reports whether target is ErrTooManyParticipants.
func (e *ParticipantCountError) Is(target error) bool { return target == ErrTooManyParticipants }

// GroupEpochError reports a message whose epoch the group does not hold.
// Oldest and Newest are the epochs this device holds. It matches
// ErrGroupOutdated when Epoch is newer than Newest, ErrUnknownEpoch
// otherwise.
type GroupEpochError struct {
	Epoch          uint32
	Oldest, Newest uint32
}

// Outdated reports whether the message is newer than the group (Update
// fixes it).
func (e *GroupEpochError) Outdated() bool { return e.Epoch > e.Newest }

// Error returns a message with the epochs and what to do.
func (e *GroupEpochError) Error() string {
	held := " (this device holds epochs " + strconv.FormatUint(uint64(e.Oldest), 10) + ".." + strconv.FormatUint(uint64(e.Newest), 10) + ")"
	if e.Outdated() {
		return "e3: the group is outdated: the message is from epoch " + strconv.FormatUint(uint64(e.Epoch), 10) + held + " (call Update, then decrypt again)"
	}
	return "e3: the message's epoch " + strconv.FormatUint(uint64(e.Epoch), 10) + " is unknown to this device" + held + " (call Update)"
}

// Is reports whether target is ErrGroupOutdated or ErrUnknownEpoch,
// whichever applies.
func (e *GroupEpochError) Is(target error) bool {
	if e.Outdated() {
		return target == ErrGroupOutdated
	}
	return target == ErrUnknownEpoch
}

// groupError maps an error of internal/groupsession onto this package's:
// ErrAuthFailed (tag or signature), ErrMalformed (a *ParseError),
// ErrNotFromGroup, *GroupEpochError, ErrMessageTooLarge, ErrKeyType.
func groupError(err error) error {
	if err == nil {
		return nil
	}
	var pe *groupsession.ParseError
	var ue *groupsession.UnknownEpochError
	switch {
	case errors.Is(err, groupsession.ErrBadSignature):
		return errGroupBadSignature
	case errors.Is(err, groupsession.ErrAuthFailed):
		return errGroupAuthFailed
	case errors.As(err, &pe):
		what := pe.What
		if !strings.HasPrefix(what, "group ") {
			what = "group " + what
		}
		return &ParseError{What: what, Err: pe.Err}
	case errors.As(err, &ue):
		return &GroupEpochError{Epoch: ue.Epoch, Oldest: ue.Oldest, Newest: ue.Newest}
	case errors.Is(err, groupsession.ErrWrongSession):
		return ErrNotFromGroup
	case errors.Is(err, groupsession.ErrTooLarge):
		return ErrMessageTooLarge
	case errors.Is(err, groupsession.ErrInvalidKey):
		return ErrKeyType
	case errors.Is(err, groupsession.ErrGroupIDTooShort):
		return ErrInvalidGroupID
	}
	return err
}

// The group decryption failures: both match ErrAuthFailed.
var (
	errGroupAuthFailed   error = &chainedError{"e3: group message authentication failed (altered, truncated, or not made with this group's key)", ErrAuthFailed}
	errGroupBadSignature error = &chainedError{"e3: group message not signed by the sender's key (sent by someone else, or the sender rotated their key: find them again)", ErrAuthFailed}
)
