package streamtest

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// obj is a decoded JSON object whose values are still raw.
type obj map[string]json.RawMessage

// isNull reports whether raw is absent or the JSON null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// parseObject decodes raw as one JSON object. Absent, empty and null give
// an empty object.
func parseObject(raw []byte) (obj, bool) {
	if isNull(raw) {
		return obj{}, true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var o obj
	if err := dec.Decode(&o); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false
	}
	if o == nil {
		o = obj{}
	}
	return o, true
}

// bodyObject decodes the request body as a JSON object.
func (c *reqCtx) bodyObject() (obj, *apiError) {
	o, ok := parseObject(c.body)
	if !ok {
		return nil, c.inputErr("invalid JSON in request body")
	}
	return o, nil
}

// object returns the object under key (empty when absent or null).
func (c *reqCtx) object(o obj, key string) (obj, *apiError) {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return obj{}, nil
	}
	sub, ok := parseObject(raw)
	if !ok {
		return nil, c.inputErr("%s must be an object", key)
	}
	return sub, nil
}

// requiredObject returns the object under key, which must be present and
// not null.
func (c *reqCtx) requiredObject(o obj, key string) (obj, *apiError) {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return nil, c.inputErr("%s is a required field", key)
	}
	sub, ok := parseObject(raw)
	if !ok {
		return nil, c.inputErr("%s must be an object", key)
	}
	return sub, nil
}

// bodyEvent reads a request body {"event":{"type",…}}: the event object and
// its type, which is required.
func (c *reqCtx) bodyEvent() (obj, string, *apiError) {
	body, aerr := c.bodyObject()
	if aerr != nil {
		return nil, "", aerr
	}
	ev, aerr := c.object(body, "event")
	if aerr != nil {
		return nil, "", aerr
	}
	typ, aerr := c.str(ev, "type")
	if aerr != nil {
		return nil, "", aerr
	}
	if typ == "" {
		return nil, "", c.inputErr("event.type is a required field")
	}
	return ev, typ, nil
}

// decodeField decodes the value under key as a T. An absent or null value
// gives the zero T and ok false; a value that is not a T is refused with
// "<key> must be <what>".
func decodeField[T any](c *reqCtx, o obj, key, what string) (v T, ok bool, aerr *apiError) {
	raw, present := o[key]
	if !present || isNull(raw) {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var zero T
		return zero, false, c.inputErr("%s must be %s", key, what)
	}
	return v, true, nil
}

func (c *reqCtx) str(o obj, key string) (string, *apiError) {
	s, _, aerr := decodeField[string](c, o, key, "a string")
	return s, aerr
}

func (c *reqCtx) boolean(o obj, key string) (bool, *apiError) {
	b, _, aerr := decodeField[bool](c, o, key, "a boolean")
	return b, aerr
}

// integer decodes a JSON number that holds an integer.
func (c *reqCtx) integer(o obj, key string) (int64, bool, *apiError) {
	f, ok, aerr := decodeField[float64](c, o, key, "an integer")
	if !ok || aerr != nil {
		return 0, false, aerr
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, c.inputErr("%s must be an integer", key)
	}
	return int64(f), true, nil
}

func (c *reqCtx) strList(o obj, key string) ([]string, *apiError) {
	l, _, aerr := decodeField[[]string](c, o, key, "an array of strings")
	return l, aerr
}

// setUnset reads the "set" object and the "unset" list of a partial
// update (of a channel, a message or a user).
func (c *reqCtx) setUnset(o obj) (obj, []string, *apiError) {
	setO, aerr := c.object(o, "set")
	if aerr != nil {
		return nil, nil, aerr
	}
	unset, aerr := c.strList(o, "unset")
	if aerr != nil {
		return nil, nil, aerr
	}
	return setO, unset, nil
}

// userIDList accepts an array whose items are user-ID strings or objects
// with "id" or "user_id" (the two encodings stream-chat-go sends, §2.3).
func (c *reqCtx) userIDList(o obj, key string) ([]string, *apiError) {
	items, ok, aerr := decodeField[[]json.RawMessage](c, o, key, "an array")
	if !ok || aerr != nil {
		return nil, aerr
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			out = append(out, s)
			continue
		}
		io, ok := parseObject(it)
		if !ok || isNull(it) {
			return nil, c.inputErr("%s must hold user IDs or user objects", key)
		}
		id, aerr := c.str(io, "id")
		if aerr != nil {
			return nil, aerr
		}
		if id == "" {
			if id, aerr = c.str(io, "user_id"); aerr != nil {
				return nil, aerr
			}
		}
		out = append(out, id)
	}
	return out, nil
}

// timeValue decodes an RFC 3339 timestamp; absent, null and "" give nil.
func (c *reqCtx) timeValue(o obj, key string) (*time.Time, *apiError) {
	s, aerr := c.str(o, key)
	if aerr != nil {
		return nil, aerr
	}
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, c.inputErr("%s must be an RFC 3339 timestamp", key)
	}
	t = t.UTC()
	return &t, nil
}

// idOf reads the "id" of a nested user object such as "user" or
// "created_by".
func (c *reqCtx) idOf(o obj, key string) (string, *apiError) {
	sub, aerr := c.object(o, key)
	if aerr != nil {
		return "", aerr
	}
	return c.str(sub, "id")
}

// userRef reads the user an object names: its "user_id", or else the "id"
// of its "user" object (stream-chat-go sends either).
func (c *reqCtx) userRef(o obj) (string, *apiError) {
	id, aerr := c.str(o, "user_id")
	if aerr != nil || id != "" {
		return id, aerr
	}
	return c.idOf(o, "user")
}

// compactRaw returns raw in compact form (custom data is stored compact).
func compactRaw(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append(json.RawMessage{}, raw...)
	}
	return buf.Bytes()
}

// splitCustom returns the keys of o that are neither handled fields nor
// reserved (server-owned) names: those are the custom data.
func splitCustom(o obj, reserved map[string]bool) custom {
	out := custom{}
	for k, v := range o {
		if reserved[k] || k == "" {
			continue
		}
		out[k] = compactRaw(v)
	}
	return out
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// validID reports whether id is an acceptable user or channel ID: 1 to max
// characters of letters, digits and the punctuation in extra.
func validID(id string, maxLen int, extra string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(extra, r):
		default:
			return false
		}
	}
	return true
}
