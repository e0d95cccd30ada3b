package virgilapi

import (
	"context"
	"fmt"
	"net/http"
)

// Keyknox v1 and v2 (shared/specs/virgil-services.md §6). Meta and Value are
// the encrypted payload (package e3's KeyknoxCrypto makes and opens them);
// empty ones travel as "" and mean "no entry". Hash is the opaque
// Virgil-Keyknox-Hash of the answer; send it back as the previous hash of the
// next push to the same entry (a stale one fails with code 50010).

// KeyknoxV1 is the caller's Keyknox v1 entry (one per identity).
type KeyknoxV1 struct {
	Meta    []byte
	Value   []byte
	Version string // "1.0", "2.0", ...; informational
	Hash    string
}

// KeyknoxV2 is a Keyknox v2 entry, addressed by (Owner, Root, Path, Key),
// as the caller sees it: Meta and Value are the caller's own copy, and
// Identities the entry's full recipient list.
type KeyknoxV2 struct {
	Owner      string
	Root       string
	Path       string
	Key        string
	Identities []string
	Meta       []byte
	Value      []byte
	Hash       string
}

// KeyknoxV2Push is a push request. The entry's owner is the caller.
type KeyknoxV2Push struct {
	Root, Path, Key string
	Identities      []string // recipients besides the owner
	Meta, Value     []byte
	PreviousHash    string // "" for a new entry
}

type kkV1Wire struct {
	Meta    []byte `json:"meta"`
	Value   []byte `json:"value"`
	Version string `json:"version,omitempty"`
}

type kkV2Wire struct {
	Owner      string   `json:"owner"`
	Root       string   `json:"root"`
	Path       string   `json:"path"`
	Key        string   `json:"key"`
	Identities []string `json:"identities"`
	Meta       []byte   `json:"meta"`
	Value      []byte   `json:"value"`
}

const hashHeader = "Virgil-Keyknox-Hash"

// ParseKeyknoxV1 decodes a Keyknox v1 answer body. Missing or null meta and
// value read as empty (e3kit would fail on them; this client is lenient).
func ParseKeyknoxV1(body []byte) (*KeyknoxV1, error) {
	var w kkV1Wire
	if err := decodeJSON("keyknox v1 value", body, &w); err != nil {
		return nil, err
	}
	return &KeyknoxV1{Meta: w.Meta, Value: w.Value, Version: w.Version}, nil
}

// ParseKeyknoxV2 decodes a Keyknox v2 value answer body.
func ParseKeyknoxV2(body []byte) (*KeyknoxV2, error) {
	var w kkV2Wire
	if err := decodeJSON("keyknox v2 value", body, &w); err != nil {
		return nil, err
	}
	return &KeyknoxV2{Owner: w.Owner, Root: w.Root, Path: w.Path, Key: w.Key, Identities: w.Identities, Meta: w.Meta, Value: w.Value}, nil
}

func (c *Client) kkV1(ctx context.Context, r request) (*KeyknoxV1, error) {
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	v, err := ParseKeyknoxV1(res.body)
	if err != nil {
		return nil, err
	}
	v.Hash = res.header.Get(hashHeader)
	return v, nil
}

func (c *Client) kkV2(ctx context.Context, r request) (*KeyknoxV2, error) {
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	v, err := ParseKeyknoxV2(res.body)
	if err != nil {
		return nil, err
	}
	v.Hash = res.header.Get(hashHeader)
	return v, nil
}

// KeyknoxPullV1 returns the caller's v1 entry (GET /keyknox/v1); a
// never-written entry comes back empty.
func (c *Client) KeyknoxPullV1(ctx context.Context) (*KeyknoxV1, error) {
	return c.kkV1(ctx, request{method: http.MethodGet, path: "/keyknox/v1"})
}

// KeyknoxPushV1 replaces the caller's v1 entry (PUT /keyknox/v1).
// previousHash is the hash of the last pull or push ("" sends no header).
func (c *Client) KeyknoxPushV1(ctx context.Context, meta, value []byte, previousHash string) (*KeyknoxV1, error) {
	return c.kkV1(ctx, request{method: http.MethodPut, path: "/keyknox/v1",
		body: &kkV1Wire{Meta: nonNil(meta), Value: nonNil(value)}, prevHash: previousHash})
}

