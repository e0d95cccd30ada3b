package streamtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Channel roles.
const (
	roleOwner     = "channel_owner"
	roleModerator = "channel_moderator"
	roleMember    = "channel_member"
)

// channelTypes are Stream's built-in channel types; the emulator gives
// them all the same configuration and permission rules.
var channelTypes = set("messaging", "team", "livestream", "commerce", "gaming")

// channelIDChars is the punctuation a channel ID may hold besides letters
// and digits.
const channelIDChars = "!-_@"

// maxMembersPerOp is how many members one create or update may name.
const maxMembersPerOp = 100

// channelReserved are channel keys that are fields or server-owned: never
// stored as custom data.
var channelReserved = set("id", "type", "cid", "config", "created_by", "created_by_id", "created_at",
	"updated_at", "deleted_at", "last_message_at", "member_count", "members", "messages",
	"pinned_messages", "pending_messages", "read", "watchers", "watcher_count", "own_capabilities",
	"hidden", "muted", "mute_expires_at", "cooldown", "message_count", "filter_tags", "blocked",
	"auto_translation_enabled", "auto_translation_language", "truncated_at", "truncated_by",
	"truncated_by_id", "frozen", "disabled", "team", "invites", "threads", "hide_messages_before",
	"draft", "active_live_locations", "push_preferences")

