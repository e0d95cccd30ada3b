package streamtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on one message (spec §6.4).
const (
	maxAttachments   = 30
	maxMentions      = 100
	maxMessageIDLen  = 255
	maxReactionType  = 30
	latestRepliesDef = 25
)

// messageReserved are message keys that are fields or server-owned: never
// stored as custom data. A decoded stream.Message carries several of them
// back in ExtraData (§2.2), so they are silently ignored in requests.
var messageReserved = set("id", "cid", "text", "html", "type", "silent", "user", "user_id",
	"attachments", "latest_reactions", "own_reactions", "reaction_counts", "reaction_scores",
	"reaction_groups", "parent_id", "show_in_channel", "thread_participants", "reply_count",
	"deleted_reply_count", "quoted_message_id", "quoted_message", "mentioned_users",
	"mentioned_here", "mentioned_channel", "command", "args", "shadowed", "pinned", "pinned_at",
	"pinned_by", "pin_expires", "image_labels", "mml", "i18n", "created_at", "updated_at",
	"deleted_at", "message_text_updated_at", "channel", "member", "poll", "poll_id", "moderation",
	"moderation_details", "draft", "reminder", "shared_location", "deleted_for_me",
	"restricted_visibility", "before_message_send_failed", "deleted_by", "status")

// attachmentStringFields are the attachment fields stream.Attachment
// decodes as strings: the emulator refuses other types there, since they
// would break every client that reads the message back.
var attachmentStringFields = []string{"type", "author_name", "title", "title_link", "text",
	"image_url", "thumb_url", "asset_url", "og_scrape_url"}

// msgFields are the fields of a message request, parsed and checked.
type msgFields struct {
	has         map[string]bool
	id          string
	text        string
	typ         string
	sender      string
	attachments []custom
	mentioned   []string
	parentID    string
	quotedID    string
	showInCh    bool
	silent      bool
	pinned      bool
	custom      custom
}

// parseMessage reads a message object as stream-chat-go sends it (the
// toRequest form, or a whole Message for embedded messages, §2.3).
func (c *reqCtx) parseMessage(mo obj) (*msgFields, *apiError) {
	f := &msgFields{has: map[string]bool{}}
	for k, v := range mo {
		if !isNull(v) {
			f.has[k] = true
		}
	}
	var aerr *apiError
	if f.id, aerr = c.str(mo, "id"); aerr != nil {
		return nil, aerr
	}
	if len(f.id) > maxMessageIDLen {
		return nil, c.inputErr("message.id must be at most %d characters", maxMessageIDLen)
	}
	if f.text, aerr = c.str(mo, "text"); aerr != nil {
		return nil, aerr
	}
	if f.typ, aerr = c.str(mo, "type"); aerr != nil {
		return nil, aerr
	}
	if f.sender, aerr = c.userRef(mo); aerr != nil {
		return nil, aerr
	}
	if f.attachments, aerr = c.attachments(mo); aerr != nil {
		return nil, aerr
	}
	if f.mentioned, aerr = c.userIDList(mo, "mentioned_users"); aerr != nil {
		return nil, aerr
	}
	if len(f.mentioned) > maxMentions {
		return nil, c.inputErr("mentioned_users must contain at most %d users", maxMentions)
	}
	if f.parentID, aerr = c.str(mo, "parent_id"); aerr != nil {
		return nil, aerr
	}
	if f.quotedID, aerr = c.str(mo, "quoted_message_id"); aerr != nil {
		return nil, aerr
	}
	if f.showInCh, aerr = c.boolean(mo, "show_in_channel"); aerr != nil {
		return nil, aerr
	}
	if f.silent, aerr = c.boolean(mo, "silent"); aerr != nil {
		return nil, aerr
	}
	if f.pinned, aerr = c.boolean(mo, "pinned"); aerr != nil {
		return nil, aerr
	}
	f.custom = splitCustom(mo, messageReserved)
	return f, c.checkMessageLimits(f.text, f.attachments, f.custom)
}

