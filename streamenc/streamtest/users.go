package streamtest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// maxCustomBytes is Stream's 5 KB limit on an object's custom data.
const maxCustomBytes = 5 * 1024

// userIDChars is the punctuation a user ID may hold besides letters and
// digits.
const userIDChars = "@_-."

// userReserved are the user keys that are fields or server-owned: they
// are never stored as custom data (a decoded stream.User carries some of
// them back in ExtraData, §2.2).
var userReserved = set("id", "role", "name", "image", "language", "teams", "invisible",
	"online", "banned", "shadow_banned", "created_at", "updated_at", "last_active", "last_engaged_at",
	"deactivated_at", "deleted_at", "revoke_tokens_issued_before", "mutes", "channel_mutes",
	"devices", "blocked_user_ids", "unread_count", "total_unread_count", "unread_channels",
	"unread_threads", "channel_unread_count", "channel_last_read_at", "privacy_settings",
	"push_notifications", "teams_role", "avg_response_time", "latest_hidden_channels", "ban_expires")

func (c *reqCtx) userRole() string {
	if c.auth.server {
		return "admin"
	}
	if u, ok := c.s.st.users[c.auth.userID]; ok && u.deletedAt == nil {
		return u.role
	}
	return "user"
}

// userExists reports whether id names a user that has not been deleted.
func (s *Server) userExists(id string) bool {
	u, ok := s.st.users[id]
	return ok && u.deletedAt == nil
}

// missingUsers checks that every ID names an existing user, answering with
// Stream's wording otherwise.
func (c *reqCtx) missingUsers(ids ...string) *apiError {
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if !c.s.userExists(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return c.inputErr("The following users are involved in this operation, but don't exist: [%s]", strings.Join(missing, " "))
	}
	return nil
}

// applyUserFields sets the known fields of a user from o (an upsert's user
// object or a partial update's "set").
func (c *reqCtx) applyUserFields(u *user, o obj, partial bool) *apiError {
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &u.name}, {"image", &u.image}, {"language", &u.language}} {
		if _, ok := o[f.key]; !ok && partial {
			continue
		}
		v, aerr := c.str(o, f.key)
		if aerr != nil {
			return aerr
		}
		*f.dst = v
	}
	if _, ok := o["teams"]; ok || !partial {
		t, aerr := c.strList(o, "teams")
		if aerr != nil {
			return aerr
		}
		u.teams = t
	}
	if _, ok := o["invisible"]; ok || !partial {
		b, aerr := c.boolean(o, "invisible")
		if aerr != nil {
			return aerr
		}
		u.invisible = b
	}
	if _, ok := o["role"]; ok {
		r, aerr := c.str(o, "role")
		if aerr != nil {
			return aerr
		}
		if r != "" {
			if !c.auth.server && r != u.role {
				return c.notAllowed("UpdateUserRole", "app")
			}
			u.role = r
		}
	}
	return nil
}

// POST /users: upsert. Custom data is replaced by what is sent.
func (s *Server) upsertUsers(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	users, aerr := c.object(body, "users")
	if aerr != nil {
		return 0, nil, aerr
	}
	if len(users) == 0 {
		return 0, nil, c.inputErr("users is a required field")
	}
	if len(users) > 100 {
		return 0, nil, c.inputErr("users must contain at most 100 items")
	}
	type parsed struct {
		id string
		o  obj
	}
	var list []parsed
	for key, raw := range users {
		o, ok := parseObject(raw)
		if !ok || isNull(raw) {
			return 0, nil, c.inputErr("users.%s must be an object", key)
		}
		id, aerr := c.str(o, "id")
		if aerr != nil {
			return 0, nil, aerr
		}
		if id == "" {
			id = key
		}
		if id != key {
			return 0, nil, c.inputErr("users.%s has id %q: the key and the id must be equal", key, id)
		}
		if !validID(id, 255, userIDChars) {
			return 0, nil, c.inputErr("user id %q is invalid: use up to 255 letters, digits and @ _ - .", id)
		}
		if !c.auth.server && id != c.auth.userID {
			return 0, nil, c.notAllowed("UpdateUser", "app")
		}
		if cu := splitCustom(o, userReserved); cu.size() > maxCustomBytes {
			return 0, nil, c.inputErr("user %s custom data is too big: %d bytes, max is %d", id, cu.size(), maxCustomBytes)
		}
		list = append(list, parsed{id, o})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })

	s.mu.Lock()
	defer s.mu.Unlock()
	next := make([]*user, 0, len(list))
	for _, p := range list {
		nu := user{id: p.id, role: "user", createdAt: c.now}
		if u, ok := s.st.users[p.id]; ok && u.deletedAt == nil {
			nu = *u
		}
		if aerr := c.applyUserFields(&nu, p.o, false); aerr != nil {
			return 0, nil, aerr
		}
		nu.custom = splitCustom(p.o, userReserved)
		nu.updatedAt = c.now
		next = append(next, &nu)
	}
	out := map[string]any{}
	for _, u := range next {
		if u.seq == 0 {
			u.seq = s.nextSeq()
		}
		s.st.users[u.id] = u
		out[u.id] = renderUserObj(u)
	}
	return http.StatusCreated, map[string]any{"users": out}, nil
}

