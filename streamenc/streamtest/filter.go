package streamtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Query filters use Stream's MongoDB-like syntax: {"field": value} (equal),
// {"field": {"$op": value}}, and $and / $or / $nor over lists of filters.
// Fields are matched against the object as the API returns it, so custom
// fields work and nested fields use dots ("user.id").

type matcher func(doc map[string]any) bool

type compiledFilter struct{ m matcher }

func (f compiledFilter) match(doc map[string]any) bool {
	if f.m == nil {
		return true
	}
	return f.m(doc)
}

// toDoc turns a rendered object into plain JSON values (maps, slices,
// float64, string, bool, nil) for filtering and sorting.
func toDoc(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return map[string]any{}
	}
	return out
}

// compileFilter must be called with s.mu held only because handlers do so;
// it touches no state.
func (c *reqCtx) compileFilter(f obj) (compiledFilter, *apiError) {
	var generic map[string]any
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &generic); err != nil {
		return compiledFilter{}, c.inputErr("invalid filter")
	}
	m, err := compileObject(generic)
	if err != nil {
		return compiledFilter{}, c.inputErr("invalid filter: %v", err)
	}
	return compiledFilter{m}, nil
}

func compileObject(f map[string]any) (matcher, error) {
	var parts []matcher
	for _, k := range sortedKeys(f) {
		v := f[k]
		switch k {
		case "$and", "$or", "$nor":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s needs a non-empty array of filters", k)
			}
			var subs []matcher
			for _, it := range list {
				o, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s needs an array of objects", k)
				}
				m, err := compileObject(o)
				if err != nil {
					return nil, err
				}
				subs = append(subs, m)
			}
			op := k
			parts = append(parts, func(doc map[string]any) bool {
				switch op {
				case "$and":
					for _, m := range subs {
						if !m(doc) {
							return false
						}
					}
					return true
				case "$or":
					for _, m := range subs {
						if m(doc) {
							return true
						}
					}
					return false
				default:
					for _, m := range subs {
						if m(doc) {
							return false
						}
					}
					return true
				}
			})
		default:
			if strings.HasPrefix(k, "$") {
				return nil, fmt.Errorf("unknown operator %s", k)
			}
			m, err := compileField(k, v)
			if err != nil {
				return nil, err
			}
			parts = append(parts, m)
		}
	}
	return matchAll(parts), nil
}

// matchAll matches the documents every one of parts matches.
func matchAll(parts []matcher) matcher {
	return func(doc map[string]any) bool {
		for _, p := range parts {
			if !p(doc) {
				return false
			}
		}
		return true
	}
}

func compileField(field string, v any) (matcher, error) {
	ops, isObj := v.(map[string]any)
	if !isObj || len(ops) == 0 || !allOps(ops) {
		want := v
		return func(doc map[string]any) bool { return opEq(lookup(doc, field), want) }, nil
	}
	var parts []matcher
	for _, op := range sortedKeys(ops) {
		want := ops[op]
		var m matcher
		switch op {
		case "$eq":
			m = func(doc map[string]any) bool { return opEq(lookup(doc, field), want) }
		case "$ne":
			m = func(doc map[string]any) bool { return !opEq(lookup(doc, field), want) }
		case "$in", "$nin":
			list, ok := want.([]any)
			if !ok {
				return nil, fmt.Errorf("%s on %s needs an array", op, field)
			}
			neg := op == "$nin"
			m = func(doc map[string]any) bool {
				got := lookup(doc, field)
				hit := false
				for _, w := range list {
					if opEq(got, w) {
						hit = true
						break
					}
				}
				return hit != neg
			}
		case "$gt", "$gte", "$lt", "$lte":
			if _, ok := want.([]any); ok {
				return nil, fmt.Errorf("%s on %s needs a scalar", op, field)
			}
			cmpOp := op
			m = func(doc map[string]any) bool {
				c, ok := compare(lookup(doc, field), want)
				if !ok {
					return false
				}
				switch cmpOp {
				case "$gt":
					return c > 0
				case "$gte":
					return c >= 0
				case "$lt":
					return c < 0
				default:
					return c <= 0
				}
			}
		case "$exists":
			b, ok := want.(bool)
			if !ok {
				return nil, fmt.Errorf("$exists on %s needs a boolean", field)
			}
			m = func(doc map[string]any) bool { return (lookup(doc, field) != nil) == b }
		case "$contains":
			m = func(doc map[string]any) bool {
				arr, ok := lookup(doc, field).([]any)
				if !ok {
					return false
				}
				for _, x := range arr {
					if reflect.DeepEqual(x, want) {
						return true
					}
				}
				return false
			}
		case "$autocomplete", "$q":
			q, ok := want.(string)
			if !ok {
				return nil, fmt.Errorf("%s on %s needs a string", op, field)
			}
			m = func(doc map[string]any) bool {
				got, ok := lookup(doc, field).(string)
				return ok && textMatch(got, q)
			}
		default:
			return nil, fmt.Errorf("unknown operator %s on %s", op, field)
		}
		parts = append(parts, m)
	}
	return matchAll(parts), nil
}

