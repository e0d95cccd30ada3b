package streamtest

import (
	"bytes"
	"encoding/json"
	"html"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Custom data is kept as raw JSON per key so that it comes back exactly as
// it was sent (numbers keep their spelling, nested objects their layout).
type custom map[string]json.RawMessage

func (c custom) clone() custom {
	if c == nil {
		return custom{}
	}
	out := make(custom, len(c))
	for k, v := range c {
		out[k] = slices.Clone(v)
	}
	return out
}

// size is the length of the custom keys encoded as one JSON object, the
// measure the 5 KB limit is applied to.
func (c custom) size() int {
	if len(c) == 0 {
		return 0
	}
	b, _ := json.Marshal(map[string]json.RawMessage(c))
	return len(b)
}

type user struct {
	id        string
	role      string
	name      string
	image     string
	language  string
	teams     []string
	invisible bool
	custom    custom
	createdAt time.Time
	updatedAt time.Time
	deletedAt *time.Time
	seq       int64
}

type member struct {
	userID           string
	channelRole      string // channel_owner, channel_moderator, channel_member
	createdAt        time.Time
	updatedAt        time.Time
	invited          bool
	inviteAcceptedAt *time.Time
	inviteRejectedAt *time.Time
	hiddenBefore     int64 // messages with seq <= hiddenBefore are hidden from this member's user-token reads
	lastReadSeq      int64
	lastReadAt       time.Time
	lastReadMsgID    string
	hidden           bool
	seq              int64
}

// active reports whether the member counts as a member for permission
// checks: invited members only after they accept.
func (m *member) active() bool {
	return !m.invited || m.inviteAcceptedAt != nil
}

type channel struct {
	typ, id, cid  string
	createdBy     string
	createdAt     time.Time
	updatedAt     time.Time
	lastMessageAt *time.Time
	frozen        bool
	disabled      bool
	team          string
	custom        custom
	members       map[string]*member
	msgs          []*message // every stored message of the channel, replies included, in creation order
	truncatedAt   *time.Time
	truncatedBy   string
	seq           int64
}

func (ch *channel) memberList() []*member {
	out := make([]*member, 0, len(ch.members))
	for _, m := range ch.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

type reaction struct {
	messageID string
	userID    string
	typ       string
	score     int64
	custom    custom
	createdAt time.Time
	updatedAt time.Time
	seq       int64
}

type message struct {
	id, cid        string
	text           string
	typ            string
	userID         string
	attachments    []custom // each attachment object as sent, all keys
	custom         custom
	parentID       string
	quotedID       string
	showInChannel  bool
	silent         bool
	pinned         bool
	pinnedAt       *time.Time
	pinnedBy       string
	pinExpires     *time.Time
	mentioned      []string
	replyCount     int
	deletedReplies int
	participants   []string
	reactions      []*reaction
	createdAt      time.Time
	updatedAt      time.Time
	textUpdatedAt  *time.Time
	deletedAt      *time.Time
	truncated      bool // hidden by a soft truncate
	seq            int64
}

// inChannelList reports whether the message belongs in the channel's
// message list (replies only with show_in_channel).
func (m *message) inChannelList() bool {
	return !m.truncated && (m.parentID == "" || m.showInChannel)
}

// ---- rendering ------------------------------------------------------------

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *Server) renderUser(id string) map[string]any {
	u, ok := s.st.users[id]
	if !ok {
		return map[string]any{"id": id, "banned": false, "online": false, "role": "user"}
	}
	return renderUserObj(u)
}

func renderUserObj(u *user) map[string]any {
	out := map[string]any{}
	for k, v := range u.custom {
		out[k] = v
	}
	out["id"] = u.id
	out["role"] = u.role
	out["banned"] = false
	out["online"] = false
	out["created_at"] = ts(u.createdAt)
	out["updated_at"] = ts(u.updatedAt)
	if u.name != "" {
		out["name"] = u.name
	}
	if u.image != "" {
		out["image"] = u.image
	}
	if u.language != "" {
		out["language"] = u.language
	}
	if len(u.teams) > 0 {
		out["teams"] = slices.Clone(u.teams)
	}
	if u.invisible {
		out["invisible"] = true
	}
	if u.deletedAt != nil {
		out["deleted_at"] = ts(*u.deletedAt)
	}
	return out
}

func (s *Server) channelConfig(typ string) map[string]any {
	return map[string]any{
		"name":                  typ,
		"typing_events":         true,
		"read_events":           true,
		"connect_events":        true,
		"search":                true,
		"reactions":             true,
		"replies":               true,
		"quotes":                true,
		"mutes":                 true,
		"uploads":               true,
		"url_enrichment":        true,
		"custom_events":         true,
		"push_notifications":    true,
		"reminders":             false,
		"mark_messages_pending": false,
		"message_retention":     "infinite",
		"max_message_length":    s.cfg.MaxMessageLength,
		"automod":               "disabled",
		"automod_behavior":      "flag",
		"commands":              []any{},
		"created_at":            "2020-01-01T00:00:00Z",
		"updated_at":            "2020-01-01T00:00:00Z",
	}
}

func (s *Server) renderChannel(ch *channel) map[string]any {
	out := map[string]any{}
	for k, v := range ch.custom {
		out[k] = v
	}
	out["id"] = ch.id
	out["type"] = ch.typ
	out["cid"] = ch.cid
	out["config"] = s.channelConfig(ch.typ)
	out["created_at"] = ts(ch.createdAt)
	out["updated_at"] = ts(ch.updatedAt)
	out["frozen"] = ch.frozen
	out["disabled"] = ch.disabled
	out["member_count"] = len(ch.members)
	if ch.createdBy != "" {
		out["created_by"] = s.renderUser(ch.createdBy)
	}
	if ch.team != "" {
		out["team"] = ch.team
	}
	if ch.lastMessageAt != nil {
		out["last_message_at"] = ts(*ch.lastMessageAt)
	}
	if ch.truncatedAt != nil {
		out["truncated_at"] = ts(*ch.truncatedAt)
	}
	if ch.truncatedBy != "" {
		out["truncated_by"] = s.renderUser(ch.truncatedBy)
	}
	return out
}

func (s *Server) renderMember(m *member) map[string]any {
	role := "member"
	switch m.channelRole {
	case roleOwner:
		role = "owner"
	case roleModerator:
		role = "moderator"
	}
	out := map[string]any{
		"user_id":             m.userID,
		"user":                s.renderUser(m.userID),
		"channel_role":        m.channelRole,
		"role":                role,
		"created_at":          ts(m.createdAt),
		"updated_at":          ts(m.updatedAt),
		"banned":              false,
		"shadow_banned":       false,
		"notifications_muted": false,
	}
	if m.channelRole == roleModerator {
		out["is_moderator"] = true
	}
	if m.invited {
		out["invited"] = true
	}
	if m.inviteAcceptedAt != nil {
		out["invite_accepted_at"] = ts(*m.inviteAcceptedAt)
	}
	if m.inviteRejectedAt != nil {
		out["invite_rejected_at"] = ts(*m.inviteRejectedAt)
	}
	return out
}

func (s *Server) renderMembers(ch *channel, limit int) []any {
	ms := ch.memberList()
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, s.renderMember(m))
	}
	return out
}

