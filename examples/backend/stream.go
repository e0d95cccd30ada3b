package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// defaultStreamURL is Stream Chat's API origin (stream-chat-go's default).
const defaultStreamURL = "https://chat.stream-io-api.com"

// streamApp issues Stream user tokens and registers users with Stream.
//
// Your own backend would use stream-chat-go (client.CreateToken and
// client.UpsertUser); in this repository only package streamenc may import
// it, so the example does the two things it needs by hand: a user token is
// an HS256 JWT {"user_id", "iat", "exp"} signed with the app secret, and the
// upsert is one REST call authenticated with the server token {"server":true}.
type streamApp struct {
	baseURL  string // no trailing slash
	apiKey   string
	secret   []byte
	tokenTTL time.Duration
	client   *http.Client
	now      func() time.Time
}

type streamUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// userToken is what the front end passes to StreamChat.connectUser.
func (a *streamApp) userToken(identity string) (string, error) {
	now := a.now()
	return signHS256(a.secret, map[string]any{
		"user_id": identity,
		"iat":     now.Unix(),
		"exp":     now.Add(a.tokenTTL).Unix(),
	})
}

// upsertUser creates or updates the user in Stream, as the seed did before
// returning credentials: channel members must exist before a channel can
// name them. The role is always "user": this backend never hands out
// Stream admin rights (the seed made everyone an admin).
func (a *streamApp) upsertUser(ctx context.Context, u streamUser) error {
	serverToken, err := signHS256(a.secret, map[string]bool{"server": true})
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"users": map[string]streamUser{u.ID: u}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		a.baseURL+"/users?api_key="+url.QueryEscape(a.apiKey), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", serverToken) // bare, no "Bearer ", as Stream's SDKs send it
	req.Header.Set("Stream-Auth-Type", "jwt")
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("backend: stream upsert user: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	// Stream's error body is {"code": n, "message": "..."}; the message may
	// repeat request data, so only the numbers are kept.
	var e struct {
		Code int `json:"code"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	return &upstreamError{service: "stream", status: resp.StatusCode, code: e.Code}
}

// upstreamError is a refusal from Stream, without its message text.
type upstreamError struct {
	service      string
	status, code int
}

func (e *upstreamError) Error() string {
	return fmt.Sprintf("backend: %s answered HTTP %d (code %d)", e.service, e.status, e.code)
}
