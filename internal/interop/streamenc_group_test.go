package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// streamenc's group channels against e3kit-node 2.5.1 groups, with Stream's
// REST API as the seed's JS client calls it (node/ops/stream.js with user
// tokens) and e3kit's group calls (node/ops/e3kit_group.js), following the
// recipe in streamenc's package documentation ("Group channels"):
//
//   - a Go bot creates the channel's group (EnableGroup); an e3kit member
//     derives the group id from the cid and the channel's initiator, loads
//     the group, and decrypts the Go members' messages from the stored
//     text with group.decrypt and the sender's card;
//   - the e3kit member group-encrypts and posts as the seed app would
//     (text = group.encrypt output, with the documented marker, and once
//     without it); streamenc opens them for the Go members, sender
//     verified;
//   - after the bot removes a Go member (a new epoch), e3kit's decrypt of
//     the next message fails with GroupIsOutdated until group.update(), as
//     the recipe handles; e3kit's messages in the new epoch are opened by
//     a Go member whose group was outdated, and not by the removed one.
func TestStreamencGroupE3kit(t *testing.T) {
	e := newGroupEnv(t)
	ctx := context.Background()
	ss := streamtest.NewServer()
	t.Cleanup(ss.Close)
	sc := ss.Client()

	bot, alice, carol := e.goUser("bot"), e.goUser("alice"), e.goUser("carol")
	bob := e.jsUser("bob")
	for _, u := range []string{"bot", "alice", "bob", "carol"} {
		if _, err := sc.UpsertUser(ctx, &stream.User{ID: u}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := sc.CreateChannel(ctx, "messaging", "care-team", "bot", &stream.ChannelRequest{Members: []string{"bot", "alice", "bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := &streamenc.ChannelOptions{StreamClient: sc, GroupInitiator: "bot"}
	botCh := streamenc.NewChannel(created.Channel, bot, opts)
	aliceCh := streamenc.NewChannel(created.Channel, alice, opts)
	carolCh := streamenc.NewChannel(created.Channel, carol, opts)
	res, err := botCh.EnableGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gid := "e3go:" + created.Channel.CID + ":bot" // as the JS client derives it
	if res.GroupID != gid {
		t.Fatalf("group id %q", res.GroupID)
	}

	// Go → e3kit.
	goTexts := []string{"BP 120/80", "", "ünïcødé ✓ 🩺 – 日本語", strings.Repeat("long line ", 300)}
	for _, text := range goTexts {
		if _, err := botCh.SendMessage(ctx, &stream.Message{Text: text}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := aliceCh.SendMessage(ctx, &stream.Message{Text: "from alice"}, ""); err != nil {
		t.Fatal(err)
	}
	e.find(bob, "bot", "alice", "carol")
	var info jsGroupInfo
	e.group.must("loadGroup", bob, map[string]any{"groupId": gid, "initiator": "bot"}, &info)
	if info.Initiator != "bot" || strings.Join(info.Participants, ",") != "alice,bob,bot,carol" {
		t.Fatalf("e3kit loaded %+v", info)
	}
	stored := bobReads(t, e, ss)
	if len(stored) != len(goTexts)+1 {
		t.Fatalf("bob's client sees %d messages", len(stored))
	}
	var botTexts []string
	for _, m := range stored[:len(goTexts)] {
		botTexts = append(botTexts, m.Text)
	}
	e.jsReads(bob, gid, "bot", nil, botTexts, nil, goTexts)
	e.jsReads(bob, gid, "alice", nil, []string{stored[len(goTexts)].Text}, nil, []string{"from alice"})

	// e3kit → Go, as the seed app posts: the group.encrypt output in the
	// text, with the marker; once without it.
	jsTexts := []string{"from the browser", "", "émoji 🧪 and more", strings.Repeat("b", 3000)}
	enc := e.jsEncrypt(bob, gid, nil, jsTexts)
	marker := map[string]any{"e3go": map[string]any{"v": "2", "layout": "text", "group": "bot"}}
	var ids []string
	for i, ct := range enc.Text {
		args := with(streamJS(ss, "bob"), "text", ct)
		if i != 1 {
			args["extra"] = marker
		}
		var m struct {
			ID string `json:"id"`
		}
		mustCall(t, e.w, "stream.sendMessage", args, &m)
		ids = append(ids, m.ID)
	}
	for _, who := range []*streamenc.Channel{aliceCh, botCh} {
		ms, err := who.GetMessages(ctx, ids...)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(jsTexts) {
			t.Fatalf("%d messages", len(ms))
		}
		for i, m := range ms {
			if m.Err != nil || m.Text != jsTexts[i] || m.Sender.Identity != "bob" || m.GroupID != gid {
				t.Errorf("e3kit message %d: %q from %s in %q, %v", i, m.Text, m.SenderID, m.GroupID, m.Err)
			}
		}
	}

	// carol leaves; the bot's next send starts epoch 1 without her.
	if _, err := created.Channel.RemoveMembers(ctx, []string{"carol"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := botCh.SendMessage(ctx, &stream.Message{Text: "after carol left"}, ""); err != nil {
		t.Fatal(err)
	}
	stored = bobReads(t, e, ss)
	last := stored[len(stored)-1].Text
	if o := e.jsDecrypt(bob, gid, "bot", nil, []string{last}); o[0].OK || !strings.HasPrefix(o[0].Name, "GroupError:GroupIsOutdated") {
		t.Fatalf("e3kit before its update: %+v", o[0])
	}
	e.group.must("update", bob, map[string]any{"groupId": gid}, &info)
	if info.Epoch != 1 || strings.Join(info.Participants, ",") != "alice,bob,bot" {
		t.Fatalf("e3kit after its update: %+v", info)
	}
	e.jsReads(bob, gid, "bot", nil, []string{last}, nil, []string{"after carol left"})

	// e3kit writes in epoch 1: alice (still at epoch 0) updates and reads;
	// carol cannot.
	enc = e.jsEncrypt(bob, gid, nil, []string{"epoch 1 from e3kit"})
	var m1 struct {
		ID string `json:"id"`
	}
	mustCall(t, e.w, "stream.sendMessage", with(streamJS(ss, "bob"), "text", enc.Text[0], "extra", marker), &m1)
	got, err := aliceCh.GetMessage(ctx, m1.ID)
	if err != nil || got.Text != "epoch 1 from e3kit" || got.Sender.Identity != "bob" {
		t.Fatalf("alice: %q, %v", got.Text, err)
	}
	if _, err := carolCh.GetMessage(ctx, m1.ID); !errors.Is(err, streamenc.ErrGroupNoAccess) || !errors.Is(err, e3.ErrGroupNoAccess) {
		t.Errorf("carol after her removal: %v", err)
	}
	for _, p := range []string{"BP 120/80", "from the browser", "after carol left", "epoch 1 from e3kit"} {
		if where := ss.Find([]byte(p)); len(where) > 0 {
			t.Errorf("plaintext %q stored at %v", p, where)
		}
	}
}

type storedMessage struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	User string `json:"user"`
}

// bobReads is the channel as bob's JS client reads it from Stream.
func bobReads(t *testing.T, e *groupEnv, ss *streamtest.Server) []storedMessage {
	t.Helper()
	var stored []storedMessage
	mustCall(t, e.w, "stream.queryMessages", streamJS(ss, "bob"), &stored)
	return stored
}

// The rest of the recipe: a push-safe group message with a sensitive field
// and a file, read by the JS side from what Stream stores: e3kit's
// group.decrypt of the marker's "env" gives the JSON payload (text,
// fields, the file's description with its one-off key and digest), and
// virgil-crypto's decrypt with that key (the version e3kit bundles) opens
// the upload once its SHA-256 matched.
func TestStreamencGroupE3kitPayloadAndFile(t *testing.T) {
	e := newGroupEnv(t)
	ctx := context.Background()
	ss := streamtest.NewServer()
	t.Cleanup(ss.Close)
	sc := ss.Client()
	bot := e.goUser("bot")
	bob := e.jsUser("bob")
	for _, u := range []string{"bot", "bob"} {
		if _, err := sc.UpsertUser(ctx, &stream.User{ID: u}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := sc.CreateChannel(ctx, "messaging", "care-team", "bot", &stream.ChannelRequest{Members: []string{"bot", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	botCh := streamenc.NewChannel(created.Channel, bot, &streamenc.ChannelOptions{StreamClient: sc,
		Layout: streamenc.LayoutPushSafe, SensitiveFields: []string{"mrn"}})
	res, err := botCh.EnableGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := []byte(strings.Repeat("discharge summary, page 1. ", 5000))
	sent, err := botCh.SendMessage(ctx, &stream.Message{Text: "summary attached", ExtraData: map[string]any{"mrn": "MRN-7"}}, "",
		streamenc.File{Name: "summary.pdf", MIMEType: "application/pdf", Size: int64(len(file)), Body: bytes.NewReader(file)})
	if err != nil {
		t.Fatal(err)
	}

	stored, ok := ss.Message(sent.ID)
	if !ok {
		t.Fatal("message not stored")
	}
	var mk struct {
		V, Layout, Group, Env string
	}
	if err := json.Unmarshal(stored.Custom["e3go"], &mk); err != nil || mk.V != "2" || mk.Layout != "push" || mk.Group != "bot" {
		t.Fatalf("marker %s: %v", stored.Custom["e3go"], err)
	}
	e.find(bob, "bot")
	e.group.must("loadGroup", bob, map[string]any{"groupId": res.GroupID, "initiator": "bot"}, nil)
	o := e.jsDecrypt(bob, res.GroupID, "bot", nil, []string{mk.Env})
	if !o[0].OK {
		t.Fatalf("e3kit cannot decrypt the payload: %s", o[0].Name)
	}
	var env struct {
		CID         string
		ID          string
		Text        string
		Fields      map[string]string
		Attachments []struct {
			Name, Type, SHA256, Key string
			Size                    int64
		}
	}
	if err := json.Unmarshal([]byte(o[0].Text), &env); err != nil {
		t.Fatal(err)
	}
	if env.Text != "summary attached" || env.Fields["mrn"] != "MRN-7" || env.ID != sent.ID || env.CID != created.Channel.CID || len(env.Attachments) != 1 {
		t.Fatalf("payload as e3kit read it: %s", o[0].Text)
	}
	at := env.Attachments[0]
	uploads := ss.Uploads()
	if len(uploads) != 1 || at.Name != "summary.pdf" || at.Size != int64(len(file)) {
		t.Fatalf("%d uploads; %+v", len(uploads), at)
	}
	sum := sha256.Sum256(uploads[0].Data)
	if hex.EncodeToString(sum[:]) != at.SHA256 {
		t.Fatal("the upload does not match the sealed digest")
	}
	key, err := base64.StdEncoding.DecodeString(at.Key)
	if err != nil {
		t.Fatal(err)
	}
	var pts [][]byte
	mustCall(t, e.w, "crypto.decrypt", map[string]any{"v": "4.2.2", "data": uploads[0].Data, "privateKeys": [][]byte{key}}, &pts)
	if len(pts) != 1 || !bytes.Equal(pts[0], file) {
		t.Fatal("virgil-crypto decrypted the file to other bytes")
	}
}
