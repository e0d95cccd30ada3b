package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// This file is the authentication the seed tutorial left out ("the frontend
// simply tells the backend who it wants to authenticate as"): accounts with
// argon2id password hashes, signed expiring session tokens, and a throttle on
// failed sign-ins. A real deployment replaces the account list with its
// identity provider (OIDC, SAML, its user database) and keeps the rest of the
// shape: sign the user in, then issue Stream and Virgil credentials for that
// identity and no other.

// identityPattern is what this backend accepts as a user identity. It is
// the intersection of what Stream allows in user IDs and what Virgil's
// JavaScript SDKs handle safely (ASCII, see e3.JWTGenerator).
var identityPattern = regexp.MustCompile(`^[A-Za-z0-9@_.-]{1,64}$`)

func validIdentity(s string) bool { return identityPattern.MatchString(s) }

// Password hashing: argon2id with OWASP's minimum parameters (19 MiB, two
// passes, one lane), stored in the PHC string format
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32

	maxPasswordLen = 1024
)

var errBadHash = errors.New("backend: malformed password hash")

type passwordHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func hashPassword(password string) (passwordHash, error) {
	if password == "" || len(password) > maxPasswordLen {
		return passwordHash{}, fmt.Errorf("backend: a password must have 1 to %d bytes", maxPasswordLen)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return passwordHash{}, err
	}
	h := passwordHash{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt}
	h.key = h.derive(password, argonKeyLen)
	return h, nil
}

func (h passwordHash) derive(password string, keyLen int) []byte {
	return argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(keyLen))
}

// matches reports whether password hashes to h, in time independent of how
// much of the result matches.
func (h passwordHash) matches(password string) bool {
	if len(password) > maxPasswordLen {
		return false
	}
	return subtle.ConstantTimeCompare(h.derive(password, len(h.key)), h.key) == 1
}

func (h passwordHash) String() string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads, enc.EncodeToString(h.salt), enc.EncodeToString(h.key))
}

// parsePasswordHash reads the PHC string hashPassword writes. The bounds keep
// a hostile file from making every sign-in cost gigabytes or minutes.
// Errors never repeat the input.
func parsePasswordHash(s string) (passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return passwordHash{}, errBadHash
	}
	var m, t, p uint64
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return passwordHash{}, errBadHash
	}
	for i, dst := range []*uint64{&m, &t, &p} {
		name, val, ok := strings.Cut(params[i], "=")
		if !ok || name != "mtp"[i:i+1] || val == "" || (len(val) > 1 && val[0] == '0') {
			return passwordHash{}, errBadHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return passwordHash{}, errBadHash
		}
		*dst = n
	}
	if p < 1 || p > 16 || t < 1 || t > 16 || m < 8*p || m > 1<<20 {
		return passwordHash{}, errBadHash
	}
	salt, ok := decodeCanonical(parts[4])
	if !ok || len(salt) < 8 || len(salt) > 64 {
		return passwordHash{}, errBadHash
	}
	key, ok := decodeCanonical(parts[5])
	if !ok || len(key) < 16 || len(key) > 64 {
		return passwordHash{}, errBadHash
	}
	return passwordHash{memory: uint32(m), time: uint32(t), threads: uint8(p), salt: salt, key: key}, nil
}

// decodeCanonical decodes unpadded standard base64 written the one way
// String writes it (the decoder alone skips newlines and ignores unused
// bits).
func decodeCanonical(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil && base64.RawStdEncoding.EncodeToString(b) == s
}

// directory is the account list: identity -> password hash. It is
// read-only after it is built.
type directory struct {
	hashes map[string]passwordHash
	// decoy is checked for unknown identities, so that a sign-in takes
	// as long whether or not the account exists.
	decoy passwordHash
}

func newDirectory() (*directory, error) {
	decoyPassword := make([]byte, 16)
	if _, err := rand.Read(decoyPassword); err != nil {
		return nil, err
	}
	decoy, err := hashPassword(base64.RawStdEncoding.EncodeToString(decoyPassword))
	if err != nil {
		return nil, err
	}
	return &directory{hashes: map[string]passwordHash{}, decoy: decoy}, nil
}

// demoDirectory gives every identity in users the same password.
func demoDirectory(users []string, password string) (*directory, error) {
	d, err := newDirectory()
	if err != nil {
		return nil, err
	}
	h, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if !validIdentity(u) {
			return nil, fmt.Errorf("backend: demo user %q: an identity has 1 to 64 letters, digits and @ _ . -", u)
		}
		d.hashes[u] = h
	}
	if len(d.hashes) == 0 {
		return nil, errors.New("backend: no demo users")
	}
	return d, nil
}

// parseUsers reads an account file: one "identity:hash" a line, where hash is
// what -hash-password prints; blank lines and lines starting with # are
// skipped. Errors name the line, never its content past the identity.
func parseUsers(r io.Reader) (*directory, error) {
	hashes, err := parseUserLines(r)
	if err != nil {
		return nil, err
	}
	d, err := newDirectory()
	if err != nil {
		return nil, err
	}
	d.hashes = hashes
	return d, nil
}

