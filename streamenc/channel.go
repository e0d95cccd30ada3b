package streamenc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
)

// Stream's limits (spec §6.4).
const (
	// DefaultMaxTextLength is Stream's default max_message_length, in
	// characters, used when the channel's configuration does not say.
	DefaultMaxTextLength = 5000
	// MaxCustomDataBytes is Stream's limit on a message's custom data:
	// the JSON object of its custom fields, in bytes.
	MaxCustomDataBytes = 5120
)

// maxMembers bounds the member list a Channel reads: sealing for every
// member cannot fit Stream's message limits long before this.
const maxMembers = 1000

// ChannelOptions configure a Channel. The zero value (or nil) gives the
// defaults named on each field. Options must not be changed after they
// are passed to NewChannel.
type ChannelOptions struct {
	// StreamClient is the stream-chat-go client the channel belongs to.
	// stream-chat-go v6 makes message edits, deletes and search Client
	// calls and a stream.Channel keeps its Client private, so
	// UpdateMessage, DeleteMessage and Search need it; without it they
	// fail with ErrNoStreamClient. Everything else works without it.
	StreamClient *stream.Client

	// Layout is the layout messages are sent in (LayoutText by default).
	// Messages of every layout are opened whatever this is.
	Layout Layout

	// Placeholder is the clear text of LayoutPushSafe messages: what push
	// notifications and clients that cannot open the message show. ""
	// means "Encrypted message". It must not hold anything sensitive.
	Placeholder string

	// SensitiveFields names custom fields (keys of Message.ExtraData)
	// that are sealed with the message instead of being sent in clear.
	// They come back in Message.Fields.
	SensitiveFields []string

	// MembersTTL is how long the channel's member list, and its group
	// opt-in (the "e3go_group" field), are reused between sends. 0 (the
	// default) reads the members before every send (one request), so a
	// member added or removed a moment ago is sealed for, or not, on the
	// next message; with Sealing other than SealPerRecipient the channel's
	// data is read too (one more request), so an opt-in or a new group
	// epoch is followed at once. In a group channel only the initiator
	// reads the members. A positive TTL saves those requests at the cost
	// of sealing for a stale list for up to TTL: a new member cannot read
	// what is sent meanwhile, a removed one still could (if Stream gave it
	// to them).
	MembersTTL time.Duration

	// SkipMembersWithoutCard seals for the members that have a Virgil
	// card and leaves out those that have none (users who never
	// registered with e3kit cannot read anything). By default a send
	// fails with the *e3.UsersNotFoundError naming them.
	SkipMembersWithoutCard bool

	// MaxTextLength is the channel's text limit in characters; 0 means
	// the channel's max_message_length from Stream (as stream-chat-go
	// decoded it when the channel was created or queried), or
	// DefaultMaxTextLength.
	MaxTextLength int

	// HTTPClient downloads attachments; nil means a client with a 30 s
	// wait for response headers and no overall timeout (the caller's
	// context governs).
	HTTPClient *http.Client

	// MaxAttachmentBytes bounds a file sent or downloaded; 0 means 100
	// MiB, Stream's upload limit.
	MaxAttachmentBytes int64

	// CheckAttachmentURL, if set, vets every attachment URL before it is
	// downloaded (the URL comes from Stream, not from the sealed
	// content): return an error to refuse it, for example to allow only
	// Stream's CDN and keep a server-side participant from being pointed
	// at internal addresses. Only http and https URLs are ever fetched.
	CheckAttachmentURL func(*url.URL) error

	// Concurrency is how many messages of a page are opened at once; 0
	// means runtime.GOMAXPROCS(0).
	Concurrency int

	// Sealing chooses how this Channel seals what it sends: SealAuto (the
	// default) follows the channel's opt-in, the custom field
	// "e3go_group" (GroupFieldKey), sealing in the channel's group session
	// when it names an initiator and per recipient otherwise;
	// SealPerRecipient never uses a group; SealGroup always does. See the
	// package documentation's "Group channels". Messages are opened
	// however they were sealed, whatever this is.
	Sealing Sealing

	// GroupInitiator pins the identity whose group session the channel
	// uses: the initiator, the only participant who can change the
	// group's members (an e3kit rule), typically the server-side bot that
	// created the channel. When set, a channel whose "e3go_group" field
	// names someone else fails sends with ErrGroupInitiatorMismatch
	// instead of following the field (the field is channel data, which
	// Stream and members allowed to update the channel can change). With
	// SealGroup it is required unless the channel has opted in.
	GroupInitiator string

	// GroupMaxParticipants is the size limit of a group this Channel
	// creates (as initiator), the initiator included: 0 means 100,
	// e3kit's limit; up to 1000 for channels whose members all use e3go
	// (e3kit cannot load a group of more than 100). See
	// e3.GroupOptions.MaxParticipants.
	GroupMaxParticipants int

	// GroupUpdateInterval is how often a participant other than the
	// initiator fetches the group again (e3.Group.Update) before a send,
	// to leave members removed since behind; 0 means 5 minutes, a
	// negative value only when the channel's "e3go_group" field announces
	// a newer epoch (which the initiator writes on every removal, and is
	// read before every send). The initiator never needs to.
	GroupUpdateInterval time.Duration
}