func (c *reqCtx) checkMessageLimits(text string, atts []custom, cu custom) *apiError {
	if n := utf8.RuneCountInString(text); n > c.s.cfg.MaxMessageLength {
		return opError(http.StatusBadRequest, CodeMessageTooLong, c.route.op,
			"message is too long, text can't be longer than %d characters", c.s.cfg.MaxMessageLength)
	}
	if len(atts) > maxAttachments {
		return c.inputErr("a message can have at most %d attachments", maxAttachments)
	}
	if n := cu.size(); n > maxCustomBytes {
		return c.inputErr("message custom data is too big: %d bytes, max is %d", n, maxCustomBytes)
	}
	return nil
}

// attachments reads "attachments": null or an array of objects whose
// known fields have the types stream-chat-go expects.
func (c *reqCtx) attachments(o obj) ([]custom, *apiError) {
	items, ok, aerr := decodeField[[]json.RawMessage](c, o, "attachments", "an array")
	if !ok || aerr != nil {
		return nil, aerr
	}
	out := make([]custom, 0, len(items))
	for i, it := range items {
		ao, ok := parseObject(it)
		if !ok || isNull(it) {
			return nil, c.inputErr("attachments[%d] must be an object", i)
		}
		for _, k := range attachmentStringFields {
			if _, aerr := c.str(ao, k); aerr != nil {
				return nil, c.inputErr("attachments[%d].%s must be a string", i, k)
			}
		}
		a := custom{}
		for k, v := range ao {
			if k != "" && !isNull(v) {
				a[k] = compactRaw(v)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// buildMessage checks a new message for channel ch and returns it, not yet
// stored. defaultUser is the sender when the message names none (embedded
// messages of channel updates).
func (c *reqCtx) buildMessage(ch *channel, mo obj, defaultUser string, embedded bool) (*message, *apiError) {
	f, aerr := c.parseMessage(mo)
	if aerr != nil {
		return nil, aerr
	}
	s := c.s
	sender := f.sender
	if !c.auth.server {
		if sender != "" && sender != c.auth.userID {
			return nil, c.forbidden("message.user_id %s does not match the user of the token", sender)
		}
		sender = c.auth.userID
	}
	if sender == "" {
		sender = defaultUser
	}
	if sender == "" {
		return nil, c.inputErr("message.user or message.user_id is a required field when using server side auth")
	}
	if aerr := c.missingUsers(append([]string{sender}, f.mentioned...)...); aerr != nil {
		return nil, aerr
	}
	if aerr := c.requireMember(ch, "CreateMessage"); aerr != nil {
		return nil, aerr
	}
	if ch.frozen && !c.isAdmin() {
		return nil, c.forbidden("channel %s is frozen", ch.cid)
	}
	typ := "regular"
	switch f.typ {
	case "", "regular":
	case "reply":
		if f.parentID == "" {
			return nil, c.inputErr("message.type reply needs a parent_id")
		}
	case "system":
		if !c.auth.server {
			return nil, c.notAllowed("CreateSystemMessage", ch.typ)
		}
		typ = "system"
	default:
		return nil, c.inputErr("message.type %s cannot be set, only regular and system", f.typ)
	}
	if strings.TrimSpace(f.text) == "" && len(f.attachments) == 0 && !embedded {
		return nil, c.inputErr("message.text or message.attachments is required")
	}
	if f.id != "" {
		if _, dup := s.st.messages[f.id]; dup {
			return nil, c.inputErr("message with id %s already exists", f.id)
		}
	}
	m := &message{id: f.id, cid: ch.cid, text: f.text, typ: typ, userID: sender,
		attachments: f.attachments, custom: f.custom, silent: f.silent, mentioned: f.mentioned,
		createdAt: c.now, updatedAt: c.now}
	if m.id == "" {
		m.id = randomUUID()
	}
	if f.parentID != "" {
		p, ok := s.st.messages[f.parentID]
		if !ok || p.cid != ch.cid || p.truncated {
			return nil, c.inputErr("parent message %s does not exist in channel %s", f.parentID, ch.cid)
		}
		if p.parentID != "" {
			return nil, opError(http.StatusBadRequest, CodeMultipleNesting, c.route.op, "multiple level reply is not supported")
		}
		m.parentID = p.id
		m.typ = "reply"
		if typ == "system" {
			m.typ = "system"
		}
		m.showInChannel = f.showInCh
	}
	if f.quotedID != "" {
		q, ok := s.st.messages[f.quotedID]
		if !ok || q.cid != ch.cid || q.truncated {
			return nil, c.inputErr("quoted message %s does not exist in channel %s", f.quotedID, ch.cid)
		}
		m.quotedID = q.id
	}
	if f.pinned {
		t := c.now
		m.pinned, m.pinnedAt, m.pinnedBy = true, &t, sender
	}
	return m, nil
}

// storeMessage adds a built message to its channel and emits message.new.
func (s *Server) storeMessage(c *reqCtx, ch *channel, m *message, keepHidden bool) {
	m.seq = s.nextSeq()
	s.st.messages[m.id] = m
	ch.msgs = append(ch.msgs, m)
	extra := map[string]any{}
	if m.parentID != "" {
		if p, ok := s.st.messages[m.parentID]; ok {
			p.replyCount++
			if !slices.Contains(p.participants, m.userID) {
				p.participants = append(p.participants, m.userID)
			}
			ps := []any{}
			for _, id := range p.participants {
				ps = append(ps, s.renderUser(id))
			}
			extra["thread_participants"] = ps
			extra["parent_id"] = p.id
		}
	}
	if m.inChannelList() {
		t := m.createdAt
		ch.lastMessageAt = &t
	}
	if !keepHidden {
		for _, mem := range ch.members {
			mem.hidden = false
		}
	}
	extra["message"] = s.renderMessage(m, "")
	extra["message_id"] = m.id
	extra["user"] = s.renderUser(m.userID)
	extra["members"] = s.renderMembers(ch, 0)
	extra["watcher_count"] = 0
	extra["channel_member_count"] = len(ch.members)
	s.emit(c, "message.new", ch, extra)
}

// POST /channels/{type}/{id}/message
func (s *Server) sendMessage(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	mo, aerr := c.requiredObject(body, "message")
	if aerr != nil {
		return 0, nil, aerr
	}
	for _, k := range []string{"skip_push", "skip_enrich_url", "pending", "is_pending_message"} {
		if _, aerr := c.boolean(body, k); aerr != nil {
			return 0, nil, aerr
		}
	}
	keepHidden, aerr := c.boolean(body, "keep_channel_hidden")
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannel()
	if aerr != nil {
		return 0, nil, aerr
	}
	m, aerr := c.buildMessage(ch, mo, "", false)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.storeMessage(c, ch, m, keepHidden)
	return http.StatusCreated, map[string]any{"message": s.renderMessage(m, c.auth.userID)}, nil
}

// lookupMessage finds the message named by the {id} path parameter and
// checks the caller may read its channel.
func (c *reqCtx) lookupMessage(action string) (*message, *channel, *apiError) {
	id := c.param("id")
	m, ok := c.s.st.messages[id]
	if !ok || m.truncated {
		return nil, nil, c.notFound("Message with id %s doesn't exist", id)
	}
	ch := c.s.st.channels[m.cid]
	if aerr := c.requireMember(ch, action); aerr != nil {
		return nil, nil, aerr
	}
	if !c.auth.server {
		if mem, ok := ch.members[c.auth.userID]; ok && m.seq <= mem.hiddenBefore && !c.isAdmin() {
			return nil, nil, c.notFound("Message with id %s doesn't exist", id)
		}
	}
	return m, ch, nil
}

// GET /messages/{id}
func (s *Server) getMessage(c *reqCtx) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, _, aerr := c.lookupMessage("ReadChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, map[string]any{"message": s.renderMessage(m, c.auth.userID)}, nil
}

// canEdit: with a user token only the author may edit a message.
func (c *reqCtx) canEdit(m *message, ch *channel) *apiError {
	if c.isAdmin() || m.userID == c.auth.userID {
		return nil
	}
	return c.notAllowed("UpdateMessage", ch.typ)
}

// POST /messages/{id}: full replace of text, attachments, mentions, custom
// data and the pinned and silent flags.
func (s *Server) updateMessage(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	mo, aerr := c.requiredObject(body, "message")
	if aerr != nil {
		return 0, nil, aerr
	}
	f, aerr := c.parseMessage(mo)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ch, aerr := c.lookupMessage("UpdateMessage")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.canEdit(m, ch); aerr != nil {
		return 0, nil, aerr
	}
	if m.deletedAt != nil {
		return 0, nil, c.inputErr("message %s was deleted and cannot be updated", m.id)
	}
	actor := m.userID
	if !c.auth.server {
		if f.sender != "" && f.sender != c.auth.userID {
			return 0, nil, c.forbidden("message.user_id %s does not match the user of the token", f.sender)
		}
		actor = c.auth.userID
	} else if f.sender != "" {
		actor = f.sender
	}
	if aerr := c.missingUsers(append([]string{actor}, f.mentioned...)...); aerr != nil {
		return 0, nil, aerr
	}
	if f.parentID != "" && f.parentID != m.parentID {
		return 0, nil, c.inputErr("parent_id cannot be changed")
	}
	if f.quotedID != "" && f.quotedID != m.quotedID {
		q, ok := s.st.messages[f.quotedID]
		if !ok || q.cid != m.cid || q.truncated {
			return 0, nil, c.inputErr("quoted message %s does not exist in channel %s", f.quotedID, m.cid)
		}
	}
	if strings.TrimSpace(f.text) == "" && len(f.attachments) == 0 {
		return 0, nil, c.inputErr("message.text or message.attachments is required")
	}
	if f.text != m.text {
		t := c.now
		m.textUpdatedAt = &t
	}
	m.text = f.text
	m.attachments = f.attachments
	m.mentioned = f.mentioned
	m.custom = f.custom
	m.silent = f.silent
	if f.quotedID != "" {
		m.quotedID = f.quotedID
	}
	if m.parentID != "" && f.has["show_in_channel"] {
		m.showInChannel = f.showInCh
	}
	s.setPinned(c, m, f.pinned, actor, nil)
	m.updatedAt = c.now
	s.emitMessageUpdated(c, ch, m, actor)
	return http.StatusCreated, map[string]any{"message": s.renderMessage(m, c.auth.userID)}, nil
}

func (s *Server) setPinned(c *reqCtx, m *message, pinned bool, by string, expires *timeOpt) {
	switch {
	case pinned && !m.pinned:
		t := c.now
		m.pinned, m.pinnedAt, m.pinnedBy = true, &t, by
	case !pinned && m.pinned:
		m.pinned, m.pinnedAt, m.pinnedBy, m.pinExpires = false, nil, "", nil
	}
	if expires != nil && m.pinned {
		m.pinExpires = expires.t
	}
}

// timeOpt carries an optional timestamp (nil t clears).
type timeOpt struct{ t *time.Time }

func (s *Server) emitMessageUpdated(c *reqCtx, ch *channel, m *message, actor string) {
	s.emit(c, "message.updated", ch, map[string]any{
		"message":    s.renderMessage(m, ""),
		"message_id": m.id,
		"user":       s.renderUser(actor),
	})
}

// messageSettable are the built-in fields a partial update may set.
var messageSettable = set("text", "attachments", "mentioned_users", "pinned", "pin_expires",
	"silent", "show_in_channel", "quoted_message_id")

// PUT /messages/{id}: partial update with set and unset.
func (s *Server) partialUpdateMessage(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	setO, unset, aerr := c.setUnset(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	if _, aerr := c.boolean(body, "skip_enrich_url"); aerr != nil {
		return 0, nil, aerr
	}
	if len(setO) == 0 && len(unset) == 0 {
		return 0, nil, c.inputErr("set or unset is required")
	}
	for k := range setO {
		if messageReserved[k] && !messageSettable[k] {
			return 0, nil, c.inputErr("set.%s is a reserved field and cannot be changed", k)
		}
	}
	for _, k := range unset {
		if messageReserved[k] && !messageSettable[k] {
			return 0, nil, c.inputErr("unset %s: a reserved field cannot be removed", k)
		}
	}
	actor, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ch, aerr := c.lookupMessage("UpdateMessage")
	if aerr != nil {
		return 0, nil, aerr
	}
	pinOnly := len(unset) == 0
	for k := range setO {
		pinOnly = pinOnly && (k == "pinned" || k == "pin_expires")
	}
	if !pinOnly {
		if aerr := c.canEdit(m, ch); aerr != nil {
			return 0, nil, aerr
		}
	}
	if m.deletedAt != nil {
		return 0, nil, c.inputErr("message %s was deleted and cannot be updated", m.id)
	}
	if actor == "" {
		actor = m.userID
	}
	if aerr := c.missingUsers(actor); aerr != nil {
		return 0, nil, aerr
	}
	// Work on a copy; commit only if the result is valid.
	next := *m
	next.custom = m.custom.clone()
	if _, ok := setO["text"]; ok {
		if next.text, aerr = c.str(setO, "text"); aerr != nil {
			return 0, nil, aerr
		}
	}
	if _, ok := setO["attachments"]; ok {
		if next.attachments, aerr = c.attachments(setO); aerr != nil {
			return 0, nil, aerr
		}
	}
	if _, ok := setO["mentioned_users"]; ok {
		if next.mentioned, aerr = c.userIDList(setO, "mentioned_users"); aerr != nil {
			return 0, nil, aerr
		}
		if len(next.mentioned) > maxMentions {
			return 0, nil, c.inputErr("mentioned_users must contain at most %d users", maxMentions)
		}
		if aerr := c.missingUsers(next.mentioned...); aerr != nil {
			return 0, nil, aerr
		}
	}
	if _, ok := setO["silent"]; ok {
		if next.silent, aerr = c.boolean(setO, "silent"); aerr != nil {
			return 0, nil, aerr
		}
	}
	if _, ok := setO["show_in_channel"]; ok && next.parentID != "" {
		if next.showInChannel, aerr = c.boolean(setO, "show_in_channel"); aerr != nil {
			return 0, nil, aerr
		}
	}
	if _, ok := setO["quoted_message_id"]; ok {
		q, aerr := c.str(setO, "quoted_message_id")
		if aerr != nil {
			return 0, nil, aerr
		}
		if q != "" {
			qm, ok := s.st.messages[q]
			if !ok || qm.cid != m.cid || qm.truncated {
				return 0, nil, c.inputErr("quoted message %s does not exist in channel %s", q, m.cid)
			}
		}
		next.quotedID = q
	}
	pinned := next.pinned
	if _, ok := setO["pinned"]; ok {
		if pinned, aerr = c.boolean(setO, "pinned"); aerr != nil {
			return 0, nil, aerr
		}
	}
	var expires *timeOpt
	if _, ok := setO["pin_expires"]; ok {
		t, aerr := c.timeValue(setO, "pin_expires")
		if aerr != nil {
			return 0, nil, aerr
		}
		expires = &timeOpt{t: t}
	}
	for k, v := range splitCustom(setO, messageReserved) {
		next.custom[k] = v
	}
	for _, k := range unset {
		switch k {
		case "text":
			next.text = ""
		case "attachments":
			next.attachments = nil
		case "mentioned_users":
			next.mentioned = nil
		case "quoted_message_id":
			next.quotedID = ""
		case "pin_expires":
			expires = &timeOpt{}
		case "pinned":
			pinned = false
		case "silent":
			next.silent = false
		case "show_in_channel":
			next.showInChannel = false
		default:
			delete(next.custom, k)
		}
	}
	if aerr := c.checkMessageLimits(next.text, next.attachments, next.custom); aerr != nil {
		return 0, nil, aerr
	}
	if next.text != m.text {
		t := c.now
		next.textUpdatedAt = &t
	}
	s.setPinned(c, &next, pinned, actor, expires)
	next.updatedAt = c.now
	*m = next
	s.emitMessageUpdated(c, ch, m, actor)
	return http.StatusCreated, map[string]any{"message": s.renderMessage(m, c.auth.userID)}, nil
}

// DELETE /messages/{id}[?hard=true]
func (s *Server) deleteMessage(c *reqCtx) (int, map[string]any, *apiError) {
	hard := c.query.Get("hard") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ch, aerr := c.lookupMessage("DeleteMessage")
	if aerr != nil {
		return 0, nil, aerr
	}
	if !c.isAdmin() {
		if hard {
			return 0, nil, c.forbidden("hard delete is only allowed with server-side auth")
		}
		if m.userID != c.auth.userID {
			if aerr := c.requireModerator(ch, "DeleteMessage"); aerr != nil {
				return 0, nil, aerr
			}
		}
	}
	actor := c.auth.userID
	rendered := s.removeOrSoftDelete(c, m, hard, actor)
	return http.StatusOK, map[string]any{"message": rendered}, nil
}

// removeOrSoftDelete deletes m (soft: type "deleted" and deleted_at; hard:
// removed) and emits message.deleted. It returns the message as rendered
// after the deletion.
func (s *Server) removeOrSoftDelete(c *reqCtx, m *message, hard bool, actor string) map[string]any {
	ch := s.st.channels[m.cid]
	wasDeleted := m.deletedAt != nil
	if !wasDeleted {
		t := c.now
		m.deletedAt = &t
		m.typ = "deleted"
		m.updatedAt = t
		if p, ok := s.st.messages[m.parentID]; ok {
			p.replyCount = max(p.replyCount-1, 0)
			p.deletedReplies++
		}
	}
	rendered := s.renderMessage(m, c.auth.userID)
	if hard {
		delete(s.st.messages, m.id)
		if ch != nil {
			ch.msgs = slices.DeleteFunc(ch.msgs, func(x *message) bool { return x == m })
		}
		if p, ok := s.st.messages[m.parentID]; ok {
			p.deletedReplies = max(p.deletedReplies-1, 0)
		}
	} else if wasDeleted {
		return rendered
	}
	if ch != nil {
		extra := map[string]any{
			"message":     s.renderMessage(m, ""),
			"message_id":  m.id,
			"hard_delete": hard,
		}
		if actor != "" {
			extra["user"] = s.renderUser(actor)
		}
		s.emit(c, "message.deleted", ch, extra)
	}
	return rendered
}

func (s *Server) sortedMessages() []*message {
	out := make([]*message, 0, len(s.st.messages))
	for _, m := range s.st.messages {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// GET /channels/{type}/{id}/messages?ids=a,b,c
func (s *Server) getManyMessages(c *reqCtx) (int, map[string]any, *apiError) {
	ids := c.query.Get("ids")
	if ids == "" {
		return 0, nil, c.inputErr("ids is a required field")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireMember, "ReadChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	var hidden int64
	if m, ok := ch.members[c.auth.userID]; ok && !c.auth.server {
		hidden = m.hiddenBefore
	}
	out := []any{}
	seen := map[string]bool{}
	for _, id := range strings.Split(ids, ",") {
		if seen[id] {
			continue
		}
		seen[id] = true
		m, ok := s.st.messages[id]
		if !ok || m.cid != ch.cid || m.truncated || m.seq <= hidden {
			continue
		}
		out = append(out, s.renderMessage(m, c.auth.userID))
	}
	return http.StatusOK, map[string]any{"messages": out}, nil
}

// GET /messages/{id}/replies?limit=&id_lt=…
func (s *Server) getReplies(c *reqCtx) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ch, aerr := c.lookupMessage("ReadChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	var hidden int64
	if m, ok := ch.members[c.auth.userID]; ok && !c.auth.server {
		hidden = m.hiddenBefore
	}
	var replies []*message
	for _, m := range ch.msgs {
		if m.parentID == p.id && !m.truncated && m.seq > hidden {
			replies = append(replies, m)
		}
	}
	page, aerr := c.pageMessages(replies, queryPage(c.query), latestRepliesDef)
	if aerr != nil {
		return 0, nil, aerr
	}
	out := make([]any, 0, len(page))
	for _, m := range page {
		out = append(out, s.renderMessage(m, c.auth.userID))
	}
	return http.StatusOK, map[string]any{"messages": out}, nil
}