func (s *Server) sortedChannels() []*channel {
	out := make([]*channel, 0, len(s.st.channels))
	for _, ch := range s.st.channels {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// lookupChannel finds the channel named by the {type} and {id} path
// parameters.
func (c *reqCtx) lookupChannel() (*channel, *apiError) {
	typ, id := c.param("type"), c.param("id")
	if !channelTypes[typ] {
		return nil, c.notFound("channel type %s does not exist", typ)
	}
	ch, ok := c.s.st.channels[typ+":"+id]
	if !ok {
		return nil, c.notFound("Can't find channel with id %s:%s", typ, id)
	}
	return ch, nil
}

// lookupChannelFor finds the channel as lookupChannel does, then checks
// that the caller may perform action on it with check (requireMember,
// requireModerator or requireOwner).
func (c *reqCtx) lookupChannelFor(check func(ch *channel, action string) *apiError, action string) (*channel, *apiError) {
	ch, aerr := c.lookupChannel()
	if aerr != nil {
		return nil, aerr
	}
	if aerr := check(ch, action); aerr != nil {
		return nil, aerr
	}
	return ch, nil
}

// isAdmin reports whether the caller bypasses permission checks: server
// tokens, users with the global role admin, and every user when the app
// has disable_permissions_checks.
func (c *reqCtx) isAdmin() bool {
	return c.auth.server || c.s.st.app.disablePermissions || c.userRole() == "admin"
}

// requireMember is the check for reading and writing a channel with a user
// token: the user must be a member (an invitee only once accepted).
func (c *reqCtx) requireMember(ch *channel, action string) *apiError {
	if c.isAdmin() {
		return nil
	}
	if m, ok := ch.members[c.auth.userID]; ok && m.active() {
		return nil
	}
	return c.notAllowed(action, ch.typ)
}

// requireModerator is the check for changing a channel with a user token:
// the channel's creator, or a member whose channel role is owner or
// moderator.
func (c *reqCtx) requireModerator(ch *channel, action string) *apiError {
	if c.isAdmin() {
		return nil
	}
	if m, ok := ch.members[c.auth.userID]; ok && m.active() &&
		(m.channelRole == roleOwner || m.channelRole == roleModerator || ch.createdBy == c.auth.userID) {
		return nil
	}
	return c.notAllowed(action, ch.typ)
}

// actingUser resolves who performs a server-side operation from a
// "user_id" or "user" in o; with a user token it is always the token's
// user, and naming someone else is refused.
func (c *reqCtx) actingUser(o obj) (string, *apiError) {
	id, aerr := c.userRef(o)
	if aerr != nil {
		return "", aerr
	}
	if !c.auth.server {
		if id != "" && id != c.auth.userID {
			return "", c.forbidden("user_id %s does not match the user of the token", id)
		}
		return c.auth.userID, nil
	}
	return id, nil
}

func distinctID(members []string) string {
	ms := slices.Clone(members)
	sort.Strings(ms)
	ms = slices.Compact(ms)
	sum := sha256.Sum256([]byte(strings.Join(ms, ",")))
	return "!members-" + base64.URLEncoding.EncodeToString(sum[:])[:32]
}

// memberSpec is one member of a create or add operation.
type memberSpec struct {
	id   string
	role string
}

// memberSpecs reads members given as IDs or as {"user_id", "channel_role"}
// objects.
func (c *reqCtx) memberSpecs(o obj, key string) ([]memberSpec, *apiError) {
	items, ok, aerr := decodeField[[]json.RawMessage](c, o, key, "an array")
	if !ok || aerr != nil {
		return nil, aerr
	}
	if len(items) > maxMembersPerOp {
		return nil, c.inputErr("%s must contain at most %d items", key, maxMembersPerOp)
	}
	var out []memberSpec
	for _, it := range items {
		var id string
		if err := json.Unmarshal(it, &id); err == nil {
			out = append(out, memberSpec{id: id})
			continue
		}
		mo, ok := parseObject(it)
		if !ok || isNull(it) {
			return nil, c.inputErr("%s must hold user IDs or member objects", key)
		}
		id, aerr := c.userRef(mo)
		if aerr != nil {
			return nil, aerr
		}
		role, aerr := c.str(mo, "channel_role")
		if aerr != nil {
			return nil, aerr
		}
		if role != "" && role != roleMember && role != roleModerator && role != roleOwner {
			return nil, c.inputErr("channel_role %s does not exist", role)
		}
		out = append(out, memberSpec{id: id, role: role})
	}
	for _, m := range out {
		if m.id == "" {
			return nil, c.inputErr("%s: member user_id is required", key)
		}
	}
	return out, nil
}

func (s *Server) newMember(ch *channel, id, role string, now time.Time) *member {
	if role == "" {
		role = roleMember
	}
	return &member{userID: id, channelRole: role, createdAt: now, updatedAt: now,
		lastReadSeq: s.st.seq, lastReadAt: now, seq: s.nextSeq()}
}

// ---- get or create ----------------------------------------------------------

// POST /channels/{type}/query and /channels/{type}/{id}/query.
func (s *Server) queryChannel(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	typ := c.param("type")
	if !channelTypes[typ] {
		return 0, nil, c.notFound("channel type %s does not exist", typ)
	}
	data, aerr := c.object(body, "data")
	if aerr != nil {
		return 0, nil, aerr
	}
	members, aerr := c.memberSpecs(data, "members")
	if aerr != nil {
		return 0, nil, aerr
	}
	msgPage, aerr := c.object(body, "messages")
	if aerr != nil {
		return 0, nil, aerr
	}
	memPage, aerr := c.object(body, "members")
	if aerr != nil {
		return 0, nil, aerr
	}
	memLimit, memOffset, aerr := c.limitOffset(memPage, 100, 300, 10000)
	if aerr != nil {
		return 0, nil, aerr
	}
	hideForCreator, aerr := c.boolean(body, "hide_for_creator")
	if aerr != nil {
		return 0, nil, aerr
	}
	id := c.param("id")
	if id == "" {
		if len(members) == 0 {
			return 0, nil, c.inputErr("When creating a channel without an ID you must provide members")
		}
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = m.id
		}
		if !c.auth.server && !slices.Contains(ids, c.auth.userID) {
			ids = append(ids, c.auth.userID)
			members = append(members, memberSpec{id: c.auth.userID})
		}
		id = distinctID(ids)
	} else if !validID(id, 64, channelIDChars) {
		return 0, nil, c.inputErr("channel id %q is invalid: use up to 64 letters, digits and ! - _ @", id)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	cid := typ + ":" + id
	ch, exists := s.st.channels[cid]
	status := http.StatusCreated
	if exists {
		if aerr := c.requireMember(ch, "ReadChannel"); aerr != nil {
			return 0, nil, aerr
		}
	} else {
		creator := c.auth.userID
		if c.auth.server {
			if creator, aerr = c.idOf(data, "created_by"); aerr != nil {
				return 0, nil, aerr
			}
			if creator == "" {
				if creator, aerr = c.str(data, "created_by_id"); aerr != nil {
					return 0, nil, aerr
				}
			}
			if creator == "" {
				return 0, nil, c.inputErr("either data.created_by or data.created_by_id must be provided when using server side auth")
			}
		} else {
			isMember := false
			for _, m := range members {
				isMember = isMember || m.id == creator
			}
			if !isMember && !c.isAdmin() {
				return 0, nil, c.notAllowed("CreateChannel", typ)
			}
		}
		ids := []string{creator}
		for _, m := range members {
			ids = append(ids, m.id)
		}
		if aerr := c.missingUsers(ids...); aerr != nil {
			return 0, nil, aerr
		}
		cu := splitCustom(data, channelReserved)
		if cu.size() > maxCustomBytes {
			return 0, nil, c.inputErr("channel custom data is too big: %d bytes, max is %d", cu.size(), maxCustomBytes)
		}
		ch = &channel{typ: typ, id: id, cid: cid, createdBy: creator, createdAt: c.now, updatedAt: c.now,
			custom: cu, members: map[string]*member{}, seq: s.nextSeq()}
		if aerr := c.applyChannelFlags(ch, data, false); aerr != nil {
			return 0, nil, aerr
		}
		for _, m := range members {
			if _, dup := ch.members[m.id]; dup {
				continue
			}
			role := m.role
			if m.id == creator && role == "" {
				role = roleOwner
			}
			ch.members[m.id] = s.newMember(ch, m.id, role, c.now)
		}
		if hideForCreator {
			if m, ok := ch.members[creator]; ok {
				m.hidden = true
			}
		}
		s.st.channels[cid] = ch
		s.emit(c, "channel.created", ch, map[string]any{"user": s.renderUser(creator)})
		for _, m := range ch.memberList() {
			s.emit(c, "member.added", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(m.userID)})
		}
	}
	msgs, aerr := c.pageMessages(s.visibleChannelMessages(c, ch), msgPage, 25)
	if aerr != nil {
		return 0, nil, aerr
	}
	return status, s.channelState(c, ch, msgs, memLimit, memOffset), nil
}

// channelState is the ChannelStateResponse body.
func (s *Server) channelState(c *reqCtx, ch *channel, msgs []*message, memLimit, memOffset int) map[string]any {
	viewer := c.auth.userID
	rendered := make([]any, 0, len(msgs))
	for _, m := range msgs {
		rendered = append(rendered, s.renderMessage(m, viewer))
	}
	pinned := []any{}
	for _, m := range s.visibleChannelMessages(c, ch) {
		if m.pinned && m.deletedAt == nil {
			pinned = append(pinned, s.renderMessage(m, viewer))
		}
	}
	ms := ch.memberList()
	members := []any{}
	for i, m := range ms {
		if i < memOffset {
			continue
		}
		if len(members) >= memLimit {
			break
		}
		members = append(members, s.renderMember(m))
	}
	out := map[string]any{
		"channel":         s.renderChannel(ch),
		"members":         members,
		"messages":        rendered,
		"pinned_messages": pinned,
		"read":            s.renderRead(ch),
		"watcher_count":   0,
		"threads":         []any{},
	}
	if m, ok := ch.members[viewer]; ok {
		out["membership"] = s.renderMember(m)
	}
	return out
}

// visibleChannelMessages is the channel's message list as the caller may
// see it: replies only with show_in_channel, nothing truncated, and for a
// user token nothing hidden from that member (hide_history,
// clear_history).
func (s *Server) visibleChannelMessages(c *reqCtx, ch *channel) []*message {
	var hidden int64
	if !c.auth.server {
		if m, ok := ch.members[c.auth.userID]; ok {
			hidden = m.hiddenBefore
		}
	}
	out := make([]*message, 0, len(ch.msgs))
	for _, m := range ch.msgs {
		if m.inChannelList() && m.seq > hidden {
			out = append(out, m)
		}
	}
	return out
}

// pageMessages applies Stream's message pagination to an oldest-first
// list and returns the page oldest first.
func (c *reqCtx) pageMessages(list []*message, p obj, def int) ([]*message, *apiError) {
	limit, offset, aerr := c.limitOffset(p, def, 300, 10000)
	if aerr != nil {
		return nil, aerr
	}
	idx := func(key string) (int, bool, *apiError) {
		id, aerr := c.str(p, key)
		if aerr != nil || id == "" {
			return 0, false, aerr
		}
		for i, m := range list {
			if m.id == id {
				return i, true, nil
			}
		}
		return 0, false, c.inputErr("%s: message %s was not found", key, id)
	}
	lo, hi := 0, len(list) // the window [lo, hi)
	lowerBound := false
	if i, ok, aerr := idx("id_gt"); aerr != nil {
		return nil, aerr
	} else if ok {
		lo, lowerBound = max(lo, i+1), true
	}
	if i, ok, aerr := idx("id_gte"); aerr != nil {
		return nil, aerr
	} else if ok {
		lo, lowerBound = max(lo, i), true
	}
	if i, ok, aerr := idx("id_lt"); aerr != nil {
		return nil, aerr
	} else if ok {
		hi = min(hi, i)
	}
	if i, ok, aerr := idx("id_lte"); aerr != nil {
		return nil, aerr
	} else if ok {
		hi = min(hi, i+1)
	}
	timeBound := func(key string, cmp func(t time.Time, ref time.Time) bool, lower bool) *apiError {
		t, aerr := c.timeValue(p, key)
		if aerr != nil || t == nil {
			return aerr
		}
		for i, m := range list {
			if lower && !cmp(m.createdAt, *t) {
				lo = max(lo, i+1)
			}
			if !lower && !cmp(m.createdAt, *t) {
				hi = min(hi, i)
				break
			}
		}
		if lower {
			lowerBound = true
		}
		return nil
	}
	for _, tb := range []struct {
		key   string
		cmp   func(a, b time.Time) bool
		lower bool
	}{
		{"created_at_after", func(a, b time.Time) bool { return a.After(b) }, true},
		{"created_at_after_or_equal", func(a, b time.Time) bool { return !a.Before(b) }, true},
		{"created_at_before", func(a, b time.Time) bool { return a.Before(b) }, false},
		{"created_at_before_or_equal", func(a, b time.Time) bool { return !a.After(b) }, false},
	} {
		if aerr := timeBound(tb.key, tb.cmp, tb.lower); aerr != nil {
			return nil, aerr
		}
	}
	if lo >= hi {
		return []*message{}, nil
	}
	window := list[lo:hi]
	if i, ok, aerr := idx("id_around"); aerr != nil {
		return nil, aerr
	} else if ok {
		return aroundPage(list, i, limit), nil
	}
	if t, aerr := c.timeValue(p, "created_at_around"); aerr != nil {
		return nil, aerr
	} else if t != nil {
		i := sort.Search(len(list), func(i int) bool { return !list[i].createdAt.Before(*t) })
		return aroundPage(list, min(i, max(len(list)-1, 0)), limit), nil
	}
	if lowerBound {
		window = window[min(offset, len(window)):]
		return window[:min(limit, len(window))], nil
	}
	end := max(len(window)-offset, 0)
	return window[max(end-limit, 0):end], nil
}

func aroundPage(list []*message, i, limit int) []*message {
	if len(list) == 0 {
		return []*message{}
	}
	start := max(i-limit/2, 0)
	end := min(start+limit, len(list))
	start = max(end-limit, 0)
	return list[start:end]
}

// applyChannelFlags sets frozen, disabled and team from o.
func (c *reqCtx) applyChannelFlags(ch *channel, o obj, partial bool) *apiError {
	for _, f := range []struct {
		key string
		dst *bool
	}{{"frozen", &ch.frozen}, {"disabled", &ch.disabled}} {
		if _, ok := o[f.key]; !ok {
			if !partial {
				continue
			}
			continue
		}
		b, aerr := c.boolean(o, f.key)
		if aerr != nil {
			return aerr
		}
		*f.dst = b
	}
	if _, ok := o["team"]; ok {
		t, aerr := c.str(o, "team")
		if aerr != nil {
			return aerr
		}
		ch.team = t
	}
	return nil
}

// ---- update -----------------------------------------------------------------

// POST /channels/{type}/{id}: every channel update the SDK makes shares this
// route, so the operation is chosen by the keys present.
func (s *Server) updateChannel(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	data, aerr := c.object(body, "data")
	if aerr != nil {
		return 0, nil, aerr
	}
	addMembers, aerr := c.memberSpecs(body, "add_members")
	if aerr != nil {
		return 0, nil, aerr
	}
	removeIDs, aerr := c.userIDList(body, "remove_members")
	if aerr != nil {
		return 0, nil, aerr
	}
	addMods, aerr := c.userIDList(body, "add_moderators")
	if aerr != nil {
		return 0, nil, aerr
	}
	demoteMods, aerr := c.userIDList(body, "demote_moderators")
	if aerr != nil {
		return 0, nil, aerr
	}
	invites, aerr := c.userIDList(body, "invites")
	if aerr != nil {
		return 0, nil, aerr
	}
	hideHistory, aerr := c.boolean(body, "hide_history")
	if aerr != nil {
		return 0, nil, aerr
	}
	acceptInvite, aerr := c.boolean(body, "accept_invite")
	if aerr != nil {
		return 0, nil, aerr
	}
	rejectInvite, aerr := c.boolean(body, "reject_invite")
	if aerr != nil {
		return 0, nil, aerr
	}
	var roles []memberSpec
	if raw, ok := body["assign_roles"]; ok && !isNull(raw) {
		var items []struct {
			UserID      string `json:"user_id"`
			ChannelRole string `json:"channel_role"`
		}
		if err := json.Unmarshal(raw, &items); err != nil {
			return 0, nil, c.inputErr("assign_roles must be an array of {user_id, channel_role}")
		}
		for _, it := range items {
			if it.UserID == "" || (it.ChannelRole != roleMember && it.ChannelRole != roleModerator && it.ChannelRole != roleOwner) {
				return 0, nil, c.inputErr("assign_roles: user_id and a known channel_role (channel_member, channel_moderator, channel_owner) are required")
			}
			roles = append(roles, memberSpec{id: it.UserID, role: it.ChannelRole})
		}
	}
	for _, l := range [][]string{removeIDs, addMods, demoteMods, invites} {
		if len(l) > maxMembersPerOp {
			return 0, nil, c.inputErr("at most %d members can be changed in one operation", maxMembersPerOp)
		}
	}
	msgO, hasMsg := body["message"]
	hasMsg = hasMsg && !isNull(msgO)
	_, hasData := body["data"]
	hasData = hasData && !isNull(body["data"])
	if !hasData && len(addMembers) == 0 && len(removeIDs) == 0 && len(addMods) == 0 && len(demoteMods) == 0 &&
		len(invites) == 0 && len(roles) == 0 && !acceptInvite && !rejectInvite && !hasMsg {
		return 0, nil, c.inputErr("the request changes nothing: send data, add_members, remove_members, add_moderators, demote_moderators, assign_roles, invites, accept_invite, reject_invite or message")
	}
	actor, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannel()
	if aerr != nil {
		return 0, nil, aerr
	}
	// Permission checks for user tokens.
	if hasData || len(addMembers) > 0 || len(addMods) > 0 || len(demoteMods) > 0 || len(invites) > 0 || len(roles) > 0 {
		action := "UpdateChannelMembers"
		if hasData {
			action = "UpdateChannel"
		}
		if aerr := c.requireModerator(ch, action); aerr != nil {
			return 0, nil, aerr
		}
	}
	if len(removeIDs) > 0 {
		leavingOnly := !c.auth.server && len(removeIDs) == 1 && removeIDs[0] == c.auth.userID
		if !leavingOnly {
			if aerr := c.requireModerator(ch, "UpdateChannelMembers"); aerr != nil {
				return 0, nil, aerr
			}
		}
	}
	if acceptInvite || rejectInvite {
		if actor == "" {
			return 0, nil, c.inputErr("user_id is required to accept or reject an invite")
		}
		m, ok := ch.members[actor]
		if !ok || !m.invited {
			return 0, nil, c.inputErr("user %s has no pending invite to channel %s", actor, ch.cid)
		}
	}
	var involved []string
	for _, m := range addMembers {
		involved = append(involved, m.id)
	}
	for _, m := range roles {
		involved = append(involved, m.id)
	}
	involved = append(append(append(involved, addMods...), invites...), actor)
	if aerr := c.missingUsers(involved...); aerr != nil {
		return 0, nil, aerr
	}
	for _, id := range append(append(addMods, demoteMods...), func() []string {
		var ids []string
		for _, r := range roles {
			ids = append(ids, r.id)
		}
		return ids
	}()...) {
		inAdd := false
		for _, m := range addMembers {
			inAdd = inAdd || m.id == id
		}
		if _, ok := ch.members[id]; !ok && !inAdd {
			return 0, nil, c.inputErr("user %s is not a member of channel %s", id, ch.cid)
		}
	}
	var newCustom custom
	if hasData {
		newCustom = splitCustom(data, channelReserved)
		if newCustom.size() > maxCustomBytes {
			return 0, nil, c.inputErr("channel custom data is too big: %d bytes, max is %d", newCustom.size(), maxCustomBytes)
		}
	}
	var sysMsg *message
	if hasMsg {
		mo, ok := parseObject(msgO)
		if !ok {
			return 0, nil, c.inputErr("message must be an object")
		}
		m, aerr := c.buildMessage(ch, mo, actor, true)
		if aerr != nil {
			return 0, nil, aerr
		}
		sysMsg = m
	}

	// Everything is valid: apply.
	actorUser := map[string]any(nil)
	if actor != "" {
		actorUser = s.renderUser(actor)
	}
	changed := false
	if hasData {
		ch.custom = newCustom
		if aerr := c.applyChannelFlags(ch, data, false); aerr != nil {
			return 0, nil, aerr
		}
		changed = true
	}
	for _, ms := range addMembers {
		if _, ok := ch.members[ms.id]; ok {
			continue
		}
		m := s.newMember(ch, ms.id, ms.role, c.now)
		if hideHistory {
			m.hiddenBefore = s.st.seq
		}
		ch.members[ms.id] = m
		s.emit(c, "member.added", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(ms.id)})
		changed = true
	}
	for _, id := range invites {
		if _, ok := ch.members[id]; ok {
			continue
		}
		m := s.newMember(ch, id, roleMember, c.now)
		m.invited = true
		ch.members[id] = m
		s.emit(c, "member.added", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(id)})
		changed = true
	}
	setRole := func(id, role string) {
		m, ok := ch.members[id]
		if !ok || m.channelRole == role {
			return
		}
		m.channelRole = role
		m.updatedAt = c.now
		s.emit(c, "member.updated", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(id)})
		changed = true
	}
	for _, id := range addMods {
		setRole(id, roleModerator)
	}
	for _, id := range demoteMods {
		setRole(id, roleMember)
	}
	for _, r := range roles {
		setRole(r.id, r.role)
	}
	if acceptInvite || rejectInvite {
		m := ch.members[actor]
		t := c.now
		if acceptInvite {
			m.inviteAcceptedAt, m.inviteRejectedAt = &t, nil
		} else {
			m.inviteRejectedAt, m.inviteAcceptedAt = &t, nil
		}
		m.updatedAt = t
		s.emit(c, "member.updated", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(actor)})
		changed = true
	}
	for _, id := range removeIDs {
		m, ok := ch.members[id]
		if !ok {
			continue
		}
		delete(ch.members, id)
		s.emit(c, "member.removed", ch, map[string]any{"member": s.renderMember(m), "user": s.renderUser(id)})
		changed = true
	}
	if changed {
		ch.updatedAt = c.now
	}
	resp := map[string]any{}
	if hasData {
		extra := map[string]any{}
		if actorUser != nil {
			extra["user"] = actorUser
		}
		s.emit(c, "channel.updated", ch, extra)
	}
	if sysMsg != nil {
		s.storeMessage(c, ch, sysMsg, false)
		resp["message"] = s.renderMessage(sysMsg, c.auth.userID)
	}
	resp["channel"] = s.renderChannel(ch)
	resp["members"] = s.renderMembers(ch, 0)
	return http.StatusCreated, resp, nil
}

