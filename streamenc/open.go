package streamenc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
)

// Message is a Stream message as this participant reads it. When Err is nil
// the message was sealed, this participant could open it, and every sealed
// part verified against Sender's key: Text, Fields and Attachments are
// what the sender wrote. When Err is non-nil they are empty (never
// unverified content) and Raw holds what Stream returned. ParentID, Type
// and EditedAt are Stream's clear metadata, copied from Raw whether or not
// the message could be opened: they are what Stream says, not sealed and
// not verified against the sender.
type Message struct {
	// ID is Stream's message id.
	ID string
	// Text is the plaintext.
	Text string
	// Fields are the sealed custom fields (ChannelOptions.SensitiveFields
	// of the sender), decoded from JSON as stream-chat-go decodes custom
	// data (numbers are float64). Nil when there are none.
	Fields map[string]any
	// Attachments are the sealed attachments; Attachment.Open downloads
	// and opens one.
	Attachments []*Attachment
	// Sender is the verified card of the author: the card whose key
	// signed the message.
	Sender *e3.Card
	// SenderID is the author as Stream names it. It is what Sender was
	// looked up by, so when Err is nil it is verified too.
	SenderID string
	// Layout is the layout the message was sent in.
	Layout Layout
	// GroupID is the group session the message was sealed in (see
	// GroupID), "" for a message sealed per recipient. It is set when the
	// message says so, even if it could not be opened.
	GroupID string
	// Quoted is the quoted message (quoted_message in Stream's answer),
	// opened the same way, or nil.
	Quoted *Message
	// Deleted reports a deleted message; nothing is opened.
	Deleted bool

	// ParentID is the id of the thread's parent message for a thread
	// reply (Stream's parent_id), "" otherwise.
	ParentID string
	// Type is Stream's message type: stream.MessageTypeRegular, "reply"
	// (stream.MessageTypeReply), "system", "error", "ephemeral", or
	// "deleted".
	Type stream.MessageType
	// EditedAt is when the message's text field was last changed
	// (Stream's message_text_updated_at, which Stream's own clients show
	// as "edited"), the zero time if it never was. An edit of a
	// text-layout message (Channel.UpdateMessage, or an e3kit client's)
	// seals the text again and so changes the field. The push-safe
	// layout's text field is the placeholder, which an edit leaves as it
	// is: streamtest then sets no message_text_updated_at, and whether
	// Stream does is unverified; compare Raw.UpdatedAt (which any update
	// moves) to tell such edits.
	EditedAt time.Time

	// Raw is the message as Stream returned it: ciphertext, and the clear
	// metadata (thread, timestamps, reactions, mentions).
	Raw *stream.Message
	// Err says why the message could not be opened: an *OpenError
	// matching ErrNotSealed, ErrNotRecipient (ErrGroupNoAccess for a group
	// message), ErrTampered, ErrMalformed or ErrUnknownSender, which
	// describe the message, or e3.ErrNoLocalKey, which describes this
	// device (see OpenError).
	Err error
}

// opener opens messages for one participant. Channel and WebhookHandler
// share it.
type opener struct {
	client        *e3.Client
	http          *http.Client
	maxAttachment int64
	checkURL      func(*url.URL) error
	workers       int
	now           func() time.Time

	mu        sync.Mutex
	refetched map[string]time.Time // identity -> last forced card refresh

	// channelGroup tells the initiator of the channel's group, for group
	// messages that do not name it; nil (webhooks) when unknown.
	channelGroup func(ctx context.Context) (string, error)
	groups       groupCache
}

// refetchInterval bounds how often a verification failure may make the
// opener look a sender's card up again (bypassing the cache): a sender
// who rotated their key is picked up within it, and a flood of forged
// messages costs at most one lookup per interval per named sender.
const refetchInterval = time.Minute

// Defaults.
const (
	defaultMaxAttachment = 100 << 20 // Stream's upload limit
	maxRefetchEntries    = 10000
)

