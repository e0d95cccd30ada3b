package streamenc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc"
)

// bot is a webhook receiver recording what it is handed.
type bot struct {
	mu       sync.Mutex
	events   []*streamenc.Event
	rejected []error
	fail     int // make the next Handle calls fail
	handler  *streamenc.WebhookHandler
	srv      *httptest.Server
}

func (b *bot) messages() []*streamenc.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*streamenc.Message
	for _, ev := range b.events {
		if ev.Message != nil {
			out = append(out, ev.Message)
		}
	}
	return out
}

func (b *bot) rejects() []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]error(nil), b.rejected...)
}

// startBot registers the handler for identity as the emulator's webhook.
func (w *world) startBot(identity string, mutate func(*streamenc.WebhookConfig)) *bot {
	w.t.Helper()
	b := &bot{}
	cfg := streamenc.WebhookConfig{
		Secret: w.ss.APISecret,
		Client: w.clients[identity],
		Handle: func(ctx context.Context, ev *streamenc.Event) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.fail > 0 {
				b.fail--
				return errors.New("bot is down")
			}
			b.events = append(b.events, ev)
			return nil
		},
		OnReject: func(r *http.Request, err error) {
			b.mu.Lock()
			b.rejected = append(b.rejected, err)
			b.mu.Unlock()
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := streamenc.NewWebhookHandler(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	b.handler = h
	b.srv = httptest.NewServer(h)
	w.t.Cleanup(b.srv.Close)
	w.ss.SetWebhookURL(b.srv.URL)
	return b
}

// The main proof: two Go participants and a webhook bot converse
// through the emulator; every message round-trips, and nothing the
// emulator stored or saw (messages, custom fields, attachments, uploads,
// webhook bodies, request logs) holds a plaintext.
func TestConversationWithWebhookBot(t *testing.T) {
	w := newWorld(t, "alice", "bob", "triage-bot")
	ctx := ctxT(t)
	ch := w.channel("care-team", "alice", "bob", "triage-bot")
	opts := &streamenc.ChannelOptions{SensitiveFields: []string{"mrn"}}
	a := w.enc(ch, "alice", opts)
	b := w.enc(ch, "bob", opts)
	botCh := w.enc(ch, "triage-bot", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	bt := w.startBot("triage-bot", nil)

	plaintexts := []string{
		"Patient Jane Roe, chest pain since 3am",
		"ECG shows ST elevation in V2-V4",
		"Cath lab activated, ETA 20 minutes",
		"MRN-00042-SECRET",
		"Troponin 2.3 ng/mL",
		"angiogram-roe.mp4",
		"ANGIOGRAM-BYTES-",
		"Triage: priority 1 acknowledged",
	}
	m1, err := a.SendMessage(ctx, &stream.Message{Text: plaintexts[0], ExtraData: map[string]any{"mrn": plaintexts[3]}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := b.SendMessage(ctx, &stream.Message{Text: plaintexts[1], ParentID: m1.ID}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	video := bytes.Repeat([]byte(plaintexts[6]), 5000)
	m3, err := a.SendMessage(ctx, &stream.Message{Text: plaintexts[2], QuotedMessageID: m2.ID}, "alice",
		streamenc.File{Name: plaintexts[5], MIMEType: "video/mp4", Size: int64(len(video)), Body: bytes.NewReader(video)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateMessage(ctx, &stream.Message{ID: m1.ID, Text: plaintexts[0] + " (" + plaintexts[4] + ")",
		ExtraData: map[string]any{"mrn": plaintexts[3]}}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}

	// The bot read everything, as alice and bob wrote it.
	got := bt.messages()
	if len(got) != 4 {
		t.Fatalf("bot got %d message events", len(got))
	}
	want := []string{plaintexts[0], plaintexts[1], plaintexts[2], plaintexts[0] + " (" + plaintexts[4] + ")"}
	senders := []string{"alice", "bob", "alice", "alice"}
	for i, m := range got {
		if m.Err != nil || m.Text != want[i] || m.Sender.Identity != senders[i] {
			t.Errorf("bot message %d: %q from %v, %v", i, m.Text, m.SenderID, m.Err)
		}
	}
	if got[0].Fields["mrn"] != plaintexts[3] || got[3].Fields["mrn"] != plaintexts[3] {
		t.Errorf("bot fields: %v", got[0].Fields)
	}
	if got[2].Quoted == nil || got[2].Quoted.Text != plaintexts[1] {
		t.Errorf("bot quote: %+v", got[2].Quoted)
	}
	if len(got[2].Attachments) != 1 || !bytes.Equal(readAll(t, ctx, got[2].Attachments[0]), video) {
		t.Error("bot could not open the attachment")
	}
	bt.mu.Lock()
	types := map[string]int{}
	for _, ev := range bt.events {
		types[ev.Type]++
		if ev.WebhookID == "" || ev.Attempt != 1 || ev.CID != ch.CID {
			t.Errorf("event %s: id %q attempt %d cid %q", ev.Type, ev.WebhookID, ev.Attempt, ev.CID)
		}
	}
	bt.mu.Unlock()
	if types["message.new"] != 3 || types["message.updated"] != 1 {
		t.Errorf("event types: %v", types)
	}

	// The bot answers (push-safe), and the humans read it.
	if _, err := botCh.SendMessage(ctx, &stream.Message{Text: plaintexts[7], ParentID: m1.ID}, "triage-bot"); err != nil {
		t.Fatal(err)
	}
	replies, err := a.GetReplies(ctx, m1.ID, nil)
	if err != nil || len(replies) != 2 || replies[1].Text != plaintexts[7] || replies[1].Sender.Identity != "triage-bot" {
		t.Fatalf("replies: %v %+v", err, replies)
	}
	page, err := b.Query(ctx, nil)
	if err != nil || len(page) != 2 || page[1].ID != m3.ID || page[1].Text != plaintexts[2] {
		t.Fatalf("bob's page: %v", err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bt.rejects()) != 0 {
		t.Errorf("rejections: %v", bt.rejects())
	}

	// Nothing anywhere holds a plaintext.
	w.assertNoPlaintext(plaintexts...)
	w.assertNoPlaintext("Jane Roe", "chest pain", "ST elevation", "Cath lab", "MRN-00042", "Troponin", "angiogram", "priority 1")
	// And the scan does look at webhook bodies and uploads.
	if len(w.ss.Find([]byte("triage-bot"))) == 0 || len(w.ss.Find([]byte("message.new"))) == 0 {
		t.Fatal("the scan sees nothing")
	}
}

// sign returns X-Signature for body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func post(h http.Handler, body []byte, sig string, hdr map[string]string) int {
	req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Signature", sig)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestWebhookRejections(t *testing.T) {
	w := newWorld(t, "alice", "bot", "eve")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bot")
	bt := w.startBot("bot", nil)
	a := w.enc(ch, "alice", nil)
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "first"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	ds := w.ss.WebhookDeliveries()
	var first streamtestDelivery
	for _, d := range ds {
		if d.EventType == "message.new" {
			first = streamtestDelivery{d.Body, d.Signature}
		}
	}
	if first.body == nil || len(bt.messages()) != 1 {
		t.Fatal("no message.new delivered")
	}
	secret := w.ss.APISecret
	h := bt.handler
	n := func() int { return len(bt.messages()) }

	// A replay of a delivered event: acknowledged, not handed over again.
	if code := post(h, first.body, first.sig, nil); code != 200 || n() != 1 {
		t.Errorf("replay: %d, %d messages", code, n())
	}
	// The same event re-serialised (whitespace added) and re-signed, as a
	// Stream retry that re-encodes would be: caught by the message key.
	var v any
	json.Unmarshal(first.body, &v)
	reenc, _ := json.MarshalIndent(v, "", " ")
	if code := post(h, reenc, sign(secret, reenc), nil); code != 200 || n() != 1 {
		t.Errorf("re-encoded replay: %d, %d messages", code, n())
	}
	// Forged: a byte changed under the original signature.
	forged := bytes.Replace(first.body, []byte(`"alice"`), []byte(`"eve"`), 1)
	if code := post(h, forged, first.sig, nil); code != 401 {
		t.Errorf("forged: %d", code)
	}
	// Bad and missing signatures.
	for _, sig := range []string{"", "00", strings.Repeat("0", 64), "zz" + first.sig[2:], first.sig + "00"} {
		if code := post(h, first.body, sig, nil); code != 401 {
			t.Errorf("signature %q: %d", sig, code)
		}
	}
	// Signed with another secret.
	if code := post(h, first.body, sign("not-the-secret", first.body), nil); code != 401 {
		t.Errorf("other secret: %d", code)
	}
	// 20 MB, with and without Content-Length.
	huge := bytes.Repeat([]byte("a"), 20<<20)
	if code := post(h, huge, sign(secret, huge), nil); code != 413 {
		t.Errorf("20 MB: %d", code)
	}
	req := httptest.NewRequest("POST", "/webhook", io.MultiReader(bytes.NewReader(huge)))
	req.ContentLength = -1
	req.Header.Set("X-Signature", sign(secret, huge))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("20 MB chunked: %d", rec.Code)
	}
	// Malformed JSON and non-events, correctly signed.
	for _, body := range []string{`{"type":"message.new"`, `[1,2]`, `"x"`, ``, `{}`, `{"type":"message.new"}`,
		`{"type":"message.new","created_at":"yesterday"}`, `{"type":7,"created_at":"2024-01-01T00:00:00Z"}`} {
		if code := post(h, []byte(body), sign(secret, []byte(body)), nil); code != 400 {
			t.Errorf("body %q: %d", body, code)
		}
	}
	// Stale and future events, correctly signed.
	for _, at := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Hour)} {
		body := []byte(`{"type":"user.updated","created_at":"` + at.UTC().Format(time.RFC3339Nano) + `"}`)
		if code := post(h, body, sign(secret, body), nil); code != 400 {
			t.Errorf("event at %v: %d", at, code)
		}
	}
	// Wrong method, unknown encoding, bad gzip.
	if rec := httptest.NewRecorder(); true {
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/webhook", nil))
		if rec.Code != 405 {
			t.Errorf("GET: %d", rec.Code)
		}
	}
	if code := post(h, first.body, first.sig, map[string]string{"Content-Encoding": "br"}); code != 415 {
		t.Errorf("br: %d", code)
	}
	if code := post(h, first.body, first.sig, map[string]string{"Content-Encoding": "gzip"}); code != 400 {
		t.Errorf("bad gzip: %d", code)
	}

	rej := bt.rejects()
	count := func(target error) int {
		c := 0
		for _, e := range rej {
			if errors.Is(e, target) {
				c++
			}
		}
		return c
	}
	if count(streamenc.ErrWebhookReplay) != 2 || count(streamenc.ErrWebhookSignature) != 7 || count(streamenc.ErrWebhookTooLarge) != 2 ||
		count(streamenc.ErrWebhookStale) != 2 || count(streamenc.ErrWebhookMalformed) != 11 {
		t.Errorf("rejections: %v", rej)
	}

	// The handler keeps serving: a new event (gzipped, as Stream sends
	// them when compression is on) is handled.
	body := []byte(`{"type":"user.updated","created_at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","user":{"id":"alice"}}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	if code := post(h, gz.Bytes(), sign(secret, body), map[string]string{"Content-Encoding": "gzip"}); code != 200 {
		t.Errorf("gzip event: %d", code)
	}
	// Non-message events are handed over without a Message.
	bt.mu.Lock()
	last := bt.events[len(bt.events)-1]
	bt.mu.Unlock()
	if last.Type != "user.updated" || last.Message != nil || last.Raw.User == nil || last.Raw.User.ID != "alice" {
		t.Errorf("last event: %+v", last)
	}
	// And messages keep flowing through Stream's own deliveries.
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "second"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if ms := bt.messages(); len(ms) != 2 || ms[1].Text != "second" {
		t.Errorf("after the rejections: %d messages", len(ms))
	}
}

type streamtestDelivery struct {
	body []byte
	sig  string
}

func TestWebhookRetriesAndUnreadable(t *testing.T) {
	w := newWorld(t, "alice", "bot", "carol")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bot", "carol")
	bt := w.startBot("bot", nil)
	// The bot's callback fails twice: Stream retries (5xx), the third
	// attempt is handled, once.
	bt.mu.Lock()
	bt.fail = 2
	bt.mu.Unlock()
	a := w.enc(ch, "alice", nil)
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "retried"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	ms := bt.messages()
	if len(ms) != 1 || ms[0].Text != "retried" {
		t.Fatalf("%d messages", len(ms))
	}
	bt.mu.Lock()
	attempt := bt.events[len(bt.events)-1].Attempt
	bt.mu.Unlock()
	if attempt != 3 {
		t.Errorf("handled at attempt %d", attempt)
	}
	// A message not sealed for the bot (carol's client left it out) and
	// one in clear are handed over with Err set, not lost.
	ct, err := w.clients["carol"].AuthEncryptString("not for the bot")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: ct}, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: "in clear"}, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	ms = bt.messages()
	if len(ms) != 3 || !errors.Is(ms[1].Err, streamenc.ErrNotRecipient) || !errors.Is(ms[2].Err, streamenc.ErrNotSealed) || ms[1].Text != "" || ms[2].Text != "" {
		t.Fatalf("unreadable messages: %+v", ms)
	}
}

func TestWebhookInFlightDuplicate(t *testing.T) {
	w := newWorld(t, "alice", "bot")
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var calls int
	var mu sync.Mutex
	h, err := streamenc.NewWebhookHandler(streamenc.WebhookConfig{
		Secret: w.ss.APISecret,
		Client: w.clients["bot"],
		Handle: func(ctx context.Context, ev *streamenc.Event) error {
			mu.Lock()
			calls++
			mu.Unlock()
			entered <- struct{}{}
			<-release
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"user.updated","created_at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	sig := sign(w.ss.APISecret, body)
	done := make(chan int)
	go func() { done <- post(h, body, sig, nil) }()
	<-entered
	if code := post(h, body, sig, nil); code != 503 {
		t.Errorf("duplicate in flight: %d", code)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("first: %d", code)
	}
	if code := post(h, body, sig, nil); code != 200 {
		t.Errorf("after: %d", code)
	}
	if calls != 1 {
		t.Errorf("%d calls", calls)
	}
}

func TestWebhookReplayMemoryBound(t *testing.T) {
	w := newWorld(t, "bot")
	now := time.Now()
	var calls int
	h, err := streamenc.NewWebhookHandler(streamenc.WebhookConfig{
		Secret:        w.ss.APISecret,
		Client:        w.clients["bot"],
		Handle:        func(ctx context.Context, ev *streamenc.Event) error { calls++; return nil },
		MaxRemembered: 3,
		Now:           func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for i := 0; i < 5; i++ {
		b := []byte(`{"type":"user.updated","created_at":"` + now.Add(time.Duration(i)*time.Millisecond).UTC().Format(time.RFC3339Nano) + `"}`)
		bodies = append(bodies, b)
		if code := post(h, b, sign(w.ss.APISecret, b), nil); code != 200 {
			t.Fatal(code)
		}
	}
	// The newest are remembered; the oldest were forgotten early (the
	// documented cost of the bound).
	post(h, bodies[4], sign(w.ss.APISecret, bodies[4]), nil)
	if calls != 5 {
		t.Errorf("recent replay handled: %d calls", calls)
	}
	post(h, bodies[0], sign(w.ss.APISecret, bodies[0]), nil)
	if calls != 6 {
		t.Errorf("forgotten event not handled again: %d calls", calls)
	}
	// Once the window passes, events are refused by their age.
	now = now.Add(streamenc.DefaultWebhookReplayWindow + time.Second)
	if code := post(h, bodies[4], sign(w.ss.APISecret, bodies[4]), nil); code != 400 {
		t.Errorf("after the window: %d", code)
	}
}

func TestNewWebhookHandlerConfig(t *testing.T) {
	w := newWorld(t, "bot")
	handle := func(context.Context, *streamenc.Event) error { return nil }
	for _, cfg := range []streamenc.WebhookConfig{
		{Client: w.clients["bot"], Handle: handle},
		{Secret: "s", Handle: handle},
		{Secret: "s", Client: w.clients["bot"]},
	} {
		if _, err := streamenc.NewWebhookHandler(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

// FuzzWebhookHandler feeds correctly signed arbitrary bodies (seeded with
// real deliveries) to a handler that opens messages for a real Client:
// it must answer with one of its documented statuses and never panic.
func FuzzWebhookHandler(f *testing.F) {
	w := newWorld(f, "alice", "bot")
	ctx := ctxT(f)
	ch := w.channel("care", "alice", "bot")
	bt := w.startBot("bot", nil)
	a := w.enc(ch, "alice", &streamenc.ChannelOptions{SensitiveFields: []string{"dx"}})
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "seed", ExtraData: map[string]any{"dx": "x"}}, "alice",
		streamenc.File{Name: "f", Size: 3, Body: strings.NewReader("abc")}); err != nil {
		f.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, d := range w.ss.WebhookDeliveries() {
		f.Add(d.Body)
		n++
	}
	if n == 0 {
		f.Fatal("no seed deliveries")
	}
	f.Add([]byte(`{"type":"message.new","created_at":"2024-01-01T00:00:00Z","message":{"id":"x","text":"MIIB"}}`))
	f.Add([]byte(`not json`))
	h := bt.handler
	f.Fuzz(func(t *testing.T, body []byte) {
		switch code := post(h, body, sign(w.ss.APISecret, body), nil); code {
		case 200, 400:
		default:
			t.Fatalf("status %d", code)
		}
	})
}
