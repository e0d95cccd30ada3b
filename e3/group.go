package e3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/e3go/e3go/internal/groupsession"
)

// Limits of groups. See the package documentation's Groups section for
// where each comes from.
const (
	// MinGroupIDSize is the shortest group id, in bytes (e3kit's and
	// virgil-crypto's).
	MinGroupIDSize = groupsession.MinGroupIDSize

	// E3kitMaxGroupParticipants is e3kit's group size limit, the initiator
	// included: e3kit refuses to create, load or update a group with more
	// participants. It is the default limit of a Group.
	E3kitMaxGroupParticipants = 100

	// MaxGroupParticipants is e3go's group size limit, the initiator
	// included, for groups that opt out of e3kit's limit
	// (GroupOptions.MaxParticipants): only e3go can read such a group once
	// it has more than 100 participants.
	MaxGroupParticipants = 1000

	// MaxGroupPlaintextSize is the largest plaintext Group.Encrypt takes:
	// the largest whose group message virgil-crypto can still decrypt
	// (its own limit, 30000, lets it make 29916..30000-byte messages that
	// it then refuses).
	MaxGroupPlaintextSize = groupsession.MaxPlaintextSize

	// GroupSessionEpochs is the number of newest epochs a Group keeps in
	// memory (e3kit's MAX_EPOCHS_IN_GROUP_SESSION); older ones are read
	// from the keyring when an old message needs them.
	GroupSessionEpochs = groupsession.MaxEpochs

	// KeyknoxMaxMetaSize is the largest Keyknox meta, in base64 characters,
	// that e3go pushes. Virgil's Keyknox refuses metas over "10 KB" (error
	// 50005, e3kit-js#160; the exact rule is not published); 10000 keeps
	// within every reading of it. A ticket's meta grows by 254 bytes (339
	// in base64) per recipient (279 with SHA-256 identifiers), so one push
	// carries the initiator and at most 27 other participants (24 with
	// SHA-256 identifiers); e3go pushes larger groups' tickets in several
	// pushes to the same entry, which e3kit reads like one.
	KeyknoxMaxMetaSize = 10000
)

// GroupOptions are the settings of a group created by
// CreateGroupWithOptions.
type GroupOptions struct {
	// MaxParticipants bounds the group's participants, the initiator
	// included: 0 means E3kitMaxGroupParticipants (100), e3kit's limit;
	// up to MaxGroupParticipants (1000) for groups whose participants all
	// use e3go (e3kit refuses to load or update a group of more than 100).
	// It is kept on this device with the group; see
	// Group.SetMaxParticipants.
	MaxParticipants int
}

// Group is an e3kit group: a group session whose epoch tickets the
// initiator shares with the participants through Keyknox. Every message
// is encrypted once, with the current epoch's key, and signed by its
// sender, whatever the number of participants; removing a participant
// starts a new epoch. Groups made by e3kit 2.5.1 are read here and the
// other way round (see the package documentation's Groups section).
//
// A Group is safe for concurrent use. Encrypt and Decrypt run in parallel
// and send no request; the operations that change the group (Update, Add,
// Remove, ReAdd, SetMaxParticipants) run one at a time per Group. A Client
// hands out one *Group per group id, so every holder sees its changes.
type Group struct {
	c    *Client
	id   string
	sid  [groupsession.SessionIDSize]byte
	path string // hex session id: the group's Keyknox path

	ops chan struct{} // one slot: changes run one at a time

	mu sync.RWMutex
	st *groupState // replaced, never modified, by changes
}

// groupState is a Group's state at one moment.
type groupState struct {
	keyPub       *PublicKey // the local key the state was stored for
	initiator    string
	participants []string // the initiator included
	session      *groupsession.Session
	epochs       []uint32 // every epoch stored on this device, ascending
	max          int
	pending      []string // removed identities whose earlier access is not yet revoked
}

func (st *groupState) record(g *Group) *groupRecord {
	return &groupRecord{
		Version: groupRecordVersion, GroupID: g.id, SessionID: g.path, Initiator: st.initiator,
		Participants: st.participants, Epochs: st.epochs, MaxParticipants: st.max, PendingRevocations: st.pending,
	}
}

// clone returns a copy of st whose slices can be changed.
func (st *groupState) clone() *groupState {
	d := *st
	d.participants = slices.Clone(st.participants)
	d.epochs = slices.Clone(st.epochs)
	d.pending = slices.Clone(st.pending)
	return &d
}

// Group events reported to the AuditSink (see AuditEvent.GroupID).
const (
	// AuditGroupCreate: CreateGroup created a group (GroupID) with this
	// Client's identity as initiator.
	AuditGroupCreate AuditEventType = "group_create"
	// AuditGroupAdd: Group.Add gave a member (Peer, CardID) access to the
	// group and its history; one event per member.
	AuditGroupAdd AuditEventType = "group_add"
	// AuditGroupRemove: Group.Remove took a member (Peer) out of the group
	// (a new epoch without them, their earlier tickets deleted); one event
	// per member.
	AuditGroupRemove AuditEventType = "group_remove"
	// AuditGroupReAdd: Group.ReAdd gave a participant's new card (Peer,
	// CardID) access again.
	AuditGroupReAdd AuditEventType = "group_readd"
	// AuditGroupDelete: DeleteGroup deleted a group (GroupID).
	AuditGroupDelete AuditEventType = "group_delete"
)

// groupRegistry holds the Client's open groups by id.
type groupRegistry struct {
	mu sync.Mutex
	m  map[string]*Group
}

