package e3test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
)

// Keyknox v1 and v2 (shared/specs/virgil-services.md §6).

func contextBackground() context.Context { return context.Background() }

const hashHeader = "Virgil-Keyknox-Hash"

// hashOf is a Keyknox hash: base64(SHA-256) of length-prefixed parts.
func hashOf(parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// emptyV2Hash is the hash answered for a v2 entry that does not exist (or
// that the caller cannot see).
var emptyV2Hash = hashOf([]byte("keyknox-v2-empty"))

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// decodeB64 decodes a base64 field; ok is false for invalid input.
func decodeB64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

type kkV1Out struct {
	Meta    string `json:"meta"`
	Value   string `json:"value"`
	Version string `json:"version"`
}

func v1Reply(r KeyknoxV1Record) *reply {
	return &reply{
		status: http.StatusOK,
		header: map[string]string{hashHeader: r.Hash},
		body:   kkV1Out{Meta: b64(r.Meta), Value: b64(r.Value), Version: strconv.Itoa(max(r.Version, 1)) + ".0"},
	}
}

// v1Record returns identity's entry, or the empty never-written one.
func (s *Server) v1Record(ctx context.Context, identity string) (KeyknoxV1Record, *apiError) {
	r, err := s.store.KeyknoxV1(ctx, identity)
	switch {
	case errors.Is(err, ErrNotFound):
		r = KeyknoxV1Record{Identity: identity}
		r.Hash = v1Hash(r)
		return r, nil
	case err != nil:
		return r, internal(err)
	}
	return r, nil
}

func v1Hash(r KeyknoxV1Record) string {
	return hashOf([]byte("keyknox-v1"), []byte(r.Identity), []byte(strconv.Itoa(r.Version)), r.Meta, r.Value)
}

// pullV1: GET /keyknox/v1. A never-written entry is 200 with empty values.
func (s *Server) pullV1(c *call) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.v1Record(c.r.Context(), c.identity)
	if aerr != nil {
		return nil, aerr
	}
	return v1Reply(r), nil
}

// pushV1: PUT /keyknox/v1. Over a non-empty entry the previous hash must
// be the current one (else 50010); over an empty one anything goes (e3kit
// sends the hash of its empty pull).
func (s *Server) pushV1(c *call) (*reply, *apiError) {
	var q struct {
		Meta  *string `json:"meta"`
		Value *string `json:"value"`
	}
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	meta, value, aerr := s.metaValue(q.Meta, q.Value)
	if aerr != nil {
		return nil, aerr
	}
	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.v1Record(ctx, c.identity)
	if aerr != nil {
		return nil, aerr
	}
	if (len(r.Meta) > 0 || len(r.Value) > 0) && c.r.Header.Get("Virgil-Keyknox-Previous-Hash") != r.Hash {
		return nil, errorf(http.StatusConflict, CodeInvalidPreviousHash, "Invalid previous hash")
	}
	r = KeyknoxV1Record{Identity: c.identity, Meta: meta, Value: value, Version: r.Version + 1}
	return s.saveV1(ctx, r)
}

// resetV1: POST /keyknox/v1/reset (no body).
func (s *Server) resetV1(c *call) (*reply, *apiError) {
	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.v1Record(ctx, c.identity)
	if aerr != nil {
		return nil, aerr
	}
	r = KeyknoxV1Record{Identity: c.identity, Version: r.Version + 1}
	return s.saveV1(ctx, r)
}

// saveV1 stores v1 entry r with its new hash and replies with it.
func (s *Server) saveV1(ctx context.Context, r KeyknoxV1Record) (*reply, *apiError) {
	r.Hash = v1Hash(r)
	if err := s.store.PutKeyknoxV1(ctx, r); err != nil {
		return nil, internal(err)
	}
	return v1Reply(r), nil
}

// metaValue decodes the meta and value of a push: both required, base64,
// and meta at most Options.KeyknoxMaxMetaSize base64 characters (Virgil
// refuses a meta over its limit).
func (s *Server) metaValue(meta, value *string) ([]byte, []byte, *apiError) {
	if meta == nil || value == nil {
		return nil, nil, errorf(http.StatusBadRequest, CodeKeyknoxInvalid, "meta and value are required")
	}
	m, ok1 := decodeB64(*meta)
	v, ok2 := decodeB64(*value)
	if !ok1 || !ok2 {
		return nil, nil, errorf(http.StatusBadRequest, CodeKeyknoxInvalid, "meta and value must be base64")
	}
	if s.maxMeta > 0 && len(*meta) > s.maxMeta {
		return nil, nil, errorf(http.StatusBadRequest, CodeKeyknoxTooLarge, "meta param exceeds the limit: %d base64 characters, at most %d", len(*meta), s.maxMeta)
	}
	return m, v, nil
}

