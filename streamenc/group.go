package streamenc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/e3go/e3go/e3"
)

// Sealing chooses how a Channel seals what it sends (ChannelOptions.Sealing).
// Whatever it is, a Channel opens messages sealed either way.
type Sealing int

const (
	// SealAuto, the default, follows the channel's opt-in: messages are
	// sealed in the channel's group session when its custom field
	// "e3go_group" (GroupFieldKey) names an initiator, and per recipient
	// otherwise. The field is read before every send, like the members
	// (ChannelOptions.MembersTTL).
	SealAuto Sealing = iota

	// SealPerRecipient always seals per recipient (e3kit's authEncrypt for
	// every member's card), whatever the channel says, and never reads the
	// field: what streamenc did before group channels. Channels of more
	// than 13 members (13 keys, the sender's included) cannot be sent to
	// this way.
	SealPerRecipient

	// SealGroup always seals in a group session: the channel's, or, when
	// the channel has not opted in, that of ChannelOptions.GroupInitiator
	// (required then; an initiator's first send then opts the channel in).
	SealGroup
)

// String returns "auto", "per-recipient" or "group".
func (s Sealing) String() string {
	switch s {
	case SealAuto:
		return "auto"
	case SealPerRecipient:
		return "per-recipient"
	case SealGroup:
		return "group"
	}
	return "Sealing(" + strconv.Itoa(int(s)) + ")"
}

// GroupFieldKey is the channel custom field by which a channel opts in to
// a group session: a JSON object of strings,
//
//	{"v":"1","initiator":"<identity>","epoch":"<n>"}
//
// naming the group's initiator (the Virgil identity that created the group
// and alone changes its participants) and, optionally, the group's current
// epoch, which the initiator rewrites after every removal so that other
// senders know to fetch the group again. Keys other than these are ignored
// (later versions may add some); a "v" other than "1" is refused.
const GroupFieldKey = "e3go_group"

const (
	groupFieldVersion = "1"
	// groupIDPrefix starts every channel group id (see GroupID).
	groupIDPrefix = "e3go:"
	// defaultGroupUpdateInterval is ChannelOptions.GroupUpdateInterval's
	// default.
	defaultGroupUpdateInterval = 5 * time.Minute
)

// GroupID returns the id of the group session of channel cid ("type:id")
// whose initiator is initiator: "e3go:" + cid + ":" + initiator, for
// example "e3go:messaging:care-team:care-bot". It is at least 10 bytes
// (e3kit's minimum) for any cid and initiator. The initiator is part of
// the id so that groups of different initiators for one channel never
// collide on a device (e3 and e3kit keep one group per id, and loading
// another initiator's group of the same id would replace it): a channel
// whose initiator changes starts a new group, and the old one's history
// stays readable. An e3kit client derives it the same way:
// `e3go:${channel.cid}:${initiator}`.
func GroupID(cid, initiator string) string {
	return groupIDPrefix + cid + ":" + initiator
}

// groupField is the decoded channel field.
type groupField struct {
	initiator string
	epoch     uint32
	hasEpoch  bool
}

// encode returns the channel field value.
func (f *groupField) encode() map[string]any {
	v := map[string]any{"v": groupFieldVersion, "initiator": f.initiator}
	if f.hasEpoch {
		v["epoch"] = strconv.FormatUint(uint64(f.epoch), 10)
	}
	return v
}

