package streamenc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Parsers of group channels: the channel's "e3go_group" field (channel
// data, which Stream and some members can write) and the detection of a
// group message in a text field.

func FuzzParseGroupField(f *testing.F) {
	seeds := []string{
		`{"e3go_group":{"v":"1","initiator":"care-bot"}}`,
		`{"e3go_group":{"v":"1","initiator":"care-bot","epoch":"3"}}`,
		`{"e3go_group":{"v":"1","initiator":"care-bot","epoch":"4294967295","later":"x"}}`,
		`{"e3go_group":{"v":"1","initiator":"care-bot","epoch":"4294967296"}}`,
		`{"e3go_group":{"v":"1","initiator":"care-bot","epoch":"03"}}`,
		`{"e3go_group":{"v":"1","initiator":"care-bot","epoch":3}}`,
		`{"e3go_group":{"v":"2","initiator":"care-bot"}}`,
		`{"e3go_group":{"initiator":"care-bot"}}`,
		`{"e3go_group":{"v":"1","initiator":""}}`,
		`{"e3go_group":{"v":"1","initiator":"a\nb"}}`,
		`{"e3go_group":"care-bot"}`,
		`{"e3go_group":null}`,
		`{"other":1}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var extra map[string]any
		if json.Unmarshal(data, &extra) != nil {
			return
		}
		g, err := parseGroupField(extra)
		if err != nil {
			if g != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with field %+v", err, g)
			}
			return
		}
		if g == nil {
			if v, ok := extra[GroupFieldKey]; ok && v != nil {
				t.Fatal("field present but not parsed")
			}
			return
		}
		if checkInitiator(g.initiator) != nil {
			t.Fatalf("accepted initiator %q", g.initiator)
		}
		// What is accepted survives Stream's JSON round trip.
		b, err := json.Marshal(map[string]any{GroupFieldKey: g.encode()})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		g2, err := parseGroupField(back)
		if err != nil || !reflect.DeepEqual(g, g2) {
			t.Fatalf("round trip: %v, %+v vs %+v", err, g, g2)
		}
	})
}

func FuzzGroupText(f *testing.F) {
	// A real group message's start (08 00 1A BD 02 0A 46 …), and near misses.
	msg := append([]byte{0x08, 0x00, 0x1a, 0xbd, 0x02, 0x0a, 0x46}, make([]byte, 40)...)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(msg), base64.RawStdEncoding.EncodeToString(msg),
		"CAAa", "CAAaAAAA", "CAAb" + base64.StdEncoding.EncodeToString(msg)[4:], "CAAavQIKRg\n==", "MIIB", "hello", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := groupText(s)
		if !ok {
			if b != nil {
				t.Fatal("bytes without ok")
			}
			return
		}
		if len(b) < 4 || b[0] != 0x08 || b[1] != 0 || b[2] != 0x1a || s[:4] != "CAAa" {
			t.Fatalf("accepted %q", s)
		}
		if _, isSealed := sealedText(s); isSealed {
			t.Fatalf("%q is both a group message and a per-recipient ciphertext", s)
		}
		if base64.StdEncoding.EncodeToString(b) != s && base64.RawStdEncoding.EncodeToString(b) != s {
			t.Fatalf("%q is not the canonical base64 of what it decoded to", s)
		}
	})
}