// Channel is a Stream channel whose messages are sealed on send and opened
// on receive for one participant, the e3.Client's identity. It is safe for
// concurrent use.
type Channel struct {
	api       chatAPI
	client    *e3.Client
	o         *opener
	opts      ChannelOptions
	sensitive map[string]bool
	seal      sealer
	now       func() time.Time

	mu        sync.Mutex
	memberIDs []string
	membersAt time.Time
	field     *groupField // the channel's "e3go_group" as last read (nil: none)
	fieldOK   bool        // field was read (or came with the stream.Channel)
	fieldAt   time.Time   // when it was read from Stream (zero: came with the stream.Channel)

	gmu      sync.Mutex           // group changes and the state below, one send at a time
	gUpdated time.Time            // the last Update of the group before a send (non-initiator)
	gHint    uint32               // the epoch hint that Update last tried to reach
	gPending []string             // former members whose removal did not finish
	noCard   map[string]time.Time // members without a card, and when that was found
}

// NewChannel returns a Channel over ch for client's identity. ch must have
// its type and id (a channel from stream.Client.Channel, CreateChannel or
// QueryChannels); NewChannel keeps a copy of it, so later changes to ch do
// not affect the Channel. It makes no request. opts may be nil. NewChannel
// panics if ch or client is nil or ch has no id, which is a programming
// error.
func NewChannel(ch *stream.Channel, client *e3.Client, opts *ChannelOptions) *Channel {
	if ch == nil || client == nil {
		panic("streamenc: NewChannel needs a stream.Channel and an e3.Client")
	}
	if ch.ID == "" || ch.Type == "" {
		panic("streamenc: NewChannel: the stream.Channel has no type or id (create it first)")
	}
	var o ChannelOptions
	if opts != nil {
		o = *opts
	}
	api := &streamChannel{ch: *ch, client: o.StreamClient}
	c := newChannel(api, client, o)
	// The opt-in, if the stream.Channel came with the channel's data
	// (CreateChannel, QueryChannels, Query): what opening unmarked group
	// messages goes by until a send reads it again.
	if f, err := parseGroupField(ch.ExtraData); err == nil && f != nil {
		c.field, c.fieldOK = f, true
	}
	return c
}

func newChannel(api chatAPI, client *e3.Client, o ChannelOptions) *Channel {
	c := &Channel{
		api:       api,
		client:    client,
		o:         newOpener(client, o.HTTPClient, o.MaxAttachmentBytes, o.CheckAttachmentURL, o.Concurrency),
		opts:      o,
		sensitive: map[string]bool{},
		now:       time.Now,
	}
	for _, k := range o.SensitiveFields {
		c.sensitive[k] = true
	}
	if c.opts.Placeholder == "" {
		c.opts.Placeholder = "Encrypted message"
	}
	c.seal = channelSealer{c}
	c.o.channelGroup = c.channelInitiator
	return c
}