// PATCH /channels/{type}/{id}: set and unset channel fields.
func (s *Server) partialUpdateChannel(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	setO, unset, aerr := c.setUnset(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	if len(setO) == 0 && len(unset) == 0 {
		return 0, nil, c.inputErr("set or unset is required")
	}
	for k := range setO {
		if channelReserved[k] && k != "frozen" && k != "disabled" && k != "team" {
			return 0, nil, c.inputErr("set.%s is a reserved field and cannot be changed", k)
		}
	}
	for _, k := range unset {
		if channelReserved[k] && k != "team" {
			return 0, nil, c.inputErr("unset %s: a reserved field cannot be removed", k)
		}
	}
	actor, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireModerator, "UpdateChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	next := ch.custom.clone()
	for k, v := range splitCustom(setO, channelReserved) {
		next[k] = v
	}
	for _, k := range unset {
		delete(next, k)
	}
	if next.size() > maxCustomBytes {
		return 0, nil, c.inputErr("channel custom data is too big: %d bytes, max is %d", next.size(), maxCustomBytes)
	}
	cp := *ch
	if aerr := c.applyChannelFlags(&cp, setO, true); aerr != nil {
		return 0, nil, aerr
	}
	ch.frozen, ch.disabled, ch.team = cp.frozen, cp.disabled, cp.team
	if slices.Contains(unset, "team") {
		ch.team = ""
	}
	ch.custom = next
	ch.updatedAt = c.now
	extra := map[string]any{}
	if actor != "" {
		extra["user"] = s.renderUser(actor)
	}
	s.emit(c, "channel.updated", ch, extra)
	return http.StatusOK, map[string]any{"channel": s.renderChannel(ch), "members": s.renderMembers(ch, 0)}, nil
}

// DELETE /channels/{type}/{id}: the channel, its messages and its uploads
// are removed.
func (s *Server) deleteChannel(c *reqCtx) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireOwner, "DeleteChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	rendered := s.renderChannel(ch)
	rendered["deleted_at"] = ts(c.now)
	s.dropChannel(c, ch)
	return http.StatusOK, map[string]any{"channel": rendered}, nil
}