func newOpener(client *e3.Client, hc *http.Client, maxAttachment int64, check func(*url.URL) error, workers int) *opener {
	if hc == nil {
		hc = defaultHTTPClient()
	}
	if maxAttachment <= 0 {
		maxAttachment = defaultMaxAttachment
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &opener{client: client, http: hc, maxAttachment: maxAttachment, checkURL: check,
		workers: workers, now: time.Now, refetched: map[string]time.Time{}}
}

// defaultHTTPClient is the downloader used when the caller gives none:
// bounded connection and header waits; the body is governed by the
// caller's context.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

// senderID is the author Stream names: the user object in answers, user_id
// in requests.
func senderID(m *stream.Message) string {
	if m.User != nil && m.User.ID != "" {
		return m.User.ID
	}
	return m.UserID
}

// openAll opens raws in parallel (quoted messages too), looking their
// senders' cards up in one FindUsers call. expectCID is the channel the
// messages are expected in ("" when unknown). The result has one Message
// per input, in order; nil inputs give nil.
func (o *opener) openAll(ctx context.Context, raws []*stream.Message, expectCID string) []*Message {
	out := make([]*Message, len(raws))
	var todo []*Message
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		m := newMessage(raw)
		out[i] = m
		todo = append(todo, m)
		if q, ok := raw.ExtraData["quoted_message"]; ok && q != nil {
			qm := quotedMessage(q)
			m.Quoted = qm
			if qm.Raw != nil {
				todo = append(todo, qm)
			}
		}
	}
	cards, lookupErr := o.findSenders(ctx, todo)
	b := &openBatch{}
	o.parallel(len(todo), func(i int) {
		m := todo[i]
		if m.Err != nil {
			return
		}
		if err := o.openOne(ctx, b, m, cards[m.SenderID], lookupErr, expectCID); err != nil {
			m.Err = &OpenError{MessageID: m.ID, SenderID: m.SenderID, Err: err}
			m.Text, m.Fields, m.Attachments, m.Sender = "", nil, nil, nil
		}
	})
	return out
}

