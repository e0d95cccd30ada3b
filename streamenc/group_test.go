package streamenc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
)

// Group channels: a channel whose initiator ("bot", a server-side
// participant) opted it in seals every message once in its group session.

// careTeam returns a world with "bot" and members m01..m(n-1), all
// registered, and the channel "team" with all of them.
func careTeam(t testing.TB, n int, es *e3test.Server) (*world, *stream.Channel, []string) {
	t.Helper()
	w := &world{t: t, ss: newStreamServer(t), es: es, clients: map[string]*e3.Client{}}
	t.Cleanup(w.ss.Close)
	if w.es == nil {
		w.es = e3test.NewServer()
	}
	t.Cleanup(w.es.Close)
	w.sc = w.ss.Client()
	ids := []string{"bot"}
	for i := 1; i < n; i++ {
		ids = append(ids, fmt.Sprintf("m%02d", i))
	}
	for _, id := range ids {
		w.addUser(id, true)
	}
	return w, w.channel("team", ids...), ids
}

// groupCT decodes a stored group message (the text field).
func groupCT(t testing.TB, m *streamenc.Message) []byte {
	t.Helper()
	ct, err := base64.StdEncoding.DecodeString(m.Raw.Text)
	if err != nil || !strings.HasPrefix(m.Raw.Text, "CAAa") {
		t.Fatalf("stored text %.12q… is not a group message: %v", m.Raw.Text, err)
	}
	return ct
}

// virgilRequests counts the requests the Virgil emulator answered.
func virgilRequests(w *world) int { return len(w.es.Requests()) }

func mustOpen(t testing.TB, ctx context.Context, c *streamenc.Channel, id, want, from string) *streamenc.Message {
	t.Helper()
	m, err := c.GetMessage(ctx, id)
	if err != nil {
		t.Fatalf("open %s: %v", id, err)
	}
	if m.Text != want || m.Sender == nil || m.Sender.Identity != from {
		t.Fatalf("opened %q from %v, want %q from %s", m.Text, m.SenderID, want, from)
	}
	return m
}