// requireOwner is the check for deleting or truncating a channel with a
// user token: its creator or a member with the channel_owner role.
func (c *reqCtx) requireOwner(ch *channel, action string) *apiError {
	if c.isAdmin() {
		return nil
	}
	if ch.createdBy == c.auth.userID {
		return nil
	}
	if m, ok := ch.members[c.auth.userID]; ok && m.active() && m.channelRole == roleOwner {
		return nil
	}
	return c.notAllowed(action, ch.typ)
}

func (s *Server) dropChannel(c *reqCtx, ch *channel) {
	rendered := s.renderChannel(ch)
	rendered["deleted_at"] = ts(c.now)
	for _, m := range ch.msgs {
		delete(s.st.messages, m.id)
	}
	for id, u := range s.st.uploads {
		if u.cid == ch.cid {
			delete(s.st.uploads, id)
		}
	}
	delete(s.st.channels, ch.cid)
	s.emit(c, "channel.deleted", ch, map[string]any{"channel": rendered})
}

// POST /channels/{type}/{id}/truncate
func (s *Server) truncateChannel(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	hard, aerr := c.boolean(body, "hard_delete")
	if aerr != nil {
		return 0, nil, aerr
	}
	at, aerr := c.timeValue(body, "truncated_at")
	if aerr != nil {
		return 0, nil, aerr
	}
	actor, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireOwner, "TruncateChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.missingUsers(actor); aerr != nil {
		return 0, nil, aerr
	}
	var sysMsg *message
	if raw, ok := body["message"]; ok && !isNull(raw) {
		mo, ok := parseObject(raw)
		if !ok {
			return 0, nil, c.inputErr("message must be an object")
		}
		if sysMsg, aerr = c.buildMessage(ch, mo, actor, true); aerr != nil {
			return 0, nil, aerr
		}
	}
	cut := c.now
	if at != nil {
		cut = *at
	}
	kept := ch.msgs[:0:0]
	for _, m := range ch.msgs {
		if m.createdAt.After(cut) {
			kept = append(kept, m)
			continue
		}
		if hard {
			delete(s.st.messages, m.id)
			continue
		}
		m.truncated = true
		kept = append(kept, m)
	}
	ch.msgs = kept
	t := c.now
	ch.truncatedAt = &t
	ch.truncatedBy = actor
	ch.updatedAt = t
	extra := map[string]any{}
	if actor != "" {
		extra["user"] = s.renderUser(actor)
	}
	s.emit(c, "channel.truncated", ch, extra)
	resp := map[string]any{}
	if sysMsg != nil {
		s.storeMessage(c, ch, sysMsg, false)
		resp["message"] = s.renderMessage(sysMsg, c.auth.userID)
	}
	resp["channel"] = s.renderChannel(ch)
	return http.StatusCreated, resp, nil
}

