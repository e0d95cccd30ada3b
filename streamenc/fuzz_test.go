package streamenc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Parsers of what Stream (an untrusted party) hands back: the marker
// custom field, the sealed payload's plaintext (from a member, who may be
// hostile), the text field, and webhook bodies. Each must never panic,
// must fail only with this package's errors, and what it accepts must
// re-encode to something it reads back the same.

func markerSeeds() [][]byte {
	env := base64.StdEncoding.EncodeToString([]byte{0x30, 0x82, 0x01, 0x00, 1, 2, 3})
	return [][]byte{
		[]byte(`{"e3go":{"v":"1","layout":"text"}}`),
		[]byte(`{"e3go":{"v":"1","layout":"push","env":"` + env + `"}}`),
		[]byte(`{"e3go":{"v":"1","layout":"text","env":"` + strings.TrimRight(env, "=") + `"}}`),
		[]byte(`{"e3go":{"v":"2","layout":"text"}}`),
		[]byte(`{"e3go":{"v":1,"layout":"text"}}`),
		[]byte(`{"e3go":{"v":"1","layout":"push"}}`),
		[]byte(`{"e3go":{"v":"1","layout":"text","x":"y"}}`),
		[]byte(`{"e3go":"1"}`),
		[]byte(`{"e3go":null}`),
		[]byte(`{"other":1}`),
		[]byte(`{"e3go":{"v":"1","layout":"text","env":"!!"}}`),
		[]byte(`{"e3go":{"v":"2","layout":"text","group":"care-bot"}}`),
		[]byte(`{"e3go":{"v":"2","layout":"push","group":"care-bot","env":"` + env + `"}}`),
		[]byte(`{"e3go":{"v":"2","layout":"text","group":""}}`),
		[]byte(`{"e3go":{"v":"2","layout":"text","group":1}}`),
		[]byte(`{"e3go":{"v":"1","layout":"text","group":"care-bot"}}`),
		[]byte(`{"e3go":{"v":"2","layout":"text","group":"a\u0000b"}}`),
	}
}

func FuzzParseMarker(f *testing.F) {
	seeds := markerSeeds()
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var extra map[string]any
		if json.Unmarshal(data, &extra) != nil {
			return
		}
		m, err := parseMarker(extra)
		if err != nil {
			if m != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with marker %v", err, m)
			}
			return
		}
		if m == nil {
			if _, ok := extra[markerKey]; ok {
				t.Fatal("marker present but not parsed")
			}
			return
		}
		// Round trip through JSON, as Stream stores and returns it.
		b, err := json.Marshal(map[string]any{markerKey: m.encode()})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		m2, err := parseMarker(back)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %v, %+v vs %+v", err, m, m2)
		}
	})
}

func envelopeSeeds() [][]byte {
	text := "hello"
	var out [][]byte
	for _, e := range []*envelope{
		{V: 1, CID: "messaging:care", ID: "a1", TextSHA256: strings.Repeat("ab", 32)},
		{V: 1, CID: "messaging:care", ID: "a2", Text: &text, Fields: map[string]json.RawMessage{"dx": json.RawMessage(`"x"`), "n": json.RawMessage(`{"a":[1,2]}`)}},
		{V: 1, CID: "c", ID: "a3", TextSHA256: strings.Repeat("01", 32), Attachments: []envAttachment{{Name: "a.pdf", Type: "application/pdf", Size: 10, SHA256: strings.Repeat("cd", 32)}}},
		{V: 1, CID: "c", ID: "a4", Text: &text, Attachments: []envAttachment{{Name: "b.pdf", Type: "application/pdf", Size: 10, SHA256: strings.Repeat("ef", 32), Key: base64.StdEncoding.EncodeToString(make([]byte, 48))}}},
	} {
		b, err := marshalEnvelope(e)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return append(out,
		[]byte(`{"v":2}`), []byte(`{"v":1,"x":1}`), []byte(`{"v":1} {}`), []byte(`{"v":1,"attachments":[{"sha256":"zz"}]}`),
		[]byte(`{"v":1,"attachments":[{"name":"a","type":"t","size":1,"sha256":"`+strings.Repeat("ab", 32)+`","key":"!"}]}`),
		[]byte(`{"v":1,"fields":{"":1}}`), []byte(`{"v":1,"fields":{"a":null}}`), []byte("\xff"), []byte(`{"v":1,"text_sha256":"AB"}`))
}

func FuzzParseEnvelope(f *testing.F) {
	seeds := envelopeSeeds()
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEnvelope(data)
		if err != nil {
			if e != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with envelope %v", err, e)
			}
			if strings.Contains(err.Error(), string(data)) && len(data) > 8 {
				t.Fatalf("error echoes the input: %v", err)
			}
			return
		}
		b, err := marshalEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := parseEnvelope(b)
		if err != nil {
			t.Fatalf("re-encoded envelope rejected: %v", err)
		}
		b2, _ := marshalEnvelope(e2)
		if string(b) != string(b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

func FuzzSealedText(f *testing.F) {
	for _, s := range []string{"MIIB", "MIIBAA==", "MA", "hello", "/cmd", "M===", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "MA00\r", "MA\n00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := sealedText(s)
		if !ok {
			if b != nil {
				t.Fatal("bytes without ok")
			}
			return
		}
		if len(b) == 0 || b[0] != 0x30 || s[0] != 'M' {
			t.Fatalf("accepted %q", s)
		}
		if base64.StdEncoding.EncodeToString(b) != s && base64.RawStdEncoding.EncodeToString(b) != s {
			t.Fatalf("%q is not the canonical base64 of what it decoded to", s)
		}
	})
}

func FuzzParseWebhookEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"message.new","created_at":"2024-01-01T00:00:00.123456Z","cid":"messaging:care","message_id":"m1","message":{"id":"m1","text":"MIIB","user":{"id":"alice"},"e3go":{"v":"1","layout":"text"},"updated_at":"2024-01-01T00:00:00Z"}}`,
		`{"type":"user.updated","created_at":"2024-01-01T00:00:00Z"}`,
		`{"type":"message.new"}`, `[]`, `{"type":1}`, `{"created_at":""}`, ` {"type":"x","created_at":"2024-01-01T00:00:00Z"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseWebhookEvent(body)
		if err != nil {
			if ev != nil || !errors.Is(err, ErrWebhookMalformed) {
				t.Fatalf("error %v with event %v", err, ev)
			}
			return
		}
		if ev.Type == "" || ev.CreatedAt.IsZero() {
			t.Fatalf("accepted an event without type or time: %+v", ev)
		}
		keys := replayKeys(body, ev)
		if len(keys) == 0 || keys[0] == "" {
			t.Fatal("no replay key")
		}
	})
}
