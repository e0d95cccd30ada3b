package streamtest

import (
	"encoding/json"
	"testing"
)

func TestFilterOperators(t *testing.T) {
	doc := map[string]any{}
	json.Unmarshal([]byte(`{"id":"alice","n":3,"flag":true,"tags":["a","b"],"user":{"id":"u1"},
		"created_at":"2026-01-02T03:04:05.5Z","text":"Lab Result ready","members":["alice","bob"]}`), &doc)
	cases := []struct {
		filter string
		want   bool
	}{
		{`{}`, true},
		{`{"id":"alice"}`, true},
		{`{"id":{"$eq":"bob"}}`, false},
		{`{"id":{"$ne":"bob"}}`, true},
		{`{"id":{"$in":["x","alice"]}}`, true},
		{`{"id":{"$nin":["x","alice"]}}`, false},
		{`{"n":{"$gt":2,"$lte":3}}`, true},
		{`{"n":{"$lt":3}}`, false},
		{`{"n":{"$gte":"3"}}`, false},
		{`{"flag":{"$gt":false}}`, true},
		{`{"created_at":{"$gt":"2026-01-02T03:04:05Z"}}`, true},
		{`{"created_at":{"$lt":"2026-01-02T03:04:05.4Z"}}`, false},
		{`{"missing":{"$exists":false}}`, true},
		{`{"id":{"$exists":true}}`, true},
		{`{"tags":{"$contains":"b"}}`, true},
		{`{"tags":"a"}`, true},
		{`{"tags":["b","a"]}`, true},
		{`{"tags":["a"]}`, false},
		{`{"members":{"$in":["bob","carol"]}}`, true},
		{`{"members":{"$nin":["carol"]}}`, true},
		{`{"user.id":"u1"}`, true},
		{`{"text":{"$autocomplete":"result"}}`, true},
		{`{"text":{"$q":"lab missing"}}`, false},
		{`{"$or":[{"id":"x"},{"n":3}]}`, true},
		{`{"$and":[{"id":"alice"},{"n":4}]}`, false},
		{`{"$nor":[{"id":"x"},{"n":4}]}`, true},
		{`{"id":"alice","n":4}`, false},
	}
	c := &reqCtx{route: &route{op: "Test"}}
	for _, tc := range cases {
		var o obj
		if err := json.Unmarshal([]byte(tc.filter), &o); err != nil {
			t.Fatal(err)
		}
		f, aerr := c.compileFilter(o)
		if aerr != nil {
			t.Fatalf("%s: %v", tc.filter, aerr)
		}
		if got := f.match(doc); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{`{"$xor":[{}]}`, `{"$or":[]}`, `{"$or":[1]}`, `{"id":{"$in":"x"}}`, `{"id":{"$regex":"a"}}`,
		`{"id":{"$exists":1}}`, `{"id":{"$gt":[1]}}`, `{"id":{"$q":1}}`} {
		var o obj
		json.Unmarshal([]byte(bad), &o)
		if _, aerr := c.compileFilter(o); aerr == nil || aerr.code != CodeInput {
			t.Errorf("%s accepted", bad)
		}
	}
}