// ---- query channels and members ---------------------------------------------

// channelDoc is the object channel filters are evaluated against: the
// channel as rendered plus "members" (member IDs) and "joined"/"hidden"
// for the querying user.
func (s *Server) channelDoc(ch *channel, userID string) map[string]any {
	doc := toDoc(s.renderChannel(ch))
	ids := []any{}
	for _, m := range ch.memberList() {
		ids = append(ids, m.userID)
	}
	doc["members"] = ids
	if userID != "" {
		m, ok := ch.members[userID]
		doc["joined"] = ok
		doc["hidden"] = ok && m.hidden
	}
	return doc
}

// POST /channels
func (s *Server) queryChannels(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	filter, aerr := c.object(body, "filter_conditions")
	if aerr != nil {
		return 0, nil, aerr
	}
	sorts, aerr := c.sortSpec(body, "sort")
	if aerr != nil {
		return 0, nil, aerr
	}
	limit, offset, aerr := c.limitOffset(body, 10, 30, 10000)
	if aerr != nil {
		return 0, nil, aerr
	}
	msgLimit, _, aerr := c.integer(body, "message_limit")
	if aerr != nil {
		return 0, nil, aerr
	}
	if _, ok := body["message_limit"]; !ok || isNull(body["message_limit"]) {
		msgLimit = 25
	}
	if msgLimit < 0 || msgLimit > 300 {
		return 0, nil, c.inputErr("message_limit must be between 0 and 300")
	}
	memLimit, _, aerr := c.integer(body, "member_limit")
	if aerr != nil {
		return 0, nil, aerr
	}
	if _, ok := body["member_limit"]; !ok || isNull(body["member_limit"]) {
		memLimit = 100
	}
	if memLimit < 0 || memLimit > 100 {
		return 0, nil, c.inputErr("member_limit must be between 0 and 100")
	}
	userID, aerr := c.str(body, "user_id")
	if aerr != nil {
		return 0, nil, aerr
	}
	if !c.auth.server {
		userID = c.auth.userID
	}
	_, filtersHidden := filter["hidden"]
	s.mu.Lock()
	defer s.mu.Unlock()
	f, aerr := c.compileFilter(filter)
	if aerr != nil {
		return 0, nil, aerr
	}
	type row struct {
		ch  *channel
		doc map[string]any
	}
	var rows []row
	for _, ch := range s.sortedChannels() {
		if !c.isAdmin() {
			if m, ok := ch.members[c.auth.userID]; !ok || !m.active() {
				continue
			}
		}
		doc := s.channelDoc(ch, userID)
		if userID != "" && !filtersHidden {
			if m, ok := ch.members[userID]; ok && m.hidden {
				continue
			}
		}
		if !f.match(doc) {
			continue
		}
		// Default order: most recently updated first.
		last := ch.createdAt
		if ch.lastMessageAt != nil && ch.lastMessageAt.After(last) {
			last = *ch.lastMessageAt
		}
		doc["last_updated"] = ts(last)
		rows = append(rows, row{ch, doc})
	}
	if len(sorts) == 0 {
		sorts = []sortField{{"last_updated", -1}}
	}
	sortRows(rows, sorts, func(r row) map[string]any { return r.doc }, func(r row) int64 { return -r.ch.seq })
	channels := []any{}
	for i := offset; i < len(rows) && len(channels) < limit; i++ {
		ch := rows[i].ch
		msgs := s.visibleChannelMessages(c, ch)
		msgs = msgs[max(len(msgs)-int(msgLimit), 0):]
		st := s.channelState(c, ch, msgs, int(memLimit), 0)
		delete(st, "threads")
		channels = append(channels, st)
	}
	return http.StatusCreated, map[string]any{"channels": channels}, nil
}