// The proof: a message to a 50-member care-team channel is one
// group encryption, the same size as in a 3-member channel, with no
// request to Virgil once the group exists; every member opens it, and a
// member's own message too.
func TestGroupChannel50(t *testing.T) {
	w, ch, ids := careTeam(t, 50, nil)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", &streamenc.ChannelOptions{GroupInitiator: "bot"})

	// Per recipient, 50 keys cannot fit Stream's text limit.
	perRecipient := w.enc(ch, "bot", &streamenc.ChannelOptions{Sealing: streamenc.SealPerRecipient})
	var tl *streamenc.TooLongError
	if _, err := perRecipient.SendMessage(ctx, &stream.Message{Text: "hi"}, ""); !errors.As(err, &tl) || tl.Recipients != 50 || tl.Group {
		t.Fatalf("per-recipient send to 50: %v", err)
	}

	res, err := bot.EnableGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Epoch != 0 || res.GroupID != "e3go:messaging:team:bot" || len(res.Added) != 0 {
		t.Fatalf("EnableGroup = %+v", res)
	}
	g, err := bot.Group(ctx)
	if err != nil || len(g.Participants()) != 50 || g.Initiator() != "bot" {
		t.Fatalf("group: %v %v", err, g)
	}
	// The opt-in every client reads.
	stored := w.ss.Channels()[0].Custom[streamenc.GroupFieldKey]
	if string(stored) != `{"epoch":"0","initiator":"bot","v":"1"}` {
		t.Fatalf("channel field = %s", stored)
	}

	text := strings.Repeat("BP 120/80, HR 72; ", 12)[:200]
	if _, err := bot.SendMessage(ctx, &stream.Message{Text: "warm-up"}, ""); err != nil {
		t.Fatal(err)
	}
	before := virgilRequests(w)
	sent, err := bot.SendMessage(ctx, &stream.Message{Text: text}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := virgilRequests(w) - before; n != 0 {
		t.Errorf("a send in an unchanged group made %d requests to Virgil", n)
	}
	// One group message: 162 bytes plus the padded text, whatever the
	// number of members.
	if ct := groupCT(t, sent); len(ct) != 482 {
		t.Errorf("group message of 200 bytes of text is %d bytes, want 482", len(ct))
	}
	if sent.GroupID != res.GroupID || sent.Text != text {
		t.Fatalf("sent = %+v", sent)
	}
	mk, _ := json.Marshal(sent.Raw.ExtraData["e3go"])
	if string(mk) != `{"group":"bot","layout":"text","v":"2"}` {
		t.Errorf("marker = %s", mk)
	}

	// The same text in a 3-member group channel has the same size.
	w3, ch3, _ := careTeam(t, 3, nil)
	bot3 := w3.enc(ch3, "bot", nil)
	if _, err := bot3.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	sent3, err := bot3.SendMessage(ctx, &stream.Message{Text: text}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent3.Raw.Text) != len(sent.Raw.Text) {
		t.Errorf("3 members: %d characters, 50 members: %d", len(sent3.Raw.Text), len(sent.Raw.Text))
	}

	// Every member opens it (loading the group from the bot's Keyknox
	// space), in parallel as a care team would.
	members := map[string]*streamenc.Channel{}
	for _, id := range ids {
		members[id] = w.enc(ch, id, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := members[id].GetMessage(ctx, sent.ID)
			if err == nil && (m.Text != text || m.Sender.Identity != "bot" || m.GroupID != res.GroupID) {
				err = fmt.Errorf("%s read %q from %s in %q", id, m.Text, m.SenderID, m.GroupID)
			}
			if err != nil {
				errs <- fmt.Errorf("%s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A member writes; the others (and the bot) read it.
	reply, err := members["m17"].SendMessage(ctx, &stream.Message{Text: "on my way to bed 12"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(groupCT(t, reply)) != 322 {
		t.Errorf("reply is %d bytes", len(groupCT(t, reply)))
	}
	for _, id := range []string{"bot", "m01", "m33", "m49"} {
		mustOpen(t, ctx, members[id], reply.ID, "on my way to bed 12", "m17")
	}
	w.assertNoPlaintext("BP 120/80", "warm-up", "bed 12")
}

// Membership changes: a removed member cannot open what is sent after the
// initiator synced (a new epoch); the others can, including a member whose
// group was outdated. A member added later sees ErrGroupNoAccess until the
// initiator syncs, then reads the whole history.
func TestGroupMembershipChanges(t *testing.T) {
	w, ch, _ := careTeam(t, 5, nil)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	m := map[string]*streamenc.Channel{}
	for _, id := range []string{"m01", "m02", "m03", "m04"} {
		m[id] = w.enc(ch, id, nil)
	}
	first, err := bot.SendMessage(ctx, &stream.Message{Text: "epoch 0"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for id, c := range m {
		mustOpen(t, ctx, c, first.ID, "epoch 0", "bot")
		_ = id
	}

	// m02 leaves the Stream channel. Until the initiator syncs, the old
	// epoch is still in use: a member's send is readable by m02 (the gap
	// the package documentation describes).
	if _, err := ch.RemoveMembers(ctx, []string{"m02"}, nil); err != nil {
		t.Fatal(err)
	}
	gap, err := m["m03"].SendMessage(ctx, &stream.Message{Text: "before the sync"}, "")
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, ctx, m["m02"], gap.ID, "before the sync", "m03")

	// The bot's next send syncs: m02 is removed, a new epoch.
	after, err := bot.SendMessage(ctx, &stream.Message{Text: "after m02 left"}, "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := bot.Group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Epoch() != 1 || strings.Join(g.Participants(), ",") != "bot,m01,m03,m04" {
		t.Fatalf("after the removal: epoch %d, %v", g.Epoch(), g.Participants())
	}
	if f := string(w.ss.Channels()[0].Custom[streamenc.GroupFieldKey]); !strings.Contains(f, `"epoch":"1"`) {
		t.Errorf("channel field after the removal: %s", f)
	}
	// m04 has not seen epoch 1; the field tells it to update before it
	// sends, so its message is in epoch 1 too.
	fromM04, err := m["m04"].SendMessage(ctx, &stream.Message{Text: "m04 after the removal"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{after.ID, fromM04.ID} {
		got, err := m["m02"].GetMessage(ctx, id)
		if !errors.Is(err, streamenc.ErrGroupNoAccess) || !errors.Is(err, streamenc.ErrNotRecipient) || !errors.Is(err, e3.ErrGroupNoAccess) {
			t.Errorf("removed member, message %s: %v", id, err)
		}
		if got == nil || got.Text != "" || got.GroupID == "" {
			t.Errorf("removed member got %+v", got)
		}
	}
	mustOpen(t, ctx, m["m01"], after.ID, "after m02 left", "bot") // outdated: updates, reads
	mustOpen(t, ctx, m["m03"], fromM04.ID, "m04 after the removal", "m04")
	if _, err := m["m02"].SendMessage(ctx, &stream.Message{Text: "still here?"}, ""); !errors.Is(err, streamenc.ErrGroupNoAccess) {
		t.Errorf("removed member's send: %v", err)
	}

	// A member added to the Stream channel, not yet to the group.
	w.addUser("late", true)
	if _, err := ch.AddMembers(ctx, []string{"late"}); err != nil {
		t.Fatal(err)
	}
	late := w.enc(ch, "late", nil)
	page, err := late.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range page {
		if !errors.Is(msg.Err, streamenc.ErrGroupNoAccess) || !errors.Is(msg.Err, e3.ErrGroupNoAccess) {
			t.Errorf("late member before the sync: %q: %v", msg.ID, msg.Err)
		}
	}
	if _, err := late.SendMessage(ctx, &stream.Message{Text: "hello?"}, ""); !errors.Is(err, streamenc.ErrGroupNoAccess) {
		t.Errorf("late member's send before the sync: %v", err)
	}
	if _, err := m["m01"].SyncGroup(ctx); !errors.Is(err, e3.ErrNotGroupInitiator) {
		t.Errorf("SyncGroup by a participant: %v", err)
	}
	res, err := bot.SyncGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Added, ",") != "late" || len(res.Removed) != 0 || res.Epoch != 1 {
		t.Fatalf("SyncGroup = %+v", res)
	}
	page, err = late.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"epoch 0", "before the sync", "after m02 left", "m04 after the removal"}
	if len(page) != len(want) {
		t.Fatalf("late member's page: %d messages", len(page))
	}
	for i, msg := range page {
		if msg.Err != nil || msg.Text != want[i] {
			t.Errorf("late member, message %d: %q, %v", i, msg.Text, msg.Err)
		}
	}
	if _, err := late.SendMessage(ctx, &stream.Message{Text: "hello all"}, ""); err != nil {
		t.Errorf("late member's send after the sync: %v", err)
	}
	// Nothing changed: a sync is a no-op.
	if res, err := bot.SyncGroup(ctx); err != nil || len(res.Added)+len(res.Removed) != 0 || res.Created {
		t.Errorf("idle SyncGroup = %+v, %v", res, err)
	}
}

// A page mixes per-recipient messages (from before the opt-in, and from a
// client that keeps sealing per recipient), group messages with the
// marker, a group message posted without it (as an e3kit client that only
// writes the text), and bad ones: each bad one fails alone.
func TestGroupMixedAndBadMessages(t *testing.T) {
	w, ch, _ := careTeam(t, 3, nil)
	w.addUser("mallory", true)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	m1 := w.enc(ch, "m01", nil)
	m2 := w.enc(ch, "m02", nil)

	send := func(c *streamenc.Channel, text string) *streamenc.Message {
		t.Helper()
		m, err := c.SendMessage(ctx, &stream.Message{Text: text}, "")
		if err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
		return m
	}
	post := func(user, text string, marker map[string]any) {
		t.Helper()
		msg := &stream.Message{Text: text}
		if marker != nil {
			msg.ExtraData = map[string]any{"e3go": marker}
		}
		if _, err := ch.SendMessage(ctx, msg, user); err != nil {
			t.Fatal(err)
		}
	}
	groupMarker := map[string]any{"v": "2", "layout": "text", "group": "bot"}

	old := send(m1, "per recipient, before the opt-in") // 0
	if old.GroupID != "" {
		t.Fatal("sealed in a group before the opt-in")
	}
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	g1 := send(m1, "group message") // 1
	// 2: an e3kit-style post: the group ciphertext alone in the text.
	grp, err := w.clients["m01"].GetGroup(ctx, streamenc.GroupID(ch.CID, "bot"))
	if err != nil {
		t.Fatal(err)
	}
	bare, err := grp.EncryptString("no marker")
	if err != nil {
		t.Fatal(err)
	}
	post("m01", bare, nil)
	// 3: a client that keeps sealing per recipient.
	send(w.enc(ch, "m02", &streamenc.ChannelOptions{Sealing: streamenc.SealPerRecipient}), "per recipient, after the opt-in")
	// 4: a group message altered by Stream.
	ct := groupCT(t, g1)
	ct[len(ct)-30] ^= 1
	post("m01", base64.StdEncoding.EncodeToString(ct), groupMarker)
	// 5: m01's group message posted as m02 (server-side, as Stream allows).
	post("m02", g1.Raw.Text, groupMarker)
	// 6: mallory makes her own group with the bot's group id (same session
	// id) and posts in it.
	mg, err := w.clients["mallory"].CreateGroup(ctx, streamenc.GroupID(ch.CID, "bot"))
	if err != nil {
		t.Fatal(err)
	}
	fake, err := mg.EncryptString("from a lookalike group")
	if err != nil {
		t.Fatal(err)
	}
	post("mallory", fake, groupMarker)
	// 7: a marker naming an initiator without a group (or a card).
	post("m01", g1.Raw.Text, map[string]any{"v": "2", "layout": "text", "group": "nobody"})
	// 8: a version 2 marker without its group.
	post("m01", g1.Raw.Text, map[string]any{"v": "2", "layout": "text"})
	// 9: a group marker over a per-recipient ciphertext.
	post("m01", old.Raw.Text, groupMarker)
	// 10: a message claiming a later epoch (the header's epoch byte, at
	// offset 42, changed): the reader updates once, and it stays unknown.
	ct = groupCT(t, g1)
	if ct[41] != 0x10 || ct[42] != 0 {
		t.Fatalf("unexpected group message layout % x", ct[:44])
	}
	ct[42] = 5
	post("m01", base64.StdEncoding.EncodeToString(ct), groupMarker)
	g2 := send(bot, "group message two") // 11

	page, err := m2.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gid := streamenc.GroupID(ch.CID, "bot")
	want := []struct {
		text  string
		err   error
		group string
	}{
		{"per recipient, before the opt-in", nil, ""},
		{"group message", nil, gid},
		{"no marker", nil, gid},
		{"per recipient, after the opt-in", nil, ""},
		{"", streamenc.ErrTampered, gid},
		{"", streamenc.ErrTampered, gid},
		{"", streamenc.ErrTampered, gid},
		{"", streamenc.ErrGroupNoAccess, streamenc.GroupID(ch.CID, "nobody")},
		{"", streamenc.ErrMalformed, ""},
		{"", streamenc.ErrMalformed, gid},
		{"", streamenc.ErrGroupNoAccess, gid},
		{"group message two", nil, gid},
	}
	if len(page) != len(want) {
		t.Fatalf("%d messages, want %d", len(page), len(want))
	}
	for i, m := range page {
		if m.Text != want[i].text || m.GroupID != want[i].group || (want[i].err == nil) != (m.Err == nil) ||
			(want[i].err != nil && !errors.Is(m.Err, want[i].err)) {
			t.Errorf("message %d: %q in %q, %v; want %q in %q, %v", i, m.Text, m.GroupID, m.Err, want[i].text, want[i].group, want[i].err)
		}
	}
	if !errors.Is(page[4].Err, e3.ErrAuthFailed) || !errors.Is(page[5].Err, e3.ErrAuthFailed) {
		t.Errorf("tampered / misattributed: %v / %v", page[4].Err, page[5].Err)
	}
	if !errors.Is(page[10].Err, e3.ErrGroupOutdated) {
		t.Errorf("later epoch: %v", page[10].Err)
	}
	if g2.Err != nil || page[2].Sender.Identity != "m01" {
		t.Error("good messages not opened")
	}
	// The webhook handler has no channel to tell the group of an unmarked
	// message; marked ones it opens.
	b := w.startBot("bot", nil)
	if _, err := ch.SendMessage(ctx, &stream.Message{Text: bare}, "m01"); err != nil {
		t.Fatal(err)
	}
	send(m1, "marked, by webhook")
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.messages()
	if len(got) != 2 || !errors.Is(got[0].Err, streamenc.ErrGroupNoAccess) || got[1].Err != nil || got[1].Text != "marked, by webhook" || got[1].GroupID != gid {
		t.Fatalf("webhook messages: %+v", got)
	}
	w.assertNoPlaintext("no marker", "group message", "lookalike", "by webhook")
}

// Push-safe layout, sensitive fields, attachments and edits in a group
// channel: everything goes through the group; files are encrypted for a
// one-off key carried in the sealed payload.
func TestGroupPushSafeAttachmentsEdits(t *testing.T) {
	w, ch, _ := careTeam(t, 4, nil)
	w.addUser("eve", true)
	ctx := ctxT(t)
	opts := &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe, SensitiveFields: []string{"mrn"}}
	bot := w.enc(ch, "bot", opts)
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	scan := bytes.Repeat([]byte("CT-SCAN-jane-doe-"), 30000)
	note := []byte("allergic to penicillin")
	sent, err := bot.SendMessage(ctx, &stream.Message{Text: "results attached", ExtraData: map[string]any{"mrn": "MRN-0042", "ward": "B"}}, "",
		streamenc.File{Name: "scan-jane-doe.dcm", MIMEType: "application/dicom", Size: int64(len(scan)), Body: bytes.NewReader(scan)},
		streamenc.File{Name: "allergy.txt", Size: int64(len(note)), Body: bytes.NewReader(note)})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Raw.Text != "Encrypted message" || sent.Raw.ExtraData["ward"] != "B" || sent.GroupID == "" {
		t.Fatalf("sent: %q %v %q", sent.Raw.Text, sent.Raw.ExtraData, sent.GroupID)
	}
	m3 := w.enc(ch, "m03", nil)
	got, err := m3.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "results attached" || got.Fields["mrn"] != "MRN-0042" || got.Layout != streamenc.LayoutPushSafe || len(got.Attachments) != 2 {
		t.Fatalf("opened %+v", got)
	}
	if data := readAll(t, ctx, got.Attachments[0]); !bytes.Equal(data, scan) || got.Attachments[0].Name != "scan-jane-doe.dcm" {
		t.Error("scan differs")
	}
	if data := readAll(t, ctx, sent.Attachments[1]); !bytes.Equal(data, note) {
		t.Error("the sender cannot read its file")
	}
	// Not in the group: nothing, not even the file descriptions.
	if em, err := w.enc(ch, "eve", nil).GetMessage(ctx, sent.ID); !errors.Is(err, streamenc.ErrGroupNoAccess) || em.Attachments != nil {
		t.Fatalf("eve: %v", err)
	}

	// An edit re-seals in the group and keeps the files.
	edited, err := bot.UpdateMessage(ctx, &stream.Message{ID: sent.ID, Text: "results attached (revised)", ExtraData: map[string]any{"mrn": "MRN-0042"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err = w.enc(ch, "m01", nil).GetMessage(ctx, edited.ID)
	if err != nil || got.Text != "results attached (revised)" || len(got.Attachments) != 2 {
		t.Fatalf("after the edit: %v %+v", err, got)
	}
	if data := readAll(t, ctx, got.Attachments[1]); !bytes.Equal(data, note) {
		t.Error("file after the edit differs")
	}
	// Stream swaps the uploads: each fails its sealed digest.
	raw := got.Raw.Attachments
	swapped := []*stream.Attachment{
		{Type: "file", AssetURL: raw[1].AssetURL, ExtraData: raw[0].ExtraData},
		{Type: "file", AssetURL: raw[0].AssetURL, ExtraData: raw[1].ExtraData},
	}
	if _, err := w.sc.PartialUpdateMessage(ctx, sent.ID, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: map[string]any{"attachments": swapped}}}); err != nil {
		t.Fatal(err)
	}
	got, err = m3.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := got.Attachments[1].Open(ctx)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, streamenc.ErrTampered) {
		t.Errorf("swapped upload: %v", err)
	}
	w.assertNoPlaintext("results attached", "MRN-0042", "CT-SCAN", "jane-doe", "penicillin", "allergy.txt", "application/dicom")
}

// The longest text: 3515 bytes in the text layout whatever the members
// and epoch; 3445 minus the cid's length in the push-safe layout (here
// with a three-letter initiator and no clear fields). One byte more is a
// *TooLongError for the group.
func TestGroupSizeBoundary(t *testing.T) {
	w, ch, _ := careTeam(t, 3, nil)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(c *streamenc.Channel, fits int, what string) {
		t.Helper()
		m, err := c.SendMessage(ctx, &stream.Message{Text: strings.Repeat("x", fits)}, "")
		if err != nil {
			t.Fatalf("%d bytes: %v", fits, err)
		}
		if n := len(m.Raw.Text); n > streamenc.DefaultMaxTextLength {
			t.Fatalf("stored %d characters", n)
		}
		mustOpen(t, ctx, w.enc(ch, "m02", nil), m.ID, strings.Repeat("x", fits), "bot")
		_, err = c.SendMessage(ctx, &stream.Message{Text: strings.Repeat("x", fits+1)}, "")
		var tl *streamenc.TooLongError
		if !errors.As(err, &tl) || !tl.Group || tl.Recipients != 1 || tl.What != what || !errors.Is(err, streamenc.ErrTooLong) {
			t.Fatalf("%d bytes: %v", fits+1, err)
		}
	}
	check(bot, 3515, "text")
	check(w.enc(ch, "bot", &streamenc.ChannelOptions{Layout: streamenc.LayoutPushSafe}), 3445-len(ch.CID), "custom data")
}

// Options: per-recipient sealing on request in a group channel, a pinned
// initiator against a rewritten field, SealGroup, a damaged field,
// members without cards.
func TestGroupOptions(t *testing.T) {
	w, ch, _ := careTeam(t, 3, nil)
	w.addUser("ghost", false) // never registered with Virgil
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", &streamenc.ChannelOptions{GroupInitiator: "bot"})
	m1 := w.enc(ch, "m01", nil)
	if _, err := bot.Group(ctx); !errors.Is(err, streamenc.ErrNoGroup) {
		t.Errorf("Group before the opt-in: %v", err)
	}
	if _, err := bot.SyncGroup(ctx); !errors.Is(err, streamenc.ErrNoGroup) {
		t.Errorf("SyncGroup before the opt-in: %v", err)
	}
	if _, err := w.enc(ch, "bot", &streamenc.ChannelOptions{Sealing: streamenc.SealGroup}).SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.Is(err, streamenc.ErrNoGroup) {
		t.Errorf("SealGroup without a group or initiator: %v", err)
	}
	if _, err := w.enc(ch, "m01", &streamenc.ChannelOptions{GroupInitiator: "bot"}).EnableGroup(ctx); !errors.Is(err, streamenc.ErrGroupInitiatorMismatch) {
		t.Errorf("EnableGroup against the pinned initiator: %v", err)
	}

	// SealGroup with the initiator pinned to itself: the first send
	// creates the group and opts the channel in.
	sg := w.enc(ch, "bot", &streamenc.ChannelOptions{Sealing: streamenc.SealGroup, GroupInitiator: "bot"})
	first, err := sg.SendMessage(ctx, &stream.Message{Text: "first"}, "")
	if err != nil || first.GroupID == "" {
		t.Fatalf("SealGroup: %v", err)
	}
	mustOpen(t, ctx, m1, first.ID, "first", "bot")
	if _, err := m1.EnableGroup(ctx); !errors.Is(err, streamenc.ErrGroupInitiatorMismatch) {
		t.Errorf("EnableGroup by another identity: %v", err)
	}
	// Per recipient on request, in the group channel.
	pr, err := w.enc(ch, "m01", &streamenc.ChannelOptions{Sealing: streamenc.SealPerRecipient}).SendMessage(ctx, &stream.Message{Text: "per recipient"}, "")
	if err != nil || pr.GroupID != "" || !strings.HasPrefix(pr.Raw.Text, "M") {
		t.Fatalf("SealPerRecipient: %v %q", err, pr.GroupID)
	}
	mustOpen(t, ctx, bot, pr.ID, "per recipient", "m01")

	// Someone rewrites the field to name m01: the pinned bot refuses to
	// follow; an unpinned Channel follows it (and fails: m01 has no such
	// group, and the bot is not in one).
	setField := func(v any) {
		t.Helper()
		if _, err := ch.PartialUpdate(ctx, stream.PartialUpdate{Set: map[string]any{streamenc.GroupFieldKey: v}}); err != nil {
			t.Fatal(err)
		}
	}
	setField(map[string]any{"v": "1", "initiator": "m01"})
	if _, err := bot.SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.Is(err, streamenc.ErrGroupInitiatorMismatch) {
		t.Errorf("pinned initiator, rewritten field: %v", err)
	}
	if _, err := w.enc(ch, "m02", nil).SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.Is(err, streamenc.ErrGroupNoAccess) {
		t.Errorf("unpinned, field naming a group that does not exist: %v", err)
	}
	setField("garbage")
	if _, err := m1.SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.Is(err, streamenc.ErrMalformed) {
		t.Errorf("damaged field: %v", err)
	}
	setField(map[string]any{"v": "9", "initiator": "bot"})
	if _, err := m1.SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.Is(err, streamenc.ErrUnsupportedVersion) {
		t.Errorf("future field: %v", err)
	}
	// Repaired by the initiator.
	if _, err := bot.EnableGroup(ctx); !errors.Is(err, streamenc.ErrUnsupportedVersion) {
		t.Errorf("EnableGroup over a future field: %v", err)
	}
	setField(nil)
	if res, err := bot.EnableGroup(ctx); err != nil || res.Created {
		t.Fatalf("EnableGroup again: %+v %v", res, err)
	}
	again, err := m1.SendMessage(ctx, &stream.Message{Text: "again"}, "")
	if err != nil || again.GroupID != first.GroupID {
		t.Fatalf("after the repair: %v", err)
	}

	// A member without a card.
	if _, err := ch.AddMembers(ctx, []string{"ghost"}); err != nil {
		t.Fatal(err)
	}
	var nf *e3.UsersNotFoundError
	if _, err := bot.SyncGroup(ctx); !errors.As(err, &nf) || nf.Identities[0] != "ghost" {
		t.Errorf("sync with a member without a card: %v", err)
	}
	skip := w.enc(ch, "bot", &streamenc.ChannelOptions{SkipMembersWithoutCard: true})
	res, err := skip.SyncGroup(ctx)
	if err != nil || strings.Join(res.Skipped, ",") != "ghost" {
		t.Fatalf("skipping: %+v %v", res, err)
	}
	if _, err := skip.SendMessage(ctx, &stream.Message{Text: "without ghost"}, ""); err != nil {
		t.Fatal(err)
	}
}

// A group of 100 participants (e3kit's limit) against an e3test that
// enforces Keyknox's meta limit as Virgil does: the tickets are pushed in
// chunks that each stay under it, members load them, and the 101st member
// is refused with a typed error.
func TestGroupKeyknoxLimit100(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 101 users")
	}
	es, err := e3test.NewServerWithOptions(e3test.Options{KeyknoxMaxMetaSize: e3.KeyknoxMaxMetaSize})
	if err != nil {
		t.Fatal(err)
	}
	w, ch, ids := careTeam(t, 100, es)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	res, err := bot.EnableGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pushes := 0
	for _, r := range es.Requests() {
		if r.Code == e3test.CodeKeyknoxTooLarge {
			t.Errorf("a push was refused for its size: %+v", r)
		}
		if r.Path == "/keyknox/v2/push" && r.Status == 200 {
			pushes++
		}
	}
	if pushes != 4 { // ⌈99/27⌉
		t.Errorf("%d ticket pushes for 100 participants, want 4", pushes)
	}
	sent, err := bot.SendMessage(ctx, &stream.Message{Text: "to all 100"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ids[1], ids[27], ids[28], ids[55], ids[99]} { // one from each chunk
		mustOpen(t, ctx, w.enc(ch, id, nil), sent.ID, "to all 100", "bot")
	}
	// The 101st: e3kit's limit, unless the channel allows more.
	w.addUser("m100", true)
	if _, err := ch.AddMembers(ctx, []string{"m100"}); err != nil {
		t.Fatal(err)
	}
	var pc *e3.ParticipantCountError
	if _, err := bot.SendMessage(ctx, &stream.Message{Text: "x"}, ""); !errors.As(err, &pc) || pc.Count != 101 || !errors.Is(err, e3.ErrTooManyParticipants) {
		t.Errorf("101 members: %v", err)
	}
	_ = res
}

// Concurrent senders, readers and syncs in one group channel (run with
// -race): nothing lost, everything opens.
func TestGroupConcurrent(t *testing.T) {
	w, ch, ids := careTeam(t, 6, nil)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	chans := map[string]*streamenc.Channel{}
	for _, id := range ids {
		chans[id] = w.enc(ch, id, nil)
	}
	const per = 4
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := chans[id].SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("%s #%d", id, i)}, ""); err != nil {
					errs <- err
				}
				if _, err := chans[id].Query(ctx, nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3; i++ {
			if _, err := bot.SyncGroup(ctx); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	page, err := chans["m03"].Query(ctx, &stream.QueryRequest{Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != len(ids)*per {
		t.Fatalf("%d messages, want %d", len(page), len(ids)*per)
	}
	for _, m := range page {
		if m.Err != nil || m.GroupID == "" {
			t.Errorf("%s: %q %v", m.ID, m.Text, m.Err)
		}
	}
}

// The initiator keeps the group in line with the channel from Stream's
// member webhooks: a member added to the channel can read at once, a
// removed one cannot read the next message, without the bot sending.
func TestGroupSyncFromWebhooks(t *testing.T) {
	w, ch, _ := careTeam(t, 3, nil)
	w.addUser("late", true)
	ctx := ctxT(t)
	bot := w.enc(ch, "bot", nil)
	if _, err := bot.EnableGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var syncs []*streamenc.GroupSync
	b := w.startBot("bot", func(cfg *streamenc.WebhookConfig) {
		cfg.Handle = func(ctx context.Context, ev *streamenc.Event) error {
			if ev.Type != "member.added" && ev.Type != "member.removed" {
				return nil
			}
			res, err := bot.SyncGroup(ctx)
			if err != nil {
				return err // Stream retries
			}
			mu.Lock()
			syncs = append(syncs, res)
			mu.Unlock()
			return nil
		}
	})
	_ = b
	m1 := w.enc(ch, "m01", nil)
	hist, err := m1.SendMessage(ctx, &stream.Message{Text: "history"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AddMembers(ctx, []string{"late"}); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, ctx, w.enc(ch, "late", nil), hist.ID, "history", "m01")
	if _, err := ch.RemoveMembers(ctx, []string{"m02"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.ss.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := m1.SendMessage(ctx, &stream.Message{Text: "after m02 left"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.enc(ch, "m02", nil).GetMessage(ctx, next.ID); !errors.Is(err, streamenc.ErrGroupNoAccess) {
		t.Errorf("removed member: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(syncs) != 2 || strings.Join(syncs[0].Added, ",") != "late" || strings.Join(syncs[1].Removed, ",") != "m02" || syncs[1].Epoch != 1 {
		t.Errorf("syncs: %+v", syncs)
	}
}
