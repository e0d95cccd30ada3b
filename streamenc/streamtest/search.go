package streamtest

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// GET /search?payload={"query"|"message_filter_conditions","filter_conditions",…}
//
// The channel filter is required. Either query (every term must occur in
// the text, ignoring case) or message_filter_conditions is required, not
// both. Deleted messages are not found. Default order: newest first.
func (s *Server) search(c *reqCtx) (int, map[string]any, *apiError) {
	p, aerr := c.payload()
	if aerr != nil {
		return 0, nil, aerr
	}
	query, aerr := c.str(p, "query")
	if aerr != nil {
		return 0, nil, aerr
	}
	chFilter, aerr := c.object(p, "filter_conditions")
	if aerr != nil {
		return 0, nil, aerr
	}
	if len(chFilter) == 0 {
		return 0, nil, c.inputErr("filter_conditions is a required field and must not be empty")
	}
	msgFilter, aerr := c.object(p, "message_filter_conditions")
	if aerr != nil {
		return 0, nil, aerr
	}
	if query == "" && len(msgFilter) == 0 {
		return 0, nil, c.inputErr("either query or message_filter_conditions must be set")
	}
	if query != "" && len(msgFilter) > 0 {
		return 0, nil, c.inputErr("query and message_filter_conditions cannot be used together")
	}
	limit, offset, aerr := c.limitOffset(p, 20, 100, 1000)
	if aerr != nil {
		return 0, nil, aerr
	}
	next, aerr := c.str(p, "next")
	if aerr != nil {
		return 0, nil, aerr
	}
	sorts, aerr := c.sortSpec(p, "sort")
	if aerr != nil {
		return 0, nil, aerr
	}
	if next != "" {
		if offset != 0 {
			return 0, nil, c.inputErr("offset cannot be used with next")
		}
		b, err := base64.RawURLEncoding.DecodeString(next)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return 0, nil, c.inputErr("next is not a valid cursor")
		}
		offset = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cf, aerr := c.compileFilter(chFilter)
	if aerr != nil {
		return 0, nil, aerr
	}
	mf, aerr := c.compileFilter(msgFilter)
	if aerr != nil {
		return 0, nil, aerr
	}
	type row struct {
		m   *message
		doc map[string]any
	}
	var rows []row
	for _, ch := range s.sortedChannels() {
		var hidden int64
		if !c.isAdmin() {
			m, ok := ch.members[c.auth.userID]
			if !ok || !m.active() {
				continue
			}
			hidden = m.hiddenBefore
		}
		if !cf.match(s.channelDoc(ch, c.auth.userID)) {
			continue
		}
		for _, m := range ch.msgs {
			if m.truncated || m.deletedAt != nil || m.seq <= hidden {
				continue
			}
			if query != "" && !textMatch(m.text, query) {
				continue
			}
			doc := toDoc(s.renderMessageDepth(m, "", false))
			if !mf.match(doc) {
				continue
			}
			rows = append(rows, row{m, doc})
		}
	}
	if len(sorts) == 0 {
		sorts = []sortField{{"created_at", -1}}
	}
	sortRows(rows, sorts, func(r row) map[string]any { return r.doc }, func(r row) int64 { return -r.m.seq })
	results := []any{}
	for i := offset; i < len(rows) && len(results) < limit; i++ {
		m := rows[i].m
		rm := s.renderMessage(m, c.auth.userID)
		rm["channel"] = s.renderChannel(s.st.channels[m.cid])
		results = append(results, map[string]any{"message": rm})
	}
	resp := map[string]any{"results": results}
	if offset+len(results) < len(rows) {
		resp["next"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset + len(results))))
	}
	if offset > 0 {
		resp["previous"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(max(offset-limit, 0))))
	}
	return http.StatusOK, resp, nil
}
