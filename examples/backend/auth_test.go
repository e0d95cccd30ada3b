package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Stream's own tokens, as captured from stream-chat-go v6.10.0 with the
// secret "probe-secret" (shared/specs/stream-chat.md §1.4): signHS256 writes
// the same bytes, so Stream accepts what it signs.
func TestHS256MatchesStreamChatGo(t *testing.T) {
	key := []byte("probe-secret")
	for claims, want := range map[string]string{
		"user":   "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.jZ0WnxPz27pfCDa1UIk9upRXDLMj5rOmDSaSl6NdSBA",
		"server": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.DWJqR_fUzCwHg_syJQ0ar5alSasuGNXu-qRZXBIGICs",
	} {
		var c any = map[string]string{"user_id": "alice"}
		if claims == "server" {
			c = map[string]bool{"server": true}
		}
		got, err := signHS256(key, c)
		if err != nil || got != want {
			t.Errorf("%s token = %s, %v; want %s", claims, got, err, want)
		}
	}
}

func TestVerifyHS256(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tok, err := signHS256(key, sessionClaims{Subject: "alice", Audience: sessionAudience, IssuedAt: 1, ExpiresAt: 2})
	if err != nil {
		t.Fatal(err)
	}
	var c sessionClaims
	if err := verifyHS256(key, tok, &c); err != nil || c.Subject != "alice" || c.ExpiresAt != 2 {
		t.Fatalf("verify: %v %+v", err, c)
	}
	if err := verifyHS256([]byte("another key"), tok, &c); !errors.Is(err, errTokenSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	// Every change of every character is refused.
	for i := range tok {
		for _, r := range []byte{'A', '_', '.', '-', '0'} {
			if tok[i] == r {
				continue
			}
			bad := tok[:i] + string(r) + tok[i+1:]
			if err := verifyHS256(key, bad, &sessionClaims{}); err == nil {
				t.Fatalf("accepted %q (byte %d changed)", bad, i)
			}
		}
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"two parts":      hs256Header + ".e30",
		"four parts":     tok + ".x",
		"too long":       tok + strings.Repeat("A", maxTokenLen),
		"alg none":       b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(tok, ".")[1] + ".",
		"padded sig":     tok + "=",
		"unknown claim":  mustSign(t, key, map[string]any{"sub": "alice", "x": 1}),
		"trailing data":  signRaw(key, `{"sub":"alice"} {}`),
		"trailing brace": signRaw(key, `{"sub":"alice"}}`),
		"not an object":  signRaw(key, `["alice"]`),
		"not JSON":       signRaw(key, `alice`),
	} {
		if err := verifyHS256(key, bad, &sessionClaims{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustSign(t *testing.T, key []byte, c any) string {
	t.Helper()
	tok, err := signHS256(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs an arbitrary payload, for tokens signHS256 would not make.
func signRaw(key []byte, payload string) string {
	s := hs256Header + "." + b64.EncodeToString([]byte(payload))
	return s + "." + b64.EncodeToString(mac(key, s))
}

func TestSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := &sessions{key: []byte("k"), ttl: time.Hour, now: func() time.Time { return now }}
	tok, exp, err := s.issue("alice")
	if err != nil || !exp.Equal(now.Add(time.Hour)) {
		t.Fatal(exp, err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want error
	}{
		{-59 * time.Second, nil}, // the clock went back a little
		{0, nil},
		{time.Hour - time.Second, nil},
		{time.Hour, errTokenExpired},
		{48 * time.Hour, errTokenExpired},
		{-2 * time.Minute, errTokenMalformed}, // issued in the future
	} {
		s.now = func() time.Time { return now.Add(tc.at) }
		id, err := s.verify(tok)
		if !errors.Is(err, tc.want) || (err == nil && id != "alice") {
			t.Errorf("at %v: %q, %v; want %v", tc.at, id, err, tc.want)
		}
	}
	s.now = func() time.Time { return now }
	for name, c := range map[string]sessionClaims{
		"audience":         {Subject: "alice", Audience: "other", IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60},
		"subject":          {Subject: "al ice", Audience: sessionAudience, IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60},
		"no subject":       {Audience: sessionAudience, IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60},
		"exp before iat":   {Subject: "alice", Audience: sessionAudience, IssuedAt: now.Unix(), ExpiresAt: now.Unix() - 1},
		"no expiry at all": {Subject: "alice", Audience: sessionAudience, IssuedAt: now.Unix()},
	} {
		if _, err := s.verify(mustSign(t, s.key, c)); !errors.Is(err, errTokenMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	if !h.matches("pässwörd") || h.matches("passwörd") || h.matches("") || h.matches(strings.Repeat("x", maxPasswordLen+1)) {
		t.Fatal("matches")
	}
	p, err := parsePasswordHash(h.String())
	if err != nil || p.String() != h.String() || !p.matches("pässwörd") {
		t.Fatalf("round trip: %v", err)
	}
	h2, _ := hashPassword("pässwörd")
	if h2.String() == h.String() {
		t.Fatal("no salt")
	}
	if _, err := hashPassword(""); err == nil {
		t.Fatal("empty password hashed")
	}
	if _, err := hashPassword(strings.Repeat("x", maxPasswordLen+1)); err == nil {
		t.Fatal("oversized password hashed")
	}

	good := h.String()
	salt, key := strings.Split(good, "$")[4], strings.Split(good, "$")[5]
	for _, bad := range []string{
		"",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=19456", "m=019456", 1),
		strings.Replace(good, "m=19456", "m=2000000", 1), // over 1 GiB
		strings.Replace(good, "m=19456", "m=4", 1),       // under 8 KiB a lane
		strings.Replace(good, "t=2", "t=0", 1),
		strings.Replace(good, "t=2", "t=99", 1),
		strings.Replace(good, "p=1", "p=0", 1),
		strings.Replace(good, "p=1", "p=17", 1),
		strings.Replace(good, "m=19456,t=2", "t=2,m=19456", 1),
		strings.Replace(good, "m=19456", "m=+19456", 1),
		strings.Replace(good, "m=19456", "m=", 1),
		strings.Replace(good, "m=19456,", "", 1),
		strings.Replace(good, salt, salt+"=", 1),
		strings.Replace(good, salt, "c2FsdA", 1), // 4 bytes
		strings.Replace(good, key, "a2V5", 1),    // 3 bytes
		strings.Replace(good, key, key+"!", 1),
		good + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt,
	} {
		if _, err := parsePasswordHash(bad); !errors.Is(err, errBadHash) {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseUsers(t *testing.T) {
	h, _ := hashPassword("pw")
	d, err := parseUsers(strings.NewReader("# team\n\n  nurse.joy:" + h.String() + "  \ndr-who@clinic:" + h.String() + "\n"))
	if err != nil || len(d.hashes) != 2 || !d.check("nurse.joy", "pw") || d.check("nurse.joy", "wrong") || d.check("nobody", "pw") {
		t.Fatalf("%v %v", d, err)
	}
	for text, want := range map[string]string{
		"":                                      "no account",
		"# only comments\n":                     "no account",
		"alice " + h.String():                   "line 1: want identity:hash",
		"al ice:" + h.String():                  "line 1: want identity:hash",
		"alice:x\n":                             "line 1 (alice): malformed password hash",
		"a:" + h.String() + "\na:" + h.String(): "line 2: identity a listed twice",
		"a:" + strings.Repeat("y", 5000):        "token too long",
	} {
		_, err := parseUserLines(strings.NewReader(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: %v, want %q", text, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "$argon2id") {
			t.Errorf("the error repeats the hash: %v", err)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	th := newLoginThrottle(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if _, ok := th.allow("a"); !ok {
			t.Fatalf("refused after %d failures", i)
		}
		th.fail("a")
	}
	if wait, ok := th.allow("a"); ok || wait != time.Minute {
		t.Fatalf("after 3 failures: %v %v", wait, ok)
	}
	if _, ok := th.allow("b"); !ok {
		t.Fatal("another identity refused")
	}
	now = now.Add(59 * time.Second)
	if wait, ok := th.allow("a"); ok || wait != time.Second {
		t.Fatalf("59 s later: %v %v", wait, ok)
	}
	now = now.Add(time.Second)
	if _, ok := th.allow("a"); !ok {
		t.Fatal("still refused after the window")
	}
	th.fail("a")
	th.succeed("a")
	th.fail("a")
	th.fail("a")
	if _, ok := th.allow("a"); !ok {
		t.Fatal("a success did not reset the count")
	}
	// The table stays bounded: expired windows are dropped to make room.
	th.failures = map[string]failureWindow{}
	for i := 0; i < maxTracked; i++ {
		th.failures[strconv.Itoa(i)] = failureWindow{start: now.Add(-2 * time.Minute), count: 1}
	}
	th.fail("new")
	if len(th.failures) != 1 {
		t.Fatalf("%d entries after pruning", len(th.failures))
	}
}

func FuzzVerifyHS256(f *testing.F) {
	key := []byte("fuzz-key")
	good := signRaw(key, `{"sub":"alice","aud":"`+sessionAudience+`","iat":1,"exp":2}`)
	f.Add(good)
	f.Add(good + ".")
	f.Add(signRaw(key, `{"sub":"alice"} x`))
	f.Add(signRaw(key, `{"sub":1}`))
	f.Add(b64.EncodeToString([]byte(`{"alg":"none"}`)) + ".e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		var c sessionClaims
		if err := verifyHS256(key, tok, &c); err != nil {
			return
		}
		// Accepted: it must be exactly a token we could have signed.
		i := strings.LastIndexByte(tok, '.')
		if !strings.HasPrefix(tok, hs256Header+".") || tok[i+1:] != b64.EncodeToString(mac(key, tok[:i])) {
			t.Fatalf("accepted a token with a wrong header or signature: %q", tok)
		}
	})
}

func FuzzParsePasswordHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=019456,t=2,p=1$c2FsdA$a2V5")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePasswordHash(s)
		if err != nil {
			if !errors.Is(err, errBadHash) {
				t.Fatalf("error %v is not errBadHash", err)
			}
			return
		}
		// There is one spelling of each hash: what String writes.
		if h.String() != s {
			t.Fatalf("parsed %q, writes %q", s, h.String())
		}
		if h.memory > 1<<20 || h.time > 16 || h.threads > 16 || len(h.key) > 64 {
			t.Fatalf("out of bounds: %q", s)
		}
	})
}

func FuzzParseUsers(f *testing.F) {
	f.Add("# team\nnurse.joy:$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5\n")
	f.Add("a:$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5\na:x\n")
	f.Add("al ice:x\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		hashes, err := parseUserLines(strings.NewReader(text))
		if err != nil {
			if strings.Contains(err.Error(), "$") {
				t.Fatalf("the error repeats input: %v", err)
			}
			return
		}
		if len(hashes) == 0 {
			t.Fatal("no accounts and no error")
		}
		for id := range hashes {
			if !validIdentity(id) {
				t.Fatalf("invalid identity %q accepted", id)
			}
		}
	})
}