// KeyknoxResetV1 erases the caller's v1 entry (POST /keyknox/v1/reset, no
// body).
func (c *Client) KeyknoxResetV1(ctx context.Context) (*KeyknoxV1, error) {
	return c.kkV1(ctx, request{method: http.MethodPost, path: "/keyknox/v1/reset"})
}

func checkAddr(op string, fields ...string) error {
	for _, f := range fields {
		if f == "" {
			return fmt.Errorf("virgilapi: keyknox %s: root, path, key and identity must not be empty", op)
		}
	}
	return nil
}

// KeyknoxPushV2 stores p for the caller (the owner) and for p.Identities
// (POST /keyknox/v2/push). Recipients already on the entry but not listed
// keep their earlier copy.
func (c *Client) KeyknoxPushV2(ctx context.Context, p KeyknoxV2Push) (*KeyknoxV2, error) {
	if err := checkAddr("push", p.Root, p.Path, p.Key); err != nil {
		return nil, err
	}
	if len(p.Identities) == 0 {
		return nil, fmt.Errorf("virgilapi: keyknox push: no identities")
	}
	body := struct {
		Root       string   `json:"root"`
		Path       string   `json:"path"`
		Key        string   `json:"key"`
		Identities []string `json:"identities"`
		Meta       []byte   `json:"meta"`
		Value      []byte   `json:"value"`
	}{p.Root, p.Path, p.Key, p.Identities, nonNil(p.Meta), nonNil(p.Value)}
	return c.kkV2(ctx, request{method: http.MethodPost, path: "/keyknox/v2/push", body: &body, prevHash: p.PreviousHash})
}

// KeyknoxPullV2 returns the caller's copy of owner's entry (POST
// /keyknox/v2/pull); a missing or invisible entry comes back empty.
func (c *Client) KeyknoxPullV2(ctx context.Context, root, path, key, owner string) (*KeyknoxV2, error) {
	if err := checkAddr("pull", root, path, key, owner); err != nil {
		return nil, err
	}
	body := struct {
		Root     string `json:"root"`
		Path     string `json:"path"`
		Key      string `json:"key"`
		Identity string `json:"identity"`
	}{root, path, key, owner}
	return c.kkV2(ctx, request{method: http.MethodPost, path: "/keyknox/v2/pull", body: &body})
}

// KeyknoxKeysV2 lists the keys under (owner, root, path) that the caller can
// read (POST /keyknox/v2/keys).
func (c *Client) KeyknoxKeysV2(ctx context.Context, root, path, owner string) ([]string, error) {
	if err := checkAddr("keys", root, path, owner); err != nil {
		return nil, err
	}
	body := struct {
		Root     string `json:"root"`
		Path     string `json:"path"`
		Identity string `json:"identity"`
	}{root, path, owner}
	res, err := c.do(ctx, request{method: http.MethodPost, path: "/keyknox/v2/keys", body: &body})
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := decodeJSON("keyknox v2 keys", res.body, &keys); err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// KeyknoxResetV2 deletes the caller's entries under root (POST
// /keyknox/v2/reset): all of them under path, or the one at key. If
// identity is set and is not the caller, only that recipient is removed
// (the entries' hashes stay as they are). Empty path, key and identity are
// left out of the request.
func (c *Client) KeyknoxResetV2(ctx context.Context, root, path, key, identity string) (*KeyknoxV2, error) {
	if err := checkAddr("reset", root); err != nil {
		return nil, err
	}
	if key != "" && path == "" {
		return nil, fmt.Errorf("virgilapi: keyknox reset: a key needs a path")
	}
	body := struct {
		Root     string `json:"root"`
		Path     string `json:"path,omitempty"`
		Key      string `json:"key,omitempty"`
		Identity string `json:"identity,omitempty"`
	}{root, path, key, identity}
	return c.kkV2(ctx, request{method: http.MethodPost, path: "/keyknox/v2/reset", body: &body})
}

// nonNil makes a nil slice marshal as "" rather than null.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