// unreadCounter counts a channel's unread messages for its members in one
// pass over the messages: a message counts as unread for a member when it is
// after the member's read mark (and hidden-history mark), not the member's
// own, not deleted, not silent and shown in the channel. Counting each
// member with its own pass would make every channel query cost members ×
// messages.
type unreadCounter struct {
	all    []int64            // seqs of the countable messages, ascending
	byUser map[string][]int64 // the same, per author
}

func newUnreadCounter(ch *channel) *unreadCounter {
	u := &unreadCounter{byUser: map[string][]int64{}}
	for _, msg := range ch.msgs { // creation order: seqs ascend
		if msg.deletedAt != nil || msg.silent || !msg.inChannelList() {
			continue
		}
		u.all = append(u.all, msg.seq)
		u.byUser[msg.userID] = append(u.byUser[msg.userID], msg.seq)
	}
	return u
}

// after is how many of seqs are greater than mark.
func after(seqs []int64, mark int64) int {
	i, _ := slices.BinarySearch(seqs, mark+1)
	return len(seqs) - i
}

func (u *unreadCounter) count(m *member) int {
	mark := max(m.lastReadSeq, m.hiddenBefore)
	return after(u.all, mark) - after(u.byUser[m.userID], mark)
}

func (s *Server) renderRead(ch *channel) []any {
	ms := ch.memberList()
	out := make([]any, 0, len(ms))
	unread := newUnreadCounter(ch)
	for _, m := range ms {
		r := map[string]any{
			"user":            s.renderUser(m.userID),
			"last_read":       ts(m.lastReadAt),
			"unread_messages": unread.count(m),
		}
		if m.lastReadMsgID != "" {
			r["last_read_message_id"] = m.lastReadMsgID
		}
		out = append(out, r)
	}
	return out
}

