package streamtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

func TestClientIgnoresEnvironment(t *testing.T) {
	t.Setenv("STREAM_CHAT_URL", "http://127.0.0.1:1")
	srv := newServer(t)
	c := srv.Client()
	if c.BaseURL != srv.URL {
		t.Fatalf("BaseURL = %q, want %q", c.BaseURL, srv.URL)
	}
	if strings.HasSuffix(srv.URL, "/") {
		t.Fatalf("URL %q has a trailing slash", srv.URL)
	}
	if _, err := c.UpsertUser(ctxT(t), &stream.User{ID: "alice"}); err != nil {
		t.Fatalf("UpsertUser with STREAM_CHAT_URL set elsewhere: %v", err)
	}
	other := newServer(t)
	if other.APIKey == srv.APIKey || other.APISecret == srv.APISecret {
		t.Fatal("two servers share credentials")
	}
}

func TestUsers(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)

	up, err := c.UpsertUser(ctx, &stream.User{ID: "alice", Name: "Alice", Role: "user",
		ExtraData: map[string]interface{}{"tier": 2, "profile": map[string]interface{}{"dept": "cardio"}}})
	if err != nil {
		t.Fatal(err)
	}
	u := up.User
	if u == nil || u.ID != "alice" || u.Name != "Alice" || u.Role != "user" || u.CreatedAt == nil || u.UpdatedAt == nil {
		t.Fatalf("UpsertUser returned %+v", u)
	}
	if u.ExtraData["tier"] != 2.0 {
		t.Fatalf("tier = %#v, want float64 2", u.ExtraData["tier"])
	}
	if p, _ := u.ExtraData["profile"].(map[string]interface{}); p["dept"] != "cardio" {
		t.Fatalf("profile = %#v", u.ExtraData["profile"])
	}
	// Server-owned keys leak into ExtraData (§2.2) but are not stored as custom data.
	if _, ok := u.ExtraData["banned"]; !ok {
		t.Fatalf("banned should come back in ExtraData: %v", u.ExtraData)
	}
	if _, err := c.UpsertUser(ctx, u); err != nil { // re-send the decoded object
		t.Fatal(err)
	}
	for _, su := range srv.Users() {
		if su.ID == "alice" {
			if _, ok := su.Custom["banned"]; ok {
				t.Fatal("server-owned key banned was stored as custom data")
			}
			if string(su.Custom["tier"]) != "2" {
				t.Fatalf("stored tier = %s", su.Custom["tier"])
			}
		}
	}

	many, err := c.UpsertUsers(ctx, &stream.User{ID: "bob"}, &stream.User{ID: "carol", Name: "Carol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(many.Users) != 2 || many.Users["bob"] == nil || many.Users["carol"].Name != "Carol" || many.Users["bob"].Role != "user" {
		t.Fatalf("UpsertUsers = %+v", many.Users)
	}

	// Upsert replaces custom data.
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "alice", Name: "Alice A."}); err != nil {
		t.Fatal(err)
	}
	q, err := c.QueryUsers(ctx, &stream.QueryOption{Filter: map[string]interface{}{"id": map[string]interface{}{"$in": []string{"alice", "bob"}}}},
		&stream.SortOption{Field: "id", Direction: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Users) != 2 || q.Users[0].ID != "bob" || q.Users[1].ID != "alice" {
		t.Fatalf("QueryUsers = %v", q.Users)
	}
	if _, ok := q.Users[1].ExtraData["tier"]; ok || q.Users[1].Name != "Alice A." {
		t.Fatalf("upsert did not replace: %+v", q.Users[1])
	}
	byName, err := c.QueryUsers(ctx, &stream.QueryOption{Filter: map[string]interface{}{"name": "Carol"}})
	if err != nil || len(byName.Users) != 1 || byName.Users[0].ID != "carol" {
		t.Fatalf("QueryUsers by name = %v, %v", byName, err)
	}
	limited, err := c.QueryUsers(ctx, &stream.QueryOption{Filter: map[string]interface{}{"role": "user"}, Limit: 2, Offset: 1},
		&stream.SortOption{Field: "id", Direction: 1})
	if err != nil || len(limited.Users) != 2 || limited.Users[0].ID != "bob" || limited.Users[1].ID != "carol" {
		t.Fatalf("QueryUsers limit/offset = %v, %v", limited, err)
	}

	pu, err := c.PartialUpdateUser(ctx, stream.PartialUserUpdate{ID: "bob",
		Set: map[string]interface{}{"name": "Bob", "color": "blue", "n": 1}})
	if err != nil || pu.Name != "Bob" || pu.ExtraData["color"] != "blue" {
		t.Fatalf("PartialUpdateUser = %+v, %v", pu, err)
	}
	pu, err = c.PartialUpdateUser(ctx, stream.PartialUserUpdate{ID: "bob", Unset: []string{"color"}})
	if err != nil || pu.Name != "Bob" || pu.ExtraData["color"] != nil || pu.ExtraData["n"] != 1.0 {
		t.Fatalf("PartialUpdateUser unset = %+v, %v", pu, err)
	}
	_, err = c.PartialUpdateUser(ctx, stream.PartialUserUpdate{ID: "nobody", Set: map[string]interface{}{"a": 1}})
	wantAPIError(t, err, 400, streamtest.CodeInput)

	if _, err := c.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	gone, err := c.QueryUsers(ctx, &stream.QueryOption{Filter: map[string]interface{}{"id": "carol"}})
	if err != nil || len(gone.Users) != 0 {
		t.Fatalf("deleted user still found: %v %v", gone, err)
	}
	_, err = c.DeleteUser(ctx, "carol", stream.DeleteUserWithHardDelete())
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
}