type kkV2Out struct {
	Owner      string   `json:"owner"`
	Root       string   `json:"root"`
	Path       string   `json:"path"`
	Key        string   `json:"key"`
	Identities []string `json:"identities"`
	Meta       string   `json:"meta"`
	Value      string   `json:"value"`
}

// v2Reply is entry r as caller sees it: its own copy, the full recipient
// list.
func v2Reply(r KeyknoxV2Record, caller string) *reply {
	out := kkV2Out{Owner: r.Owner, Root: r.Root, Path: r.Path, Key: r.Key, Identities: r.Identities()}
	if cp := r.copyOf(caller); cp != nil {
		out.Meta, out.Value = b64(cp.Meta), b64(cp.Value)
	}
	return &reply{status: http.StatusOK, header: map[string]string{hashHeader: r.Hash}, body: out}
}

func emptyV2Reply(owner, root, path, key string) *reply {
	return &reply{status: http.StatusOK, header: map[string]string{hashHeader: emptyV2Hash},
		body: kkV2Out{Owner: owner, Root: root, Path: path, Key: key, Identities: []string{}}}
}

func badKK(what string) *apiError {
	return errorf(http.StatusBadRequest, CodeKeyknoxInvalid, "%s is empty, too long or has invalid characters", what)
}

// pushV2: POST /keyknox/v2/push. The pusher owns the entry; the owner and
// every listed identity get this meta and value as their copy, other
// recipients keep theirs.
func (s *Server) pushV2(c *call) (*reply, *apiError) {
	var q struct {
		Root, Path, Key string
		Identities      []string
		Meta, Value     *string
	}
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	for what, v := range map[string]string{"root": q.Root, "path": q.Path, "key": q.Key} {
		if !validKey(v) {
			return nil, badKK(what)
		}
	}
	if len(q.Identities) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeKeyknoxInvalid, "identities are required")
	}
	for _, id := range q.Identities {
		if !validName(id) {
			return nil, badKK("every identity")
		}
	}
	meta, value, aerr := s.metaValue(q.Meta, q.Value)
	if aerr != nil {
		return nil, aerr
	}
	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.store.KeyknoxV2(ctx, c.identity, q.Root, q.Path, q.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		// Creation order that survives a restart with a persistent Storage.
		s.seq = max(s.seq+1, uint64(s.now().UnixNano()))
		r = KeyknoxV2Record{Owner: c.identity, Root: q.Root, Path: q.Path, Key: q.Key, Seq: s.seq}
	case err != nil:
		return nil, internal(err)
	default:
		if c.r.Header.Get("Virgil-Keyknox-Previous-Hash") != r.Hash {
			return nil, errorf(http.StatusConflict, CodeInvalidPreviousHash, "Invalid previous hash")
		}
	}
	for _, id := range append([]string{c.identity}, q.Identities...) { // duplicates collapse
		if cp := r.copyOf(id); cp != nil {
			cp.Meta, cp.Value = meta, value
		} else {
			r.Copies = append(r.Copies, KeyknoxCopy{Identity: id, Meta: meta, Value: value})
		}
	}
	// A fresh random nonce: every push changes the hash, even of the same
	// content (a removed recipient, in resetV2, does not).
	r.Hash = hashOf([]byte("keyknox-v2"), []byte(r.Owner), []byte(r.Root), []byte(r.Path), []byte(r.Key), randomBytes(16), meta, value)
	if err := s.store.PutKeyknoxV2(ctx, r); err != nil {
		return nil, internal(err)
	}
	return v2Reply(r, c.identity), nil
}