// group returns the open Group of id, making an empty one (no state) if
// there is none.
func (c *Client) group(id string, sid [groupsession.SessionIDSize]byte) *Group {
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	if g := c.groups.m[id]; g != nil {
		return g
	}
	if c.groups.m == nil {
		c.groups.m = make(map[string]*Group)
	}
	g := &Group{c: c, id: id, sid: sid, path: hex.EncodeToString(sid[:]), ops: make(chan struct{}, 1)}
	c.groups.m[id] = g
	return g
}

// forgetGroup drops g from the open groups and clears its state.
func (c *Client) forgetGroup(g *Group) {
	c.groups.mu.Lock()
	if c.groups.m[g.id] == g {
		delete(c.groups.m, g.id)
	}
	c.groups.mu.Unlock()
	g.setState(nil)
}

// lock takes the group's change slot, or fails when ctx is done first.
func (g *Group) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case g.ops <- struct{}{}:
		return func() { <-g.ops }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *Group) state() *groupState {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.st
}

func (g *Group) setState(st *groupState) {
	g.mu.Lock()
	g.st = st
	g.mu.Unlock()
}

// current returns the group's state, or ErrGroupNotFound once the group
// was deleted or forgotten.
func (g *Group) current() (*groupState, error) {
	st := g.state()
	if st == nil {
		return nil, fmt.Errorf("%w: %q was deleted on this device", ErrGroupNotFound, g.id)
	}
	return st, nil
}

// ID returns the group id.
func (g *Group) ID() string { return g.id }

// Initiator returns the identity of the group's initiator: its creator,
// the only one who can change its participants.
func (g *Group) Initiator() string {
	if st := g.state(); st != nil {
		return st.initiator
	}
	return ""
}

// Participants returns the group's participants, the initiator included,
// sorted: as of the newest epoch this device holds, and after this
// device's own Add and Remove. Call Update to see the initiator's changes.
func (g *Group) Participants() []string {
	st := g.state()
	if st == nil {
		return nil
	}
	p := slices.Clone(st.participants)
	slices.Sort(p)
	return p
}

// Epoch returns the number of the group's current epoch, the one Encrypt
// uses: 0 for a new group, one more after each Remove.
func (g *Group) Epoch() uint32 {
	if st := g.state(); st != nil {
		return st.session.CurrentEpoch()
	}
	return 0
}

// MaxParticipants returns the group's size limit (see GroupOptions).
func (g *Group) MaxParticipants() int {
	if st := g.state(); st != nil {
		return st.max
	}
	return 0
}

// String returns "e3.Group(<id>, epoch <n>, <k> participants)", without
// keys.
func (g *Group) String() string {
	st := g.state()
	if st == nil {
		return fmt.Sprintf("e3.Group(%q, deleted)", g.id)
	}
	return fmt.Sprintf("e3.Group(%q, epoch %d, %d participants)", g.id, st.session.CurrentEpoch(), len(st.participants))
}

// CreateGroup creates the group id with the Client's identity as
// initiator and the members as the other participants, as e3kit's
// createGroup does: a new group session (epoch 0) whose ticket is stored in
// the Client's Keyknox space for the initiator and every member, and on
// this device. The members' cards come from FindUsers; the own card among
// them is ignored, and so are repeated identities. The group holds at most
// E3kitMaxGroupParticipants (100) participants, the initiator included
// (*ParticipantCountError); CreateGroupWithOptions lifts that for groups
// only e3go reads.
//
// The id must be at least 10 bytes of UTF-8 (ErrInvalidGroupID); e3kit
// recommends the chat channel's id. A group the identity already created
// with this id fails with ErrGroupExists, as does a group of this id
// already on this device. Members load the group with LoadGroup.
func (c *Client) CreateGroup(ctx context.Context, id string, members ...*Card) (*Group, error) {
	return c.CreateGroupWithOptions(ctx, id, GroupOptions{}, members...)
}

// CreateGroupWithOptions is CreateGroup with settings: a MaxParticipants
// above 100 makes a group e3kit cannot read once it has more than 100
// participants.
func (c *Client) CreateGroupWithOptions(ctx context.Context, id string, opts GroupOptions, members ...*Card) (*Group, error) {
	g, err := c.createGroup(ctx, id, opts, members)
	if err != nil {
		err = c.wrap("CreateGroup", err)
	}
	c.audit(ctx, AuditEvent{Type: AuditGroupCreate, GroupID: id, Err: err})
	return g, err
}

func (o GroupOptions) limit() (int, error) {
	switch {
	case o.MaxParticipants == 0:
		return E3kitMaxGroupParticipants, nil
	case o.MaxParticipants < 1 || o.MaxParticipants > MaxGroupParticipants:
		return 0, fmt.Errorf("%w: GroupOptions.MaxParticipants is %d, want 1..%d", ErrTooManyParticipants, o.MaxParticipants, MaxGroupParticipants)
	}
	return o.MaxParticipants, nil
}