// parallel runs fn(0..n-1) on up to o.workers goroutines.
func (o *opener) parallel(n int, fn func(i int)) {
	w := min(o.workers, n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// quotedMessage decodes the quoted_message stream-chat-go leaves in
// ExtraData as a map.
func quotedMessage(v any) *Message {
	b, err := json.Marshal(v)
	var raw stream.Message
	if err == nil {
		err = json.Unmarshal(b, &raw)
	}
	if err != nil || raw.ID == "" {
		return &Message{Err: &OpenError{Err: fmt.Errorf("%w: quoted_message is not a message", ErrMalformed)}}
	}
	return newMessage(&raw)
}

// newMessage returns the Message for raw with its clear metadata, before
// anything is opened.
func newMessage(raw *stream.Message) *Message {
	return &Message{ID: raw.ID, SenderID: senderID(raw), Raw: raw,
		ParentID: raw.ParentID, Type: raw.Type, EditedAt: textUpdatedAt(raw)}
}

// textUpdatedAt reads Stream's message_text_updated_at, which
// stream-chat-go v6 leaves in ExtraData: an RFC 3339 string as decoded from
// JSON (or a time.Time a caller put there). Anything else is the zero time:
// it is clear metadata, and a bad value does not make the message unreadable.
func textUpdatedAt(raw *stream.Message) time.Time {
	switch v := raw.ExtraData["message_text_updated_at"].(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	case time.Time:
		return v
	case *time.Time:
		if v != nil {
			return *v
		}
	}
	return time.Time{}
}

// findSenders looks up the cards of the messages' senders. A sender
// without a card is missing from the map (lookupErr names it); any other
// failure leaves the map empty and is returned.
func (o *opener) findSenders(ctx context.Context, msgs []*Message) (map[string]*e3.Card, error) {
	seen := map[string]bool{}
	var ids []string
	for _, m := range msgs {
		if m.SenderID != "" && !seen[m.SenderID] && !isDeleted(m.Raw) {
			seen[m.SenderID] = true
			ids = append(ids, m.SenderID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cards, err := o.client.FindUsers(ctx, ids...)
	return cards, err
}

func isDeleted(m *stream.Message) bool {
	return m != nil && (m.Type == "deleted" || m.DeletedAt != nil)
}

// openOne opens m in place. card is the sender's current card (nil if the
// lookup failed with lookupErr). b is the page's shared group lookups.
func (o *opener) openOne(ctx context.Context, b *openBatch, m *Message, card *e3.Card, lookupErr error, expectCID string) error {
	raw := m.Raw
	if isDeleted(raw) {
		m.Deleted = true
		return nil
	}
	mk, err := parseMarker(raw.ExtraData)
	if err != nil {
		return err
	}
	cid := raw.CID
	if cid == "" {
		cid = expectCID
	}
	var textCT []byte
	initiator := "" // the group's, for a message sealed in a group
	switch {
	case mk == nil:
		if ct, ok := sealedText(raw.Text); ok {
			textCT = ct
			break
		}
		if ct, ok := groupText(raw.Text); ok {
			// e3kit's group.encrypt output posted without the marker: the
			// channel's group.
			if initiator, err = o.unmarkedGroup(ctx); err != nil {
				return err
			}
			textCT = ct
			break
		}
		if len(markedAttachments(raw)) > 0 {
			return fmt.Errorf("%w: sealed attachments without their sealed descriptions", ErrTampered)
		}
		return ErrNotSealed
	case mk.group != "":
		initiator = mk.group
		if cid != "" {
			m.GroupID = GroupID(cid, initiator) // said, even if the text is bad
		}
		if mk.layout == LayoutText {
			ct, ok := groupText(raw.Text)
			if !ok {
				return fmt.Errorf("%w: the text is not a group message", ErrMalformed)
			}
			textCT = ct
		}
	case mk.layout == LayoutText:
		ct, ok := sealedText(raw.Text)
		if !ok {
			return fmt.Errorf("%w: the text is not a ciphertext", ErrMalformed)
		}
		textCT = ct
	}
	var gid string
	if initiator != "" {
		if cid == "" {
			return fmt.Errorf("%w: a group message outside a known channel", ErrGroupNoAccess)
		}
		gid = GroupID(cid, initiator)
		m.GroupID = gid
	}
	if m.SenderID == "" {
		return fmt.Errorf("%w: the message names no author", ErrUnknownSender)
	}
	if card == nil {
		if lookupErr == nil {
			lookupErr = errors.New("no card")
		}
		return fmt.Errorf("%w: %w", ErrUnknownSender, lookupErr)
	}
	var at time.Time
	if raw.CreatedAt != nil {
		at = *raw.CreatedAt
	}
	var signer *e3.Card
	var textDigest [32]byte
	if textCT != nil {
		pt, s, err := o.openSealed(ctx, b, gid, initiator, textCT, card, at)
		if err != nil {
			if mk == nil && errors.Is(err, e3.ErrMalformed) {
				return ErrNotSealed // text that only looked like base64 DER
			}
			return err
		}
		signer = s
		m.Text = string(pt)
		textDigest = sha256.Sum256(textCT)
	}
	m.Layout = LayoutText
	if mk != nil {
		m.Layout = mk.layout
	}
	marked := markedAttachments(raw)
	if mk == nil || mk.env == nil {
		if len(marked) > 0 {
			return fmt.Errorf("%w: sealed attachments without their sealed descriptions", ErrTampered)
		}
		m.Sender = signer
		return nil
	}
	pt, s, err := o.openSealed(ctx, b, gid, initiator, mk.env, card, at)
	if err != nil {
		return err
	}
	if signer != nil && s.ID != signer.ID {
		return fmt.Errorf("%w: the text and the sealed payload were signed by different keys", ErrTampered)
	}
	signer = s
	env, err := parseEnvelope(pt)
	if err != nil {
		return err
	}
	if env.ID != raw.ID {
		return fmt.Errorf("%w: sealed for another message id", ErrTampered)
	}
	wantCID := raw.CID
	if wantCID == "" {
		wantCID = expectCID
	}
	if wantCID != "" && env.CID != wantCID {
		return fmt.Errorf("%w: sealed for another channel", ErrTampered)
	}
	switch m.Layout {
	case LayoutText:
		if env.Text != nil || env.TextSHA256 != hex.EncodeToString(textDigest[:]) {
			return fmt.Errorf("%w: the text does not belong to the sealed payload", ErrTampered)
		}
	case LayoutPushSafe:
		if env.Text == nil || env.TextSHA256 != "" {
			return fmt.Errorf("%w: push-safe payload without text", ErrMalformed)
		}
		m.Text = *env.Text
	}
	if len(env.Fields) > 0 {
		m.Fields = make(map[string]any, len(env.Fields))
		for k, v := range env.Fields {
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("%w: sealed field is not JSON", ErrMalformed)
			}
			m.Fields[k] = x
		}
	}
	if len(marked) != len(env.Attachments) {
		return fmt.Errorf("%w: %d sealed attachments described, %d attached", ErrTampered, len(env.Attachments), len(marked))
	}
	for i, ea := range env.Attachments {
		a := &Attachment{Name: ea.Name, MIMEType: ea.Type, Size: ea.Size, Raw: marked[i], sender: signer, open: o.openAttachment, key: fileKeyOf(ea)}
		if marked[i].AssetURL != "" {
			a.URL = marked[i].AssetURL
		} else {
			a.URL = marked[i].ImageURL
		}
		sum, _ := hex.DecodeString(ea.SHA256)
		copy(a.sha[:], sum)
		m.Attachments = append(m.Attachments, a)
	}
	m.Sender = signer
	return nil
}

// markedAttachments returns the attachments this package sealed, in order.
func markedAttachments(m *stream.Message) []*stream.Attachment {
	var out []*stream.Attachment
	for _, a := range m.Attachments {
		if a != nil && a.ExtraData[attachmentMarker] == markerVersion {
			out = append(out, a)
		}
	}
	return out
}

// openFunc decrypts and verifies a ciphertext from one card: the
// e3.Client's AuthDecrypt, or a group's Decrypt.
type openFunc func(ct []byte, from *e3.Card) ([]byte, error)

// decrypt opens ct from the identity of card (its current card), signed at
// at, with open: it verifies with the card that was active then, or a
// newer one of the same chain (an edit is signed later than the message
// was created). If every candidate fails to verify, the sender's card is
// looked up again (at most once per refetchInterval per identity) in case
// they rotated their key after the cache filled.
func (o *opener) decrypt(ctx context.Context, ct []byte, card *e3.Card, at time.Time, open openFunc) ([]byte, *e3.Card, error) {
	pt, signer, err := o.tryChain(ct, card, at, open)
	if err == nil || !errors.Is(err, e3.ErrAuthFailed) {
		return pt, signer, mapCryptoErr(err)
	}
	// The card may be stale: look it up again (bypassing the cache at most
	// once per interval; otherwise the cache may have been refreshed by
	// another message meanwhile).
	if o.mayRefetch(card.Identity) {
		o.client.ForgetCachedUsers(card.Identity)
	}
	fresh, ferr := o.client.FindUser(ctx, card.Identity)
	if ferr != nil || fresh.ID == card.ID {
		return nil, nil, mapCryptoErr(err)
	}
	pt, signer, err = o.tryChain(ct, fresh, at, open)
	return pt, signer, mapCryptoErr(err)
}

// tryChain tries the card active at at first, then the newer ones.
func (o *opener) tryChain(ct []byte, card *e3.Card, at time.Time, open openFunc) ([]byte, *e3.Card, error) {
	var chain []*e3.Card
	for c := card; c != nil && len(chain) < 16; c = c.PreviousCard {
		chain = append(chain, c)
		if at.IsZero() || !c.CreatedAt.After(at) {
			break
		}
	}
	var firstErr error
	for i := len(chain) - 1; i >= 0; i-- {
		pt, err := open(ct, chain[i])
		if err == nil {
			return pt, chain[i], nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !errors.Is(err, e3.ErrAuthFailed) {
			break // not for us, or malformed: another key will not help
		}
	}
	return nil, nil, firstErr
}

// mayRefetch reports whether a forced card lookup for identity is allowed
// now, and records it.
func (o *opener) mayRefetch(identity string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if t, ok := o.refetched[identity]; ok && now.Sub(t) < refetchInterval {
		return false
	}
	if len(o.refetched) >= maxRefetchEntries {
		clear(o.refetched)
	}
	o.refetched[identity] = now
	return true
}

// mapCryptoErr turns an e3 error into this package's reason, wrapping both.
// e3.ErrNoLocalKey stays as it is: it is this device's condition, not the
// message's.
func mapCryptoErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, e3.ErrNoLocalKey):
		return err
	case errors.Is(err, e3.ErrNotRecipient):
		return fmt.Errorf("%w: %w", ErrNotRecipient, err)
	case errors.Is(err, e3.ErrAuthFailed), errors.Is(err, e3.ErrKeyType):
		// ErrKeyType: the sender's card holds a key that cannot sign,
		// or the entry for this key names another algorithm.
		return fmt.Errorf("%w: %w", ErrTampered, err)
	case errors.Is(err, e3.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return err
}

// sealedDigest is the hex SHA-256 the envelope records for a ciphertext.
func sealedDigest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
