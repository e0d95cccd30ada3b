package e3

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// Virgil's cross-SDK test vectors (virgil-sdk-javascript,
// src/__tests__/integration/data/data.json, the STC-* cases every Virgil SDK
// checks): the values the tests below use, quoted as data.
const (
	// STC-22: a JWT and the app public key that signed it.
	stc22JWT       = "eyJhbGciOiJWRURTNTEyIiwiY3R5IjoidmlyZ2lsLWp3dDt2PTEiLCJraWQiOiI4ZTYyNjQzNjc0ZDEwMGI4YTUyNjQ4NDc1YzIzYjhiYjg2YTFmMTE5ZTg5OTcwY2M2M2NkY2NjMDkyMGRmMmVhMmQ4Y2I3ZDZiNTRjNGE5ZTI4NGIyY2NmNWFjYjIyZWEzN2VmZWZjYjZlNDI3NGM0YjA0ZWQ3MjVlNDQ1NGNhMSIsInR5cCI6IkpXVCJ9.eyJhZGEiOnsidXNlcm5hbWUiOiJzb21lX3VzZXJuYW1lIn0sImV4cCI6MTUxODUxMzkwOSwiaWF0IjoxNTE4NTEzMzA5LCJpc3MiOiJ2aXJnaWwtMTM0OTdjM2M3OTVlM2E2YzMyNjQzYjBhNzY5NTdiNzBkMjMzMjA4MDc2MjQ2OWNkYmVjODlkNjM5MGU2ZGJkNyIsInN1YiI6ImlkZW50aXR5LXNvbWVfaWRlbnRpdHkifQ.MFEwDQYJYIZIAWUDBAIDBQAEQDMCvFjAaCBE5oLbFY9CAC-HPiPkBVr3qSZChbwRaRZADb6RZuljSpEvzoiqNGTxgUgqUiCefH-Tkb89tvjSdAY"
	stc22PublicKey = "MCowBQYDK2VwAyEAY9J8et78SmmE4GOm7f8fdew/eQB5YxKkwZeO3Z1IBt4="
	stc22KeyID     = "8e62643674d100b8a52648475c23b8bb86a1f119e89970cc63cdccc0920df2ea2d8cb7d6b54c4a9e284b2ccf5acb22ea37efefcb6e4274c4b04ed725e4454ca1"
	stc22AppID     = "13497c3c795e3a6c32643b0a76957b70d2332080762469cdbec89d6390e6dbd7" // STC-23.app_id; the token's issuer

	// STC-23: app credentials (the private half of STC-22's key).
	stc23PrivateKey = "MC4CAQAwBQYDK2VwBCIEIMxSaUI1QizmMvSPyTc26YsK21clGXKEztNKZ7NtrATP"

	// STC-28: a JWT with sorted keys (Go/Swift SDK order).
	stc28JWT = "eyJhbGciOiJWRURTNTEyIiwiY3R5IjoidmlyZ2lsLWp3dDt2PTEiLCJraWQiOiJlMGU0ZTYxZDYzZDQyN2QxODVkNTNjY2NiYTQ3YjY2NTdhMjA2OWYwMTdlNGVkNWQwODgwMjg0NmFhMWFiYTE4YzM1ZTQwYjNiZjRmZmZiZmNjN2Q1NTQ4YzMyODFmY2YyNGQzZDRkMjFiZjg1ZTU1YmI5NGE4ZDA1ODI5ZGJjNiIsInR5cCI6IkpXVCJ9.eyJhZGEiOnsidXNlcm5hbWUiOiJzb21lX3VzZXJuYW1lIn0sImV4cCI6MTUxODUxMzQzMSwiaWF0IjoxNTE4NTEzMzExLCJpc3MiOiJ2aXJnaWwtMDA4ODlhNjAyNmVkOTM1Y2VlY2NkNjk1NWQ4Nzc4ZmMwNWVlMzUzODAzOGM2ZmVlZTBhZTdlYjFjMGQ3ZGI0YiIsInN1YiI6ImlkZW50aXR5LXNvbWVfaWRlbnRpdHkifQ.MFEwDQYJYIZIAWUDBAIDBQAEQJact35eWOqNMu7JfLrk5vGYDK88q41-78jnrVtmOnG5hKolb3wkp4LfI-Uqej6_bDo_wXN3TRg7oCl_chCVjA4"

	// STC-29: a JWT written by virgil-sdk for JavaScript (header and
	// payload keys in its order).
	stc29JWT = "eyJhbGciOiJWRURTNTEyIiwia2lkIjoiZTc5NTNiODc0ODQ3YTM2NGJmZGQyNDdhYzFiMjc4YTYiLCJ0eXAiOiJKV1QiLCJjdHkiOiJ2aXJnaWwtand0O3Y9MSJ9.eyJpc3MiOiJ2aXJnaWwtODg2MzBhZWVmYjFhNDllNWEwYzQ5MWE5NGVkMzZmMzc1MGEwNWVhMWIwYTNkNDczMTlhYjgwNzg2ZmUxOWIxNyIsInN1YiI6ImlkZW50aXR5LXNvbWVfaWRlbnRpdHkiLCJpYXQiOjE1NTAwNzI4NTAsImV4cCI6MTcwNzc1Mjg1MCwiYWRhIjp7InVzZXJuYW1lIjoic29tZV91c2VybmFtZSJ9fQ.MFEwDQYJYIZIAWUDBAIDBQAEQE_mAKrJgiCyyNpIcl6hXm4e8Tpg17q3OhDAvoEpmMDelrbZnAw-Y2kI8TtzBDSHcYVFBEIGCpzRjn-_D0WfpgQ"

	// A token e3kit-node 2.5.1 sent (virgil-sdk 6.2.0's JwtGenerator,
	// shared/captures/virgil-services/e3kit-full.jsonl).
	capturedJWT = "eyJhbGciOiJWRURTNTEyIiwia2lkIjoiNTJjNmY4MWFiYjFiNTEwYjQxMGFlNmVmNDliOWE1YmYiLCJ0eXAiOiJKV1QiLCJjdHkiOiJ2aXJnaWwtand0O3Y9MSJ9.eyJpc3MiOiJ2aXJnaWwtYmZkZjRiMmEzOWZmM2Y0YzhlNTU3ZTI2ZTQ2M2JhMWUiLCJzdWIiOiJpZGVudGl0eS1hbGljZS0xMzFiMGViZSIsImlhdCI6MTc5NjQxMzAyOCwiZXhwIjoxNzk2NDE0MjI4fQ.MFEwDQYJYIZIAWUDBAIDBQAEQDpjXhEsFf1I_4deFDdbPObobEGbZzQ3ipalWY4z_lpy7L-v9e2il5UhfGG94kJBvVzF_YgYO9_SHysPW7s27AQ"
)

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustPub(t testing.TB, b64 string) *PublicKey {
	t.Helper()
	k, err := ParsePublicKey(mustB64(t, b64))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPriv(t testing.TB, b64 string) *PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(mustB64(t, b64))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixedNow(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func segments(t *testing.T, tok string) (h, p string) {
	t.Helper()
	s := strings.Split(tok, ".")
	if len(s) != 3 {
		t.Fatalf("token has %d segments", len(s))
	}
	hb, err := base64.RawURLEncoding.DecodeString(s[0])
	if err != nil {
		t.Fatal(err)
	}
	pb, err := base64.RawURLEncoding.DecodeString(s[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(hb), string(pb)
}

func TestJWTSTC22(t *testing.T) {
	v := &JWTVerifier{AppID: stc22AppID, AppKeyID: stc22KeyID, AppPublicKey: mustPub(t, stc22PublicKey), Now: fixedNow(1518513309 + 1)}
	c, err := v.Verify(stc22JWT)
	if err != nil {
		t.Fatalf("STC-22 rejected: %v", err)
	}
	if c.Identity != "some_identity" || c.AppID != stc22AppID || c.IssuedAt.Unix() != 1518513309 || c.ExpiresAt.Unix() != 1518513909 {
		t.Errorf("STC-22 claims: %+v", c)
	}
	if c.AdditionalData["username"] != "some_username" {
		t.Errorf("STC-22 ada: %v", c.AdditionalData)
	}
	// Now is long past 2018: the same token is expired, and says so.
	v.Now = nil
	if _, err := v.Verify(stc22JWT); !errors.Is(err, ErrTokenExpired) || !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("STC-22 today: got %v, want ErrTokenExpired (matching ErrTokenInvalid)", err)
	}
}

func TestJWTSTC23KeyPairsWithSTC22(t *testing.T) {
	priv := mustPriv(t, stc23PrivateKey)
	if !priv.Public().Equal(mustPub(t, stc22PublicKey)) {
		t.Fatal("STC-23 private key is not the pair of STC-22's public key")
	}
	g := &JWTGenerator{AppID: stc22AppID, AppKey: priv, AppKeyID: stc22KeyID, TTL: time.Hour}
	tok, err := g.Generate("some_identity")
	if err != nil {
		t.Fatal(err)
	}
	v := &JWTVerifier{AppID: stc22AppID, AppKeyID: stc22KeyID, AppPublicKey: mustPub(t, stc22PublicKey)}
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity != "some_identity" || c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
		t.Errorf("claims %+v", c)
	}
}

// TestJWTJSFormat: the generator writes header and payload byte for byte as
// virgil-sdk for JavaScript does (STC-29 and a token e3kit-node sent).
func TestJWTJSFormat(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tok, appID, kid, identity string
		iat, exp                        int64
		ada                             map[string]any
	}{
		{"STC-29", stc29JWT, "88630aeefb1a49e5a0c491a94ed36f3750a05ea1b0a3d47319ab80786fe19b17", "e7953b874847a364bfdd247ac1b278a6", "some_identity", 1550072850, 1707752850, map[string]any{"username": "some_username"}},
		{"e3kit-node capture", capturedJWT, "bfdf4b2a39ff3f4c8e557e26e463ba1e", "52c6f81abb1b510b410ae6ef49b9a5bf", "alice-131b0ebe", 1796413028, 1796414228, nil},
	} {
		g := &JWTGenerator{AppID: tc.appID, AppKey: key, AppKeyID: tc.kid, TTL: time.Duration(tc.exp-tc.iat) * time.Second, Now: fixedNow(tc.iat)}
		got, err := g.GenerateWithData(tc.identity, tc.ada)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(tc.tok, ".")
		if g := strings.Split(got, "."); g[0] != want[0] || g[1] != want[1] {
			gh, gp := segments(t, got)
			wh, wp := segments(t, tc.tok)
			t.Errorf("%s: segments differ\n got %s.%s\nwant %s.%s", tc.name, gh, gp, wh, wp)
		}
		c, err := ParseJWTClaims(tc.tok)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Identity != tc.identity || c.AppID != tc.appID || c.IssuedAt.Unix() != tc.iat || c.ExpiresAt.Unix() != tc.exp {
			t.Errorf("%s: claims %+v", tc.name, c)
		}
	}
}

func TestJWTSTC28Claims(t *testing.T) {
	c, err := ParseJWTClaims(stc28JWT)
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity != "some_identity" || c.AppID != "00889a6026ed935ceeccd6955d8778fc05ee3538038c6feee0ae7eb1c0d7db4b" ||
		c.IssuedAt.Unix() != 1518513311 || c.ExpiresAt.Unix() != 1518513431 || c.AdditionalData["username"] != "some_username" {
		t.Errorf("STC-28 claims %+v", c)
	}
}

func TestJWTGenerateDefaults(t *testing.T) {
	key, _ := GenerateKey()
	now := time.Unix(1700000000, 999_000_000)
	g := &JWTGenerator{AppID: "app", AppKey: key, AppKeyID: "kid", Now: func() time.Time { return now }}
	tok, err := g.Generate("bob")
	if err != nil {
		t.Fatal(err)
	}
	h, p := segments(t, tok)
	if h != `{"alg":"VEDS512","kid":"kid","typ":"JWT","cty":"virgil-jwt;v=1"}` {
		t.Errorf("header %s", h)
	}
	if p != `{"iss":"virgil-app","sub":"identity-bob","iat":1700000000,"exp":1700001200}` {
		t.Errorf("payload %s (want a 20-minute TTL, seconds rounded down, no ada)", p)
	}
	// No HTML escaping, as JSON.stringify.
	tok, err = g.Generate(`a<b>&"c\`)
	if err != nil {
		t.Fatal(err)
	}
	if _, p := segments(t, tok); !strings.Contains(p, `"sub":"identity-a<b>&\"c\\"`) {
		t.Errorf("payload %s", p)
	}
	c, err := ParseJWTClaims(tok)
	if err != nil || c.Identity != `a<b>&"c\` {
		t.Errorf("round trip: %v %+v", err, c)
	}
}

func TestJWTGenerateRejects(t *testing.T) {
	key, _ := GenerateKey()
	x, _ := GenerateKeyOfType(Curve25519)
	good := JWTGenerator{AppID: "app", AppKey: key, AppKeyID: "kid"}
	for _, id := range []string{"", "café", "Юзер", "a\nb", "tab\there", "\x7f"} {
		if _, err := good.Generate(id); !errors.Is(err, ErrInvalidIdentity) {
			t.Errorf("identity %q: got %v, want ErrInvalidIdentity", id, err)
		}
	}
	for name, g := range map[string]JWTGenerator{
		"no key":        {AppID: "app", AppKeyID: "kid"},
		"curve25519":    {AppID: "app", AppKey: x, AppKeyID: "kid"},
		"no app id":     {AppKey: key, AppKeyID: "kid"},
		"no key id":     {AppID: "app", AppKey: key},
		"non-ascii app": {AppID: "äpp", AppKey: key, AppKeyID: "kid"},
		"short ttl":     {AppID: "app", AppKey: key, AppKeyID: "kid", TTL: time.Millisecond},
		"negative ttl":  {AppID: "app", AppKey: key, AppKeyID: "kid", TTL: -time.Hour},
	} {
		if tok, err := g.Generate("bob"); err == nil {
			t.Errorf("%s: generated %q", name, tok)
		}
	}
}

// jwtFixture is an app whose tokens a verifier accepts at t0.
type jwtFixture struct {
	gen *JWTGenerator
	ver *JWTVerifier
	t0  int64
}

func newJWTFixture(t testing.TB) *jwtFixture {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1800000000
	return &jwtFixture{
		gen: &JWTGenerator{AppID: "a1b2", AppKey: key, AppKeyID: "k1", TTL: 10 * time.Minute, Now: fixedNow(t0)},
		ver: &JWTVerifier{AppID: "a1b2", AppKeyID: "k1", AppPublicKey: key.Public(), Leeway: 30 * time.Second, Now: fixedNow(t0 + 60)},
		t0:  t0,
	}
}

func TestJWTVerifierTimes(t *testing.T) {
	f := newJWTFixture(t)
	tok, err := f.gen.Generate("alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at      int64
		wantErr error
	}{
		{f.t0 - 30, nil},                 // client clock ahead by the leeway
		{f.t0 - 31, ErrTokenInvalid},     // issued in the future
		{f.t0 + 600, nil},                // at exp
		{f.t0 + 630, nil},                // within the leeway
		{f.t0 + 631, ErrTokenExpired},    // truly expired
		{f.t0 + 100000, ErrTokenExpired}, //
		{f.t0 - 100000, ErrTokenInvalid}, //
	} {
		f.ver.Now = fixedNow(tc.at)
		_, err := f.ver.Verify(tok)
		if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("at t0%+d: got %v, want %v", tc.at-f.t0, err, tc.wantErr)
		}
		if errors.Is(tc.wantErr, ErrTokenInvalid) && tc.wantErr != ErrTokenExpired && errors.Is(err, ErrTokenExpired) {
			t.Errorf("at t0%+d: a future token reported as expired", tc.at-f.t0)
		}
	}
}

