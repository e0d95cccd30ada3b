package streamtest_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"
)

// Find sees a plaintext wherever the server holds it: message text, custom
// fields (even when JSON escapes it), attachment names, upload names and
// bytes, webhook bodies, search queries in URLs.
func TestWalkAndFind(t *testing.T) {
	srv := newServer(t)
	_, hs := newReceiver(t, srv)
	srv.SetWebhookURL(hs.URL)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "scan", "alice", "bob")

	secretText := "patient <Jane> has \"fever\""
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: "ciphertext-only",
		Attachments: []*stream.Attachment{{Type: "file", Title: "xray-jane.png"}},
		ExtraData:   map[string]interface{}{"meta": map[string]interface{}{"note": secretText}}}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendFile(ctx, stream.SendFileRequest{Reader: strings.NewReader("raw-scan-bytes"), FileName: "scan-of-jane.dcm", User: &stream.User{ID: "alice"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(ctx, stream.SearchRequest{Query: "diagnosis-term", Filters: map[string]interface{}{"type": "messaging"}}); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, srv)

	has := func(needle string, prefix string) {
		t.Helper()
		where := srv.Find([]byte(needle))
		if !slices.ContainsFunc(where, func(w string) bool { return strings.HasPrefix(w, prefix) }) {
			t.Fatalf("Find(%q) = %v, want a place under %s", needle, where, prefix)
		}
	}
	has(secretText, "message/")        // custom field, found decoded despite JSON escaping of < > "
	has(secretText, "event/")          // the webhook body carried it
	has("xray-jane.png", "message/")   // attachment title
	has("scan-of-jane.dcm", "upload/") // upload name
	has("raw-scan-bytes", "upload/")   // upload bytes
	has("diagnosis-term", "request/")  // the search query in the URL
	if w := srv.Find([]byte("never-sent-anywhere")); w != nil {
		t.Fatalf("Find found a string never sent: %v", w)
	}

	// Walk stops when asked.
	n := 0
	srv.Walk(func(string, []byte) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("Walk went on after false: %d calls", n)
	}

	// The inspection types hold what was stored.
	ms := srv.Messages(ch.CID)
	if len(ms) != 1 || ms[0].Text != "ciphertext-only" || len(ms[0].Attachments) != 1 || ms[0].UserID != "alice" {
		t.Fatalf("Messages = %+v", ms)
	}
	var att map[string]string
	if err := json.Unmarshal(ms[0].Attachments[0], &att); err != nil || att["title"] != "xray-jane.png" {
		t.Fatalf("attachment = %s", ms[0].Attachments[0])
	}
	if !bytes.Contains(ms[0].Custom["meta"], []byte("fever")) {
		t.Fatalf("custom = %s", ms[0].Custom["meta"])
	}
	// Copies: changing them does not change the server.
	ms[0].Custom["meta"][0] = 'X'
	if again := srv.Messages(ch.CID); again[0].Custom["meta"][0] != '{' {
		t.Fatal("Messages returned shared memory")
	}
	chs := srv.Channels()
	if len(chs) != 1 || chs[0].CID != "messaging:scan" || len(chs[0].Members) != 2 || chs[0].Members[0].ChannelRole != "channel_owner" {
		t.Fatalf("Channels = %+v", chs)
	}
}
