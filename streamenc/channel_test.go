package streamenc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

func TestSendOpenRoundTrip(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	b := w.enc(ch, "bob", nil)

	texts := []string{"BP 120/80, recheck Tuesday", "", "ünïcødé ✓ 🩺", "/slash-looking text", strings.Repeat("x", 1000)}
	var ids []string
	for _, text := range texts {
		sent, err := a.SendMessage(ctx, &stream.Message{Text: text}, "alice")
		if err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
		if sent.Text != text || sent.Sender.Identity != "alice" || sent.Err != nil || sent.Raw == nil {
			t.Fatalf("sent = %+v", sent)
		}
		// What Stream holds: base64 of a Virgil ciphertext, starting with "M".
		if !strings.HasPrefix(sent.Raw.Text, "M") {
			t.Errorf("stored text %q does not look sealed", sent.Raw.Text[:10])
		}
		ids = append(ids, sent.ID)
	}
	for i, id := range ids {
		for _, who := range []*streamenc.Channel{a, b} {
			got, err := who.GetMessage(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != texts[i] || got.Sender.Identity != "alice" || got.SenderID != "alice" || got.Layout != streamenc.LayoutText {
				t.Fatalf("got = %+v", got)
			}
		}
	}
	page, err := b.Query(ctx, nil)
	if err != nil || len(page) != len(texts) {
		t.Fatalf("query: %v, %d messages", err, len(page))
	}
	for i, m := range page {
		if m.Err != nil || m.Text != texts[i] {
			t.Errorf("page[%d] = %q, %v", i, m.Text, m.Err)
		}
	}
	got, err := b.GetMessages(ctx, ids[0], ids[2])
	if err != nil || len(got) != 2 || got[1].Text != texts[2] {
		t.Fatalf("GetMessages: %v %+v", err, got)
	}
	w.assertNoPlaintext("BP 120/80", "recheck Tuesday", "ünïcødé", "slash-looking", strings.Repeat("x", 100))
}

func TestPushSafeLayoutAndSensitiveFields(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	opts := &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe, SensitiveFields: []string{"dx", "vitals"}}
	a := w.enc(ch, "alice", opts)
	b := w.enc(ch, "bob", nil) // bob's own layout does not matter for reading

	sent, err := a.SendMessage(ctx, &stream.Message{Text: "wound photo reviewed", ExtraData: map[string]any{
		"dx":       "cellulitis",
		"vitals":   map[string]any{"temp": 38.4, "note": "febrile"},
		"priority": "high", // not sensitive: stays in clear
	}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Raw.Text != "Encrypted message" {
		t.Errorf("push-safe text = %q", sent.Raw.Text)
	}
	if sent.Raw.ExtraData["priority"] != "high" {
		t.Errorf("clear field lost: %v", sent.Raw.ExtraData)
	}
	if _, ok := sent.Raw.ExtraData["dx"]; ok {
		t.Error("sensitive field sent in clear")
	}
	got, err := b.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "wound photo reviewed" || got.Layout != streamenc.LayoutPushSafe {
		t.Fatalf("got %+v", got)
	}
	if got.Fields["dx"] != "cellulitis" || got.Fields["vitals"].(map[string]any)["temp"] != 38.4 {
		t.Errorf("fields = %v", got.Fields)
	}
	// Sensitive fields in the text layout too.
	a2 := w.enc(ch, "alice", &streamenc.ChannelOptions{SensitiveFields: []string{"dx"}})
	sent2, err := a2.SendMessage(ctx, &stream.Message{Text: "see field", ExtraData: map[string]any{"dx": "otitis media"}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got2, err := b.GetMessage(ctx, sent2.ID)
	if err != nil || got2.Fields["dx"] != "otitis media" || got2.Text != "see field" {
		t.Fatalf("text layout fields: %v %+v", err, got2)
	}
	w.assertNoPlaintext("wound photo", "cellulitis", "febrile", "otitis media", "see field")
}

func TestAttachments(t *testing.T) {
	w := newWorld(t, "alice", "bob", "eve")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	b := w.enc(ch, "bob", nil)

	xray := bytes.Repeat([]byte("XRAYDATA-confidential-"), 20000) // 440 KB
	note := []byte("discharge summary: patient stable")
	sent, err := a.SendMessage(ctx, &stream.Message{Text: "two files"}, "alice",
		streamenc.File{Name: "chest-xray-jane-doe.dcm", MIMEType: "application/dicom", Size: int64(len(xray)), Body: bytes.NewReader(xray)},
		streamenc.File{Name: "discharge-jane-doe.txt", Size: int64(len(note)), Body: bytes.NewReader(note)})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Attachments) != 2 || len(sent.Raw.Attachments) != 2 {
		t.Fatalf("attachments: %d sealed, %d raw", len(sent.Attachments), len(sent.Raw.Attachments))
	}
	got, err := b.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Attachments) != 2 {
		t.Fatalf("opened %d attachments", len(got.Attachments))
	}
	want := []struct {
		name, mime string
		data       []byte
	}{{"chest-xray-jane-doe.dcm", "application/dicom", xray}, {"discharge-jane-doe.txt", "application/octet-stream", note}}
	for i, at := range got.Attachments {
		if at.Name != want[i].name || at.MIMEType != want[i].mime || at.Size != int64(len(want[i].data)) {
			t.Errorf("attachment %d = %q %q %d", i, at.Name, at.MIMEType, at.Size)
		}
		data := readAll(t, ctx, at)
		if !bytes.Equal(data, want[i].data) {
			t.Errorf("attachment %d content differs (%d bytes)", i, len(data))
		}
	}
	// The sender can open its own attachments (it is a recipient).
	if data := readAll(t, ctx, sent.Attachments[1]); !bytes.Equal(data, note) {
		t.Error("sender cannot read its attachment")
	}
	w.assertNoPlaintext("chest-xray", "jane-doe", "application/dicom", "XRAYDATA", "discharge summary")
	if len(w.ss.Uploads()) != 2 {
		t.Errorf("%d uploads", len(w.ss.Uploads()))
	}

	// eve (not a member) cannot open the file even with its URL.
	e := w.enc(ch, "eve", nil)
	em, err := e.GetMessage(ctx, sent.ID)
	if !errors.Is(err, streamenc.ErrNotRecipient) || em.Attachments != nil {
		t.Fatalf("eve: %v", err)
	}

	// Stream swaps the two attachments' URLs: each no longer matches its
	// sealed digest.
	raw := got.Raw.Attachments
	swapped := []*stream.Attachment{
		{Type: "file", AssetURL: raw[1].AssetURL, ExtraData: raw[0].ExtraData},
		{Type: "file", AssetURL: raw[0].AssetURL, ExtraData: raw[1].ExtraData},
	}
	if _, err := w.sc.PartialUpdateMessage(ctx, sent.ID, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: map[string]any{"attachments": swapped}}}); err != nil {
		t.Fatal(err)
	}
	got, err = b.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := got.Attachments[1].Open(ctx)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, streamenc.ErrTampered) {
		t.Errorf("swapped attachment: %v", err)
	}
	// Stream drops one attachment: the message no longer matches its
	// sealed payload.
	if _, err := w.sc.PartialUpdateMessage(ctx, sent.ID, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: map[string]any{"attachments": swapped[:1]}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMessage(ctx, sent.ID); !errors.Is(err, streamenc.ErrTampered) {
		t.Errorf("dropped attachment: %v", err)
	}

	// Bad files are refused before anything is sent.
	n := len(w.ss.Messages(ch.CID))
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "x"}, "alice", streamenc.File{Name: "a", Size: 10, Body: strings.NewReader("short")}); err == nil {
		t.Error("short body accepted")
	}
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "x"}, "alice", streamenc.File{Name: "a", Size: 2, Body: strings.NewReader("longer")}); err == nil {
		t.Error("long body accepted")
	}
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "x", Attachments: []*stream.Attachment{{Title: "clear"}}}, "alice"); err == nil {
		t.Error("clear attachment accepted")
	}
	if m := len(w.ss.Messages(ch.CID)); m != n {
		t.Errorf("a failed send left a message (%d -> %d)", n, m)
	}
	if u := len(w.ss.Uploads()); u != 2 {
		t.Errorf("a failed send left %d uploads", u-2)
	}
}