// parseGroupField reads the opt-in from a channel's custom data: (nil,
// nil) when there is none (no field, or null).
func parseGroupField(extra map[string]any) (*groupField, error) {
	raw, ok := extra[GroupFieldKey]
	if !ok || raw == nil {
		return nil, nil
	}
	_, get, v, err := stringFields(GroupFieldKey, raw)
	if err != nil {
		return nil, err
	}
	if v != groupFieldVersion {
		return nil, fmt.Errorf("%w: %s version %s", ErrUnsupportedVersion, GroupFieldKey, quoteBounded(v))
	}
	f := &groupField{}
	if f.initiator, _, err = get("initiator"); err != nil {
		return nil, err
	}
	if err := checkInitiator(f.initiator); err != nil {
		return nil, fmt.Errorf("%w: %s.initiator: %v", ErrMalformed, GroupFieldKey, err)
	}
	ep, ok, err := get("epoch")
	if err != nil {
		return nil, err
	}
	if ok {
		n, err := strconv.ParseUint(ep, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != ep {
			return nil, fmt.Errorf("%w: %s.epoch is not a decimal epoch number", ErrMalformed, GroupFieldKey)
		}
		f.epoch, f.hasEpoch = uint32(n), true
	}
	return f, nil
}

// checkInitiator accepts a plausible identity: 1 to maxNameBytes bytes of
// UTF-8 without control characters.
func checkInitiator(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > maxNameBytes:
		return fmt.Errorf("%d bytes", len(s))
	case !utf8.ValidString(s):
		return errors.New("not UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("control characters")
	}
	return nil
}

// GroupSync reports what EnableGroup or SyncGroup did.
type GroupSync struct {
	// GroupID is the group's id (GroupID of the channel and initiator).
	GroupID string
	// Created reports that the group was created (by this call).
	Created bool
	// Added are the channel members given access to the group, and with
	// it to the group's whole history (e3kit's add shares every epoch).
	Added []string
	// Removed are the former members taken out of the group: a new epoch
	// leaves them behind.
	Removed []string
	// Skipped are members without a Virgil card, left out of the group
	// (ChannelOptions.SkipMembersWithoutCard); they are tried again on a
	// later sync.
	Skipped []string
	// Epoch is the group's current epoch, the one messages are sealed in.
	Epoch uint32
}

// channelSealer chooses, for each message, between sealing per recipient
// and the channel's group session (ChannelOptions.Sealing).
type channelSealer struct{ c *Channel }

func (s channelSealer) prepare(ctx context.Context) (sealing, error) {
	c := s.c
	if c.opts.Sealing == SealPerRecipient {
		return perRecipient{c}.prepare(ctx)
	}
	f, err := c.sendGroup(ctx)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return perRecipient{c}.prepare(ctx)
	}
	return groupSealer{c: c, f: f}.prepare(ctx)
}

// sendGroup returns the group to send in (nil: seal per recipient), from
// the channel's field and the options.
func (c *Channel) sendGroup(ctx context.Context) (*groupField, error) {
	f, err := c.channelGroupField(ctx, false)
	if err != nil {
		return nil, err
	}
	pinned := c.opts.GroupInitiator
	switch {
	case f != nil && pinned != "" && f.initiator != pinned:
		return nil, fmt.Errorf("%w: %s of %s names %q, ChannelOptions.GroupInitiator is %q", ErrGroupInitiatorMismatch, GroupFieldKey, c.CID(), f.initiator, pinned)
	case f != nil:
		return f, nil
	case c.opts.Sealing == SealGroup && pinned != "":
		return &groupField{initiator: pinned}, nil
	case c.opts.Sealing == SealGroup:
		return nil, fmt.Errorf("%w: %s has no %s field and ChannelOptions.GroupInitiator is empty", ErrNoGroup, c.CID(), GroupFieldKey)
	}
	return nil, nil
}

