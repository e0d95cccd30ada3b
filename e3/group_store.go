package e3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/e3go/e3go/internal/groupsession"
	"github.com/e3go/e3go/keyring"
)

// Local group storage, in the Client's keyring, as e3kit keeps it in its
// group LevelDB: every value is signThenEncrypt(JSON, own key, own key), so
// that only the local private key reads it back, and tickets are stored one
// per epoch. Entry names (printable ASCII, at most 245 bytes):
//
//	%group/<identity>/<session id hex>                          the group record
//	%group/<identity>/<session id hex>!<base36(len(n))>!<n>     the ticket of epoch n
//
// <identity> is the identity escaped as for its private key (see
// keyringName), or "~" and 32 hex digits of its SHA-256 when that is longer
// than 160 bytes. No private-key entry starts with "%g" (a key entry's "%"
// is always "%20" or "%25", or starts "%pending"). The ticket suffix is
// e3kit's LevelDB key, so that names of one group sort by epoch.
//
// The record lists every stored epoch; it is written after the tickets it
// lists, so an interrupted write leaves either the old record (and unlisted
// tickets, overwritten or deleted later) or the new one.

const (
	groupEntryPrefix   = "%group/"
	maxIdentityInName  = 160
	kindGroup          = "e3.group"
	kindGroupTicket    = "e3.group-ticket"
	metaGroupSession   = "session_id"
	metaGroupEpoch     = "epoch"
	groupRecordVersion = 1
)

// groupNames returns the keyring name prefix of identity's groups.
func groupNames(identity string) string {
	name := keyringName(identity)
	if len(name) > maxIdentityInName {
		h := sha256.Sum256([]byte(identity))
		name = "~" + hex.EncodeToString(h[:16])
	}
	return groupEntryPrefix + name + "/"
}

// groupTicketSuffix is e3kit's ticket key suffix: "!<base36(len)>!<n>".
func groupTicketSuffix(epoch uint32) string {
	n := strconv.FormatUint(uint64(epoch), 10)
	return "!" + strconv.FormatInt(int64(len(n)), 36) + "!" + n
}

// groupRecord is the stored state of a group (the JSON that is encrypted).
type groupRecord struct {
	Version            int      `json:"v"`
	GroupID            string   `json:"group_id"`
	SessionID          string   `json:"session_id"`
	Initiator          string   `json:"initiator"`
	Participants       []string `json:"participants"`
	Epochs             []uint32 `json:"epochs"`
	MaxParticipants    int      `json:"max_participants"`
	PendingRevocations []string `json:"pending_revocations,omitempty"`
}

// ticketRecord is a stored ticket, in e3kit's groupSessionMessage shape
// (data is the base64 of the serialized epoch ticket).
type ticketRecord struct {
	Message struct {
		EpochNumber uint32 `json:"epochNumber"`
		SessionID   string `json:"sessionId"`
		Data        []byte `json:"data"`
	} `json:"groupSessionMessage"`
}

// decodeStrictJSON decodes exactly one JSON value with no unknown fields.
func decodeStrictJSON(what string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &ParseError{What: what, Err: errors.New("invalid JSON or unknown field")}
	}
	if dec.More() {
		return &ParseError{What: what, Err: errors.New("trailing data")}
	}
	return nil
}

// parseGroupRecord parses and checks a decrypted group record. groupID is
// the id it must be for.
func parseGroupRecord(data []byte, groupID string) (*groupRecord, error) {
	const what = "local group record"
	var r groupRecord
	if err := decodeStrictJSON(what, data, &r); err != nil {
		return nil, err
	}
	sid := groupsession.SessionID([]byte(groupID))
	switch {
	case r.Version != groupRecordVersion:
		return nil, &ParseError{What: what, Err: fmt.Errorf("version %d (this e3go reads version %d)", r.Version, groupRecordVersion)}
	case r.GroupID != groupID || r.SessionID != hex.EncodeToString(sid[:]):
		return nil, &ParseError{What: what, Err: errors.New("is another group's")}
	case checkIdentity(r.Initiator) != nil:
		return nil, &ParseError{What: what, Err: errors.New("invalid initiator")}
	case len(r.Participants) < 1 || len(r.Participants) > MaxGroupParticipants:
		return nil, &ParseError{What: what, Err: errors.New("participant count out of range")}
	case len(r.Epochs) == 0:
		return nil, &ParseError{What: what, Err: errors.New("no epochs")}
	case r.MaxParticipants < 1 || r.MaxParticipants > MaxGroupParticipants:
		return nil, &ParseError{What: what, Err: errors.New("participant limit out of range")}
	}
	for _, list := range [][]string{r.Participants, r.PendingRevocations} {
		seen := make(map[string]bool, len(list))
		for _, id := range list {
			if checkIdentity(id) != nil || seen[id] {
				return nil, &ParseError{What: what, Err: errors.New("invalid or repeated identity")}
			}
			seen[id] = true
		}
	}
	for i := 1; i < len(r.Epochs); i++ {
		if r.Epochs[i] <= r.Epochs[i-1] {
			return nil, &ParseError{What: what, Err: errors.New("epochs not strictly ascending")}
		}
	}
	return &r, nil
}

// parseTicketRecord parses a decrypted ticket record and returns its
// epoch, which must be epoch of session sid.
func parseTicketRecord(data []byte, sid [groupsession.SessionIDSize]byte, epoch uint32) (*groupsession.Epoch, error) {
	const what = "local group ticket"
	var r ticketRecord
	if err := decodeStrictJSON(what, data, &r); err != nil {
		return nil, err
	}
	defer clear(r.Message.Data)
	if r.Message.EpochNumber != epoch || r.Message.SessionID != hex.EncodeToString(sid[:]) {
		return nil, &ParseError{What: what, Err: errors.New("is another epoch's or group's")}
	}
	e, err := groupsession.ParseEpoch(r.Message.Data)
	if err != nil {
		return nil, groupError(err)
	}
	if e.SessionID() != sid || e.Number() != epoch {
		return nil, &ParseError{What: what, Err: errors.New("ticket does not match its record")}
	}
	return e, nil
}

