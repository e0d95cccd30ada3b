package streamtest

import (
	"net/http"
	"slices"
)

var reactionReserved = set("message_id", "user_id", "user", "type", "score", "created_at", "updated_at")

// POST /messages/{id}/reaction {"reaction":{…},"enforce_unique"?}
func (s *Server) sendReaction(c *reqCtx) (int, map[string]any, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	ro, aerr := c.object(body, "reaction")
	if aerr != nil {
		return 0, nil, aerr
	}
	if len(ro) == 0 {
		return 0, nil, c.inputErr("reaction is a required field")
	}
	typ, aerr := c.str(ro, "type")
	if aerr != nil {
		return 0, nil, aerr
	}
	if typ == "" || len(typ) > maxReactionType {
		return 0, nil, c.inputErr("reaction.type is required and must be at most %d characters", maxReactionType)
	}
	score, hasScore, aerr := c.integer(ro, "score")
	if aerr != nil {
		return 0, nil, aerr
	}
	if !hasScore {
		score = 1
	}
	unique, aerr := c.boolean(body, "enforce_unique")
	if aerr != nil {
		return 0, nil, aerr
	}
	uid, aerr := c.actingUser(ro)
	if aerr != nil {
		return 0, nil, aerr
	}
	if uid == "" {
		return 0, nil, c.inputErr("reaction.user or reaction.user_id is a required field when using server side auth")
	}
	cu := splitCustom(ro, reactionReserved)
	if cu.size() > maxCustomBytes {
		return 0, nil, c.inputErr("reaction custom data is too big: %d bytes, max is %d", cu.size(), maxCustomBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ch, aerr := c.lookupMessage("CreateReaction")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.missingUsers(uid); aerr != nil {
		return 0, nil, aerr
	}
	if m.deletedAt != nil {
		return 0, nil, c.inputErr("cannot react to deleted message %s", m.id)
	}
	evType := "reaction.new"
	var r *reaction
	for _, old := range m.reactions {
		if old.userID == uid && old.typ == typ {
			r = old
		}
	}
	if unique {
		m.reactions = slices.DeleteFunc(m.reactions, func(x *reaction) bool { return x.userID == uid && x != r })
	}
	if r != nil {
		r.score, r.custom, r.updatedAt = score, cu, c.now
		evType = "reaction.updated"
	} else {
		r = &reaction{messageID: m.id, userID: uid, typ: typ, score: score, custom: cu,
			createdAt: c.now, updatedAt: c.now, seq: s.nextSeq()}
		m.reactions = append(m.reactions, r)
	}
	rendered := renderReaction(s, r)
	s.emit(c, evType, ch, map[string]any{
		"message":  s.renderMessage(m, ""),
		"reaction": rendered,
		"user":     s.renderUser(uid),
	})
	return http.StatusCreated, map[string]any{"message": s.renderMessage(m, c.auth.userID), "reaction": rendered}, nil
}

// DELETE /messages/{id}/reaction/{type}?user_id=
func (s *Server) deleteReaction(c *reqCtx) (int, map[string]any, *apiError) {
	uid := c.query.Get("user_id")
	if !c.auth.server {
		if uid != "" && uid != c.auth.userID {
			return 0, nil, c.forbidden("user_id %s does not match the user of the token", uid)
		}
		uid = c.auth.userID
	}
	if uid == "" {
		return 0, nil, c.inputErr("user_id is a required field when using server side auth")
	}
	typ := c.param("type")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ch, aerr := c.lookupMessage("DeleteReaction")
	if aerr != nil {
		return 0, nil, aerr
	}
	idx := slices.IndexFunc(m.reactions, func(r *reaction) bool { return r.userID == uid && r.typ == typ })
	if idx < 0 {
		return 0, nil, c.notFound("reaction %s of user %s on message %s does not exist", typ, uid, m.id)
	}
	r := m.reactions[idx]
	m.reactions = slices.Delete(m.reactions, idx, idx+1)
	rendered := renderReaction(s, r)
	s.emit(c, "reaction.deleted", ch, map[string]any{
		"message":  s.renderMessage(m, ""),
		"reaction": rendered,
		"user":     s.renderUser(uid),
	})
	return http.StatusOK, map[string]any{"message": s.renderMessage(m, c.auth.userID), "reaction": rendered}, nil
}

// GET /messages/{id}/reactions?limit=&offset=  (newest first)
func (s *Server) getReactions(c *reqCtx) (int, map[string]any, *apiError) {
	limit, offset, aerr := c.limitOffset(queryPage(c.query), 25, 300, 10000)
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, _, aerr := c.lookupMessage("ReadChannel")
	if aerr != nil {
		return 0, nil, aerr
	}
	out := []any{}
	for i := len(m.reactions) - 1 - offset; i >= 0 && len(out) < limit; i-- {
		out = append(out, renderReaction(s, m.reactions[i]))
	}
	return http.StatusOK, map[string]any{"reactions": out}, nil
}