// channelGroupField returns the channel's opt-in: read from Stream unless
// MembersTTL allows reusing the last read (force reads anyway).
func (c *Channel) channelGroupField(ctx context.Context, force bool) (*groupField, error) {
	ttl := c.opts.MembersTTL
	c.mu.Lock()
	if !force && ttl > 0 && c.fieldOK && !c.fieldAt.IsZero() && c.now().Sub(c.fieldAt) < ttl {
		f := c.field
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()
	data, err := c.api.channelData(ctx)
	if err != nil {
		return nil, streamError("reading the data of "+c.CID(), err)
	}
	f, err := parseGroupField(data)
	if err != nil {
		return nil, fmt.Errorf("streamenc: the opt-in of %s: %w", c.CID(), err)
	}
	c.mu.Lock()
	c.field, c.fieldOK, c.fieldAt = f, true, c.now()
	c.mu.Unlock()
	return f, nil
}

// channelInitiator is the initiator of the channel's group, for opening
// group messages that do not name their group (e3kit clients that write
// no marker): ChannelOptions.GroupInitiator, or the channel's field (read
// once if this Channel has not seen it). "" when the channel has none.
func (c *Channel) channelInitiator(ctx context.Context) (string, error) {
	if p := c.opts.GroupInitiator; p != "" {
		return p, nil
	}
	c.mu.Lock()
	f, ok := c.field, c.fieldOK
	c.mu.Unlock()
	if !ok {
		var err error
		if f, err = c.channelGroupField(ctx, true); err != nil {
			return "", err
		}
	}
	if f == nil {
		return "", nil
	}
	return f.initiator, nil
}

// groupSealer seals in the channel's group session.
type groupSealer struct {
	c *Channel
	f *groupField
}

func (p groupSealer) prepare(ctx context.Context) (sealing, error) {
	c := p.c
	me := c.client.Identity()
	own, err := c.client.FindUser(ctx, me)
	if err != nil {
		return nil, fmt.Errorf("streamenc: the sender %q has no card (Register first): %w", me, err)
	}
	var g *e3.Group
	if p.f.initiator == me {
		g, _, err = c.syncGroup(ctx, p.f)
	} else {
		g, err = c.memberGroup(ctx, p.f)
	}
	if err != nil {
		return nil, err
	}
	return &groupSealing{c: c, g: g, own: own, initiator: p.f.initiator}, nil
}

// groupSealing seals one message in a group: one encryption, whatever
// the number of participants.
type groupSealing struct {
	c         *Channel
	g         *e3.Group
	own       *e3.Card
	initiator string
}

func (s *groupSealing) seal(data []byte) ([]byte, error) {
	ct, err := s.g.Encrypt(data)
	if errors.Is(err, e3.ErrGroupNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrGroupNoAccess, err)
	}
	return ct, err
}

// sealStream encrypts the file for a fresh one-off key pair (virgil-crypto's
// encrypt format, for that one recipient) and returns, in the attachment's
// description, the private key: the description travels in the message's
// sealed payload, so whoever can open the message can open the file,
// exactly the group's participants, for one key agreement per file. The
// file is not signed; the SHA-256 of its ciphertext is, inside the
// payload the sender signs.
func (s *groupSealing) sealStream(ctx context.Context, c *Channel, f File, userID string) (string, envAttachment, error) {
	k, err := e3.GenerateKey()
	if err != nil {
		return "", envAttachment{}, fmt.Errorf("streamenc: a key for the file: %w", err)
	}
	loc, ea, err := c.uploadWith(ctx, f, userID, func(w io.Writer) (io.WriteCloser, error) {
		return e3.EncryptStream(w, k.Public())
	})
	if err != nil {
		return "", envAttachment{}, err
	}
	ea.Key = base64.StdEncoding.EncodeToString(k.Export())
	return loc, ea, nil
}

func (s *groupSealing) keys() int      { return 1 }
func (s *groupSealing) self() *e3.Card { return s.own }
func (s *groupSealing) group() string  { return s.initiator }

// How openGroup found the group.
const (
	groupLocal   = iota // on this device
	groupLoaded         // fetched from the initiator's Keyknox space
	groupCreated        // created (the initiator, for the channel's members)
)

// openGroup returns the group of initiator for this channel: the one on
// this device, else the one in the initiator's cloud (LoadGroup), else,
// if create and this participant is the initiator, a new one for the
// channel's members. The caller holds c.gmu.
func (c *Channel) openGroup(ctx context.Context, initiator string, create bool) (*e3.Group, int, error) {
	id := GroupID(c.CID(), initiator)
	g, err := c.client.GetGroup(ctx, id)
	if err == nil {
		return g, groupLocal, nil
	}
	if !errors.Is(err, e3.ErrGroupNotFound) {
		return nil, 0, fmt.Errorf("streamenc: opening the group of %s: %w", c.CID(), err)
	}
	card, err := c.client.FindUser(ctx, initiator)
	if err != nil {
		return nil, 0, fmt.Errorf("streamenc: the initiator %q of the group of %s: %w", initiator, c.CID(), err)
	}
	g, err = c.client.LoadGroup(ctx, id, card)
	switch {
	case err == nil:
		return g, groupLoaded, nil
	case errors.Is(err, e3.ErrGroupNoAccess) && create && initiator == c.client.Identity():
		g, err := c.createGroup(ctx, id)
		return g, groupCreated, err
	case errors.Is(err, e3.ErrGroupNoAccess):
		return nil, 0, fmt.Errorf("%w: %s (ask %q to add this participant: SyncGroup): %w", ErrGroupNoAccess, id, initiator, err)
	}
	return nil, 0, fmt.Errorf("streamenc: loading the group of %s: %w", c.CID(), err)
}

