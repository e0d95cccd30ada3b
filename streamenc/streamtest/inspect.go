package streamtest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"
)

// StoredMessage is a message as the server holds it.
type StoredMessage struct {
	ID              string
	CID             string
	Type            string // regular, reply, system or deleted
	UserID          string
	Text            string
	ParentID        string
	QuotedMessageID string
	ShowInChannel   bool
	Silent          bool
	Pinned          bool
	MentionedUsers  []string
	// Attachments holds each attachment object as sent (every key,
	// custom ones included).
	Attachments []json.RawMessage
	// Custom holds the message's custom fields, each as raw JSON.
	Custom     map[string]json.RawMessage
	ReplyCount int
	Reactions  []StoredReaction
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  *time.Time
	// Truncated reports that a soft truncate of the channel hides it.
	Truncated bool
}

// StoredReaction is a reaction as the server holds it.
type StoredReaction struct {
	MessageID string
	UserID    string
	Type      string
	Score     int64
	Custom    map[string]json.RawMessage
	CreatedAt time.Time
}

// StoredFile is an uploaded file.
type StoredFile struct {
	URL         string
	CID         string
	Kind        string // "file" or "image"
	Name        string
	ContentType string
	UserID      string
	Data        []byte
	CreatedAt   time.Time
}

// StoredUser is a user as the server holds it.
type StoredUser struct {
	ID        string
	Role      string
	Name      string
	Image     string
	Custom    map[string]json.RawMessage
	CreatedAt time.Time
	DeletedAt *time.Time
}

// StoredMember is one member of a channel.
type StoredMember struct {
	UserID      string
	ChannelRole string // channel_owner, channel_moderator or channel_member
	Invited     bool
	Accepted    bool
}

// StoredChannel is a channel as the server holds it.
type StoredChannel struct {
	CID         string
	Type        string
	ID          string
	CreatedBy   string
	Frozen      bool
	Custom      map[string]json.RawMessage
	Members     []StoredMember
	TruncatedAt *time.Time
	CreatedAt   time.Time
}

func cloneCustom(c custom) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(c))
	for k, v := range c {
		out[k] = slices.Clone(v)
	}
	return out
}

func storedMessage(m *message) StoredMessage {
	sm := StoredMessage{ID: m.id, CID: m.cid, Type: m.typ, UserID: m.userID, Text: m.text,
		ParentID: m.parentID, QuotedMessageID: m.quotedID, ShowInChannel: m.showInChannel,
		Silent: m.silent, Pinned: m.pinned, MentionedUsers: slices.Clone(m.mentioned),
		Custom: cloneCustom(m.custom), ReplyCount: m.replyCount, CreatedAt: m.createdAt,
		UpdatedAt: m.updatedAt, Truncated: m.truncated}
	if m.deletedAt != nil {
		t := *m.deletedAt
		sm.DeletedAt = &t
	}
	for _, a := range m.attachments {
		b, _ := marshalJSON(map[string]json.RawMessage(a))
		sm.Attachments = append(sm.Attachments, b)
	}
	for _, r := range m.reactions {
		sm.Reactions = append(sm.Reactions, StoredReaction{MessageID: r.messageID, UserID: r.userID,
			Type: r.typ, Score: r.score, Custom: cloneCustom(r.custom), CreatedAt: r.createdAt})
	}
	return sm
}

// Messages returns every stored message of the channel cid ("type:id"),
// replies and deleted ones included, in creation order.
func (s *Server) Messages(cid string) []StoredMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.st.channels[cid]
	if !ok {
		return nil
	}
	out := make([]StoredMessage, 0, len(ch.msgs))
	for _, m := range ch.msgs {
		out = append(out, storedMessage(m))
	}
	return out
}

// Message returns the stored message with the given ID.
func (s *Server) Message(id string) (StoredMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.st.messages[id]
	if !ok {
		return StoredMessage{}, false
	}
	return storedMessage(m), true
}

// Uploads returns every stored upload, oldest first.
func (s *Server) Uploads() []StoredFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ups []*upload
	for _, u := range s.st.uploads {
		ups = append(ups, u)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].seq < ups[j].seq })
	out := make([]StoredFile, 0, len(ups))
	for _, u := range ups {
		out = append(out, StoredFile{URL: u.url, CID: u.cid, Kind: u.kind, Name: u.name,
			ContentType: u.contentType, UserID: u.userID, Data: slices.Clone(u.data), CreatedAt: u.createdAt})
	}
	return out
}

// Users returns every stored user (deleted ones included), oldest first.
func (s *Server) Users() []StoredUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	var us []*user
	for _, u := range s.st.users {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].seq < us[j].seq })
	out := make([]StoredUser, 0, len(us))
	for _, u := range us {
		su := StoredUser{ID: u.id, Role: u.role, Name: u.name, Image: u.image,
			Custom: cloneCustom(u.custom), CreatedAt: u.createdAt}
		if u.deletedAt != nil {
			t := *u.deletedAt
			su.DeletedAt = &t
		}
		out = append(out, su)
	}
	return out
}