func readAll(t *testing.T, ctx context.Context, a *streamenc.Attachment) []byte {
	t.Helper()
	rc, err := a.Open(ctx)
	if err != nil {
		t.Fatalf("Open %q: %v", a.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", a.Name, err)
	}
	return data
}

func TestAttachmentDownloadLimits(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", &streamenc.ChannelOptions{MaxAttachmentBytes: 1000})
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "big"}, "alice",
		streamenc.File{Name: "big", Size: 1001, Body: bytes.NewReader(make([]byte, 1001))}); !errors.Is(err, streamenc.ErrAttachmentTooLarge) {
		t.Fatalf("send over the limit: %v", err)
	}
	sent, err := a.SendMessage(ctx, &stream.Message{Text: "ok"}, "alice",
		streamenc.File{Name: "f", Size: 900, Body: bytes.NewReader(make([]byte, 900))})
	if err != nil {
		t.Fatal(err)
	}
	small := w.enc(ch, "bob", &streamenc.ChannelOptions{MaxAttachmentBytes: 100})
	m, err := small.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Attachments[0].Open(ctx); !errors.Is(err, streamenc.ErrAttachmentTooLarge) {
		t.Errorf("download over the limit: %v", err)
	}
	refuse := w.enc(ch, "bob", &streamenc.ChannelOptions{CheckAttachmentURL: func(u *url.URL) error {
		return errors.New("not our CDN")
	}})
	m, err = refuse.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Attachments[0].Open(ctx); err == nil || !strings.Contains(err.Error(), "not our CDN") {
		t.Errorf("URL check: %v", err)
	}
}