// createGroup creates the channel's group with this participant as
// initiator and the channel's members as participants.
func (c *Channel) createGroup(ctx context.Context, id string) (*e3.Group, error) {
	ids, err := c.members(ctx)
	if err != nil {
		return nil, err
	}
	cards, _, err := c.groupCards(ctx, ids)
	if err != nil {
		return nil, err
	}
	g, err := c.client.CreateGroupWithOptions(ctx, id, e3.GroupOptions{MaxParticipants: c.opts.GroupMaxParticipants}, cards...)
	if err != nil {
		return nil, fmt.Errorf("streamenc: creating the group of %s: %w", c.CID(), err)
	}
	return g, nil
}

// groupCards returns the cards of the members ids (without this
// participant), and those left out for having none when
// SkipMembersWithoutCard allows it. The caller holds c.gmu.
func (c *Channel) groupCards(ctx context.Context, ids []string) ([]*e3.Card, []string, error) {
	me := c.client.Identity()
	look := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == me })
	if len(look) == 0 {
		return nil, nil, nil
	}
	found, err := c.client.FindUsers(ctx, look...)
	var skipped []string
	if err != nil {
		var nf *e3.UsersNotFoundError
		if !c.opts.SkipMembersWithoutCard || !errors.As(err, &nf) || found == nil {
			return nil, nil, fmt.Errorf("streamenc: cannot give every member of %s access to its group: %w", c.CID(), err)
		}
		if c.noCard == nil {
			c.noCard = map[string]time.Time{}
		}
		for _, id := range nf.Identities {
			c.noCard[id] = c.now()
			skipped = append(skipped, id)
		}
	}
	var cards []*e3.Card
	for _, id := range look {
		if card := found[id]; card != nil {
			cards = append(cards, card)
		}
	}
	return cards, skipped, nil
}

// syncGroup opens (or creates) the channel's group, of which this
// participant is the initiator, and reconciles its participants with the
// channel's members: Remove for those who left (a new epoch), Add for
// those who joined. The member list is the one sends read anyway, so when
// nothing changed this costs no request to Virgil. The channel's field is
// rewritten when it does not name this initiator and the current epoch.
func (c *Channel) syncGroup(ctx context.Context, f *groupField) (*e3.Group, *GroupSync, error) {
	c.gmu.Lock()
	defer c.gmu.Unlock()
	me := c.client.Identity()
	g, how, err := c.openGroup(ctx, me, true)
	if err != nil {
		return nil, nil, err
	}
	res := &GroupSync{GroupID: g.ID(), Created: how == groupCreated}
	ids, err := c.members(ctx)
	if err != nil {
		return nil, nil, err
	}
	inChannel := map[string]bool{me: true}
	for _, id := range ids {
		inChannel[id] = true
	}
	inGroup := map[string]bool{}
	var add, remove []string
	for _, p := range g.Participants() {
		inGroup[p] = true
		if !inChannel[p] {
			remove = append(remove, p)
		}
	}
	// Removals whose revocation failed last time are retried (e3's
	// Remove finishes them).
	for _, p := range c.pendingRemovals() {
		if !inChannel[p] && !slices.Contains(remove, p) {
			remove = append(remove, p)
		}
	}
	now := c.now()
	for _, id := range ids {
		if inGroup[id] || id == me {
			continue
		}
		if t, ok := c.noCard[id]; ok && c.opts.SkipMembersWithoutCard && now.Sub(t) < refetchInterval {
			res.Skipped = append(res.Skipped, id)
			continue
		}
		add = append(add, id)
	}
	if len(remove) > 0 {
		cards := c.removalCards(ctx, remove)
		err := g.Remove(ctx, cards...)
		if err != nil && !errors.Is(err, e3.ErrNotParticipant) {
			c.setPendingRemovals(remove)
			return nil, nil, fmt.Errorf("streamenc: taking %d former members out of the group of %s: %w", len(remove), c.CID(), err)
		}
		c.setPendingRemovals(nil)
		res.Removed = remove
	}
	if len(add) > 0 {
		cards, skipped, err := c.groupCards(ctx, add)
		if err != nil {
			return nil, nil, err
		}
		res.Skipped = append(res.Skipped, skipped...)
		if len(cards) > 0 {
			if err := g.Add(ctx, cards...); err != nil && !errors.Is(err, e3.ErrAlreadyParticipant) {
				return nil, nil, fmt.Errorf("streamenc: adding %d members to the group of %s: %w", len(cards), c.CID(), err)
			}
			for _, card := range cards {
				res.Added = append(res.Added, card.Identity)
			}
		}
	}
	res.Epoch = g.Epoch()
	if f == nil || f.initiator != me || !f.hasEpoch || f.epoch != res.Epoch {
		nf := &groupField{initiator: me, epoch: res.Epoch, hasEpoch: true}
		if err := c.api.setChannelData(ctx, map[string]any{GroupFieldKey: nf.encode()}); err != nil {
			return nil, nil, streamError("writing the "+GroupFieldKey+" field of "+c.CID(), err)
		}
		c.mu.Lock()
		c.field, c.fieldOK, c.fieldAt = nf, true, c.now()
		c.mu.Unlock()
	}
	return g, res, nil
}