func (c *Client) createGroup(ctx context.Context, id string, opts GroupOptions, members []*Card) (*Group, error) {
	sid, err := checkGroupID(id)
	if err != nil {
		return nil, err
	}
	limit, err := opts.limit()
	if err != nil {
		return nil, err
	}
	lk, err := c.localKey()
	if err != nil {
		return nil, err
	}
	recips, err := c.groupRecipients(lk, members, nil)
	if err != nil {
		return nil, err
	}
	if n := 1 + len(recips); n > limit {
		return nil, &ParticipantCountError{Count: n, Max: limit}
	}
	g := c.group(id, sid)
	unlock, err := g.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if g.state() != nil {
		return nil, fmt.Errorf("%w: this device already holds group %q (initiator %s)", ErrGroupExists, id, quoteIdentity(g.Initiator()))
	}
	if _, err := c.ring.Load(ctx, c.groupLocal(g.path).record()); err == nil {
		return nil, fmt.Errorf("%w: this device already holds group %q", ErrGroupExists, id)
	}

	sess, err := groupsession.Generate(nil, []byte(id))
	if err != nil {
		return nil, groupError(err)
	}
	e0 := sess.Epochs()[0]
	if pushed, err := c.pushTicket(ctx, lk, g.path, e0, recips, true, ""); err != nil {
		if pushed == 0 && isKeyknoxConflict(err) {
			return nil, fmt.Errorf("%w: %s already created group %q", ErrGroupExists, quoteIdentity(c.identity), id)
		}
		if pushed > 0 { // a later push failed: take the half-made entry back
			c.rollbackTicket(ctx, g.path, e0.Number())
		}
		return nil, err
	}
	st := &groupState{keyPub: lk.pub, initiator: c.identity, session: sess, epochs: []uint32{0}, max: limit}
	st.participants = append(st.participants, c.identity)
	for _, r := range recips {
		st.participants = append(st.participants, r.identity)
	}
	if err := c.saveGroupLocal(ctx, lk, g, st.record(g), []*groupsession.Epoch{e0}); err != nil {
		return nil, fmt.Errorf("%w (the group was created in the cloud: LoadGroup it with the own card)", err)
	}
	g.setState(st)
	return g, nil
}

// rollbackTicket deletes the ticket entry of epoch n after a failed push.
func (c *Client) rollbackTicket(ctx context.Context, path string, n uint32) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.api.KeyknoxResetV2(ctx, groupRoot, path, strconv.FormatUint(uint64(n), 10), ""); err != nil {
		c.log.WarnContext(ctx, "e3: could not take back a half-stored group ticket", "epoch", n, "error", err)
	}
}

// groupRecipients returns the members as ticket recipients: without the
// own identity, the identities in skip and repeated identities, in the
// order given. Nil and outdated cards are errors.
func (c *Client) groupRecipients(lk *localKey, members []*Card, skip []string) ([]groupRecipient, error) {
	out := make([]groupRecipient, 0, len(members))
	seen := make(map[string]bool, len(members))
	for i, card := range members {
		if card == nil || card.PublicKey == nil {
			return nil, fmt.Errorf("e3: member %d is a nil card", i)
		}
		if card.IsOutdated {
			return nil, fmt.Errorf("%w: card %s of %s", ErrCardOutdated, card.ID, quoteIdentity(card.Identity))
		}
		if err := checkIdentity(card.Identity); err != nil {
			return nil, fmt.Errorf("e3: member %d: %w", i, err)
		}
		if card.Identity == c.identity || seen[card.Identity] || slices.Contains(skip, card.Identity) {
			continue
		}
		seen[card.Identity] = true
		out = append(out, groupRecipient{identity: card.Identity, key: c.pubScheme(card.PublicKey), cardID: card.ID})
	}
	return out, nil
}

// LoadGroup fetches the group id that initiator created, as e3kit's
// loadGroup does: every ticket of it this identity can read, from the
// initiator's Keyknox space, each verified as signed by the initiator's
// key (or a key its card replaced). The participants are those of the
// newest epoch. The group is stored on this device (replacing what was
// there) and can later be opened offline with GetGroup.
//
// It fails with ErrGroupNoAccess (wrapped) when there is nothing this
// identity can read: it was never added, was removed, the group was
// deleted, or initiator is not its creator; the group is then also
// deleted from this device, as e3kit does (unless this device holds a
// group of this id by another initiator, which e3kit would delete too). A
// group of more than
// MaxGroupParticipants participants, or with damaged tickets, fails with
// an error matching ErrTooManyParticipants or ErrMalformed.
func (c *Client) LoadGroup(ctx context.Context, id string, initiator *Card) (*Group, error) {
	g, err := c.loadGroup(ctx, id, initiator)
	return g, c.wrap("LoadGroup", err)
}

func (c *Client) loadGroup(ctx context.Context, id string, initiator *Card) (*Group, error) {
	sid, err := checkGroupID(id)
	if err != nil {
		return nil, err
	}
	if initiator == nil || initiator.PublicKey == nil {
		return nil, errors.New("e3: LoadGroup needs the initiator's card")
	}
	lk, err := c.localKey()
	if err != nil {
		return nil, err
	}
	g := c.group(id, sid)
	unlock, err := g.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := g.fetch(ctx, lk, initiator.Identity, c.signerKeys(lk, initiator)); err != nil {
		return nil, err
	}
	return g, nil
}

// signerKeys returns the keys a ticket of initiator may be signed with:
// its card's and those of the cards it replaced; the own key for the
// Client's identity.
func (c *Client) signerKeys(lk *localKey, initiator *Card) []*PublicKey {
	if initiator.Identity == c.identity {
		return []*PublicKey{lk.pub}
	}
	var keys []*PublicKey
	for card := initiator; card != nil && len(keys) < 16; card = card.PreviousCard {
		if card.PublicKey != nil {
			keys = append(keys, c.pubScheme(card.PublicKey))
		}
	}
	return keys
}