func marshalTicketRecord(e *groupsession.Epoch) []byte {
	var r ticketRecord
	sid := e.SessionID()
	r.Message.EpochNumber = e.Number()
	r.Message.SessionID = hex.EncodeToString(sid[:])
	r.Message.Data = e.Marshal()
	b, err := json.Marshal(&r)
	clear(r.Message.Data)
	if err != nil {
		panic("e3: marshalling a ticket record: " + err.Error()) // cannot happen: plain fields
	}
	return b
}

// sealLocal encrypts a local record for the own key, signed by it.
func sealLocal(lk *localKey, data []byte) ([]byte, error) {
	return SignThenEncrypt(data, lk.priv, lk.pub)
}

// openLocal decrypts a local record. A record made for another key (the
// private key was rotated or replaced since) fails with ErrNotRecipient.
func openLocal(lk *localKey, data []byte) ([]byte, error) {
	return DecryptThenVerify(data, lk.priv, lk.pub)
}

// groupLocalNames returns the keyring names of the group record and of the
// ticket of epoch n.
type groupLocalNames struct{ base string }

func (c *Client) groupLocal(sidHex string) groupLocalNames {
	return groupLocalNames{base: groupNames(c.identity) + sidHex}
}

func (n groupLocalNames) record() string             { return n.base }
func (n groupLocalNames) ticket(epoch uint32) string { return n.base + groupTicketSuffix(epoch) }

// saveGroupLocal stores the tickets, then the record.
func (c *Client) saveGroupLocal(ctx context.Context, lk *localKey, g *Group, rec *groupRecord, tickets []*groupsession.Epoch) error {
	names := c.groupLocal(g.path)
	for _, e := range tickets {
		plain := marshalTicketRecord(e)
		ct, err := sealLocal(lk, plain)
		clear(plain)
		if err != nil {
			return err
		}
		meta := map[string]string{metaKind: kindGroupTicket, metaIdentity: c.identity, metaGroupSession: g.path, metaGroupEpoch: strconv.FormatUint(uint64(e.Number()), 10)}
		if err := c.ring.Put(ctx, names.ticket(e.Number()), ct, meta); err != nil {
			return fmt.Errorf("e3: storing the group's ticket of epoch %d in the keyring: %w", e.Number(), err)
		}
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("e3: encoding the group record: %w", err)
	}
	ct, err := sealLocal(lk, plain)
	if err != nil {
		return err
	}
	meta := map[string]string{metaKind: kindGroup, metaIdentity: c.identity, metaGroupSession: g.path}
	if err := c.ring.Put(ctx, names.record(), ct, meta); err != nil {
		return fmt.Errorf("e3: storing the group in the keyring: %w", err)
	}
	return nil
}

// loadGroupRecord reads the group record of id; ErrGroupNotFound (wrapped)
// when there is none or it was stored for another key.
func (c *Client) loadGroupRecord(ctx context.Context, lk *localKey, id, sidHex string) (*groupRecord, error) {
	e, err := c.ring.Load(ctx, c.groupLocal(sidHex).record())
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrGroupNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("e3: reading the group from the keyring: %w", err)
	}
	plain, err := openLocal(lk, e.Data)
	if errors.Is(err, ErrNotRecipient) {
		return nil, fmt.Errorf("%w: it was stored for another private key (rotated or replaced since)", ErrGroupNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("e3: the group stored in the keyring is damaged or was altered (DeleteGroup, then LoadGroup): %w", err)
	}
	defer clear(plain)
	return parseGroupRecord(plain, id)
}

// loadGroupTicket reads the stored ticket of epoch n; (nil, nil) if there
// is none.
func (c *Client) loadGroupTicket(ctx context.Context, lk *localKey, g *Group, n uint32) (*groupsession.Epoch, error) {
	e, err := c.ring.Load(ctx, c.groupLocal(g.path).ticket(n))
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("e3: reading the group's ticket of epoch %d from the keyring: %w", n, err)
	}
	plain, err := openLocal(lk, e.Data)
	if err != nil {
		return nil, fmt.Errorf("e3: the group's ticket of epoch %d in the keyring is unreadable (call LoadGroup): %w", n, err)
	}
	defer clear(plain)
	return parseTicketRecord(plain, g.sid, n)
}

// deleteGroupLocal deletes the group's record and every ticket stored
// under its names (listed or not).
func (c *Client) deleteGroupLocal(ctx context.Context, sidHex string) error {
	names := c.groupLocal(sidHex)
	infos, listErr := c.ring.List(ctx)
	if listErr != nil && len(infos) == 0 {
		return fmt.Errorf("e3: listing the keyring: %w", listErr)
	}
	// The record first: without it the group is gone, whatever tickets
	// a failure leaves behind.
	if err := c.deleteEntry(ctx, names.record()); err != nil {
		return err
	}
	for _, in := range infos {
		if strings.HasPrefix(in.Name, names.base+"!") {
			if err := c.deleteEntry(ctx, in.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkGroupID checks a group id as e3kit and virgil-crypto do, and
// returns its session id.
func checkGroupID(id string) ([groupsession.SessionIDSize]byte, error) {
	if len(id) < MinGroupIDSize || !utf8.ValidString(id) {
		return [groupsession.SessionIDSize]byte{}, fmt.Errorf("%w (got %d bytes)", ErrInvalidGroupID, len(id))
	}
	return groupsession.SessionID([]byte(id)), nil
}