// Channels returns every stored channel, oldest first.
func (s *Server) Channels() []StoredChannel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredChannel
	for _, ch := range s.sortedChannels() {
		sc := StoredChannel{CID: ch.cid, Type: ch.typ, ID: ch.id, CreatedBy: ch.createdBy,
			Frozen: ch.frozen, Custom: cloneCustom(ch.custom), CreatedAt: ch.createdAt}
		if ch.truncatedAt != nil {
			t := *ch.truncatedAt
			sc.TruncatedAt = &t
		}
		for _, m := range ch.memberList() {
			sc.Members = append(sc.Members, StoredMember{UserID: m.userID, ChannelRole: m.channelRole,
				Invited: m.invited, Accepted: m.inviteAcceptedAt != nil})
		}
		out = append(out, sc)
	}
	return out
}

// Walk calls fn with every piece of data the server holds or has seen,
// until fn returns false: users, channels (custom fields), messages (text,
// custom fields, attachments), reactions, uploads (name, type, URL and
// bytes), emitted events (webhook bodies) and the recorded requests
// (query strings and bodies). Structured values are given whole, as JSON,
// and then every string in them is given again decoded, and every object
// key too, so a search for a plaintext is not defeated by JSON escaping.
// where says what the data is, for example "message/<id>/custom/enc".
func (s *Server) Walk(fn func(where string, data []byte) bool) {
	// Gather under the lock, call fn without it so fn may use the server.
	type item struct {
		where string
		data  []byte
		json  bool
	}
	var items []item
	add := func(where string, data []byte, isJSON bool) {
		items = append(items, item{where, slices.Clone(data), isJSON})
	}
	s.mu.Lock()
	for _, u := range s.sortedUsers() {
		b, _ := marshalJSON(renderUserObj(u))
		add("user/"+u.id, b, true)
	}
	for _, ch := range s.sortedChannels() {
		b, _ := marshalJSON(map[string]json.RawMessage(ch.custom))
		add("channel/"+ch.cid+"/custom", b, true)
		add("channel/"+ch.cid+"/id", []byte(ch.cid), false)
	}
	for _, m := range s.sortedMessages() {
		p := "message/" + m.id
		add(p+"/text", []byte(m.text), false)
		for _, k := range sortedKeys(m.custom) {
			add(p+"/custom/"+k, []byte(k), false)
			add(p+"/custom/"+k, m.custom[k], true)
		}
		for i, a := range m.attachments {
			b, _ := marshalJSON(map[string]json.RawMessage(a))
			add(p+"/attachments/"+strconv.Itoa(i), b, true)
		}
		for _, r := range m.reactions {
			b, _ := marshalJSON(map[string]any{"type": r.typ, "custom": map[string]json.RawMessage(r.custom)})
			add(p+"/reaction/"+r.userID+"/"+r.typ, b, true)
		}
	}
	var ups []*upload
	for _, u := range s.st.uploads {
		ups = append(ups, u)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].seq < ups[j].seq })
	for _, u := range ups {
		p := "upload/" + u.id
		add(p+"/name", []byte(u.name), false)
		add(p+"/content_type", []byte(u.contentType), false)
		add(p+"/url", []byte(u.url), false)
		add(p+"/data", u.data, false)
	}
	for _, e := range s.events {
		add("event/"+strconv.FormatInt(e.Seq, 10)+"/"+e.Type, e.Body, true)
	}
	for _, r := range s.requests {
		p := "request/" + strconv.FormatInt(r.Seq, 10)
		if q, err := url.ParseQuery(r.RawQuery); err == nil {
			for _, k := range sortedKeys(q) {
				for _, v := range q[k] {
					add(p+"/query/"+k, []byte(v), json.Valid([]byte(v)))
				}
			}
		}
		if len(r.Body) > 0 {
			add(p+"/body", r.Body, json.Valid(r.Body))
		}
	}
	s.mu.Unlock()

	for _, it := range items {
		if !fn(it.where, it.data) {
			return
		}
		if it.json && !walkJSONStrings(it.where, it.data, fn) {
			return
		}
	}
}

// walkJSONStrings gives every string value and object key inside a JSON
// document, decoded.
func walkJSONStrings(where string, data []byte, fn func(string, []byte) bool) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return true
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case string:
			return fn(where, []byte(t))
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if !fn(where, []byte(k)) || !walk(t[k]) {
					return false
				}
			}
		case []any:
			for _, x := range t {
				if !walk(x) {
					return false
				}
			}
		}
		return true
	}
	return walk(v)
}

// Find returns where (as Walk names it) needle occurs in the data the
// server holds or has seen, without duplicates; nil means nowhere.
func (s *Server) Find(needle []byte) []string {
	if len(needle) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	s.Walk(func(where string, data []byte) bool {
		if !seen[where] && bytes.Contains(data, needle) {
			seen[where] = true
			out = append(out, where)
		}
		return true
	})
	return out
}

func (s *Server) sortedUsers() []*user {
	out := make([]*user, 0, len(s.st.users))
	for _, u := range s.st.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}