// forge re-signs header and payload JSON with key.
func forge(t *testing.T, header, payload string, key *PrivateKey) string {
	t.Helper()
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := Sign([]byte(s), key)
	if err != nil {
		t.Fatal(err)
	}
	return s + "." + enc.EncodeToString(sig)
}

func TestJWTVerifierRejects(t *testing.T) {
	f := newJWTFixture(t)
	good, err := f.gen.Generate("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ver.Verify(good); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	segs := strings.Split(good, ".")
	hdr, pay := segments(t, good)
	flipped := []byte(segs[2])
	// Past the 19-byte DER prefix: a bit of the Ed25519 signature itself.
	if flipped[60] == 'A' {
		flipped[60] = 'B'
	} else {
		flipped[60] = 'A'
	}
	expiredForged := forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1,"exp":2}`, other)

	cases := []struct {
		name  string
		tok   string
		want  error
		parse bool // a *ParseError too
	}{
		{"other app key signed it", forge(t, hdr, pay, other), ErrAuthFailed, false},
		{"signature bit flipped", segs[0] + "." + segs[1] + "." + string(flipped), ErrTokenInvalid, false},
		{"payload changed", segs[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(pay, "alice", "alicf", 1))) + "." + segs[2], ErrAuthFailed, false},
		{"expired and forged", expiredForged, ErrTokenInvalid, false},
		{"wrong kid", forge(t, strings.Replace(hdr, `"kid":"k1"`, `"kid":"k2"`, 1), pay, f.gen.AppKey), ErrTokenUnknownApp, false},
		{"wrong app", forge(t, hdr, strings.Replace(pay, "virgil-a1b2", "virgil-ffff", 1), f.gen.AppKey), ErrTokenUnknownApp, false},
		{"alg HS256", forge(t, strings.Replace(hdr, "VEDS512", "HS256", 1), pay, f.gen.AppKey), ErrTokenInvalid, false},
		{"typ", forge(t, strings.Replace(hdr, `"typ":"JWT"`, `"typ":"JWS"`, 1), pay, f.gen.AppKey), ErrTokenInvalid, false},
		{"cty", forge(t, strings.Replace(hdr, "v=1", "v=2", 1), pay, f.gen.AppKey), ErrTokenInvalid, false},
		{"exp before iat", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1800000080,"exp":1800000070}`, f.gen.AppKey), ErrTokenInvalid, false},
		{"two segments", segs[0] + "." + segs[1], ErrTokenInvalid, true},
		{"four segments", good + ".x", ErrTokenInvalid, true},
		{"empty", "", ErrTokenInvalid, true},
		{"padded", segs[0] + "=." + segs[1] + "." + segs[2], ErrTokenInvalid, true},
		{"std base64", strings.ReplaceAll(strings.ReplaceAll(good, "-", "+"), "_", "/") + "+/", ErrTokenInvalid, true},
		{"header not JSON", forge(t, `alg=VEDS512`, pay, f.gen.AppKey), ErrTokenInvalid, true},
		{"header array", forge(t, `["VEDS512"]`, pay, f.gen.AppKey), ErrTokenInvalid, true},
		{"header number kid", forge(t, `{"alg":"VEDS512","kid":1,"typ":"JWT","cty":"virgil-jwt;v=1"}`, pay, f.gen.AppKey), ErrTokenInvalid, true},
		{"payload null", forge(t, hdr, `null`, f.gen.AppKey), ErrTokenInvalid, true},
		{"no iss", forge(t, hdr, `{"sub":"identity-alice","iat":1800000000,"exp":1800000600}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"iss without prefix", forge(t, hdr, `{"iss":"a1b2","sub":"identity-alice","iat":1800000000,"exp":1800000600}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"sub without prefix", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"alice","iat":1800000000,"exp":1800000600}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"empty identity", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-","iat":1800000000,"exp":1800000600}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"utf-8 identity", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-Юзер","iat":1800000000,"exp":1800000600}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"latin-1 identity", forge(t, hdr, "{\"iss\":\"virgil-a1b2\",\"sub\":\"identity-caf\xe9\",\"iat\":1800000000,\"exp\":1800000600}", f.gen.AppKey), ErrTokenInvalid, true},
		{"no exp", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1800000000}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"float exp", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1800000000,"exp":1800000600.5}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"string exp", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1800000000,"exp":"1800000600"}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"ada array", forge(t, hdr, `{"iss":"virgil-a1b2","sub":"identity-alice","iat":1800000000,"exp":1800000600,"ada":[1]}`, f.gen.AppKey), ErrTokenInvalid, true},
		{"trailing garbage", forge(t, hdr, pay+`x`, f.gen.AppKey), ErrTokenInvalid, true},
		{"too long", good + strings.Repeat("A", MaxJWTLength), ErrTokenInvalid, true},
	}
	for _, tc := range cases {
		_, err := f.ver.Verify(tc.tok)
		if !errors.Is(err, tc.want) || !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: got %v, want %v (and ErrTokenInvalid)", tc.name, err, tc.want)
			continue
		}
		if errors.Is(err, ErrTokenExpired) {
			t.Errorf("%s: reported as expired: %v", tc.name, err)
		}
		var pe *ParseError
		if tc.parse != errors.As(err, &pe) {
			t.Errorf("%s: *ParseError = %v, want %v (%v)", tc.name, !tc.parse, tc.parse, err)
		}
		if tc.parse {
			if _, perr := ParseJWTClaims(tc.tok); !errors.Is(perr, ErrMalformed) {
				t.Errorf("%s: ParseJWTClaims: %v", tc.name, perr)
			}
		}
		if len(tc.tok) > 20 && strings.Contains(err.Error(), tc.tok[:20]) {
			t.Errorf("%s: error echoes the token: %v", tc.name, err)
		}
	}
	// Nothing rejected was an identity problem of the generator.
	if _, err := (&JWTVerifier{AppID: "a1b2", AppKeyID: "k1"}).Verify(good); err == nil {
		t.Error("a verifier without a public key accepted a token")
	}
}