// pendingRemovals and setPendingRemovals keep the former members whose
// removal did not finish. The caller holds c.gmu.
func (c *Channel) pendingRemovals() []string { return c.gPending }

func (c *Channel) setPendingRemovals(ids []string) { c.gPending = slices.Clone(ids) }

// removalCards returns cards naming the members to remove: their current
// cards, or for those who unregistered a card carrying only the identity
// (Group.Remove goes by identity).
func (c *Channel) removalCards(ctx context.Context, ids []string) []*e3.Card {
	found, _ := c.client.FindUsers(ctx, ids...)
	cards := make([]*e3.Card, 0, len(ids))
	for _, id := range ids {
		if card := found[id]; card != nil {
			cards = append(cards, card)
		} else {
			cards = append(cards, &e3.Card{Identity: id})
		}
	}
	return cards
}

// memberGroup opens the channel's group for a participant other than its
// initiator, fetching it again (Update) when the channel's field
// announces a newer epoch or GroupUpdateInterval has passed.
func (c *Channel) memberGroup(ctx context.Context, f *groupField) (*e3.Group, error) {
	c.gmu.Lock()
	defer c.gmu.Unlock()
	g, how, err := c.openGroup(ctx, f.initiator, false)
	if err != nil {
		return nil, err
	}
	now := c.now()
	if how != groupLocal {
		c.gUpdated = now
		return g, nil
	}
	behind := f.hasEpoch && f.epoch > g.Epoch() && f.epoch != c.gHint
	iv := c.opts.GroupUpdateInterval
	if iv == 0 {
		iv = defaultGroupUpdateInterval
	}
	if behind || (iv > 0 && now.Sub(c.gUpdated) >= iv) {
		if err := g.Update(ctx); err != nil {
			if errors.Is(err, e3.ErrGroupNoAccess) {
				return nil, fmt.Errorf("%w: %s: %w", ErrGroupNoAccess, g.ID(), err)
			}
			return nil, fmt.Errorf("streamenc: updating the group of %s: %w", c.CID(), err)
		}
		c.gUpdated = now
		if f.hasEpoch {
			c.gHint = f.epoch
		}
	}
	return g, nil
}

// EnableGroup opts the channel in to a group session with this participant
// (the e3.Client's identity) as its initiator: it creates the group for
// the channel's current members (or loads it, if this identity created it
// before), reconciles it with the members like SyncGroup, and sets the
// channel's "e3go_group" field (GroupFieldKey), from which every member's
// client, Go or e3kit, learns that the channel's messages are sealed in the
// group. From then on sends with SealAuto (the default) seal in the group.
// Call it again to repair a channel whose field was removed.
//
// The initiator is the only participant who can change the group's
// members, so it should be an identity that stays: typically the
// server-side bot that creates the channels. It fails with
// ErrGroupInitiatorMismatch when the field names another initiator, or
// ChannelOptions.GroupInitiator pins another.
func (c *Channel) EnableGroup(ctx context.Context) (*GroupSync, error) {
	me := c.client.Identity()
	if p := c.opts.GroupInitiator; p != "" && p != me {
		return nil, fmt.Errorf("%w: ChannelOptions.GroupInitiator is %q, this participant is %q", ErrGroupInitiatorMismatch, p, me)
	}
	f, err := c.channelGroupField(ctx, true)
	if err != nil {
		return nil, err
	}
	if f != nil && f.initiator != me {
		return nil, fmt.Errorf("%w: %s of %s names %q", ErrGroupInitiatorMismatch, GroupFieldKey, c.CID(), f.initiator)
	}
	_, res, err := c.syncGroup(ctx, f)
	return res, err
}