func allOps(m map[string]any) bool {
	for k := range m {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

// textMatch is the emulator's stand-in for full-text search: every
// whitespace-separated term of q occurs in text, ignoring case.
func textMatch(text, q string) bool {
	text = strings.ToLower(text)
	terms := strings.Fields(strings.ToLower(q))
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		if !strings.Contains(text, t) {
			return false
		}
	}
	return true
}

func lookup(doc map[string]any, field string) any {
	if v, ok := doc[field]; ok {
		return v
	}
	var cur any = doc
	for _, p := range strings.Split(field, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// opEq: a scalar matches an equal scalar or an array containing it; an
// array matches an array with the same items in any order.
func opEq(got, want any) bool {
	if ga, ok := got.([]any); ok {
		if wa, ok := want.([]any); ok {
			if len(ga) != len(wa) {
				return false
			}
			used := make([]bool, len(wa))
		outer:
			for _, g := range ga {
				for i, w := range wa {
					if !used[i] && reflect.DeepEqual(g, w) {
						used[i] = true
						continue outer
					}
				}
				return false
			}
			return true
		}
		for _, g := range ga {
			if reflect.DeepEqual(g, want) {
				return true
			}
		}
		return false
	}
	return reflect.DeepEqual(got, want)
}

// compare orders numbers numerically, timestamps chronologically, other
// strings lexically and booleans false < true.
func compare(a, b any) (int, bool) {
	switch av := a.(type) {
	case float64:
		bv, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case av < bv:
			return -1, true
		case av > bv:
			return 1, true
		}
		return 0, true
	case string:
		bv, ok := b.(string)
		if !ok {
			return 0, false
		}
		if at, err := time.Parse(time.RFC3339Nano, av); err == nil {
			if bt, err := time.Parse(time.RFC3339Nano, bv); err == nil {
				return at.Compare(bt), true
			}
		}
		return strings.Compare(av, bv), true
	case bool:
		bv, ok := b.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case av == bv:
			return 0, true
		case !av:
			return -1, true
		}
		return 1, true
	}
	return 0, false
}

// ---- sorting and paging -----------------------------------------------------

type sortField struct {
	field string
	dir   int // 1 ascending, -1 descending
}

// sortSpec reads a sort array [{"field":…, "direction":±1}].
func (c *reqCtx) sortSpec(o obj, key string) ([]sortField, *apiError) {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var items []struct {
		Field     string   `json:"field"`
		Direction *float64 `json:"direction"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, c.inputErr("%s must be an array of {field, direction}", key)
	}
	var out []sortField
	for _, it := range items {
		if it.Field == "" {
			return nil, c.inputErr("%s: field is required", key)
		}
		dir := 1
		if it.Direction != nil && *it.Direction < 0 {
			dir = -1
		}
		out = append(out, sortField{it.Field, dir})
	}
	return out, nil
}

// sortRows sorts rows by the sort fields, then by creation order (seq).
// Rows that lack a field sort after those that have it.
func sortRows[T any](rows []T, sorts []sortField, doc func(T) map[string]any, seq func(T) int64) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		for _, sf := range sorts {
			va, vb := lookup(doc(a), sf.field), lookup(doc(b), sf.field)
			if va == nil && vb == nil {
				continue
			}
			if va == nil {
				return false
			}
			if vb == nil {
				return true
			}
			c, ok := compare(va, vb)
			if !ok || c == 0 {
				continue
			}
			return c*sf.dir < 0
		}
		return seq(a) < seq(b)
	})
}

// payload decodes the JSON "payload" query parameter of GET queries.
func (c *reqCtx) payload() (obj, *apiError) {
	raw := c.query.Get("payload")
	if raw == "" {
		return obj{}, nil
	}
	o, ok := parseObject(bytes.TrimSpace([]byte(raw)))
	if !ok {
		return nil, c.inputErr("payload is not valid JSON")
	}
	return o, nil
}

// limitOffset reads limit and offset from a JSON object.
func (c *reqCtx) limitOffset(o obj, def, maxLimit, maxOffset int) (int, int, *apiError) {
	limit, ok, aerr := c.integer(o, "limit")
	if aerr != nil {
		return 0, 0, aerr
	}
	if !ok || limit == 0 {
		limit = int64(def)
	}
	if limit < 0 || limit > int64(maxLimit) {
		return 0, 0, c.inputErr("limit must be between 0 and %d", maxLimit)
	}
	offset, _, aerr := c.integer(o, "offset")
	if aerr != nil {
		return 0, 0, aerr
	}
	if offset < 0 || offset > int64(maxOffset) {
		return 0, 0, c.inputErr("offset must be between 0 and %d", maxOffset)
	}
	return int(limit), int(offset), nil
}

// queryPage reads message paging parameters from URL query values (as
// GetReplies and GetReactions send them) into the same form a JSON
// "messages" object has.
func queryPage(v url.Values) obj {
	o := obj{}
	for _, k := range []string{"limit", "offset"} {
		if s := v.Get(k); s != "" {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				o[k] = json.RawMessage(s)
			} else {
				b, _ := json.Marshal(s)
				o[k] = b
			}
		}
	}
	for _, k := range []string{"id_gt", "id_gte", "id_lt", "id_lte", "id_around",
		"created_at_after", "created_at_after_or_equal", "created_at_before",
		"created_at_before_or_equal", "created_at_around"} {
		if s := v.Get(k); s != "" {
			b, _ := json.Marshal(s)
			o[k] = b
		}
	}
	return o
}