// CID returns the channel's cid ("type:id").
func (c *Channel) CID() string { return c.api.cid() }

func (c *Channel) maxText() int {
	if c.opts.MaxTextLength > 0 {
		return c.opts.MaxTextLength
	}
	if n := c.api.maxTextLength(); n > 0 {
		return n
	}
	return DefaultMaxTextLength
}

// sealer is how a channel seals what it sends: perRecipient, e3kit's
// authEncrypt for the card of every member, or groupSealer, the channel's
// group session (group.go); channelSealer chooses between them for each
// message. The choice is recorded in the marker (version 2 and the group's
// initiator for a group) so receivers pick the matching opener.
type sealer interface {
	// prepare resolves, once per message, who it is sealed for.
	prepare(ctx context.Context) (sealing, error)
}

// sealing seals the parts of one message.
type sealing interface {
	seal(data []byte) ([]byte, error)
	sealStream(ctx context.Context, c *Channel, f File, userID string) (string, envAttachment, error)
	keys() int
	self() *e3.Card
	// group returns the initiator of the group the message is sealed in,
	// "" when it is sealed per recipient.
	group() string
}

// perRecipient seals for every member's card (and the sender's own key).
type perRecipient struct{ c *Channel }

type recipientSealing struct {
	c     *Channel
	cards []*e3.Card
	own   *e3.Card
}

func (p perRecipient) prepare(ctx context.Context) (sealing, error) {
	c := p.c
	ids, err := c.members(ctx)
	if err != nil {
		return nil, err
	}
	me := c.client.Identity()
	lookup := append([]string{me}, ids...)
	found, err := c.client.FindUsers(ctx, lookup...)
	if err != nil {
		var nf *e3.UsersNotFoundError
		if !c.opts.SkipMembersWithoutCard || !errors.As(err, &nf) || found == nil {
			return nil, fmt.Errorf("streamenc: cannot seal for every member of %s: %w", c.CID(), err)
		}
	}
	own := found[me]
	if own == nil {
		return nil, fmt.Errorf("streamenc: the sender %q has no card (Register first)", me)
	}
	s := &recipientSealing{c: c, own: own}
	for _, id := range ids {
		if card := found[id]; card != nil && id != me {
			s.cards = append(s.cards, card)
		}
	}
	return s, nil
}

func (s *recipientSealing) seal(data []byte) ([]byte, error) {
	return s.c.client.AuthEncrypt(data, s.cards...)
}

func (s *recipientSealing) sealStream(ctx context.Context, c *Channel, f File, userID string) (string, envAttachment, error) {
	return c.upload(ctx, f, s.cards, userID)
}

func (s *recipientSealing) keys() int      { return len(s.cards) + 1 }
func (s *recipientSealing) self() *e3.Card { return s.own }
func (s *recipientSealing) group() string  { return "" }

// members returns the ids of the channel's members to seal for: every
// member except those who rejected an invitation.
func (c *Channel) members(ctx context.Context) ([]string, error) {
	ttl := c.opts.MembersTTL
	if ttl > 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.membersAt.IsZero() && c.now().Sub(c.membersAt) < ttl {
			return c.memberIDs, nil
		}
	}
	var ids []string
	const page = 100
	for off := 0; ; off += page {
		ms, err := c.api.members(ctx, off, page)
		if err != nil {
			return nil, streamError("reading the members of "+c.CID(), err)
		}
		for _, m := range ms {
			if m == nil || m.InviteRejectedAt != nil {
				continue
			}
			id := m.UserID
			if id == "" && m.User != nil {
				id = m.User.ID
			}
			if id != "" {
				ids = append(ids, id)
			}
		}
		if len(ms) < page {
			break
		}
		if off+page >= maxMembers {
			return nil, fmt.Errorf("streamenc: %s has more than %d members, too many to seal for each", c.CID(), maxMembers)
		}
	}
	if ttl > 0 {
		c.memberIDs, c.membersAt = ids, c.now()
	}
	return ids, nil
}