// SyncGroup reconciles the channel's group with the channel's members, as
// its initiator: members who joined the Stream channel are added to the
// group (and read its whole history: e3kit's add shares every epoch),
// members who left are removed (a new epoch they cannot read; the
// channel's field announces it). Until the initiator syncs, a new member
// sees every group message as ErrGroupNoAccess, and a removed member can
// still read what is sent in the old epoch (if Stream gives it to them),
// so the initiator should sync when membership changes (on Stream's
// member.added and member.removed webhooks); its own sends sync too.
// Sends by other participants cannot: e3kit's groups let only the
// initiator change participants (SyncGroup by anyone else fails with an
// error matching e3.ErrNotGroupInitiator).
//
// Members without a Virgil card fail the sync (*e3.UsersNotFoundError)
// unless ChannelOptions.SkipMembersWithoutCard leaves them out
// (GroupSync.Skipped). A member who rotated their key needs the
// initiator's e3.Group.ReAdd (see Group).
func (c *Channel) SyncGroup(ctx context.Context) (*GroupSync, error) {
	f, err := c.channelGroupField(ctx, true)
	if err != nil {
		return nil, err
	}
	initiator, err := c.groupInitiator(f)
	if err != nil {
		return nil, err
	}
	if me := c.client.Identity(); initiator != me {
		return nil, fmt.Errorf("streamenc: SyncGroup: %w: %q is the initiator of the group of %s, not %q", e3.ErrNotGroupInitiator, initiator, c.CID(), me)
	}
	_, res, err := c.syncGroup(ctx, f)
	return res, err
}

// Group returns the channel's group session for this participant (the
// e3.Client's identity), from this device or the initiator's cloud: for
// what streamenc does not do itself, such as e3.Group.ReAdd after a member
// rotated their key (initiator only), Participants or Update. It creates
// nothing; it fails with ErrNoGroup when the channel has not opted in and
// with ErrGroupNoAccess when this participant is not in the group.
func (c *Channel) Group(ctx context.Context) (*e3.Group, error) {
	f, err := c.channelGroupField(ctx, true)
	if err != nil {
		return nil, err
	}
	initiator, err := c.groupInitiator(f)
	if err != nil {
		return nil, err
	}
	c.gmu.Lock()
	defer c.gmu.Unlock()
	g, _, err := c.openGroup(ctx, initiator, false)
	return g, err
}

// groupInitiator is the initiator of the channel's group for SyncGroup and
// Group: the field's, checked against GroupInitiator, or GroupInitiator's
// with SealGroup.
func (c *Channel) groupInitiator(f *groupField) (string, error) {
	pinned := c.opts.GroupInitiator
	switch {
	case f != nil && pinned != "" && f.initiator != pinned:
		return "", fmt.Errorf("%w: %s of %s names %q, ChannelOptions.GroupInitiator is %q", ErrGroupInitiatorMismatch, GroupFieldKey, c.CID(), f.initiator, pinned)
	case f != nil:
		return f.initiator, nil
	case pinned != "" && c.opts.Sealing == SealGroup:
		return pinned, nil
	}
	return "", fmt.Errorf("%w: %s has no %s field", ErrNoGroup, c.CID(), GroupFieldKey)
}

// fileKey is the one-off private key of a file sealed in a group channel
// (PKCS#8 DER). It lives in unexported fields only, and fmt prints nested
// pointers as addresses, so it never reaches output.
type fileKey struct{ der []byte }

// fileKeyOf returns the key of a sealed attachment's description, nil for
// a file sealed per recipient (or a key parseEnvelope did not vet).
func fileKeyOf(ea envAttachment) *fileKey {
	if ea.Key == "" {
		return nil
	}
	der, err := decodeB64(ea.Key, maxFileKeyB64)
	if err != nil {
		return nil
	}
	return &fileKey{der: der}
}

// encode returns the key as the envelope carries it ("" for none).
func (k *fileKey) encode() string {
	if k == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(k.der)
}