// fetch pulls the group's tickets from initiator's Keyknox space into g's
// state and the keyring. With ErrGroupNoAccess the group is deleted from
// this device. The caller holds g's change slot.
func (g *Group) fetch(ctx context.Context, lk *localKey, initiator string, signers []*PublicKey) error {
	c := g.c
	tickets, err := c.pullGroupTickets(ctx, lk, g, initiator, signers)
	if errors.Is(err, ErrGroupNoAccess) {
		// As e3kit, the group goes from this device too; unless this device
		// holds another initiator's group of this id (e3kit would delete
		// that as well).
		if local := g.localInitiator(ctx, lk); local == "" || local == initiator {
			if derr := c.deleteGroupLocal(ctx, g.path); derr != nil {
				c.log.WarnContext(ctx, "e3: could not delete a group this identity lost access to", "error", derr)
			}
			c.forgetGroup(g)
		}
		return err
	}
	if err != nil {
		return err
	}
	newest := tickets[len(tickets)-1]
	if len(newest.identities) > MaxGroupParticipants {
		return &ParticipantCountError{Count: len(newest.identities), Max: MaxGroupParticipants}
	}

	old := g.state()
	if old != nil && !old.keyPub.Equal(lk.pub) {
		old = nil // stored for another key: start over
	}
	if old == nil {
		// What this device stored before, if it can read it.
		if rec, err := c.loadGroupRecord(ctx, lk, g.id, g.path); err == nil && rec.Initiator == initiator {
			if st, err := g.stateFromRecord(ctx, lk, rec); err == nil {
				old = st
			}
		}
	}
	st := &groupState{keyPub: lk.pub, initiator: initiator, participants: newest.identities, max: E3kitMaxGroupParticipants}
	if len(st.participants) == 0 {
		st.participants = []string{initiator}
	}
	byNumber := make(map[uint32]*groupsession.Epoch, len(tickets))
	var write []*groupsession.Epoch
	recreated := false
	for _, t := range tickets {
		byNumber[t.epoch.Number()] = t.epoch
		if old == nil || old.initiator != initiator {
			continue
		}
		if e, ok := old.session.Epoch(t.epoch.Number()); ok && !e.Equal(t.epoch) {
			recreated = true // deleted and created again with the same id
		}
	}
	if old == nil || old.initiator != initiator || recreated {
		// Whatever this device stored of the group is stale or unreadable.
		if err := c.deleteGroupLocal(ctx, g.path); err != nil {
			return err
		}
	}
	if old != nil && old.initiator == initiator && !recreated {
		st.max = old.max
		st.pending = old.pending
		st.epochs = slices.Clone(old.epochs)
		for _, t := range tickets {
			n := t.epoch.Number()
			if _, held := slices.BinarySearch(old.epochs, n); !held {
				write = append(write, t.epoch)
				st.epochs = append(st.epochs, n)
			} else if e, ok := old.session.Epoch(n); !ok || !e.Equal(t.epoch) {
				write = append(write, t.epoch)
			}
		}
		slices.Sort(st.epochs)
		st.epochs = slices.Compact(st.epochs)
	} else {
		for _, t := range tickets {
			write = append(write, t.epoch)
			st.epochs = append(st.epochs, t.epoch.Number())
		}
	}
	if len(st.participants) > E3kitMaxGroupParticipants {
		st.max = max(st.max, MaxGroupParticipants)
	}
	st.max = max(st.max, len(st.participants))

	window := st.epochs[max(0, len(st.epochs)-GroupSessionEpochs):]
	epochs := make([]*groupsession.Epoch, 0, len(window))
	for _, n := range window {
		e := byNumber[n]
		if e == nil && old != nil {
			e, _ = old.session.Epoch(n)
		}
		if e == nil {
			if e, err = c.loadGroupTicket(ctx, lk, g, n); err != nil {
				return err
			}
			if e == nil {
				return fmt.Errorf("%w: the ticket of epoch %d is missing on this device (DeleteGroup, then LoadGroup)", ErrGroupNotFound, n)
			}
		}
		epochs = append(epochs, e)
	}
	if st.session, err = groupsession.NewSession(epochs...); err != nil {
		return groupError(err)
	}
	if err := c.saveGroupLocal(ctx, lk, g, st.record(g), write); err != nil {
		return err
	}
	g.setState(st)
	return nil
}

// localInitiator returns the initiator of the group this device holds
// under g's id, "" if it holds none it can read.
func (g *Group) localInitiator(ctx context.Context, lk *localKey) string {
	if st := g.state(); st != nil && st.keyPub.Equal(lk.pub) {
		return st.initiator
	}
	if rec, err := g.c.loadGroupRecord(ctx, lk, g.id, g.path); err == nil {
		return rec.Initiator
	}
	return ""
}

// stateFromRecord rebuilds a group's state from its stored record: the
// newest GroupSessionEpochs tickets are read from the keyring.
func (g *Group) stateFromRecord(ctx context.Context, lk *localKey, rec *groupRecord) (*groupState, error) {
	st := &groupState{keyPub: lk.pub, initiator: rec.Initiator, participants: rec.Participants, epochs: rec.Epochs, max: rec.MaxParticipants, pending: rec.PendingRevocations}
	window := st.epochs[max(0, len(st.epochs)-GroupSessionEpochs):]
	epochs := make([]*groupsession.Epoch, 0, len(window))
	for _, n := range window {
		e, err := g.c.loadGroupTicket(ctx, lk, g, n)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("%w: the ticket of epoch %d is missing on this device (DeleteGroup, then LoadGroup)", ErrGroupNotFound, n)
		}
		epochs = append(epochs, e)
	}
	sess, err := groupsession.NewSession(epochs...)
	if err != nil {
		return nil, groupError(err)
	}
	st.session = sess
	return st, nil
}