func renderReaction(s *Server, r *reaction) map[string]any {
	out := map[string]any{}
	for k, v := range r.custom {
		out[k] = v
	}
	out["message_id"] = r.messageID
	out["user_id"] = r.userID
	out["type"] = r.typ
	out["score"] = r.score
	out["user"] = s.renderUser(r.userID)
	out["created_at"] = ts(r.createdAt)
	out["updated_at"] = ts(r.updatedAt)
	return out
}

// latestReactionsMax is how many reactions latest_reactions carries.
const latestReactionsMax = 10

// renderMessage renders a message as Stream returns it; viewer is the user
// whose own_reactions are filled in ("" for server-side calls).
func (s *Server) renderMessage(m *message, viewer string) map[string]any {
	return s.renderMessageDepth(m, viewer, true)
}

func (s *Server) renderMessageDepth(m *message, viewer string, withQuote bool) map[string]any {
	out := map[string]any{}
	for k, v := range m.custom {
		out[k] = v
	}
	atts := make([]any, 0, len(m.attachments))
	for _, a := range m.attachments {
		atts = append(atts, map[string]json.RawMessage(a))
	}
	mentioned := make([]any, 0, len(m.mentioned))
	for _, id := range m.mentioned {
		mentioned = append(mentioned, s.renderUser(id))
	}
	latest := []any{}
	own := []any{}
	counts := map[string]int64{}
	scores := map[string]int64{}
	for i := len(m.reactions) - 1; i >= 0; i-- {
		r := m.reactions[i]
		counts[r.typ]++
		scores[r.typ] += r.score
		if len(latest) < latestReactionsMax {
			latest = append(latest, renderReaction(s, r))
		}
		if viewer != "" && r.userID == viewer {
			own = append(own, renderReaction(s, r))
		}
	}
	out["id"] = m.id
	out["cid"] = m.cid
	out["text"] = m.text
	out["html"] = renderHTML(m.text)
	out["type"] = m.typ
	out["user"] = s.renderUser(m.userID)
	out["attachments"] = atts
	out["latest_reactions"] = latest
	out["own_reactions"] = own
	out["reaction_counts"] = counts
	out["reaction_scores"] = scores
	out["reply_count"] = m.replyCount
	out["deleted_reply_count"] = m.deletedReplies
	out["mentioned_users"] = mentioned
	out["silent"] = m.silent
	out["pinned"] = m.pinned
	out["shadowed"] = false
	out["created_at"] = ts(m.createdAt)
	out["updated_at"] = ts(m.updatedAt)
	if m.parentID != "" {
		out["parent_id"] = m.parentID
		out["show_in_channel"] = m.showInChannel
	}
	if m.pinnedAt != nil {
		out["pinned_at"] = ts(*m.pinnedAt)
	}
	if m.pinnedBy != "" {
		out["pinned_by"] = s.renderUser(m.pinnedBy)
	}
	if m.pinExpires != nil {
		out["pin_expires"] = ts(*m.pinExpires)
	}
	if m.textUpdatedAt != nil {
		out["message_text_updated_at"] = ts(*m.textUpdatedAt)
	}
	if m.deletedAt != nil {
		out["deleted_at"] = ts(*m.deletedAt)
	}
	if len(m.participants) > 0 {
		ps := make([]any, 0, len(m.participants))
		for _, id := range m.participants {
			ps = append(ps, s.renderUser(id))
		}
		out["thread_participants"] = ps
	}
	if m.quotedID != "" {
		out["quoted_message_id"] = m.quotedID
		if q, ok := s.st.messages[m.quotedID]; ok && withQuote {
			out["quoted_message"] = s.renderMessageDepth(q, viewer, false)
		}
	}
	return out
}

// renderHTML stands in for Stream's markdown rendering: the text is
// HTML-escaped and wrapped in one paragraph.
func renderHTML(text string) string {
	if text == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(text), "\n", "<br/>\n") + "</p>\n"
}

// marshalJSON encodes v without HTML escaping, as Stream's API does.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}