// PATCH /users: set and unset individual fields.
func (s *Server) partialUpdateUsers(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	raw := body["users"]
	var items []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return 0, nil, c.inputErr("users must be a non-empty array")
	}
	if len(items) > 100 {
		return 0, nil, c.inputErr("users must contain at most 100 items")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	updated := map[string]*user{}
	for i, it := range items {
		o, ok := parseObject(it)
		if !ok || isNull(it) {
			return 0, nil, c.inputErr("users[%d] must be an object", i)
		}
		id, aerr := c.str(o, "id")
		if aerr != nil {
			return 0, nil, aerr
		}
		if id == "" {
			return 0, nil, c.inputErr("users[%d].id is a required field", i)
		}
		if !c.auth.server && id != c.auth.userID {
			return 0, nil, c.notAllowed("UpdateUser", "app")
		}
		setO, unset, aerr := c.setUnset(o)
		if aerr != nil {
			return 0, nil, aerr
		}
		if len(setO) == 0 && len(unset) == 0 {
			return 0, nil, c.inputErr("users[%d]: set or unset is required", i)
		}
		base, ok := updated[id]
		if !ok {
			cur, ok := s.st.users[id]
			if !ok || cur.deletedAt != nil {
				return 0, nil, c.inputErr("The following users are involved in this operation, but don't exist: [%s]", id)
			}
			cp := *cur
			cp.custom = cur.custom.clone()
			base = &cp
		}
		if aerr := c.applyUserFields(base, setO, true); aerr != nil {
			return 0, nil, aerr
		}
		for k, v := range splitCustom(setO, userReserved) {
			base.custom[k] = v
		}
		for _, k := range unset {
			switch k {
			case "name":
				base.name = ""
			case "image":
				base.image = ""
			case "language":
				base.language = ""
			case "teams":
				base.teams = nil
			default:
				delete(base.custom, k)
			}
		}
		if base.custom.size() > maxCustomBytes {
			return 0, nil, c.inputErr("user %s custom data is too big: %d bytes, max is %d", id, base.custom.size(), maxCustomBytes)
		}
		base.updatedAt = c.now
		updated[id] = base
	}
	out := map[string]any{}
	for id, u := range updated {
		s.st.users[id] = u
		out[id] = renderUserObj(u)
	}
	return http.StatusOK, map[string]any{"users": out}, nil
}

// GET /users?payload=…
func (s *Server) queryUsers(c *reqCtx) (int, map[string]any, *apiError) {
	p, aerr := c.payload()
	if aerr != nil {
		return 0, nil, aerr
	}
	filter, aerr := c.requiredObject(p, "filter_conditions")
	if aerr != nil {
		return 0, nil, aerr
	}
	limit, offset, aerr := c.limitOffset(p, 30, 100, 1000)
	if aerr != nil {
		return 0, nil, aerr
	}
	sorts, aerr := c.sortSpec(p, "sort")
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, aerr := c.compileFilter(filter)
	if aerr != nil {
		return 0, nil, aerr
	}
	type row struct {
		u   *user
		doc map[string]any
	}
	var rows []row
	for _, u := range s.st.users {
		if u.deletedAt != nil {
			continue
		}
		doc := toDoc(renderUserObj(u))
		if f.match(doc) {
			rows = append(rows, row{u, doc})
		}
	}
	sortRows(rows, sorts, func(r row) map[string]any { return r.doc }, func(r row) int64 { return r.u.seq })
	users := []any{}
	for i := offset; i < len(rows) && len(users) < limit; i++ {
		users = append(users, renderUserObj(rows[i].u))
	}
	return http.StatusOK, map[string]any{"users": users}, nil
}

// DELETE /users/{id}?hard_delete=&mark_messages_deleted=&delete_conversation_channels=
// Empty parameters mean false (stream-chat-go always sends all three).
func (s *Server) deleteUser(c *reqCtx) (int, map[string]any, *apiError) {
	if !c.auth.server {
		return 0, nil, c.notAllowed("DeleteUser", "app")
	}
	id := c.param("id")
	hard := c.query.Get("hard_delete") == "true"
	markDeleted := c.query.Get("mark_messages_deleted") == "true"
	convos := c.query.Get("delete_conversation_channels") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok || u.deletedAt != nil {
		return 0, nil, c.notFound("user %s does not exist", id)
	}
	rendered := renderUserObj(u)
	if markDeleted {
		for _, m := range s.sortedMessages() {
			if m.userID == id {
				s.removeOrSoftDelete(c, m, hard, "")
			}
		}
	}
	if convos {
		for _, ch := range s.sortedChannels() {
			if _, isMember := ch.members[id]; isMember && len(ch.members) == 2 && strings.HasPrefix(ch.id, "!members-") {
				s.dropChannel(c, ch)
			}
		}
	}
	if hard {
		rendered["deleted_at"] = ts(c.now)
		delete(s.st.users, id)
		for _, ch := range s.st.channels {
			delete(ch.members, id)
		}
	} else {
		t := c.now
		nu := *u
		nu.deletedAt = &t
		nu.updatedAt = t
		s.st.users[id] = &nu
		rendered = renderUserObj(&nu)
	}
	return http.StatusOK, map[string]any{"user": rendered}, nil
}

// POST /users/{id}/event: a custom event for one user (server side only).
func (s *Server) sendUserEvent(c *reqCtx) (int, map[string]any, *apiError) {
	if !c.auth.server {
		return 0, nil, c.notAllowed("SendUserCustomEvent", "app")
	}
	ev, typ, aerr := c.bodyEvent()
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.param("id")
	if !s.userExists(id) {
		return 0, nil, c.notFound("user %s does not exist", id)
	}
	out := map[string]any{}
	for k, v := range splitCustom(ev, set("type", "created_at", "user", "user_id")) {
		out[k] = v
	}
	out["type"] = typ
	out["created_at"] = ts(c.now)
	out["user_id"] = id
	return http.StatusCreated, map[string]any{"event": out}, nil
}