// GetGroup returns the group id from this device, without any request
// (e3kit's getGroup): the Group already open in this Client, or the one
// stored in the keyring by an earlier CreateGroup or LoadGroup (by this
// or an earlier Client on the same keyring). It fails with
// ErrGroupNotFound (wrapped) when there is none, or when it was stored for
// another private key: call LoadGroup.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	g, err := c.getGroup(ctx, id)
	return g, c.wrap("GetGroup", err)
}

func (c *Client) getGroup(ctx context.Context, id string) (*Group, error) {
	sid, err := checkGroupID(id)
	if err != nil {
		return nil, err
	}
	lk, err := c.localKey()
	if err != nil {
		return nil, err
	}
	g := c.group(id, sid)
	if st := g.state(); st != nil && st.keyPub.Equal(lk.pub) {
		return g, nil
	}
	unlock, err := g.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if st := g.state(); st != nil && st.keyPub.Equal(lk.pub) {
		return g, nil
	}
	rec, err := c.loadGroupRecord(ctx, lk, id, g.path)
	if err == nil {
		var st *groupState
		if st, err = g.stateFromRecord(ctx, lk, rec); err == nil {
			g.setState(st)
			return g, nil
		}
	}
	c.forgetGroup(g)
	return nil, err
}

// DeleteGroup deletes the group id, as e3kit's deleteGroup does: the
// Client's Keyknox entries of the group (which, for its initiator, takes
// every participant's access away; for anyone else there is nothing of
// theirs to delete) and the group on this device. Deleting a group that is
// not on this device is not an error. A Group held by the caller fails
// with ErrGroupNotFound afterwards.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	err := c.deleteGroup(ctx, id)
	if err != nil {
		err = c.wrap("DeleteGroup", err)
	}
	c.audit(ctx, AuditEvent{Type: AuditGroupDelete, GroupID: id, Err: err})
	return err
}

func (c *Client) deleteGroup(ctx context.Context, id string) error {
	sid, err := checkGroupID(id)
	if err != nil {
		return err
	}
	g := c.group(id, sid)
	unlock, err := g.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := c.api.KeyknoxResetV2(ctx, groupRoot, g.path, "", ""); err != nil {
		return fmt.Errorf("e3: deleting the group's tickets from Keyknox: %w", err)
	}
	if err := c.deleteGroupLocal(ctx, g.path); err != nil {
		return err
	}
	c.forgetGroup(g)
	return nil
}

// Update fetches the group's tickets again from the initiator's Keyknox
// space, as e3kit's group.update does: new epochs (after a Remove) and
// the current participants. The initiator's card is looked up with
// FindUser (cached; looked up again once if a ticket does not verify, in
// case the initiator rotated its key).
//
// When this identity was removed or the group deleted, it fails with
// ErrGroupNoAccess and the group is deleted from this device, as e3kit
// does; the Group then fails with ErrGroupNotFound.
func (g *Group) Update(ctx context.Context) error {
	return g.c.wrap("Group.Update", g.update(ctx))
}

func (g *Group) update(ctx context.Context) error {
	c := g.c
	unlock, err := g.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := g.current()
	if err != nil {
		return err
	}
	lk, err := c.localKey()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		var signers []*PublicKey
		if st.initiator == c.identity {
			signers = []*PublicKey{lk.pub}
		} else {
			card, err := c.FindUser(ctx, st.initiator)
			if err != nil {
				return err
			}
			signers = c.signerKeys(lk, card)
		}
		err := g.fetch(ctx, lk, st.initiator, signers)
		if attempt == 0 && st.initiator != c.identity && errors.Is(err, ErrAuthFailed) {
			c.ForgetCachedUsers(st.initiator)
			continue
		}
		return err
	}
}

// SetMaxParticipants changes the group's size limit on this device (see
// GroupOptions.MaxParticipants): n from the current number of
// participants up to MaxGroupParticipants. Above 100, Add can make the
// group unreadable by e3kit.
func (g *Group) SetMaxParticipants(ctx context.Context, n int) error {
	c := g.c
	unlock, err := g.lock(ctx)
	if err != nil {
		return c.wrap("Group.SetMaxParticipants", err)
	}
	defer unlock()
	st, err := g.current()
	if err != nil {
		return c.wrap("Group.SetMaxParticipants", err)
	}
	if n < len(st.participants) || n > MaxGroupParticipants {
		return c.wrap("Group.SetMaxParticipants", fmt.Errorf("%w: a limit of %d for a group of %d (want %d..%d)", ErrTooManyParticipants, n, len(st.participants), len(st.participants), MaxGroupParticipants))
	}
	lk, err := c.localKey()
	if err != nil {
		return c.wrap("Group.SetMaxParticipants", err)
	}
	nst := st.clone()
	nst.max = n
	if err := c.saveGroupLocal(ctx, lk, g, nst.record(g), nil); err != nil {
		return c.wrap("Group.SetMaxParticipants", err)
	}
	g.setState(nst)
	return nil
}