func TestCreateAndQueryChannel(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	if _, err := c.UpsertUsers(ctx, &stream.User{ID: "alice"}, &stream.User{ID: "bob"}, &stream.User{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.CreateChannel(ctx, "messaging", "general", "alice", &stream.ChannelRequest{
		Members: []string{"alice", "bob"}, ExtraData: map[string]interface{}{"name": "General", "e2ee": true}})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Channel
	if ch.ID != "general" || ch.Type != "messaging" || ch.CID != "messaging:general" || ch.CreatedBy.ID != "alice" ||
		ch.MemberCount != 2 || len(ch.Members) != 2 || ch.Config.MaxMessageLength != 5000 || ch.ExtraData["e2ee"] != true {
		t.Fatalf("CreateChannel = %+v", ch)
	}
	roles := map[string]string{}
	for _, m := range ch.Members {
		roles[m.UserID] = m.Role
	}
	if roles["alice"] != "owner" || roles["bob"] != "member" {
		t.Fatalf("member roles = %v", roles)
	}
	if len(ch.Read) != 2 {
		t.Fatalf("read = %v", ch.Read)
	}

	// Get-or-create on an existing channel returns it and ignores data.
	again, err := c.CreateChannel(ctx, "messaging", "general", "bob", &stream.ChannelRequest{ExtraData: map[string]interface{}{"name": "Other"}})
	if err != nil || again.Channel.ExtraData["name"] != "General" || again.Channel.CreatedBy.ID != "alice" {
		t.Fatalf("get-or-create = %+v, %v", again, err)
	}

	// Distinct channels: no ID, derived from the member set.
	d1, err := c.CreateChannel(ctx, "messaging", "", "alice", &stream.ChannelRequest{Members: []string{"carol", "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := c.CreateChannel(ctx, "messaging", "", "carol", &stream.ChannelRequest{Members: []string{"alice", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d1.Channel.ID, "!members-") || d1.Channel.ID != d2.Channel.ID || d1.Channel.CID != "messaging:"+d1.Channel.ID {
		t.Fatalf("distinct IDs %q %q", d1.Channel.ID, d2.Channel.ID)
	}
	// The same member set as the probe captured gives the same ID.
	if d1.Channel.ID != "!members-nq0kdhUzvjtjrkAAknocTnzmoGEDUwcO" {
		t.Fatalf("distinct ID = %q", d1.Channel.ID)
	}
	// The creator is not made a member automatically.
	solo, err := c.CreateChannel(ctx, "messaging", "solo", "alice", nil)
	if err != nil || len(solo.Channel.Members) != 0 || solo.Channel.MemberCount != 0 {
		t.Fatalf("channel without members = %+v, %v", solo, err)
	}

	// Query(nil) sends the body null; RefreshState works on a handle.
	h := c.Channel("messaging", "general")
	if _, err := h.Query(ctx, nil); err != nil || h.CID != "messaging:general" || h.CreatedBy == nil {
		t.Fatalf("Query(nil): %v %+v", err, h)
	}
	h2 := c.Channel("messaging", "general")
	if _, err := h2.RefreshState(ctx); err != nil || h2.MemberCount != 2 {
		t.Fatalf("RefreshState: %v %+v", err, h2)
	}

	_, err = c.CreateChannel(ctx, "nosuchtype", "x", "alice", nil)
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
	_, err = c.CreateChannel(ctx, "messaging", "x", "ghost", nil)
	wantAPIError(t, err, 400, streamtest.CodeInput)
	_, err = c.CreateChannel(ctx, "messaging", "bad id", "alice", nil)
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func TestChannelMessagePagination(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "pages", "alice", "bob")
	var ids []string
	for i := range 60 {
		ids = append(ids, send(t, ch, "alice", fmt.Sprintf("m%02d", i)).ID)
	}
	texts := func(ms []*stream.Message) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Text)
		}
		return strings.Join(s, ",")
	}
	page := func(p stream.MessagePaginationParamsRequest) []*stream.Message {
		t.Helper()
		r, err := ch.Query(ctx, &stream.QueryRequest{State: true, Messages: &p})
		if err != nil {
			t.Fatal(err)
		}
		return r.Messages
	}
	// Default: the latest 25, oldest first.
	if r, err := ch.Query(ctx, &stream.QueryRequest{State: true}); err != nil || len(r.Messages) != 25 || r.Messages[0].Text != "m35" || r.Messages[24].Text != "m59" {
		t.Fatalf("default page: %v %s", err, texts(r.Messages))
	}
	got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 5}})
	if texts(got) != "m55,m56,m57,m58,m59" {
		t.Fatalf("latest 5 = %s", texts(got))
	}
	// Walk back with id_lt to the start.
	var all []string
	before := ""
	for {
		p := stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 7, IDLT: before}}
		ms := page(p)
		if len(ms) == 0 {
			break
		}
		var chunk []string
		for _, m := range ms {
			chunk = append(chunk, m.ID)
		}
		all = append(chunk, all...)
		before = ms[0].ID
	}
	if !reflect.DeepEqual(all, ids) {
		t.Fatalf("id_lt walk got %d ids, want all 60 in order", len(all))
	}
	if got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 3, IDGT: ids[10]}}); texts(got) != "m11,m12,m13" {
		t.Fatalf("id_gt = %s", texts(got))
	}
	if got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 3, IDGTE: ids[10]}}); texts(got) != "m10,m11,m12" {
		t.Fatalf("id_gte = %s", texts(got))
	}
	if got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 2, IDLTE: ids[10]}}); texts(got) != "m09,m10" {
		t.Fatalf("id_lte = %s", texts(got))
	}
	if got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 5}, IDAround: ids[30]}); texts(got) != "m28,m29,m30,m31,m32" {
		t.Fatalf("id_around = %s", texts(got))
	}
	if got := page(stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 2, Offset: 3}}); texts(got) != "m55,m56" {
		t.Fatalf("offset = %s", texts(got))
	}
	_, err := ch.Query(ctx, &stream.QueryRequest{Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 301}}})
	wantAPIError(t, err, 400, streamtest.CodeInput)
	_, err = ch.Query(ctx, &stream.QueryRequest{Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{IDLT: "no-such-id"}}})
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func TestChannelUpdatesAndMembers(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "team", "alice", "bob")
	if _, err := c.UpsertUsers(ctx, &stream.User{ID: "carol"}, &stream.User{ID: "dave"}, &stream.User{ID: "erin"}); err != nil {
		t.Fatal(err)
	}
	// Update replaces custom data and can post a message.
	if _, err := ch.Update(ctx, map[string]interface{}{"name": "Team", "topic": "t1"}, &stream.Message{Text: "topic changed", User: &stream.User{ID: "alice"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Update(ctx, map[string]interface{}{"topic": "t2"}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := ch.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ExtraData["topic"] != "t2" || ch.ExtraData["name"] != nil {
		t.Fatalf("after Update: %v", ch.ExtraData)
	}
	if len(r.Messages) != 1 || r.Messages[0].Text != "topic changed" || r.Messages[0].User.ID != "alice" {
		t.Fatalf("update message: %+v", r.Messages)
	}
	// Re-sending the decoded ExtraData (with server-owned keys) is harmless.
	if _, err := ch.Update(ctx, ch.ExtraData, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.PartialUpdate(ctx, stream.PartialUpdate{Set: map[string]interface{}{"a": 1, "frozen": true}, Unset: []string{"topic"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.RefreshState(ctx); err != nil || ch.ExtraData["a"] != 1.0 || ch.ExtraData["topic"] != nil || !ch.Frozen {
		t.Fatalf("after PartialUpdate: %v %+v frozen=%v", err, ch.ExtraData, ch.Frozen)
	}
	sc := srv.Channels()
	for _, x := range sc {
		if x.CID == ch.CID {
			if _, ok := x.Custom["member_count"]; ok {
				t.Fatal("server-owned member_count stored as custom data")
			}
		}
	}
	_, err = ch.PartialUpdate(ctx, stream.PartialUpdate{Set: map[string]interface{}{"cid": "x"}})
	wantAPIError(t, err, 400, streamtest.CodeInput)

	if _, err := ch.AddMembers(ctx, []string{"carol"}, stream.AddMembersWithHideHistory()); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AddModerators(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AssignRole(ctx, []*stream.RoleAssignment{{UserID: "carol", ChannelRole: "channel_moderator"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.DemoteModerators(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.InviteMembers(ctx, "dave", "erin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.AcceptInvite(ctx, "dave", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.RejectInvite(ctx, "erin", nil); err != nil {
		t.Fatal(err)
	}
	_, err = ch.AcceptInvite(ctx, "alice", nil)
	wantAPIError(t, err, 400, streamtest.CodeInput)
	mem, err := ch.QueryMembers(ctx, &stream.QueryOption{Filter: map[string]interface{}{"id": map[string]interface{}{"$in": []string{"bob", "carol", "dave", "erin"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mem.Members {
		state := m.Role
		if m.IsModerator {
			state += "+mod"
		}
		if m.Invited {
			state += "+invited"
		}
		if m.InviteAcceptedAt != nil {
			state += "+accepted"
		}
		if m.InviteRejectedAt != nil {
			state += "+rejected"
		}
		got[m.UserID] = state
	}
	want := map[string]string{"bob": "moderator+mod", "carol": "member", "dave": "member+invited+accepted", "erin": "member+invited+rejected"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
	// RemoveMembers decodes the answer into the local channel.
	if _, err := ch.RemoveMembers(ctx, []string{"carol", "erin"}, nil); err != nil {
		t.Fatal(err)
	}
	if ch.MemberCount != 3 || len(ch.Members) != 3 || ch.ID != "team" {
		t.Fatalf("after RemoveMembers: count %d members %d id %q", ch.MemberCount, len(ch.Members), ch.ID)
	}
	_, err = ch.AddMembers(ctx, []string{"ghost"})
	wantAPIError(t, err, 400, streamtest.CodeInput)
	_, err = ch.AddModerators(ctx, "erin")
	wantAPIError(t, err, 400, streamtest.CodeInput)

	// QueryMembers on a distinct channel by member list.
	if _, err := c.CreateChannel(ctx, "messaging", "", "alice", &stream.ChannelRequest{Members: []string{"alice", "bob"}}); err != nil {
		t.Fatal(err)
	}
	d := c.Channel("messaging", "")
	d.Members = []*stream.ChannelMember{{UserID: "alice"}, {UserID: "bob"}}
	dm, err := d.QueryMembers(ctx, &stream.QueryOption{Filter: map[string]interface{}{}})
	if err != nil || len(dm.Members) != 2 {
		t.Fatalf("QueryMembers on distinct channel: %v %v", dm, err)
	}
}

func TestQueryChannels(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	a := seed(t, c, "a", "alice", "bob")
	seed(t, c, "b", "bob", "carol")
	if _, err := c.CreateChannel(ctx, "messaging", "c", "alice", &stream.ChannelRequest{Members: []string{"alice"},
		ExtraData: map[string]interface{}{"ward": "3B"}}); err != nil {
		t.Fatal(err)
	}
	send(t, a, "bob", "latest")

	r, err := c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"members": map[string]interface{}{"$in": []string{"alice"}}}, UserID: "alice"},
		&stream.SortOption{Field: "last_message_at", Direction: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Channels) != 2 || r.Channels[0].ID != "a" || r.Channels[1].ID != "c" {
		t.Fatalf("QueryChannels ids = %v", channelIDs(r.Channels))
	}
	if len(r.Channels[0].Messages) != 1 || r.Channels[0].Messages[0].Text != "latest" || len(r.Channels[0].Members) != 2 || len(r.Channels[0].Read) != 2 {
		t.Fatalf("channel state = %+v", r.Channels[0])
	}
	// Channels from QueryChannels are usable handles.
	send(t, r.Channels[1], "alice", "via handle")
	byCustom, err := c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"ward": "3B"}})
	if err != nil || len(byCustom.Channels) != 1 || byCustom.Channels[0].ID != "c" {
		t.Fatalf("custom filter = %v %v", byCustom, err)
	}
	all, err := c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"type": "messaging"}, Limit: 2},
		&stream.SortOption{Field: "created_at", Direction: 1})
	if err != nil || len(all.Channels) != 2 || all.Channels[0].ID != "a" || all.Channels[1].ID != "b" {
		t.Fatalf("limit + sort = %v %v", channelIDs(all.Channels), err)
	}
	// Hidden channels drop out for that user until a new message arrives.
	if _, err := a.Hide(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	r, _ = c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"members": map[string]interface{}{"$in": []string{"alice"}}}, UserID: "alice"})
	if ids := channelIDs(r.Channels); len(ids) != 1 || ids[0] != "c" {
		t.Fatalf("after Hide: %v", ids)
	}
	if _, err := a.Show(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	r, _ = c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"members": map[string]interface{}{"$in": []string{"alice"}}}, UserID: "alice"})
	if len(r.Channels) != 2 {
		t.Fatalf("after Show: %v", channelIDs(r.Channels))
	}
	_, err = c.QueryChannels(ctx, &stream.QueryOption{Filter: map[string]interface{}{"members": map[string]interface{}{"$bogus": 1}}})
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func channelIDs(chs []*stream.Channel) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.ID)
	}
	return out
}

func TestMessages(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "general", "alice", "bob")

	sent, err := ch.SendMessage(ctx, &stream.Message{
		Text: "hello world",
		Attachments: []*stream.Attachment{{Type: "file", Title: "a.bin", AssetURL: "https://example.invalid/a.bin",
			ExtraData: map[string]interface{}{"enc_key_wrapped": "base64..."}}},
		ExtraData: map[string]interface{}{"ciphertext": true, "enc": map[string]interface{}{"alg": "AES-256-GCM", "v": 1}},
	}, "alice", stream.MessageSkipPush)
	if err != nil {
		t.Fatal(err)
	}
	m := sent.Message
	if m.ID == "" || m.CID != "messaging:general" || m.Text != "hello world" || m.HTML != "<p>hello world</p>\n" ||
		m.Type != stream.MessageTypeRegular || m.User == nil || m.User.ID != "alice" || m.CreatedAt == nil {
		t.Fatalf("SendMessage = %+v", m)
	}
	if m.ExtraData["ciphertext"] != true || m.ExtraData["enc"].(map[string]interface{})["v"] != 1.0 {
		t.Fatalf("custom = %v", m.ExtraData)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Title != "a.bin" || m.Attachments[0].ExtraData["enc_key_wrapped"] != "base64..." {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if m.UserID != "" {
		t.Fatalf("responses carry no top-level user_id, got %q", m.UserID)
	}

	got, err := c.GetMessage(ctx, m.ID)
	if err != nil || got.Message.Text != "hello world" || got.Message.ExtraData["ciphertext"] != true {
		t.Fatalf("GetMessage = %+v, %v", got, err)
	}

	// Reply, quote, client-chosen ID, mentions.
	reply, err := ch.SendMessage(ctx, &stream.Message{Text: "a reply", ParentID: m.ID}, "bob")
	if err != nil || reply.Message.Type != stream.MessageTypeReply || reply.Message.ParentID != m.ID {
		t.Fatalf("reply = %+v, %v", reply, err)
	}
	shown, err := ch.SendMessage(ctx, &stream.Message{Text: "also in channel", ParentID: m.ID, ShowInChannel: true}, "alice")
	if err != nil || !shown.Message.ShowInChannel {
		t.Fatalf("show_in_channel reply = %+v, %v", shown, err)
	}
	quote, err := ch.SendMessage(ctx, &stream.Message{Text: "quoting", QuotedMessageID: m.ID,
		MentionedUsers: []*stream.User{{ID: "bob"}}, ExtraData: map[string]interface{}{"id": "client-generated-id-1"}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	q := quote.Message
	if q.ID != "client-generated-id-1" || q.QuotedMessageID != m.ID || len(q.MentionedUsers) != 1 || q.MentionedUsers[0].ID != "bob" {
		t.Fatalf("quote = %+v", q)
	}
	if qm, ok := q.ExtraData["quoted_message"].(map[string]interface{}); !ok || qm["id"] != m.ID || qm["text"] != "hello world" {
		t.Fatalf("quoted_message = %#v", q.ExtraData["quoted_message"])
	}

	parent, _ := c.GetMessage(ctx, m.ID)
	if parent.Message.ReplyCount != 2 || len(parent.Message.ThreadParticipants) != 2 {
		t.Fatalf("parent reply_count %d participants %d", parent.Message.ReplyCount, len(parent.Message.ThreadParticipants))
	}
	st, _ := ch.RefreshState(ctx)
	var inChannel []string
	for _, x := range st.Messages {
		inChannel = append(inChannel, x.Text)
	}
	if strings.Join(inChannel, "|") != "hello world|also in channel|quoting" {
		t.Fatalf("channel messages = %v (a plain reply must not be listed)", inChannel)
	}
	replies, err := ch.GetReplies(ctx, m.ID, map[string][]string{"limit": {"10"}})
	if err != nil || len(replies.Messages) != 2 || replies.Messages[0].Text != "a reply" || replies.Messages[1].Text != "also in channel" {
		t.Fatalf("GetReplies = %+v, %v", replies, err)
	}
	lastReply, err := ch.GetReplies(ctx, m.ID, map[string][]string{"limit": {"1"}, "id_lt": {shown.Message.ID}})
	if err != nil || len(lastReply.Messages) != 1 || lastReply.Messages[0].ID != reply.Message.ID {
		t.Fatalf("GetReplies id_lt = %+v, %v", lastReply, err)
	}
	many, err := ch.GetMessages(ctx, []string{q.ID, m.ID, "missing"})
	if err != nil || len(many.Messages) != 2 || many.Messages[0].ID != q.ID || many.Messages[1].ID != m.ID {
		t.Fatalf("GetMessages = %+v, %v", many, err)
	}

	// UpdateMessage with the decoded message: full replace, leaked keys ignored.
	upd := got.Message
	upd.Text = "hello world (edited)"
	upd.Attachments = nil
	delete(upd.ExtraData, "ciphertext")
	u, err := c.UpdateMessage(ctx, upd, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Message.Text != "hello world (edited)" || len(u.Message.Attachments) != 0 || u.Message.ExtraData["ciphertext"] != nil ||
		u.Message.ExtraData["message_text_updated_at"] == nil || u.Message.User.ID != "alice" || u.Message.ReplyCount != 2 {
		t.Fatalf("UpdateMessage = %+v", u.Message)
	}
	stored, _ := srv.Message(m.ID)
	for k := range stored.Custom {
		if k != "enc" {
			t.Fatalf("stored custom key %q after update with leaked keys (want only enc)", k)
		}
	}

	pu, err := c.PartialUpdateMessage(ctx, m.ID, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: map[string]interface{}{"enc_meta": "x", "text": "patched"}, Unset: []string{"enc"}}, UserID: "alice"})
	if err != nil || pu.Message.Text != "patched" || pu.Message.ExtraData["enc_meta"] != "x" || pu.Message.ExtraData["enc"] != nil {
		t.Fatalf("PartialUpdateMessage = %+v, %v", pu, err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	pin, err := c.PinMessage(ctx, m.ID, "bob", &exp)
	if err != nil || !pin.Message.Pinned || pin.Message.PinnedAt == nil || pin.Message.PinnedBy.ID != "bob" || pin.Message.PinExpires == nil || !pin.Message.PinExpires.Equal(exp) {
		t.Fatalf("PinMessage = %+v, %v", pin.Message, err)
	}
	st, _ = ch.RefreshState(ctx)
	if len(st.PinnedMessages) != 1 || st.PinnedMessages[0].ID != m.ID {
		t.Fatalf("pinned_messages = %v", st.PinnedMessages)
	}
	unpin, err := c.UnPinMessage(ctx, m.ID, "bob")
	if err != nil || unpin.Message.Pinned || unpin.Message.PinnedAt != nil || unpin.Message.PinnedBy != nil {
		t.Fatalf("UnPinMessage = %+v, %v", unpin.Message, err)
	}
	_, err = c.PartialUpdateMessage(ctx, m.ID, &stream.MessagePartialUpdateRequest{PartialUpdate: stream.PartialUpdate{Set: map[string]interface{}{"cid": "x"}}})
	wantAPIError(t, err, 400, streamtest.CodeInput)

	// Soft delete keeps the message; hard delete removes it.
	if _, err := c.DeleteMessage(ctx, reply.Message.ID); err != nil {
		t.Fatal(err)
	}
	del, err := c.GetMessage(ctx, reply.Message.ID)
	if err != nil || del.Message.Type != "deleted" || del.Message.DeletedAt == nil {
		t.Fatalf("after soft delete: %+v, %v", del, err)
	}
	parent, _ = c.GetMessage(ctx, m.ID)
	if parent.Message.ReplyCount != 1 || parent.Message.ExtraData["deleted_reply_count"] != 1.0 {
		t.Fatalf("after deleting a reply: reply_count %d deleted %v", parent.Message.ReplyCount, parent.Message.ExtraData["deleted_reply_count"])
	}
	if _, err := c.HardDeleteMessage(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetMessage(ctx, q.ID)
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
	if _, ok := srv.Message(q.ID); ok {
		t.Fatal("hard-deleted message still stored")
	}
	_, err = c.UpdateMessage(ctx, &stream.Message{Text: "x"}, reply.Message.ID)
	wantAPIError(t, err, 400, streamtest.CodeInput)

	// Server-side system message; a non-member may send server-side.
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "outsider"}); err != nil {
		t.Fatal(err)
	}
	if sys, err := ch.SendMessage(ctx, &stream.Message{Text: "system note", Type: stream.MessageTypeSystem}, "outsider"); err != nil || sys.Message.Type != stream.MessageTypeSystem {
		t.Fatalf("system message = %+v, %v", sys, err)
	}
}

func TestSearch(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "s", "alice", "bob")
	other := seed(t, c, "t", "alice", "bob")
	for i := range 5 {
		if _, err := ch.SendMessage(ctx, &stream.Message{Text: fmt.Sprintf("lab result %d", i), ExtraData: map[string]interface{}{"kind": "lab", "n": i}}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	send(t, ch, "bob", "unrelated")
	send(t, other, "bob", "lab result elsewhere")
	r, err := c.Search(ctx, stream.SearchRequest{Query: "LAB result", Filters: map[string]interface{}{"cid": "messaging:s"}})
	if err != nil || len(r.Messages) != 5 || r.Messages[0].Text != "lab result 4" {
		t.Fatalf("Search = %v, %v", r, err)
	}
	if chx, ok := r.Messages[0].ExtraData["channel"].(map[string]interface{}); !ok || chx["cid"] != "messaging:s" {
		t.Fatalf("search hit lacks channel: %v", r.Messages[0].ExtraData)
	}
	mf, err := c.Search(ctx, stream.SearchRequest{Filters: map[string]interface{}{"members": map[string]interface{}{"$in": []string{"alice"}}},
		MessageFilters: map[string]interface{}{"kind": "lab", "n": map[string]interface{}{"$gte": 3}}})
	if err != nil || len(mf.Messages) != 2 {
		t.Fatalf("message filter search = %v, %v", mf, err)
	}
	p1, err := c.SearchWithFullResponse(ctx, stream.SearchRequest{Query: "lab", Filters: map[string]interface{}{"type": "messaging"}, Limit: 4})
	if err != nil || len(p1.Results) != 4 || p1.Next == "" {
		t.Fatalf("page 1 = %+v, %v", p1, err)
	}
	p2, err := c.SearchWithFullResponse(ctx, stream.SearchRequest{Query: "lab", Filters: map[string]interface{}{"type": "messaging"}, Limit: 4, Next: p1.Next})
	if err != nil || len(p2.Results) != 2 || p2.Next != "" || p2.Previous == "" {
		t.Fatalf("page 2 = %+v, %v", p2, err)
	}
	_, err = c.Search(ctx, stream.SearchRequest{Query: "lab"})
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func TestUploads(t *testing.T) {
	srv := newServer(t, streamtest.Config{MaxUploadBytes: 1 << 16})
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "files", "alice", "bob")
	data := []byte("ciphertext-bytes\x00\x01\x02")
	r, err := ch.SendFile(ctx, stream.SendFileRequest{Reader: bytes.NewReader(data), FileName: "note.txt.enc", User: &stream.User{ID: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.File, srv.URL+"/uploads/") || !strings.HasSuffix(r.File, "/note.txt.enc") {
		t.Fatalf("file URL = %q", r.File)
	}
	resp, err := http.Get(r.File)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	ups := srv.Uploads()
	if len(ups) != 1 || ups[0].Name != "note.txt.enc" || ups[0].UserID != "alice" || ups[0].Kind != "file" || !bytes.Equal(ups[0].Data, data) || ups[0].CID != "messaging:files" {
		t.Fatalf("Uploads = %+v", ups)
	}

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	img, err := ch.SendImage(ctx, stream.SendFileRequest{Reader: bytes.NewReader(png), FileName: "pic.png", User: &stream.User{ID: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(img.File)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("image Content-Type = %q", ct)
	}
	// Encrypted bytes are not an image: the image endpoint refuses them.
	_, err = ch.SendImage(ctx, stream.SendFileRequest{Reader: bytes.NewReader(data), FileName: "x.png", User: &stream.User{ID: "bob"}})
	wantAPIError(t, err, 400, streamtest.CodeInput)
	// Size limit.
	_, err = ch.SendFile(ctx, stream.SendFileRequest{Reader: bytes.NewReader(make([]byte, 1<<16+1)), FileName: "big.bin", User: &stream.User{ID: "alice"}})
	wantAPIError(t, err, 413, streamtest.CodePayloadTooBig)
	if _, err := ch.SendFile(ctx, stream.SendFileRequest{Reader: bytes.NewReader(make([]byte, 1<<16)), FileName: "max.bin", User: &stream.User{ID: "alice"}}); err != nil {
		t.Fatalf("file of exactly the limit: %v", err)
	}
	_, err = ch.SendFile(ctx, stream.SendFileRequest{Reader: bytes.NewReader(data), FileName: "a.bin", User: &stream.User{ID: "ghost"}})
	wantAPIError(t, err, 400, streamtest.CodeInput)

	if _, err := ch.DeleteFile(ctx, r.File); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.DeleteImage(ctx, img.File); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(r.File)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("deleted file still served: %d", resp.StatusCode)
	}
	if n := len(srv.Uploads()); n != 1 {
		t.Fatalf("%d uploads left, want 1 (max.bin)", n)
	}
}

func TestReactions(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "r", "alice", "bob")
	m := send(t, ch, "alice", "react to me")
	r, err := c.SendReaction(ctx, &stream.Reaction{Type: "like", ExtraData: map[string]interface{}{"emoji_ct": "base64"}}, m.ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if r.Reaction.Type != "like" || r.Reaction.UserID != "bob" || r.Reaction.MessageID != m.ID || r.Reaction.ExtraData["emoji_ct"] != "base64" {
		t.Fatalf("reaction = %+v", r.Reaction)
	}
	if r.Message.ReactionCounts["like"] != 1 || r.Message.ReactionScores["like"] != 1 || len(r.Message.LatestReactions) != 1 {
		t.Fatalf("message after reaction = %+v", r.Message)
	}
	if _, err := c.SendReaction(ctx, &stream.Reaction{Type: "like"}, m.ID, "bob"); err != nil { // same (user, type): replaced
		t.Fatal(err)
	}
	r, err = c.SendReaction(ctx, &stream.Reaction{Type: "love"}, m.ID, "alice")
	if err != nil || r.Message.ReactionCounts["like"] != 1 || r.Message.ReactionCounts["love"] != 1 {
		t.Fatalf("counts = %v, %v", r.Message.ReactionCounts, err)
	}
	list, err := c.GetReactions(ctx, m.ID, nil)
	if err != nil || len(list.Reactions) != 2 || list.Reactions[0].Type != "love" {
		t.Fatalf("GetReactions = %+v, %v", list, err)
	}
	d, err := c.DeleteReaction(ctx, m.ID, "like", "bob")
	if err != nil || d.Message == nil || d.Message.ReactionCounts["like"] != 0 || d.Reaction.Type != "like" {
		t.Fatalf("DeleteReaction = %+v, %v", d, err)
	}
	_, err = c.DeleteReaction(ctx, m.ID, "like", "bob")
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
	_, err = c.SendReaction(ctx, &stream.Reaction{Type: strings.Repeat("x", 31)}, m.ID, "bob")
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func TestReadEventsTruncateDelete(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "g", "alice", "bob")
	m1 := send(t, ch, "alice", "one")
	send(t, ch, "alice", "two")
	unread := func(user string) int {
		t.Helper()
		st, err := ch.RefreshState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Read {
			if r.User.ID == user {
				return r.UnreadMessages
			}
		}
		t.Fatalf("no read state for %s", user)
		return -1
	}
	if n := unread("bob"); n != 2 {
		t.Fatalf("bob unread = %d, want 2", n)
	}
	if n := unread("alice"); n != 0 {
		t.Fatalf("alice unread = %d (own messages do not count)", n)
	}
	if _, err := ch.MarkRead(ctx, "bob", stream.MarkReadUntilMessage(m1.ID)); err != nil {
		t.Fatal(err)
	}
	if n := unread("bob"); n != 1 {
		t.Fatalf("bob unread after MarkRead(m1) = %d, want 1", n)
	}
	if _, err := c.MarkAllRead(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if n := unread("bob"); n != 0 {
		t.Fatalf("bob unread after MarkAllRead = %d", n)
	}
	if _, err := ch.SendEvent(ctx, &stream.Event{Type: stream.EventTypingStart, ExtraData: map[string]interface{}{"parent_id": m1.ID}}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendUserCustomEvent(ctx, "bob", &stream.UserCustomEvent{Type: "friendship_request"}); err != nil {
		t.Fatal(err)
	}

	if _, err := ch.Truncate(ctx, stream.TruncateWithUserID("alice"), stream.TruncateWithMessage(&stream.Message{Text: "cleared", User: &stream.User{ID: "alice"}})); err != nil {
		t.Fatal(err)
	}
	st, err := ch.RefreshState(ctx)
	if err != nil || len(st.Messages) != 1 || st.Messages[0].Text != "cleared" || ch.TruncatedAt == nil || ch.TruncatedBy.ID != "alice" {
		t.Fatalf("after truncate: %+v, %v", st.Messages, err)
	}
	_, err = c.GetMessage(ctx, m1.ID)
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
	if sm, ok := srv.Message(m1.ID); !ok || !sm.Truncated {
		t.Fatal("a soft truncate keeps the message, marked Truncated")
	}
	if _, err := ch.Truncate(ctx, stream.TruncateWithHardDelete()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(ch.CID)); n != 0 {
		t.Fatalf("%d messages stored after a hard truncate", n)
	}

	if _, err := ch.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = ch.SendMessage(ctx, &stream.Message{Text: "x"}, "alice")
	wantAPIError(t, err, 404, streamtest.CodeDoesNotExist)
	if srv.Messages(ch.CID) != nil {
		t.Fatal("messages of a deleted channel still stored")
	}
}

func TestAppSettingsAndRateLimit(t *testing.T) {
	srv := newServer(t, streamtest.Config{RateLimit: 3})
	c := srv.Client()
	ctx := ctxT(t)
	if _, err := c.UpdateAppSettings(ctx, stream.NewAppSettings().SetWebhookURL("https://example.invalid/hook")); err != nil {
		t.Fatal(err)
	}
	app, err := c.GetAppSettings(ctx)
	if err != nil || app.App.WebhookURL == nil || *app.App.WebhookURL != "https://example.invalid/hook" || app.App.ConfigNameMap["messaging"].MaxMessageLength != 5000 {
		t.Fatalf("GetAppSettings = %+v, %v", app, err)
	}
	if app.RateLimitInfo == nil || app.RateLimitInfo.Limit != 3 || app.RateLimitInfo.Remaining != 2 || app.RateLimitInfo.Reset == 0 {
		t.Fatalf("rate limit info = %+v", app.RateLimitInfo)
	}
	for range 2 {
		if _, err := c.GetAppSettings(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetAppSettings(ctx)
	e := wantAPIError(t, err, 429, streamtest.CodeRateLimit)
	if e.RateLimit == nil || e.RateLimit.Limit != 3 || e.RateLimit.Remaining != 0 || e.RateLimit.Reset == 0 {
		t.Fatalf("429 rate limit = %+v", e.RateLimit)
	}
	// Limits are per route.
	_, err = c.UpdateAppSettings(ctx, stream.NewAppSettings().SetWebhookURL("ftp://x"))
	wantAPIError(t, err, 400, streamtest.CodeInput)
}

func TestRequestsRecorded(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ch := seed(t, c, "rec", "alice")
	send(t, ch, "alice", "recorded text")
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != "POST" || last.Path != "/channels/messaging/rec/message" || last.Auth != "server" || last.Status != 201 ||
		last.Header.Get("X-Stream-Client") != "stream-go-client-6.10.0" {
		t.Fatalf("last request = %+v", last)
	}
	var body map[string]any
	if err := json.Unmarshal(last.Body, &body); err != nil || body["message"].(map[string]any)["text"] != "recorded text" {
		t.Fatalf("recorded body = %s", last.Body)
	}
}