// pullV2: POST /keyknox/v2/pull; identity is the owner. A missing entry,
// or one the caller is not a recipient of, is 200 with empty values.
func (s *Server) pullV2(c *call) (*reply, *apiError) {
	var q struct{ Root, Path, Key, Identity string }
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	for what, v := range map[string]string{"root": q.Root, "path": q.Path, "key": q.Key} {
		if !validKey(v) {
			return nil, badKK(what)
		}
	}
	if !validName(q.Identity) {
		return nil, badKK("identity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.store.KeyknoxV2(c.r.Context(), q.Identity, q.Root, q.Path, q.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return emptyV2Reply(q.Identity, q.Root, q.Path, q.Key), nil
	case err != nil:
		return nil, internal(err)
	case r.copyOf(c.identity) == nil:
		return emptyV2Reply(q.Identity, q.Root, q.Path, q.Key), nil
	}
	return v2Reply(r, c.identity), nil
}

// keysV2: POST /keyknox/v2/keys. Lists the keys under (identity, root,
// path) the caller is a recipient of, in creation order; identity defaults
// to the caller and path to every path under root.
func (s *Server) keysV2(c *call) (*reply, *apiError) {
	var q struct{ Root, Path, Identity string }
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	owner := q.Identity
	if owner == "" {
		owner = c.identity
	}
	if !validKey(q.Root) {
		return nil, badKK("root")
	}
	if q.Path != "" && !validKey(q.Path) {
		return nil, badKK("path")
	}
	if !validName(owner) {
		return nil, badKK("identity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := s.store.KeyknoxV2Entries(c.r.Context(), owner, q.Root, q.Path)
	if err != nil {
		return nil, internal(err)
	}
	keys := []string{}
	seen := map[string]bool{}
	for _, r := range entries {
		if r.copyOf(c.identity) != nil && !seen[r.Key] {
			seen[r.Key] = true
			keys = append(keys, r.Key)
		}
	}
	return &reply{status: http.StatusOK, body: keys}, nil
}

// resetV2: POST /keyknox/v2/reset, the caller being the owner. With an
// identity other than the caller's, that recipient is removed from the
// selected entries (their hashes unchanged: e3kit's reAdd pulls, removes,
// then pushes with the hash it pulled); otherwise the entries are deleted.
func (s *Server) resetV2(c *call) (*reply, *apiError) {
	var q struct{ Root, Path, Key, Identity string }
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	if !validKey(q.Root) {
		return nil, badKK("root")
	}
	for what, v := range map[string]string{"path": q.Path, "key": q.Key} {
		if v != "" && !validKey(v) {
			return nil, badKK(what)
		}
	}
	if q.Identity != "" && !validName(q.Identity) {
		return nil, badKK("identity")
	}
	if q.Key != "" && q.Path == "" {
		return nil, errorf(http.StatusBadRequest, CodeKeyknoxInvalid, "a key needs a path")
	}
	ctx := c.r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := s.store.KeyknoxV2Entries(ctx, c.identity, q.Root, q.Path)
	if err != nil {
		return nil, internal(err)
	}
	var last *KeyknoxV2Record
	for i := range entries {
		r := &entries[i]
		if q.Key != "" && r.Key != q.Key {
			continue
		}
		last = r
		if q.Identity != "" && q.Identity != c.identity {
			kept := r.Copies[:0]
			for _, cp := range r.Copies {
				if cp.Identity != q.Identity {
					kept = append(kept, cp)
				}
			}
			r.Copies = kept
			err = s.store.PutKeyknoxV2(ctx, *r)
		} else {
			r.Copies = nil
			err = s.store.DeleteKeyknoxV2(ctx, r.Owner, r.Root, r.Path, r.Key)
		}
		if err != nil {
			return nil, internal(err)
		}
	}
	if last == nil {
		return emptyV2Reply(c.identity, q.Root, q.Path, q.Key), nil
	}
	rep := v2Reply(*last, "")
	out := rep.body.(kkV2Out)
	out.Meta, out.Value = "", ""
	rep.body = out
	return rep, nil
}

// KeyknoxV1 returns identity's Keyknox v1 entry, if it was ever written.
func (s *Server) KeyknoxV1(identity string) (KeyknoxV1Record, bool) {
	r, err := s.store.KeyknoxV1(contextBackground(), identity)
	return r, err == nil
}

// KeyknoxV2 returns the Keyknox v2 entry (owner, root, path, key).
func (s *Server) KeyknoxV2(owner, root, path, key string) (KeyknoxV2Record, bool) {
	r, err := s.store.KeyknoxV2(contextBackground(), owner, root, path, key)
	return r, err == nil
}

// KeyknoxV2Entries returns owner's Keyknox v2 entries under root (and path,
// unless ""), in creation order.
func (s *Server) KeyknoxV2Entries(owner, root, path string) []KeyknoxV2Record {
	r, _ := s.store.KeyknoxV2Entries(contextBackground(), owner, root, path)
	return r
}