func TestThreadsQuotesEditsDeletes(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", &streamenc.ChannelOptions{SensitiveFields: []string{"dx"}})
	b := w.enc(ch, "bob", nil)

	parent, err := a.SendMessage(ctx, &stream.Message{Text: "thread root: insulin plan"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	reply, err := b.SendMessage(ctx, &stream.Message{Text: "reply: 10 units", ParentID: parent.ID}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	quote, err := b.SendMessage(ctx, &stream.Message{Text: "quoting: agreed", QuotedMessageID: parent.ID}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if quote.Quoted == nil || quote.Quoted.Text != "thread root: insulin plan" {
		t.Errorf("send answer's quote = %+v", quote.Quoted)
	}
	replies, err := a.GetReplies(ctx, parent.ID, &stream.PaginationParamsRequest{Limit: 10})
	if err != nil || len(replies) != 1 || replies[0].Text != "reply: 10 units" || replies[0].Sender.Identity != "bob" || replies[0].Raw.ParentID != parent.ID {
		t.Fatalf("replies: %v %+v", err, replies)
	}
	q, err := a.GetMessage(ctx, quote.ID)
	if err != nil || q.Quoted == nil || q.Quoted.Text != "thread root: insulin plan" || q.Quoted.Sender.Identity != "alice" {
		t.Fatalf("quote: %v %+v", err, q)
	}

	// Edit: re-sealed, fields replaced, author only.
	edited, err := a.UpdateMessage(ctx, &stream.Message{ID: parent.ID, Text: "thread root: insulin plan v2",
		ExtraData: map[string]any{"dx": "T1DM"}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Text != "thread root: insulin plan v2" {
		t.Errorf("edited = %q", edited.Text)
	}
	got, err := b.GetMessage(ctx, parent.ID)
	if err != nil || got.Text != "thread root: insulin plan v2" || got.Fields["dx"] != "T1DM" || got.Raw.ReplyCount != 1 {
		t.Fatalf("after edit: %v %+v", err, got)
	}
	if _, err := b.UpdateMessage(ctx, &stream.Message{ID: parent.ID, Text: "hijack"}, "bob"); !errors.Is(err, streamenc.ErrNotAuthor) {
		t.Errorf("edit by another: %v", err)
	}
	if _, err := a.UpdateMessage(ctx, &stream.Message{ID: parent.ID, Text: "x"}, "bob"); !errors.Is(err, streamenc.ErrSenderMismatch) {
		t.Errorf("edit as another: %v", err)
	}

	// Delete passes through; deleted messages are marked, not errors.
	if err := a.DeleteMessage(ctx, reply.ID, false); err != nil {
		t.Fatal(err)
	}
	got, err = b.GetMessage(ctx, reply.ID)
	if err != nil || !got.Deleted || got.Text != "" {
		t.Fatalf("deleted: %v %+v", err, got)
	}
	if err := a.DeleteMessage(ctx, quote.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMessage(ctx, quote.ID); !errors.Is(err, streamenc.ErrNotFound) {
		t.Errorf("hard-deleted: %v", err)
	}
	w.assertNoPlaintext("insulin", "10 units", "agreed", "T1DM")
}

func TestSearch(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	other := w.channel("other", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	if _, err := w.enc(other, "alice", nil).SendMessage(ctx, &stream.Message{Text: "elsewhere", ExtraData: map[string]any{"kind": "lab"}}, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"lab", "note", "lab"} {
		if _, err := a.SendMessage(ctx, &stream.Message{Text: "result " + kind, ExtraData: map[string]any{"kind": kind}}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.enc(ch, "bob", nil).Search(ctx, stream.SearchRequest{MessageFilters: map[string]any{"kind": "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	for _, m := range res {
		if m.Text != "result lab" {
			t.Errorf("result %q, %v", m.Text, m.Err)
		}
	}
	noClient := streamenc.NewChannel(ch, w.clients["bob"], nil)
	if _, err := noClient.Search(ctx, stream.SearchRequest{MessageFilters: map[string]any{"kind": "lab"}}); !errors.Is(err, streamenc.ErrNoStreamClient) {
		t.Errorf("search without a client: %v", err)
	}
	if err := noClient.DeleteMessage(ctx, "x", false); !errors.Is(err, streamenc.ErrNoStreamClient) {
		t.Errorf("delete without a client: %v", err)
	}
}

func TestMembershipChanges(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	c := w.enc(ch, "carol", nil)

	before, err := a.SendMessage(ctx, &stream.Message{Text: "before carol"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AddMembers(ctx, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	after, err := a.SendMessage(ctx, &stream.Message{Text: "after carol joined"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || !errors.Is(page[0].Err, streamenc.ErrNotRecipient) || page[1].Text != "after carol joined" {
		t.Fatalf("carol's page: %+v / %+v", page[0], page[1])
	}
	var oe *streamenc.OpenError
	if !errors.As(page[0].Err, &oe) || oe.MessageID != before.ID || oe.SenderID != "alice" || !errors.Is(page[0].Err, e3.ErrNotRecipient) {
		t.Errorf("OpenError = %#v", page[0].Err)
	}
	if _, err := ch.RemoveMembers(ctx, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	gone, err := a.SendMessage(ctx, &stream.Message{Text: "after bob left"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.enc(ch, "bob", nil).Open(ctx, gone.Raw); !errors.Is(err, streamenc.ErrNotRecipient) {
		t.Errorf("bob after removal: %v", err)
	}
	_ = after

	// With a TTL the list is reused: a member added meanwhile is missed
	// until it expires.
	cached := w.enc(ch, "alice", &streamenc.ChannelOptions{MembersTTL: time.Hour})
	if _, err := cached.SendMessage(ctx, &stream.Message{Text: "prime"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AddMembers(ctx, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	stale, err := cached.SendMessage(ctx, &stream.Message{Text: "stale list"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.enc(ch, "bob", nil).Open(ctx, stale.Raw); !errors.Is(err, streamenc.ErrNotRecipient) {
		t.Errorf("TTL: bob could read a message sealed with the old list: %v", err)
	}
}

func TestUnregisteredMember(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	w.addUser("dave", false) // a Stream user who never registered with Virgil
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob", "dave")
	a := w.enc(ch, "alice", nil)
	_, err := a.SendMessage(ctx, &stream.Message{Text: "hello"}, "alice")
	var nf *e3.UsersNotFoundError
	if !errors.As(err, &nf) || len(nf.Identities) != 1 || nf.Identities[0] != "dave" {
		t.Fatalf("send with an unregistered member: %v", err)
	}
	skip := w.enc(ch, "alice", &streamenc.ChannelOptions{SkipMembersWithoutCard: true})
	sent, err := skip.SendMessage(ctx, &stream.Message{Text: "hello"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := w.enc(ch, "bob", nil).Open(ctx, sent.Raw); err != nil || m.Text != "hello" {
		t.Errorf("bob: %v", err)
	}
}

func TestBadMessagesInAPage(t *testing.T) {
	w := newWorld(t, "alice", "bob", "mallory")
	w.addUser("ghost", false)
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	b := w.enc(ch, "bob", nil)

	good1, err := a.SendMessage(ctx, &stream.Message{Text: "good one"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// A message sent in clear (a client without encryption).
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: "plain text"}, "bob"); err != nil {
		t.Fatal(err)
	}
	// A message Stream altered: a flipped bit in the ciphertext.
	victim, err := a.SendMessage(ctx, &stream.Message{Text: "to be altered"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(victim.Raw.Text)
	ct[len(ct)-40] ^= 1
	if _, err := w.sc.PartialUpdateMessage(ctx, victim.ID, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: map[string]any{"text": base64.StdEncoding.EncodeToString(ct)}}}); err != nil {
		t.Fatal(err)
	}
	// A non-member (server side, as Stream allows) seals for herself only
	// and posts; then seals for the members but claims to be alice.
	mal := w.clients["mallory"]
	own, err := mal.AuthEncryptString("from a non-member")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: own}, "mallory"); err != nil {
		t.Fatal(err)
	}
	cards, err := mal.FindUsers(ctx, "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := mal.AuthEncryptString("I am alice", cards["alice"], cards["bob"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: forged}, "alice"); err != nil {
		t.Fatal(err)
	}
	// A sealed-looking message from a user without a card.
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: forged}, "ghost"); err != nil {
		t.Fatal(err)
	}
	// A damaged marker.
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: good1.Raw.Text, ExtraData: map[string]any{"e3go": "garbage"}}, "alice"); err != nil {
		t.Fatal(err)
	}
	// A message from a future layout version.
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: good1.Raw.Text, ExtraData: map[string]any{"e3go": map[string]any{"v": "9"}}}, "alice"); err != nil {
		t.Fatal(err)
	}
	// A copy of alice's sealed message with its payload moved under
	// another id: replayed text alone still verifies (e3kit's format has
	// no room for context), but a sealed payload is bound to its message.
	pushA := w.enc(ch, "alice", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe})
	pushed, err := pushA.SendMessage(ctx, &stream.Message{Text: "bound to its id"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: pushed.Raw.Text, ExtraData: map[string]any{"e3go": pushed.Raw.ExtraData["e3go"]}}, "alice"); err != nil {
		t.Fatal(err)
	}
	good2, err := a.SendMessage(ctx, &stream.Message{Text: "good two"}, "alice")
	if err != nil {
		t.Fatal(err)
	}

	page, err := b.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, streamenc.ErrNotSealed, streamenc.ErrTampered, streamenc.ErrNotRecipient, streamenc.ErrTampered,
		streamenc.ErrUnknownSender, streamenc.ErrMalformed, streamenc.ErrUnsupportedVersion, nil, streamenc.ErrTampered, nil}
	if len(page) != len(want) {
		t.Fatalf("%d messages, want %d", len(page), len(want))
	}
	for i, m := range page {
		if want[i] == nil {
			if m.Err != nil {
				t.Errorf("message %d: %v", i, m.Err)
			}
			continue
		}
		if !errors.Is(m.Err, want[i]) {
			t.Errorf("message %d: err %v, want %v", i, m.Err, want[i])
		}
		if m.Text != "" || m.Sender != nil || m.Fields != nil {
			t.Errorf("message %d: content despite the error: %+v", i, m)
		}
	}
	if page[0].Text != "good one" || page[10].Text != "good two" || page[8].Text != "bound to its id" || good2.Err != nil {
		t.Error("good messages not opened")
	}
	if !errors.Is(page[2].Err, e3.ErrAuthFailed) {
		t.Errorf("tampered: %v", page[2].Err)
	}
	var nf *e3.UsersNotFoundError
	if !errors.As(page[5].Err, &nf) {
		t.Errorf("unknown sender: %v", page[5].Err)
	}
	// Open on one message returns the same error.
	if _, err := b.Open(ctx, page[2].Raw); !errors.Is(err, streamenc.ErrTampered) {
		t.Errorf("Open: %v", err)
	}
}

func TestNonMemberWithUserToken(t *testing.T) {
	// Stream itself refuses a non-member who sends with a user token, as
	// browsers do; the message never exists.
	w := newWorld(t, "alice", "bob", "mallory")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	ct, err := w.clients["mallory"].AuthEncryptString("let me in")
	if err != nil {
		t.Fatal(err)
	}
	req := w.ss.NewUserRequest(ctx, "POST", "/channels/messaging/care/message", "mallory",
		map[string]any{"message": map[string]any{"text": ct}})
	resp, err := w.ss.Client().HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if n := len(w.ss.Messages(ch.CID)); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

func TestSenderMismatch(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	if _, err := w.enc(ch, "alice", nil).SendMessage(ctx, &stream.Message{Text: "x"}, "bob"); !errors.Is(err, streamenc.ErrSenderMismatch) {
		t.Errorf("send as another user: %v", err)
	}
	if _, err := w.enc(ch, "alice", nil).SendMessage(ctx, &stream.Message{Text: "x", ExtraData: map[string]any{"e3go": 1}}, "alice"); err == nil {
		t.Error("reserved field accepted")
	}
}

func TestSenderKeyRotation(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)
	b := w.enc(ch, "bob", nil)
	old, err := a.SendMessage(ctx, &stream.Message{Text: "signed with the first key"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// bob's cache now holds alice's first card.
	if m, err := b.Open(ctx, old.Raw); err != nil || m.Text != "signed with the first key" {
		t.Fatalf("before rotation: %v", err)
	}
	// Card creation times have whole seconds; the message must be older.
	time.Sleep(1100 * time.Millisecond)
	if err := w.clients["alice"].Cleanup(ctx); err != nil { // rotation is for a lost key
		t.Fatal(err)
	}
	if err := w.clients["alice"].RotatePrivateKey(ctx); err != nil {
		t.Fatal(err)
	}
	// bob is still a recipient of alice's new messages (his key did not
	// change); his cached card of alice is stale, so the opener refreshes it.
	fresh, err := a.SendMessage(ctx, &stream.Message{Text: "signed with the new key"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	page, err := b.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Err != nil || page[1].Err != nil {
		t.Fatalf("after rotation: %+v %+v", page[0].Err, page[1].Err)
	}
	if page[0].Sender.ID == page[1].Sender.ID || page[1].Sender.ID != fresh.Sender.ID || page[0].Sender.ID != old.Sender.ID {
		t.Errorf("senders: old %s, new %s", page[0].Sender.ID, page[1].Sender.ID)
	}
}

func TestServiceFaults(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	ctx := ctxT(t)
	ch := w.channel("care", "alice", "bob")
	a := w.enc(ch, "alice", nil)

	// Stream fails the send after the upload: the upload is deleted, the
	// error is Stream's.
	w.ss.InjectFault(streamtest.Fault{Method: "POST", Path: "/channels/*/*/message", Status: 500})
	_, err := a.SendMessage(ctx, &stream.Message{Text: "x"}, "alice", streamenc.File{Name: "f", Size: 3, Body: strings.NewReader("abc")})
	var se stream.Error
	if !errors.As(err, &se) || se.StatusCode != 500 {
		t.Fatalf("send during a Stream fault: %v", err)
	}
	if n := len(w.ss.Uploads()); n != 0 {
		t.Errorf("%d uploads left behind", n)
	}
	// Stream fails the members query: nothing is sent.
	w.ss.InjectFault(streamtest.Fault{Method: "GET", Path: "/members", Status: 503})
	if _, err := a.SendMessage(ctx, &stream.Message{Text: "x"}, "alice"); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("send when members fail: %v", err)
	}
	sent, err := a.SendMessage(ctx, &stream.Message{Text: "after the faults"}, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// The Cards service fails while bob (cold cache) opens a page: every
	// sealed message says why, and a retry opens them.
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: "in clear"}, "bob"); err != nil {
		t.Fatal(err)
	}
	b := w.enc(ch, "bob", nil)
	w.es.InjectFault(e3test.Fault{PathPrefix: "/card/", Status: 500, Times: 10})
	page, err := b.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || !errors.Is(page[0].Err, streamenc.ErrUnknownSender) || !errors.Is(page[1].Err, streamenc.ErrNotSealed) {
		t.Fatalf("page during a Cards fault: %v / %v", page[0].Err, page[1].Err)
	}
	w.es.ClearFaults()
	if m, err := b.GetMessage(ctx, sent.ID); err != nil || m.Text != "after the faults" {
		t.Fatalf("after the fault: %v", err)
	}
	// A cancelled context fails cleanly.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.SendMessage(cctx, &stream.Message{Text: "x"}, "alice"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send: %v", err)
	}
	if _, err := b.Query(cctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: %v", err)
	}
}
