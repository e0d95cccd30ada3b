package streamenc_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

// perMessageErrs are the reasons that describe one message.
var perMessageErrs = []error{streamenc.ErrNotSealed, streamenc.ErrNotRecipient, streamenc.ErrTampered,
	streamenc.ErrMalformed, streamenc.ErrUnknownSender, streamenc.ErrGroupNoAccess}

// On a device without the private key (a second device before
// RestorePrivateKey), every sealed message fails with an *OpenError that
// matches e3.ErrNoLocalKey and none of the per-message reasons, whatever
// the layout or sealing; a clear message is still ErrNotSealed.
func TestOpenWithoutLocalKeyIsDeviceLevel(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("keyless", "alice", "bob")
	group := w.channel("keyless-group", "alice", "bob")
	alice := w.enc(ch, "alice", nil)
	alicePush := w.enc(ch, "alice", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	aliceGroup := w.enc(group, "alice", &streamenc.ChannelOptions{GroupInitiator: "alice"})
	if _, err := aliceGroup.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range []*streamenc.Channel{alice, alicePush, aliceGroup} {
		m, err := c.SendMessage(ctx, &stream.Message{Text: "sealed"}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	clear, err := ch.SendMessage(ctx, &stream.Message{Text: "in clear"}, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// bob on a new device: registered, but no key in this keyring.
	bob2, err := e3.New(ctx, w.es.ClientConfig("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob2.AuthEncryptString("x"); !errors.Is(err, e3.ErrNoLocalKey) {
		t.Fatalf("the new device has a key: %v", err)
	}
	open := func(c *stream.Channel, id string) *streamenc.Message {
		t.Helper()
		m, _ := streamenc.NewChannel(c, bob2, &streamenc.ChannelOptions{StreamClient: w.sc}).GetMessage(ctx, id)
		if m == nil {
			t.Fatalf("message %s: nil", id)
		}
		return m
	}
	for i, m := range []*streamenc.Message{open(ch, ids[0]), open(ch, ids[1]), open(group, ids[2])} {
		var oe *streamenc.OpenError
		if !errors.As(m.Err, &oe) || oe.MessageID != ids[i] || !errors.Is(m.Err, e3.ErrNoLocalKey) {
			t.Errorf("message %d: Err = %v, want an *OpenError matching e3.ErrNoLocalKey", i, m.Err)
		}
		for _, pe := range perMessageErrs {
			if errors.Is(m.Err, pe) {
				t.Errorf("message %d: Err = %v matches the per-message %v", i, m.Err, pe)
			}
		}
		if m.Text != "" || m.Sender != nil {
			t.Errorf("message %d: opened %q from %v without a key", i, m.Text, m.Sender)
		}
	}
	if m := open(ch, clear.Message.ID); !errors.Is(m.Err, streamenc.ErrNotSealed) || errors.Is(m.Err, e3.ErrNoLocalKey) {
		t.Errorf("clear message: Err = %v, want ErrNotSealed", m.Err)
	}
}

// ParentID, Type and EditedAt come with every opened message, whatever its
// layout or sealing, with the quoted message, with the sender's own answer,
// and with messages that cannot be opened.
func TestMessageMetadata(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("meta", "alice", "bob")
	gch := w.channel("meta-group", "alice", "bob")
	g := w.enc(gch, "alice", &streamenc.ChannelOptions{GroupInitiator: "alice"})
	if _, err := g.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		alice, bob *streamenc.Channel
	}{
		{"text", w.enc(ch, "alice", nil), w.enc(ch, "bob", nil)},
		{"push-safe", w.enc(ch, "alice", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe}), w.enc(ch, "bob", nil)},
		{"group", g, w.enc(gch, "bob", nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err := c.alice.SendMessage(ctx, &stream.Message{Text: "root"}, "")
			if err != nil {
				t.Fatal(err)
			}
			reply, err := c.alice.SendMessage(ctx, &stream.Message{Text: "reply", ParentID: root.ID, QuotedMessageID: root.ID}, "")
			if err != nil {
				t.Fatal(err)
			}
			if reply.ParentID != root.ID || reply.Type != stream.MessageTypeReply || !reply.EditedAt.IsZero() {
				t.Errorf("sent reply: ParentID %q Type %q EditedAt %v", reply.ParentID, reply.Type, reply.EditedAt)
			}
			if root.ParentID != "" || root.Type != stream.MessageTypeRegular || !root.EditedAt.IsZero() {
				t.Errorf("sent root: ParentID %q Type %q EditedAt %v", root.ParentID, root.Type, root.EditedAt)
			}
			edited, err := c.alice.UpdateMessage(ctx, &stream.Message{ID: root.ID, Text: "root, edited"}, "")
			if err != nil {
				t.Fatal(err)
			}
			// Stream sets message_text_updated_at when the text field
			// changes: the push-safe layout's stays the placeholder.
			if pushSafe := c.name == "push-safe"; edited.EditedAt.IsZero() != pushSafe {
				t.Errorf("UpdateMessage's answer: EditedAt %v", edited.EditedAt)
			}

			got, err := c.bob.GetMessage(ctx, root.ID)
			if err != nil || got.Text != "root, edited" {
				t.Fatalf("root: %v %+v", err, got)
			}
			created := *got.Raw.CreatedAt
			if got.ParentID != "" || got.Type != stream.MessageTypeRegular || !got.EditedAt.Equal(edited.EditedAt) ||
				(c.name != "push-safe" && got.EditedAt.Before(created)) {
				t.Errorf("root: ParentID %q Type %q EditedAt %v (created %v, edit answered %v)", got.ParentID, got.Type, got.EditedAt, created, edited.EditedAt)
			}
			replies, err := c.bob.GetReplies(ctx, root.ID, nil)
			if err != nil || len(replies) != 1 || replies[0].Text != "reply" {
				t.Fatalf("replies: %v %+v", err, replies)
			}
			r := replies[0]
			if r.ParentID != root.ID || r.Type != stream.MessageTypeReply || !r.EditedAt.IsZero() {
				t.Errorf("reply: ParentID %q Type %q EditedAt %v", r.ParentID, r.Type, r.EditedAt)
			}
			if q := r.Quoted; q == nil || q.ID != root.ID || q.Type != stream.MessageTypeRegular || q.ParentID != "" {
				t.Errorf("quoted: %+v", q)
			}

			// Deleted, and not openable: the metadata is still there.
			if err := c.alice.DeleteMessage(ctx, reply.ID, false); err != nil {
				t.Fatal(err)
			}
			if d, err := c.bob.GetMessage(ctx, reply.ID); err != nil || !d.Deleted || d.Type != "deleted" || d.ParentID != root.ID {
				t.Errorf("deleted: %v %+v", err, d)
			}
			forged := *got.Raw // claims bob wrote it: alice's signature does not verify
			forged.User, forged.UserID = &stream.User{ID: "bob"}, "bob"
			if m, _ := c.bob.Open(ctx, &forged); !errors.Is(m.Err, streamenc.ErrTampered) || m.ParentID != "" || m.Type != stream.MessageTypeRegular || !m.EditedAt.Equal(got.EditedAt) {
				t.Errorf("unopenable: Err %v, ParentID %q Type %q EditedAt %v", m.Err, m.ParentID, m.Type, m.EditedAt)
			}
		})
	}

	// A system message (clear) has its type.
	sys, err := ch.SendMessage(ctx, &stream.Message{Text: "alice joined", Type: stream.MessageTypeSystem}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := w.enc(ch, "bob", nil).GetMessage(ctx, sys.Message.ID)
	if !errors.Is(m.Err, streamenc.ErrNotSealed) || m.Type != stream.MessageTypeSystem {
		t.Errorf("system message: Err %v Type %q", m.Err, m.Type)
	}
	// What a caller decoded itself: message_text_updated_at as a time, or
	// unreadable (the zero time, not an error).
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for v, want := range map[any]time.Time{at: at, &at: at, at.Format(time.RFC3339Nano): at, "yesterday": {}, 42.0: {}} {
		raw := *sys.Message
		raw.ExtraData = map[string]any{"message_text_updated_at": v}
		if m, _ := w.enc(ch, "bob", nil).Open(ctx, &raw); !m.EditedAt.Equal(want) || !errors.Is(m.Err, streamenc.ErrNotSealed) {
			t.Errorf("message_text_updated_at %#v: EditedAt %v, Err %v", v, m.EditedAt, m.Err)
		}
	}
}

// A bot replies through Event.Channel, once per question even when Stream
// delivers the event again after the reply went out (the documented
// pattern: the reply's id derives from the question's), in the thread when
// asked in one.
func TestEventChannelReplyOnce(t *testing.T) {
	w := newWorld(t, "alice", "bot")
	ctx := ctxT(t)
	ch := w.channel("ask", "alice", "bot")
	botClient := w.clients["bot"]
	var mu sync.Mutex
	calls := map[string]int{}
	var handleErrs []error
	h, err := streamenc.NewWebhookHandler(streamenc.WebhookConfig{
		Secret: w.ss.APISecret,
		Client: botClient,
		Handle: func(ctx context.Context, ev *streamenc.Event) error {
			if ev.Type != "message.new" || ev.Message.Err != nil || ev.Message.SenderID == "bot" {
				return nil
			}
			rch, err := ev.Channel(w.sc, botClient, nil)
			if err != nil {
				return err
			}
			replyID := "reply-" + ev.Message.ID
			_, err = rch.SendMessage(ctx, &stream.Message{Text: "re: " + ev.Message.Text,
				ParentID: ev.Message.ParentID, ExtraData: map[string]any{"id": replyID}}, "")
			mu.Lock()
			defer mu.Unlock()
			calls[ev.Message.ID]++
			if err != nil {
				if prev, gerr := rch.GetMessage(ctx, replyID); gerr == nil && prev.SenderID == botClient.Identity() {
					return nil
				}
				handleErrs = append(handleErrs, err)
				return err
			}
			if calls[ev.Message.ID] == 1 {
				return errors.New("answer lost") // Stream delivers the event again
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(h)
	defer hook.Close()
	w.ss.SetWebhookURL(hook.URL)

	alice := w.enc(ch, "alice", nil)
	q, err := alice.SendMessage(ctx, &stream.Message{Text: "when is my appointment?"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	q2, err := alice.SendMessage(ctx, &stream.Message{Text: "and the address?", ParentID: q.ID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if calls[q.ID] != 2 || calls[q2.ID] != 2 || len(handleErrs) != 0 {
		t.Errorf("Handle calls %v, errors %v; want 2 deliveries of each question and no error", calls, handleErrs)
	}
	mu.Unlock()

	msgs, err := alice.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var replies []*streamenc.Message
	for _, m := range msgs {
		if m.SenderID == "bot" {
			replies = append(replies, m)
		}
	}
	if len(replies) != 1 || replies[0].ID != "reply-"+q.ID || replies[0].Text != "re: when is my appointment?" || replies[0].Err != nil || replies[0].ParentID != "" {
		t.Fatalf("channel replies: %+v", replies)
	}
	thread, err := alice.GetReplies(ctx, q.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var inThread []string
	for _, m := range thread {
		inThread = append(inThread, m.SenderID+": "+m.Text)
	}
	if len(thread) != 2 || thread[1].ID != "reply-"+q2.ID || thread[1].ParentID != q.ID || thread[1].Sender.Identity != "bot" {
		t.Fatalf("thread: %q", inThread)
	}
}

func TestEventChannel(t *testing.T) {
	w := newWorld(t, "alice", "bot")
	ctx := ctxT(t)
	ch := w.channel("evch", "alice", "bot")
	sent, err := w.enc(ch, "alice", nil).SendMessage(ctx, &stream.Message{Text: "hello", ExtraData: map[string]any{"kind": "greeting"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ev := &streamenc.Event{Type: "message.new", CID: "messaging:evch"}
	c, err := ev.Channel(w.sc, w.clients["bot"], &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	if err != nil || c.CID() != "messaging:evch" {
		t.Fatalf("Channel: %v, %v", c, err)
	}
	// opts.StreamClient was filled in: Search needs it.
	if found, err := c.Search(ctx, stream.SearchRequest{MessageFilters: map[string]any{"kind": "greeting"}}); err != nil || len(found) != 1 || found[0].Text != "hello" {
		t.Fatalf("Search through the event's channel: %v %+v", err, found)
	}
	// It is the bot's: what it sends is sealed by the bot, in the layout asked for.
	reply, err := c.SendMessage(ctx, &stream.Message{Text: "hi", ParentID: sent.ID}, "")
	if err != nil || reply.Sender.Identity != "bot" || reply.Layout != streamenc.LayoutPushSafe {
		t.Fatalf("reply: %v %+v", err, reply)
	}

	for _, e := range []*streamenc.Event{{Type: "user.updated"}, {Type: "message.new", CID: "nocolon"}, {CID: ":id"}, {CID: "messaging:"}} {
		if c, err := e.Channel(w.sc, w.clients["bot"], nil); err == nil || c != nil {
			t.Errorf("cid %q: %v, %v", e.CID, c, err)
		} else if (e.CID != "") != errors.Is(err, streamenc.ErrWebhookMalformed) {
			t.Errorf("cid %q: %v", e.CID, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic with a nil stream.Client")
		}
	}()
	ev.Channel(nil, w.clients["bot"], nil)
}