// changeable takes the group's lock for a change of participants and
// returns the state and the local key: only the initiator may make one. On
// success the caller releases the lock with unlock.
func (g *Group) changeable(ctx context.Context) (st *groupState, lk *localKey, unlock func(), err error) {
	release, err := g.lock(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	st, err = g.current()
	if err != nil {
		return nil, nil, nil, err
	}
	if st.initiator != g.c.identity {
		return nil, nil, nil, fmt.Errorf("%w (%s created group %q)", ErrNotGroupInitiator, quoteIdentity(st.initiator), g.id)
	}
	lk, err = g.c.localKey()
	if err != nil {
		return nil, nil, nil, err
	}
	return st, lk, release, nil
}

// reshareEpochs gives recips the group's history, as e3kit's add and
// reAdd do: every epoch's ticket is pulled from the initiator's Keyknox
// space and pushed again for them (those who have a copy keep theirs).
// prepare, if not nil, runs for each epoch key between the pull and the
// push.
func (g *Group) reshareEpochs(ctx context.Context, lk *localKey, recips []groupRecipient, prepare func(ctx context.Context, key string) error) error {
	c := g.c
	keys, err := c.groupEpochKeys(ctx, g.path, c.identity)
	if err != nil {
		return err
	}
	self := []*PublicKey{lk.pub}
	return forEachLimit(ctx, len(keys), true, func(ctx context.Context, i int) error {
		t, err := c.pullTicket(ctx, lk, g, c.identity, keys[i], self)
		if err != nil {
			return err
		}
		if prepare != nil {
			if err := prepare(ctx, keys[i]); err != nil {
				return err
			}
		}
		_, err = c.pushTicket(ctx, lk, g.path, t.epoch, recips, false, t.hash)
		return err
	})
}

// Add gives the members access to the group and to all its history, as
// e3kit's group.add does: every epoch's ticket is pulled from the
// initiator's Keyknox space and pushed again for the new members (the
// existing participants keep their copies). Only the initiator can add
// (ErrNotGroupInitiator). Members that are participants already are
// skipped; if all are, it fails with ErrAlreadyParticipant. The group's
// limit applies (*ParticipantCountError). Each added member is reported to
// the audit sink (AuditGroupAdd).
//
// If it fails part-way, some members may have access to some epochs:
// calling Add again with the same cards completes it.
func (g *Group) Add(ctx context.Context, members ...*Card) error {
	recips, err := g.add(ctx, members)
	err = g.c.wrap("Group.Add", err)
	if err != nil && len(recips) == 0 {
		g.c.audit(ctx, AuditEvent{Type: AuditGroupAdd, GroupID: g.id, Err: err})
	}
	for _, r := range recips {
		g.c.audit(ctx, AuditEvent{Type: AuditGroupAdd, GroupID: g.id, Peer: r.identity, CardID: r.cardID, Err: err})
	}
	return err
}

func (g *Group) add(ctx context.Context, members []*Card) ([]groupRecipient, error) {
	c := g.c
	if len(members) == 0 {
		return nil, errors.New("e3: Add needs at least one card")
	}
	st, lk, unlock, err := g.changeable(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	recips, err := c.groupRecipients(lk, members, st.participants)
	if err != nil {
		return nil, err
	}
	if len(recips) == 0 {
		return nil, ErrAlreadyParticipant
	}
	if n := len(st.participants) + len(recips); n > st.max {
		return nil, &ParticipantCountError{Count: n, Max: st.max}
	}
	if err := g.reshareEpochs(ctx, lk, recips, nil); err != nil {
		return recips, err
	}
	nst := st.clone()
	for _, r := range recips {
		nst.participants = append(nst.participants, r.identity)
		// Back in: no earlier copy of theirs is left to delete.
		nst.pending = slices.DeleteFunc(nst.pending, func(p string) bool { return p == r.identity })
	}
	if err := c.saveGroupLocal(ctx, lk, g, nst.record(g), nil); err != nil {
		return recips, err
	}
	g.setState(nst)
	return recips, nil
}

// Remove takes the members out of the group, as e3kit's group.remove
// does: a new epoch with a fresh random key is stored for the remaining
// participants (whose cards are looked up with FindUsers), then the
// removed members' copies of every earlier ticket are deleted from
// Keyknox. Nothing sent in the new epoch can be read by a removed member;
// what they can still read is in the package documentation's Groups
// section. Only the initiator can remove (ErrNotGroupInitiator), and not
// itself (DeleteGroup instead); members that are not participants are
// skipped, and if none is, it fails with ErrNotParticipant. Remaining
// participants without a card any more (they unregistered) are removed
// too. Each removed member is reported to the audit sink
// (AuditGroupRemove).
//
// If the new epoch was stored but deleting the earlier copies failed, the
// error says so and calling Remove again with the same cards finishes it.
func (g *Group) Remove(ctx context.Context, members ...*Card) error {
	removed, err := g.remove(ctx, members)
	err = g.c.wrap("Group.Remove", err)
	if len(removed) == 0 {
		g.c.audit(ctx, AuditEvent{Type: AuditGroupRemove, GroupID: g.id, Err: err})
	}
	for _, id := range removed {
		g.c.audit(ctx, AuditEvent{Type: AuditGroupRemove, GroupID: g.id, Peer: id, Err: err})
	}
	return err
}

func (g *Group) remove(ctx context.Context, members []*Card) (removed []string, err error) {
	c := g.c
	if len(members) == 0 {
		return nil, errors.New("e3: Remove needs at least one card")
	}
	st, lk, unlock, err := g.changeable(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var drop, revoke []string
	for i, card := range members {
		if card == nil {
			return nil, fmt.Errorf("e3: member %d is a nil card", i)
		}
		switch id := card.Identity; {
		case id == st.initiator:
			return nil, fmt.Errorf("%w: the initiator cannot be removed (DeleteGroup deletes the group)", ErrNotParticipant)
		case slices.Contains(st.participants, id) && !slices.Contains(drop, id):
			drop = append(drop, id)
		case slices.Contains(st.pending, id) && !slices.Contains(revoke, id):
			revoke = append(revoke, id)
		}
	}
	if len(drop) == 0 && len(revoke) == 0 {
		return nil, ErrNotParticipant
	}
	nst := st.clone()
	if len(drop) > 0 {
		var others []string
		for _, id := range st.participants {
			if id != c.identity && !slices.Contains(drop, id) {
				others = append(others, id)
			}
		}
		var recips []groupRecipient
		if len(others) > 0 {
			cards, err := c.FindUsers(ctx, others...)
			var nf *UsersNotFoundError
			if err != nil && !(errors.As(err, &nf) && !errors.Is(err, ErrMultipleCards)) {
				return nil, err
			}
			for _, id := range others {
				if card := cards[id]; card != nil {
					recips = append(recips, groupRecipient{identity: id, key: c.pubScheme(card.PublicKey), cardID: card.ID})
				} else {
					drop = append(drop, id) // unregistered: out too
				}
			}
		}
		next, err := groupsession.NewSession(st.session.Epochs()...)
		if err != nil {
			return nil, groupError(err)
		}
		e, err := next.AddNewEpoch(nil)
		if err != nil {
			return nil, groupError(err)
		}
		if pushed, err := c.pushTicket(ctx, lk, g.path, e, recips, true, ""); err != nil {
			if pushed == 0 && isKeyknoxConflict(err) {
				return nil, fmt.Errorf("%w: epoch %d already exists in the cloud (another device of the initiator changed the group: Update, then Remove again)", ErrGroupOutdated, e.Number())
			}
			if pushed > 0 {
				c.rollbackTicket(ctx, g.path, e.Number())
			}
			return nil, err
		}
		nst.session = next
		nst.epochs = append(nst.epochs, e.Number())
		nst.participants = []string{c.identity}
		for _, r := range recips {
			nst.participants = append(nst.participants, r.identity)
		}
		for _, id := range drop {
			if !slices.Contains(nst.pending, id) {
				nst.pending = append(nst.pending, id)
			}
		}
		err = c.saveGroupLocal(ctx, lk, g, nst.record(g), []*groupsession.Epoch{e})
		g.setState(nst) // the cloud has the new epoch: use it, stored or not
		if err != nil {
			return drop, err
		}
	}
	// Delete the removed members' copies of the earlier tickets.
	todo := append(slices.Clone(drop), revoke...)
	failed := make([]error, len(todo))
	forEachLimit(ctx, len(todo), false, func(ctx context.Context, i int) error {
		_, failed[i] = c.api.KeyknoxResetV2(ctx, groupRoot, g.path, "", todo[i])
		return failed[i]
	})
	final := nst.clone()
	for i, id := range todo {
		if failed[i] == nil {
			final.pending = slices.DeleteFunc(final.pending, func(p string) bool { return p == id })
		}
	}
	if len(final.pending) != len(nst.pending) {
		if err := c.saveGroupLocal(ctx, lk, g, final.record(g), nil); err != nil {
			return todo, err
		}
		g.setState(final)
	}
	if err := errors.Join(failed...); err != nil {
		return todo, fmt.Errorf("e3: the new epoch %d leaves them out, but deleting their copies of earlier tickets failed (call Remove again with them): %w", nst.session.CurrentEpoch(), err)
	}
	return todo, nil
}

// ReAdd gives a participant's new card access to the group again, as
// e3kit's group.reAdd does, after they rotated their key: for every epoch,
// their copy is deleted and the ticket pushed again, encrypted for the
// new card's key. Only the initiator can re-add (ErrNotGroupInitiator),
// and only a participant (ErrNotParticipant). It is reported to the audit
// sink (AuditGroupReAdd).
func (g *Group) ReAdd(ctx context.Context, member *Card) error {
	err := g.reAdd(ctx, member)
	err = g.c.wrap("Group.ReAdd", err)
	ev := AuditEvent{Type: AuditGroupReAdd, GroupID: g.id, Err: err}
	if member != nil {
		ev.Peer, ev.CardID = member.Identity, member.ID
	}
	g.c.audit(ctx, ev)
	return err
}

func (g *Group) reAdd(ctx context.Context, member *Card) error {
	c := g.c
	st, lk, unlock, err := g.changeable(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	recips, err := c.groupRecipients(lk, []*Card{member}, nil)
	if err != nil {
		return err
	}
	if len(recips) == 0 || !slices.Contains(st.participants, member.Identity) {
		return fmt.Errorf("%w: %s", ErrNotParticipant, quoteIdentity(member.Identity))
	}
	// Their copy is for the old key: delete it before pushing the new one.
	return g.reshareEpochs(ctx, lk, recips, func(ctx context.Context, key string) error {
		if _, err := c.api.KeyknoxResetV2(ctx, groupRoot, g.path, key, member.Identity); err != nil {
			return fmt.Errorf("e3: deleting %s's copy of the ticket of epoch %s: %w", quoteIdentity(member.Identity), key, err)
		}
		return nil
	})
}

// Encrypt encrypts data for the group and signs it with the Client's
// private key, as e3kit's group.encrypt does: one encryption in the
// current epoch, whatever the number of participants; the message is
// about 250 bytes longer than data, rounded up to 160 bytes of padding.
// Every participant holding the epoch decrypts it with Decrypt and the
// sender's card. It sends no request; data is at most
// MaxGroupPlaintextSize bytes (ErrMessageTooLarge). It needs the local
// private key (ErrNoLocalKey), an Ed25519 one (ErrKeyType).
func (g *Group) Encrypt(data []byte) ([]byte, error) {
	st, err := g.current()
	if err != nil {
		return nil, g.c.wrap("Group.Encrypt", err)
	}
	lk, err := g.c.localKey()
	if err != nil {
		return nil, g.c.wrap("Group.Encrypt", err)
	}
	if lk.priv.Type() != Ed25519 {
		return nil, fmt.Errorf("%w: group messages are signed with Ed25519; the private key is %s", ErrKeyType, lk.priv.Type())
	}
	ct, err := st.session.Encrypt(nil, data, lk.priv.k.sec.ed[:])
	if err != nil {
		err = groupError(err)
		if errors.Is(err, ErrMessageTooLarge) {
			err = fmt.Errorf("%w: %d bytes, at most %d", ErrMessageTooLarge, len(data), MaxGroupPlaintextSize)
		}
		return nil, err
	}
	return ct, nil
}

// EncryptString is Encrypt for text, returning the message in standard
// base64 (with padding), as e3kit-js's group.encrypt does for a string.
func (g *Group) EncryptString(text string) (string, error) {
	ct, err := g.Encrypt([]byte(text))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// Decrypt decrypts a group message and verifies that sender's key signed
// it, as e3kit's group.decrypt does. If the sender rotated its key since,
// use DecryptAt. Messages from the newest GroupSessionEpochs (50) epochs
// are decrypted in memory, older ones with their ticket from the keyring.
// It sends no request and needs the local private key (ErrNoLocalKey).
//
// Errors: ErrAuthFailed (altered or truncated, made with another key for
// this group id, or not signed by sender's key), ErrMalformed (not a group
// message), ErrNotFromGroup (another group's message), ErrGroupOutdated
// (a newer epoch: call Update) and ErrUnknownEpoch (an epoch this device
// never held), the last two as a *GroupEpochError; ErrKeyType for a sender
// key that is not Ed25519. Failures are reported to the audit sink.
//
// Decrypt authenticates the sender's key, not their membership: a removed
// member's messages in the epochs they held still decrypt (see the
// package documentation's Groups section).
func (g *Group) Decrypt(ct []byte, sender *Card) ([]byte, error) {
	return g.DecryptAt(ct, sender, time.Time{})
}

// DecryptAt is Decrypt for a message sent at signedAt: the signature is
// checked with the key sender's card had then (e3kit's date argument; see
// Client.AuthDecryptAt). A zero signedAt means now.
func (g *Group) DecryptAt(ct []byte, sender *Card, signedAt time.Time) ([]byte, error) {
	if sender == nil || sender.PublicKey == nil {
		return nil, errors.New("e3: Group.Decrypt needs the sender's card")
	}
	signer, err := g.c.cardAt(sender, signedAt)
	if err != nil {
		return nil, err
	}
	pt, err := g.decrypt(ct, signer)
	if err != nil {
		if !errors.Is(err, ErrNoLocalKey) && !errors.Is(err, ErrGroupNotFound) {
			ev := AuditEvent{Type: AuditDecryptFailed, GroupID: g.id, Peer: signer.Identity, CardID: signer.ID, Err: err}
			if errors.Is(err, errGroupBadSignature) {
				ev.Type = AuditVerifyFailed
			}
			g.c.audit(context.Background(), ev)
		}
		return nil, err
	}
	return pt, nil
}

func (g *Group) decrypt(ct []byte, signer *Card) ([]byte, error) {
	st, err := g.current()
	if err != nil {
		return nil, g.c.wrap("Group.Decrypt", err)
	}
	lk, err := g.c.localKey()
	if err != nil {
		return nil, g.c.wrap("Group.Decrypt", err)
	}
	key := signer.PublicKey
	if key.Type() != Ed25519 {
		return nil, fmt.Errorf("%w: group messages are signed with Ed25519; the sender's key is %s", ErrKeyType, key.Type())
	}
	m, err := groupsession.ParseMessage(ct)
	if err != nil {
		return nil, groupError(err)
	}
	if m.SessionID != g.sid {
		return nil, ErrNotFromGroup
	}
	pt, err := st.session.Open(m, key.key[:])
	var ue *groupsession.UnknownEpochError
	if errors.As(err, &ue) && m.Epoch < ue.Oldest {
		if _, held := slices.BinarySearch(st.epochs, m.Epoch); held {
			e, lerr := g.c.loadGroupTicket(context.Background(), lk, g, m.Epoch)
			if lerr != nil {
				return nil, lerr
			}
			if e != nil {
				pt, err = e.Open(m, key.key[:])
			}
		}
	}
	if errors.As(err, &ue) {
		return nil, &GroupEpochError{Epoch: m.Epoch, Oldest: st.epochs[0], Newest: st.session.CurrentEpoch()}
	}
	return pt, groupError(err)
}

// DecryptString is Decrypt for a base64 message such as EncryptString and
// e3kit-js's group.encrypt of a string return (standard base64, with or
// without padding, on one line; anything else, line breaks included, is a
// *ParseError).
func (g *Group) DecryptString(b64 string, sender *Card) (string, error) {
	return g.DecryptStringAt(b64, sender, time.Time{})
}

// DecryptStringAt is DecryptAt for a base64 message (see DecryptString).
func (g *Group) DecryptStringAt(b64 string, sender *Card, signedAt time.Time) (string, error) {
	ct, err := decodeBase64Message(b64)
	if err != nil {
		return "", err
	}
	pt, err := g.DecryptAt(ct, sender, signedAt)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}