func FuzzParseJWTClaims(f *testing.F) {
	key, _ := GenerateKey()
	g := &JWTGenerator{AppID: "app", AppKey: key, AppKeyID: "kid"}
	tok, _ := g.GenerateWithData("alice", map[string]any{"n": 1})
	for _, s := range []string{stc22JWT, stc28JWT, stc29JWT, capturedJWT, tok, "a.b.c", "..", ""} {
		f.Add(s)
	}
	v := &JWTVerifier{AppID: "app", AppKeyID: "kid", AppPublicKey: key.Public()}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseJWTClaims(s)
		if (c == nil) == (err == nil) {
			t.Fatalf("claims %v and error %v", c, err)
		}
		if err != nil {
			if !errors.Is(err, ErrTokenInvalid) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error %v does not match ErrTokenInvalid and ErrMalformed", err)
			}
			return
		}
		if checkIdentity(c.Identity) != nil || c.AppID == "" {
			t.Fatalf("accepted claims %+v", c)
		}
		if _, err := v.Verify(s); err != nil && !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("verify error %v does not match ErrTokenInvalid", err)
		}
	})
}

func BenchmarkJWT(b *testing.B) {
	key, _ := GenerateKey()
	g := &JWTGenerator{AppID: "bfdf4b2a39ff3f4c8e557e26e463ba1e", AppKey: key, AppKeyID: "52c6f81abb1b510b410ae6ef49b9a5bf"}
	v := &JWTVerifier{AppID: g.AppID, AppKeyID: g.AppKeyID, AppPublicKey: key.Public()}
	tok, _ := g.Generate("alice-131b0ebe")
	h, p, _ := strings.Cut(tok, ".")
	p, _, _ = strings.Cut(p, ".")
	signed := []byte(h + "." + p)
	sig, _ := Sign(signed, key)
	b.Run("Generate", func(b *testing.B) {
		for b.Loop() {
			if _, err := g.Generate("alice-131b0ebe"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Sign/floor", func(b *testing.B) { // the signature alone
		for b.Loop() {
			Sign(signed, key)
		}
	})
	b.Run("Verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("VerifySignature/floor", func(b *testing.B) {
		for b.Loop() {
			if err := Verify(signed, sig, key.Public()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