// GET /members?payload={"type","id","filter_conditions","limit","offset","sort"}
func (s *Server) queryMembers(c *reqCtx) (int, map[string]any, *apiError) {
	p, aerr := c.payload()
	if aerr != nil {
		return 0, nil, aerr
	}
	typ, aerr := c.str(p, "type")
	if aerr != nil {
		return 0, nil, aerr
	}
	id, aerr := c.str(p, "id")
	if aerr != nil {
		return 0, nil, aerr
	}
	filter, aerr := c.object(p, "filter_conditions")
	if aerr != nil {
		return 0, nil, aerr
	}
	limit, offset, aerr := c.limitOffset(p, 100, 300, 10000)
	if aerr != nil {
		return 0, nil, aerr
	}
	sorts, aerr := c.sortSpec(p, "sort")
	if aerr != nil {
		return 0, nil, aerr
	}
	if typ == "" {
		return 0, nil, c.inputErr("type is a required field")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		specs, aerr := c.memberSpecs(p, "members")
		if aerr != nil {
			return 0, nil, aerr
		}
		if len(specs) == 0 {
			return 0, nil, c.inputErr("either id or members is required")
		}
		ids := make([]string, len(specs))
		for i, m := range specs {
			ids[i] = m.id
		}
		id = distinctID(ids)
	}
	c.params = map[string]string{"type": typ, "id": id}
	ch, aerr := c.lookupChannelFor(c.requireMember, "ReadChannelMembers")
	if aerr != nil {
		return 0, nil, aerr
	}
	f, aerr := c.compileFilter(filter)
	if aerr != nil {
		return 0, nil, aerr
	}
	type row struct {
		m   *member
		doc map[string]any
	}
	var rows []row
	for _, m := range ch.memberList() {
		doc := toDoc(s.renderMember(m))
		// Member filters name user fields directly ("id", "name", custom).
		if u, ok := doc["user"].(map[string]any); ok {
			for k, v := range u {
				if _, taken := doc[k]; !taken {
					doc[k] = v
				}
			}
		}
		doc["id"] = m.userID
		if f.match(doc) {
			rows = append(rows, row{m, doc})
		}
	}
	sortRows(rows, sorts, func(r row) map[string]any { return r.doc }, func(r row) int64 { return r.m.seq })
	out := []any{}
	for i := offset; i < len(rows) && len(out) < limit; i++ {
		out = append(out, s.renderMember(rows[i].m))
	}
	return http.StatusOK, map[string]any{"members": out}, nil
}