// checkSender returns the Stream user to act as: the client's identity.
func (c *Channel) checkSender(userID string) (string, error) {
	me := c.client.Identity()
	if userID == "" {
		return me, nil
	}
	if userID != me {
		return "", fmt.Errorf("%w: asked to act as %q, the e3.Client is %q", ErrSenderMismatch, userID, me)
	}
	return userID, nil
}

// newMessageID returns a random message id (UUID v4 form, as Stream's
// clients make them).
func newMessageID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("streamenc: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// splitExtra copies the caller's custom fields into the clear ones and the
// sealed ones (JSON).
func (c *Channel) splitExtra(extra map[string]any) (clear map[string]any, sealed map[string]json.RawMessage, err error) {
	clear = map[string]any{}
	for k, v := range extra {
		switch {
		case k == markerKey:
			return nil, nil, fmt.Errorf("streamenc: the custom field %q is reserved", markerKey)
		case k == "id":
		case c.sensitive[k]:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("streamenc: sensitive field %q cannot be encoded as JSON: %w", k, err)
			}
			if sealed == nil {
				sealed = map[string]json.RawMessage{}
			}
			sealed[k] = b
		default:
			clear[k] = v
		}
	}
	return clear, sealed, nil
}

// sealText seals the text for s and records it in env: the text field
// (the base64 ciphertext, or the placeholder of the push-safe layout).
func (c *Channel) sealText(s sealing, text string, env *envelope) (string, error) {
	if c.opts.Layout == LayoutPushSafe {
		env.Text = &text
		return c.opts.Placeholder, nil
	}
	if len(text) > c.maxText() {
		// The ciphertext is longer than the text: fail before sealing.
		return "", &TooLongError{What: "text", Size: len(text), Limit: c.maxText(), Recipients: s.keys(), Group: s.group() != ""}
	}
	ct, err := s.seal([]byte(text))
	if err != nil {
		return "", fmt.Errorf("streamenc: sealing the text: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(ct)
	if n := utf8.RuneCountInString(b64); n > c.maxText() {
		return "", &TooLongError{What: "text", Size: n, Limit: c.maxText(), Recipients: s.keys(), Group: s.group() != ""}
	}
	env.TextSHA256 = sealedDigest(ct)
	return b64, nil
}

// sealEnvelope returns the marker, with env sealed in it when the message
// needs it (push-safe layout, sealed fields or attachments).
func (c *Channel) sealEnvelope(s sealing, env *envelope) (*marker, error) {
	mk := &marker{layout: c.opts.Layout, group: s.group()}
	if c.opts.Layout == LayoutPushSafe || len(env.Fields) > 0 || len(env.Attachments) > 0 {
		b, err := marshalEnvelope(env)
		if err != nil {
			return nil, err
		}
		if mk.env, err = s.seal(b); err != nil {
			return nil, fmt.Errorf("streamenc: sealing the payload: %w", err)
		}
	}
	return mk, nil
}

// checkCustomSize checks the custom fields against Stream's limit.
func checkCustomSize(extra map[string]any, s sealing) error {
	cp := make(map[string]any, len(extra))
	for k, v := range extra {
		if k != "id" {
			cp[k] = v
		}
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("streamenc: custom fields cannot be encoded as JSON: %w", err)
	}
	if len(b) > MaxCustomDataBytes {
		return &TooLongError{What: "custom data", Size: len(b), Limit: MaxCustomDataBytes, Recipients: s.keys(), Group: s.group() != ""}
	}
	return nil
}

// SendMessage seals msg and sends it to the channel as userID, which must
// be the e3.Client's identity ("" means that identity). The text, the
// sensitive custom fields and the files are sealed for every current
// member's card and the sender's own key (e3kit's authEncrypt, so e3kit
// clients read the text). The members are read from Stream before the
// send (see ChannelOptions.MembersTTL) and their cards come from the
// e3.Client's cache. In a group channel (see ChannelOptions.Sealing and
// the package documentation's "Group channels") they are sealed once in
// the channel's group session instead (e3kit's group.encrypt); the
// initiator's sends first bring the group's participants in line with the
// members (SyncGroup), and a sender the initiator has not added fails with
// ErrGroupNoAccess.
//
// Everything else of msg is sent as is, in clear: the other custom
// fields, ParentID (thread replies), ShowInChannel, QuotedMessageID,
// MentionedUsers, Silent, Pinned, Type. A custom "id" field chooses the
// message id (one is generated otherwise; the sealed payload is bound to
// it). msg.Attachments must be empty: clear attachments would leak; pass
// files instead, which are sealed, uploaded and attached.
//
// A message that does not fit Stream's limits once sealed fails with a
// *TooLongError (ErrTooLong) and is never truncated; see the package
// documentation for the exact sizes. msg is not modified.
func (c *Channel) SendMessage(ctx context.Context, msg *stream.Message, userID string, files ...File) (*Message, error) {
	if msg == nil {
		return nil, errors.New("streamenc: SendMessage: nil message")
	}
	userID, err := c.checkSender(userID)
	if err != nil {
		return nil, err
	}
	if len(msg.Attachments) > 0 {
		return nil, errors.New("streamenc: SendMessage: clear attachments would leak; pass them as File values")
	}
	if len(files) > maxAttachments {
		return nil, fmt.Errorf("streamenc: SendMessage: %d files, Stream allows %d", len(files), maxAttachments)
	}
	extra, fields, err := c.splitExtra(msg.ExtraData)
	if err != nil {
		return nil, err
	}
	id, _ := msg.ExtraData["id"].(string)
	if id == "" {
		id = newMessageID()
	}
	s, err := c.seal.prepare(ctx)
	if err != nil {
		return nil, err
	}
	env := &envelope{V: envelopeVersion, CID: c.CID(), ID: id, Fields: fields}
	// Seal the text first: a message too long fails before any upload.
	textField, err := c.sealText(s, msg.Text, env)
	if err != nil {
		return nil, err
	}
	var uploaded []string
	cleanup := func() {
		for _, u := range uploaded {
			c.api.deleteFile(context.WithoutCancel(ctx), u)
		}
	}
	out := &stream.Message{
		Type:            msg.Type,
		ParentID:        msg.ParentID,
		ShowInChannel:   msg.ShowInChannel,
		QuotedMessageID: msg.QuotedMessageID,
		MentionedUsers:  msg.MentionedUsers,
		Silent:          msg.Silent,
		Pinned:          msg.Pinned,
		ExtraData:       extra,
	}
	for _, f := range files {
		loc, ea, err := s.sealStream(ctx, c, f, userID)
		if err != nil {
			cleanup()
			return nil, err
		}
		uploaded = append(uploaded, loc)
		env.Attachments = append(env.Attachments, ea)
		out.Attachments = append(out.Attachments, &stream.Attachment{Type: "file", AssetURL: loc,
			ExtraData: map[string]any{attachmentMarker: markerVersion}})
	}
	mk, err := c.sealEnvelope(s, env)
	if err != nil {
		cleanup()
		return nil, err
	}
	out.Text = textField
	extra[markerKey] = mk.encode()
	if err := checkCustomSize(extra, s); err != nil {
		cleanup()
		return nil, err
	}
	extra["id"] = id
	resp, err := c.api.sendMessage(ctx, out, userID)
	if err != nil {
		cleanup()
		return nil, streamError("sending a sealed message", err)
	}
	return c.sentMessage(ctx, resp, msg.Text, env, s), nil
}

// sentMessage builds the Message for what this participant just sent,
// without decrypting it again.
func (c *Channel) sentMessage(ctx context.Context, raw *stream.Message, text string, env *envelope, s sealing) *Message {
	own := s.self()
	m := newMessage(raw)
	m.Text, m.Sender, m.SenderID, m.Layout = text, own, own.Identity, c.opts.Layout
	if g := s.group(); g != "" {
		m.GroupID = GroupID(c.CID(), g)
	}
	if len(env.Fields) > 0 {
		m.Fields = make(map[string]any, len(env.Fields))
		for k, v := range env.Fields {
			var x any
			_ = json.Unmarshal(v, &x) // made by json.Marshal above
			m.Fields[k] = x
		}
	}
	marked := markedAttachments(raw)
	for i, ea := range env.Attachments {
		a := &Attachment{Name: ea.Name, MIMEType: ea.Type, Size: ea.Size, sender: own, open: c.o.openAttachment, key: fileKeyOf(ea)}
		if i < len(marked) {
			a.Raw, a.URL = marked[i], marked[i].AssetURL
		}
		sum, _ := hex.DecodeString(ea.SHA256)
		copy(a.sha[:], sum)
		m.Attachments = append(m.Attachments, a)
	}
	if q, ok := raw.ExtraData["quoted_message"]; ok && q != nil {
		if qm := quotedMessage(q); qm.Raw != nil {
			m.Quoted = c.o.openAll(ctx, []*stream.Message{qm.Raw}, c.CID())[0]
		} else {
			m.Quoted = qm
		}
	}
	return m
}

// UpdateMessage edits a sealed message this participant wrote: msg.ID
// names it (or msg.ExtraData["id"]), msg.Text is the new text, and the
// sensitive custom fields of msg.ExtraData replace the sealed ones (none
// means none). Everything is sealed again for the current members (or in
// the channel's group, as SendMessage would seal it now); the
// attachments stay (their descriptions are sealed again, their content is
// not: a member who joined after the send sees their names but cannot
// open them). The edit is a partial update of the text and the sealed
// payload, so clear custom fields, attachments, pins and thread state are
// kept; change clear fields with stream-chat-go's PartialUpdateMessage.
// It needs ChannelOptions.StreamClient. userID must be the e3.Client's
// identity ("" means that identity) and the message's author
// (ErrNotAuthor).
func (c *Channel) UpdateMessage(ctx context.Context, msg *stream.Message, userID string) (*Message, error) {
	if msg == nil {
		return nil, errors.New("streamenc: UpdateMessage: nil message")
	}
	userID, err := c.checkSender(userID)
	if err != nil {
		return nil, err
	}
	id := msg.ID
	if id == "" {
		id, _ = msg.ExtraData["id"].(string)
	}
	if id == "" {
		return nil, errors.New("streamenc: UpdateMessage: the message has no id")
	}
	if len(msg.Attachments) > 0 {
		return nil, errors.New("streamenc: UpdateMessage: attachments cannot be changed by an edit")
	}
	_, fields, err := c.splitExtra(msg.ExtraData)
	if err != nil {
		return nil, err
	}
	cur, err := c.GetMessage(ctx, id)
	if cur == nil {
		return nil, err
	}
	if cur.Err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAuthor, cur.Err)
	}
	if cur.Deleted || cur.Sender == nil || cur.Sender.Identity != userID {
		return nil, fmt.Errorf("%w: message %q is by %q", ErrNotAuthor, id, cur.SenderID)
	}
	s, err := c.seal.prepare(ctx)
	if err != nil {
		return nil, err
	}
	env := &envelope{V: envelopeVersion, CID: c.CID(), ID: id, Fields: fields}
	for _, a := range cur.Attachments {
		env.Attachments = append(env.Attachments, envAttachment{Name: a.Name, Type: a.MIMEType, Size: a.Size, SHA256: hex.EncodeToString(a.sha[:]), Key: a.key.encode()})
	}
	textField, err := c.sealText(s, msg.Text, env)
	if err != nil {
		return nil, err
	}
	mk, err := c.sealEnvelope(s, env)
	if err != nil {
		return nil, err
	}
	set := map[string]any{"text": textField, markerKey: mk.encode()}
	if err := checkCustomSize(map[string]any{markerKey: set[markerKey]}, s); err != nil {
		return nil, err
	}
	resp, err := c.api.partialUpdateMessage(ctx, id, set, nil, userID)
	if err != nil {
		return nil, streamError("updating a sealed message", err)
	}
	return c.sentMessage(ctx, resp, msg.Text, env, s), nil
}

