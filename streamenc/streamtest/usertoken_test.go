package streamtest_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

// userCall sends a request as Stream's JS client would for user.
func userCall(t *testing.T, srv *streamtest.Server, method, path, user string, body any) (int, map[string]any) {
	t.Helper()
	return do(t, srv.NewUserRequest(ctxT(t), method, path, user, body))
}

func msgID(t *testing.T, body map[string]any) string {
	t.Helper()
	m, ok := body["message"].(map[string]any)
	if !ok {
		t.Fatalf("no message in %v", body)
	}
	return m["id"].(string)
}

func TestUserTokenPermissions(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := ctxT(t)
	ch := seed(t, c, "ward", "alice", "bob")
	if _, err := c.UpsertUsers(ctx, &stream.User{ID: "carol"}, &stream.User{ID: "root", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	msgPath := "/channels/messaging/ward/message"

	// The request carries exactly the JS client's header set.
	req := srv.NewUserRequest(ctx, "GET", "/app", "alice", nil)
	if req.Header.Get("Authorization") != srv.UserToken("alice") || req.Header.Get("stream-auth-type") != "jwt" ||
		req.URL.Query().Get("api_key") != srv.APIKey || req.URL.Query().Get("user_id") != "alice" || req.URL.Query().Get("connection_id") == "" {
		t.Fatalf("user request = %v %v", req.Header, req.URL)
	}

	// A member sends; the sender is the token's user, with a client-chosen ID.
	status, body := userCall(t, srv, "POST", msgPath, "alice", map[string]any{"message": map[string]any{"id": "js-id-1", "text": "hi from js", "attachments": []any{}, "mentioned_users": []any{}}})
	if status != 201 || msgID(t, body) != "js-id-1" || body["message"].(map[string]any)["user"].(map[string]any)["id"] != "alice" {
		t.Fatalf("member send: %d %v", status, body)
	}
	// A non-member may not send, read or query the channel.
	status, body = userCall(t, srv, "POST", msgPath, "carol", map[string]any{"message": map[string]any{"text": "let me in"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	if body["message"] != `SendMessage failed with error: "User 'carol' with role 'user' is not allowed to perform action CreateMessage in scope 'messaging'"` {
		t.Fatalf("message = %q", body["message"])
	}
	status, body = userCall(t, srv, "GET", "/messages/js-id-1", "carol", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward/query", "carol", map[string]any{"state": true})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "GET", "/channels/messaging/ward/messages?ids=js-id-1", "carol", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "GET", "/messages/js-id-1/replies", "carol", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", "/messages/js-id-1/reaction", "carol", map[string]any{"reaction": map[string]any{"type": "like"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	// Sending as someone else is refused.
	status, body = userCall(t, srv, "POST", msgPath, "bob", map[string]any{"message": map[string]any{"text": "spoof", "user_id": "alice"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", msgPath, "bob", map[string]any{"message": map[string]any{"text": "spoof", "user": map[string]any{"id": "alice"}}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	// System messages are server-side only.
	status, body = userCall(t, srv, "POST", msgPath, "bob", map[string]any{"message": map[string]any{"text": "sys", "type": "system"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)

	// Members read.
	status, body = userCall(t, srv, "GET", "/messages/js-id-1", "bob", nil)
	if status != 200 || msgID(t, body) != "js-id-1" {
		t.Fatalf("member read: %d %v", status, body)
	}
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward/query", "bob", map[string]any{"state": true, "watch": true, "presence": false})
	if status != 201 || len(body["messages"].([]any)) != 1 {
		t.Fatalf("member query: %d %v", status, body)
	}

	// Only the author edits; a member may pin.
	status, body = userCall(t, srv, "POST", "/messages/js-id-1", "bob", map[string]any{"message": map[string]any{"text": "edited by bob"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "PUT", "/messages/js-id-1", "bob", map[string]any{"set": map[string]any{"text": "patched by bob"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "PUT", "/messages/js-id-1", "bob", map[string]any{"set": map[string]any{"pinned": true}})
	if status != 201 || body["message"].(map[string]any)["pinned_by"].(map[string]any)["id"] != "bob" {
		t.Fatalf("member pin: %d %v", status, body)
	}
	status, body = userCall(t, srv, "POST", "/messages/js-id-1", "alice", map[string]any{"message": map[string]any{"text": "edited by alice"}})
	if status != 201 || body["message"].(map[string]any)["text"] != "edited by alice" {
		t.Fatalf("author edit: %d %v", status, body)
	}
	// Deleting: not someone else's message, never hard; the owner may delete any.
	status, body = userCall(t, srv, "POST", msgPath, "bob", map[string]any{"message": map[string]any{"text": "bob's"}})
	if status != 201 {
		t.Fatalf("member send: %d %v", status, body)
	}
	bobMsg := msgID(t, body)
	status, body = userCall(t, srv, "DELETE", "/messages/js-id-1", "bob", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "DELETE", "/messages/"+bobMsg+"?hard=true", "bob", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	if status, body = userCall(t, srv, "DELETE", "/messages/"+bobMsg, "alice", nil); status != 200 {
		t.Fatalf("owner deletes a member's message: %d %v", status, body)
	}

	// Reactions and read state act for the token's user only.
	status, body = userCall(t, srv, "POST", "/messages/js-id-1/reaction", "bob", map[string]any{"reaction": map[string]any{"type": "like"}})
	if status != 201 || body["reaction"].(map[string]any)["user_id"] != "bob" {
		t.Fatalf("member react: %d %v", status, body)
	}
	own := body["message"].(map[string]any)["own_reactions"].([]any)
	if len(own) != 1 {
		t.Fatalf("own_reactions for bob = %v", own)
	}
	if status, body = userCall(t, srv, "DELETE", "/messages/js-id-1/reaction/like", "bob", nil); status != 200 {
		t.Fatalf("delete own reaction: %d %v", status, body)
	}
	if status, body = userCall(t, srv, "POST", "/channels/messaging/ward/read", "bob", map[string]any{"message_id": ""}); status != 201 {
		t.Fatalf("mark read: %d %v", status, body)
	}
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward/read", "bob", map[string]any{"user_id": "alice"})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)

	// Channel changes need the owner or a moderator; a member may leave.
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward", "bob", map[string]any{"data": map[string]any{"name": "mine"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward", "bob", map[string]any{"add_members": []string{"carol"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "DELETE", "/channels/messaging/ward", "bob", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward/truncate", "bob", map[string]any{})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	if status, body = userCall(t, srv, "POST", "/channels/messaging/ward", "alice", map[string]any{"add_members": []string{"carol"}, "hide_history": true}); status != 201 {
		t.Fatalf("owner adds a member: %d %v", status, body)
	}
	// carol joined with hide_history: she does not see older messages.
	status, body = userCall(t, srv, "POST", "/channels/messaging/ward/query", "carol", map[string]any{"state": true})
	if status != 201 || len(body["messages"].([]any)) != 0 {
		t.Fatalf("hide_history: %d %v", status, body)
	}
	status, body = userCall(t, srv, "GET", "/messages/js-id-1", "carol", nil)
	wantEnvelope(t, status, body, 404, streamtest.CodeDoesNotExist)
	if status, body = userCall(t, srv, "POST", msgPath, "carol", map[string]any{"message": map[string]any{"text": "now I can"}}); status != 201 {
		t.Fatalf("new member sends: %d %v", status, body)
	}
	if status, body = userCall(t, srv, "POST", "/channels/messaging/ward", "carol", map[string]any{"remove_members": []string{"carol"}}); status != 201 {
		t.Fatalf("member leaves: %d %v", status, body)
	}
	status, body = userCall(t, srv, "POST", msgPath, "carol", map[string]any{"message": map[string]any{"text": "gone"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)

	// Invited users send only after accepting.
	if _, err := ch.InviteMembers(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	status, body = userCall(t, srv, "POST", msgPath, "carol", map[string]any{"message": map[string]any{"text": "not yet"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	if status, body = userCall(t, srv, "POST", "/channels/messaging/ward", "carol", map[string]any{"accept_invite": true}); status != 201 {
		t.Fatalf("accept invite: %d %v", status, body)
	}
	if status, body = userCall(t, srv, "POST", msgPath, "carol", map[string]any{"message": map[string]any{"text": "accepted"}}); status != 201 {
		t.Fatalf("send after accepting: %d %v", status, body)
	}

	// Queries are limited to the user's channels.
	seed(t, c, "private", "alice")
	status, body = userCall(t, srv, "POST", "/channels", "bob", map[string]any{"filter_conditions": map[string]any{"type": "messaging"}, "state": true})
	if status != 201 || len(body["channels"].([]any)) != 1 {
		t.Fatalf("bob's channels: %d %v", status, body)
	}
	status, body = userCall(t, srv, "GET", `/search?payload={"query":"edited","filter_conditions":{"type":"messaging"}}`, "bob", nil)
	if status != 200 || len(body["results"].([]any)) != 1 {
		t.Fatalf("bob's search: %d %v", status, body)
	}

	// Users: self only, no role change; app settings and deletes are server-side.
	if status, body = userCall(t, srv, "POST", "/users", "bob", map[string]any{"users": map[string]any{"bob": map[string]any{"id": "bob", "name": "Bobby"}}}); status != 201 {
		t.Fatalf("self upsert: %d %v", status, body)
	}
	status, body = userCall(t, srv, "POST", "/users", "bob", map[string]any{"users": map[string]any{"alice": map[string]any{"id": "alice"}}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "PATCH", "/users", "bob", map[string]any{"users": []any{map[string]any{"id": "bob", "set": map[string]any{"role": "admin"}}}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "PATCH", "/app", "bob", map[string]any{"webhook_url": "https://evil.invalid"})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "DELETE", "/users/alice", "bob", nil)
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)

	// Creating a channel: the creator must be a member.
	status, body = userCall(t, srv, "POST", "/channels/messaging/bobs/query", "bob", map[string]any{"data": map[string]any{"members": []string{"alice"}}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	status, body = userCall(t, srv, "POST", "/channels/messaging/bobs/query", "bob", map[string]any{"data": map[string]any{"members": []string{"alice", "bob"}, "created_by_id": "alice"}})
	if status != 201 || body["channel"].(map[string]any)["created_by"].(map[string]any)["id"] != "bob" {
		t.Fatalf("user creates channel: %d %v", status, body)
	}

	// Uploads by members only.
	upload := func(user string) (int, map[string]any) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "scan.enc")
		fw.Write([]byte("sealed"))
		mw.Close()
		req := srv.NewUserRequest(ctx, "POST", "/channels/messaging/ward/file", user, buf.Bytes())
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return do(t, req)
	}
	if status, body = upload("bob"); status != 201 || body["file"] == nil {
		t.Fatalf("member upload: %d %v", status, body)
	}
	status, body = upload("root2")
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)

	// The global admin role bypasses the channel checks.
	if status, body = userCall(t, srv, "GET", "/messages/js-id-1", "root", nil); status != 200 {
		t.Fatalf("admin read: %d %v", status, body)
	}
}

func TestClearHistoryAndStopWatching(t *testing.T) {
	srv := newServer(t, streamtest.Config{MaxRecordedRequests: 20})
	c := srv.Client()
	ch := seed(t, c, "hist", "alice", "bob")
	send(t, ch, "bob", "old news")
	if _, err := ch.HideWithHistoryClear(ctxT(t), "alice"); err != nil {
		t.Fatal(err)
	}
	send(t, ch, "bob", "fresh")
	status, body := userCall(t, srv, "POST", "/channels/messaging/hist/query", "alice", map[string]any{"state": true})
	msgs, _ := body["messages"].([]any)
	if status != 201 || len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "fresh" {
		t.Fatalf("after clear_history alice sees %d %v", status, msgs)
	}
	status, body = userCall(t, srv, "POST", "/channels/messaging/hist/query", "bob", map[string]any{"state": true})
	if msgs, _ := body["messages"].([]any); status != 201 || len(msgs) != 2 {
		t.Fatalf("bob's history is untouched: %d %v", status, body)
	}
	if status, body := userCall(t, srv, "POST", "/channels/messaging/hist/stop-watching", "alice", map[string]any{}); status != 201 {
		t.Fatalf("stop-watching: %d %v", status, body)
	}
	for range 30 {
		userCall(t, srv, "GET", "/app", "alice", nil)
	}
	if n := len(srv.Requests()); n > 20 || n == 0 {
		t.Fatalf("Requests kept %d, MaxRecordedRequests is 20", n)
	}
}

func TestDisablePermissionChecks(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	seed(t, c, "open", "alice")
	if _, err := c.UpsertUser(ctxT(t), &stream.User{ID: "carol"}); err != nil {
		t.Fatal(err)
	}
	status, body := userCall(t, srv, "POST", "/channels/messaging/open/message", "carol", map[string]any{"message": map[string]any{"text": "x"}})
	wantEnvelope(t, status, body, 403, streamtest.CodeNotAllowed)
	if _, err := c.UpdateAppSettings(ctxT(t), stream.NewAppSettings().SetDisablePermissions(true)); err != nil {
		t.Fatal(err)
	}
	if status, body := userCall(t, srv, "POST", "/channels/messaging/open/message", "carol", map[string]any{"message": map[string]any{"text": "x"}}); status != http.StatusCreated {
		t.Fatalf("with permission checks disabled: %d %v", status, body)
	}
}