// ---- read state, events, hide/show ------------------------------------------

// POST /channels/{type}/{id}/read {"message_id","user_id"}
func (s *Server) markRead(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	msgID, aerr := c.str(body, "message_id")
	if aerr != nil {
		return 0, nil, aerr
	}
	uid, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	if uid == "" {
		return 0, nil, c.inputErr("user_id is a required field when using server side auth")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireMember, "ReadChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.missingUsers(uid); aerr != nil {
		return 0, nil, aerr
	}
	m, isMember := ch.members[uid]
	if !isMember {
		return 0, nil, c.inputErr("user %s is not a member of channel %s", uid, ch.cid)
	}
	m.lastReadSeq, m.lastReadAt, m.lastReadMsgID = s.st.seq, c.now, ""
	if msgID != "" {
		msg, ok := s.st.messages[msgID]
		if !ok || msg.cid != ch.cid {
			return 0, nil, c.notFound("message %s does not exist in channel %s", msgID, ch.cid)
		}
		m.lastReadSeq, m.lastReadAt, m.lastReadMsgID = msg.seq, msg.createdAt, msgID
	}
	ev := map[string]any{"user": s.renderUser(uid)}
	if msgID != "" {
		ev["last_read_message_id"] = msgID
	}
	body2 := s.emit(c, "message.read", ch, ev)
	return http.StatusCreated, map[string]any{"event": body2}, nil
}