// DeleteMessage deletes a message (soft, or hard for good), as
// stream-chat-go's DeleteMessage and HardDeleteMessage do. It needs
// ChannelOptions.StreamClient. Uploaded attachments are not deleted.
func (c *Channel) DeleteMessage(ctx context.Context, id string, hard bool) error {
	if id == "" {
		return errors.New("streamenc: DeleteMessage: empty id")
	}
	return streamError("deleting a message", c.api.deleteMessage(ctx, id, hard))
}

// Open opens one message, however it was fetched (stream-chat-go calls,
// webhooks, another SDK's JSON decoded into a stream.Message): it looks
// the author's card up (through the e3.Client's cache), decrypts and
// verifies every sealed part. The returned Message is never nil for a
// non-nil msg; the error is its Err (an *OpenError), so a caller may
// either check err or keep the Message and look at Err.
func (c *Channel) Open(ctx context.Context, msg *stream.Message) (*Message, error) {
	if msg == nil {
		return nil, errors.New("streamenc: Open: nil message")
	}
	m := c.o.openAll(ctx, []*stream.Message{msg}, c.CID())[0]
	return m, m.Err
}

// OpenAll opens messages in parallel (ChannelOptions.Concurrency at a
// time), looking their authors' cards up in one batch. It returns one
// Message per input in the same order; a message that cannot be opened has
// Err set and never affects the others.
func (c *Channel) OpenAll(ctx context.Context, msgs []*stream.Message) []*Message {
	return c.o.openAll(ctx, msgs, c.CID())
}