func parseUserLines(r io.Reader) (map[string]passwordHash, error) {
	hashes := map[string]passwordHash{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), 4096)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, hash, ok := strings.Cut(line, ":")
		if !ok || !validIdentity(id) {
			return nil, fmt.Errorf("backend: users file line %d: want identity:hash, the identity 1 to 64 letters, digits and @ _ . -", n)
		}
		if _, dup := hashes[id]; dup {
			return nil, fmt.Errorf("backend: users file line %d: identity %s listed twice", n, id)
		}
		h, err := parsePasswordHash(hash)
		if err != nil {
			return nil, fmt.Errorf("backend: users file line %d (%s): malformed password hash", n, id)
		}
		hashes[id] = h
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("backend: users file: %w", err)
	}
	if len(hashes) == 0 {
		return nil, errors.New("backend: users file lists no account")
	}
	return hashes, nil
}

// check reports whether password is identity's. It costs one argon2id
// derivation whether or not the identity exists.
func (d *directory) check(identity, password string) bool {
	h, ok := d.hashes[identity]
	if !ok {
		d.decoy.matches(password)
		return false
	}
	return h.matches(password)
}

func (d *directory) exists(identity string) bool {
	_, ok := d.hashes[identity]
	return ok
}

func (d *directory) identities() []string {
	out := make([]string, 0, len(d.hashes))
	for id := range d.hashes {
		out = append(out, id)
	}
	return out
}

// Session tokens are HS256 JWTs with their own key (never Stream's secret),
// an audience of their own, and an expiry. They are stateless: one cannot be
// revoked before it expires except by changing the key (SESSION_KEY), which
// ends every session. Keep them short-lived.
const sessionAudience = "e3go-example-backend"

type sessionClaims struct {
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func (s *sessions) issue(identity string) (token string, expires time.Time, err error) {
	now := s.now()
	expires = now.Add(s.ttl).Truncate(time.Second)
	token, err = signHS256(s.key, sessionClaims{
		Subject: identity, Audience: sessionAudience, IssuedAt: now.Unix(), ExpiresAt: expires.Unix(),
	})
	return token, expires, err
}

// verify returns the identity a valid, unexpired session token names.
func (s *sessions) verify(token string) (string, error) {
	var c sessionClaims
	if err := verifyHS256(s.key, token, &c); err != nil {
		return "", err
	}
	if c.Audience != sessionAudience || !validIdentity(c.Subject) || c.ExpiresAt <= c.IssuedAt {
		return "", errTokenMalformed
	}
	now := s.now().Unix()
	if c.IssuedAt > now+60 { // issued in the future: another clock, or a forgery with our key
		return "", errTokenMalformed
	}
	if now >= c.ExpiresAt {
		return "", errTokenExpired
	}
	return c.Subject, nil
}

// loginThrottle refuses sign-ins for an identity after maxFailures failed
// ones within window, until the window ends. It slows password guessing
// against one account; the argon2 gate (see server.login) bounds the total
// rate. A real deployment adds per-client limits at its edge and alerting.
type loginThrottle struct {
	maxFailures int
	window      time.Duration
	now         func() time.Time

	mu       sync.Mutex
	failures map[string]failureWindow
}

type failureWindow struct {
	start time.Time
	count int
}

// maxTracked bounds the throttle's memory. The argon2 gate limits sign-ins to
// a few hundred a second, so within one window far fewer identities fail.
const maxTracked = 100_000

func newLoginThrottle(maxFailures int, window time.Duration, now func() time.Time) *loginThrottle {
	return &loginThrottle{maxFailures: maxFailures, window: window, now: now, failures: map[string]failureWindow{}}
}

// allow reports whether identity may try to sign in now and, if not, when
// it may again.
func (t *loginThrottle) allow(identity string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.failures[identity]
	if !ok {
		return 0, true
	}
	left := f.start.Add(t.window).Sub(t.now())
	if left <= 0 {
		delete(t.failures, identity)
		return 0, true
	}
	return left, f.count < t.maxFailures
}

func (t *loginThrottle) fail(identity string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f, ok := t.failures[identity]
	if !ok || now.Sub(f.start) >= t.window {
		if len(t.failures) >= maxTracked {
			for id, g := range t.failures {
				if now.Sub(g.start) >= t.window {
					delete(t.failures, id)
				}
			}
			if len(t.failures) >= maxTracked {
				return // still full of live windows: do not grow
			}
		}
		f = failureWindow{start: now}
	}
	f.count++
	t.failures[identity] = f
}

func (t *loginThrottle) succeed(identity string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, identity)
}

// gate bounds how many argon2 derivations run at once (each takes 19 MiB).
type gate chan struct{}

func (g gate) enter(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g gate) leave() { <-g }