// POST /channels/read {"user":{"id"}}: marks every channel of the user read.
func (s *Server) markAllRead(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	uid, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	if uid == "" {
		return 0, nil, c.inputErr("user or user_id is a required field when using server side auth")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := c.missingUsers(uid); aerr != nil {
		return 0, nil, aerr
	}
	for _, ch := range s.st.channels {
		if m, ok := ch.members[uid]; ok {
			m.lastReadSeq, m.lastReadAt, m.lastReadMsgID = s.st.seq, c.now, ""
		}
	}
	return http.StatusCreated, map[string]any{}, nil
}

// POST /channels/{type}/{id}/event {"event":{"type",…}}: typing and custom
// events. They are answered but not delivered to webhooks.
func (s *Server) sendEvent(c *reqCtx) (int, map[string]any, *apiError) {
	ev, typ, aerr := c.bodyEvent()
	if aerr != nil {
		return 0, nil, aerr
	}
	uid, aerr := c.actingUser(ev)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireMember, "SendCustomEvent")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.missingUsers(uid); aerr != nil {
		return 0, nil, aerr
	}
	out := map[string]any{}
	for k, v := range splitCustom(ev, set("type", "user", "user_id", "created_at", "cid", "channel_id", "channel_type")) {
		out[k] = v
	}
	out["type"] = typ
	out["cid"] = ch.cid
	out["channel_id"] = ch.id
	out["channel_type"] = ch.typ
	out["created_at"] = ts(c.now)
	if uid != "" {
		out["user"] = s.renderUser(uid)
	}
	return http.StatusCreated, map[string]any{"event": out}, nil
}

// hideShow reads {"user_id"} and finds the member.
func (s *Server) hideShow(c *reqCtx, hide bool) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	uid, aerr := c.actingUser(body)
	if aerr != nil {
		return 0, nil, aerr
	}
	clear, aerr := c.boolean(body, "clear_history")
	if aerr != nil {
		return 0, nil, aerr
	}
	if uid == "" {
		return 0, nil, c.inputErr("user_id is a required field when using server side auth")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannel()
	if aerr != nil {
		return 0, nil, aerr
	}
	m, ok := ch.members[uid]
	if !ok {
		if !c.auth.server {
			return 0, nil, c.notAllowed("ReadChannel", ch.typ)
		}
		return 0, nil, c.inputErr("user %s is not a member of channel %s", uid, ch.cid)
	}
	m.hidden = hide
	if hide && clear {
		m.hiddenBefore = s.st.seq
	}
	return http.StatusCreated, map[string]any{}, nil
}

func (s *Server) hideChannel(c *reqCtx) (int, map[string]any, *apiError) { return s.hideShow(c, true) }
func (s *Server) showChannel(c *reqCtx) (int, map[string]any, *apiError) { return s.hideShow(c, false) }

// POST /channels/{type}/{id}/stop-watching: the emulator has no watchers,
// so this only checks the channel exists.
func (s *Server) stopWatching(c *reqCtx) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, aerr := c.lookupChannel(); aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusCreated, map[string]any{}, nil
}