// Query queries the channel (stream-chat-go's Channel.Query, with state
// on) and returns its messages opened, oldest first. Use q.Messages to
// page. Only a failed request is an error; messages that cannot be opened
// have Message.Err set.
func (c *Channel) Query(ctx context.Context, q *stream.QueryRequest) ([]*Message, error) {
	var req stream.QueryRequest
	if q != nil {
		req = *q
	}
	req.State = true
	raws, err := c.api.queryMessages(ctx, &req)
	if err != nil {
		return nil, streamError("querying "+c.CID(), err)
	}
	return c.OpenAll(ctx, raws), nil
}

// GetMessages fetches messages of the channel by id and opens them. Ids
// Stream does not find in the channel are left out.
func (c *Channel) GetMessages(ctx context.Context, ids ...string) ([]*Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	raws, err := c.api.getMessages(ctx, ids)
	if err != nil {
		return nil, streamError("getting messages of "+c.CID(), err)
	}
	return c.OpenAll(ctx, raws), nil
}

// GetMessage fetches one message of the channel and opens it. Like Open,
// it returns the Message (if Stream had it) together with its Err; an id
// Stream does not find in the channel gives ErrNotFound.
func (c *Channel) GetMessage(ctx context.Context, id string) (*Message, error) {
	if id == "" {
		return nil, errors.New("streamenc: GetMessage: empty id")
	}
	ms, err := c.GetMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m != nil && m.ID == id {
			return m, m.Err
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
}

// GetReplies returns the replies of a thread, opened, oldest first. page
// may be nil (Stream's default page).
func (c *Channel) GetReplies(ctx context.Context, parentID string, page *stream.PaginationParamsRequest) ([]*Message, error) {
	if parentID == "" {
		return nil, errors.New("streamenc: GetReplies: empty parent id")
	}
	raws, err := c.api.replies(ctx, parentID, page)
	if err != nil {
		return nil, streamError("getting replies", err)
	}
	return c.OpenAll(ctx, raws), nil
}

// Search searches the channel's messages and opens the results. The
// channel filter is set to this channel whatever req says. Stream searches
// what it stores, so a full-text Query matches ciphertext and finds
// nothing useful: search with MessageFilters on clear custom fields or
// metadata (user_id, parent_id, created_at, ...) instead. It needs
// ChannelOptions.StreamClient.
func (c *Channel) Search(ctx context.Context, req stream.SearchRequest) ([]*Message, error) {
	req.Filters = map[string]any{"cid": c.CID()}
	raws, err := c.api.search(ctx, req)
	if err != nil {
		return nil, streamError("searching "+c.CID(), err)
	}
	return c.OpenAll(ctx, raws), nil
}
