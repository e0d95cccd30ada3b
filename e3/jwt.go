package e3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Virgil JWT (access token) constants, as virgil-sdk writes and checks them.
const (
	jwtAlgorithm   = "VEDS512"
	jwtType        = "JWT"
	jwtContentType = "virgil-jwt;v=1"
	jwtIssuerPfx   = "virgil-"
	jwtSubjectPfx  = "identity-"

	// DefaultJWTTTL is the lifetime of a token when JWTGenerator.TTL is
	// zero: 20 minutes, the default of virgil-sdk's JavaScript JwtGenerator
	// (and so of the tokens e3kit apps usually issue).
	DefaultJWTTTL = 20 * time.Minute

	// MaxJWTLength bounds the tokens ParseJWTClaims and JWTVerifier.Verify
	// read. A Virgil JWT is about 500 bytes plus its additional data.
	MaxJWTLength = 16 << 10
)

// Errors of the access-token functions. Every rejection by
// [JWTVerifier.Verify] and every failure of [ParseJWTClaims] matches
// ErrTokenInvalid; ErrTokenExpired and ErrTokenUnknownApp further say why,
// and a structurally broken token is also a [*ParseError] (matching
// ErrMalformed).
var (
	// ErrTokenInvalid reports a token that is malformed, has the wrong
	// header values, has a bad signature, or was issued in the future.
	ErrTokenInvalid = errors.New("e3: invalid access token")

	// ErrTokenExpired reports a correctly signed token whose expiry time
	// (plus the verifier's leeway) has passed. It matches ErrTokenInvalid.
	// This is the only case a Virgil-compatible server answers with error
	// code 20304, which makes clients fetch a new token and retry.
	ErrTokenExpired error = &chainedError{"e3: access token expired", ErrTokenInvalid}

	// ErrTokenUnknownApp reports a token made for another application: its
	// key id ("kid") or issuer ("iss", virgil-<app id>) is not the
	// verifier's. It matches ErrTokenInvalid.
	ErrTokenUnknownApp error = &chainedError{"e3: access token is for another application or app key", ErrTokenInvalid}

	// ErrInvalidIdentity reports an identity that is empty or not printable
	// ASCII (bytes 0x20 to 0x7E). See [JWTGenerator] for why Virgil
	// identities must be ASCII.
	ErrInvalidIdentity = errors.New("e3: identity must be non-empty printable ASCII")
)

// reasonError is an error whose text is a reason and which matches a
// sentinel: "e3: malformed access token: <reason>" stays readable while
// errors.Is(err, ErrTokenInvalid) holds.
type reasonError struct {
	reason string
	kind   error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.kind }

func tokenMalformed(reason string) error {
	return &ParseError{What: "access token", Err: &reasonError{reason, ErrTokenInvalid}}
}

// checkIdentity returns nil if s is a non-empty printable-ASCII string.
func checkIdentity(s string) error {
	if s == "" {
		return ErrInvalidIdentity
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return ErrInvalidIdentity
		}
	}
	return nil
}

// JWTGenerator issues Virgil access tokens ("Virgil JWTs") for an
// application, as virgil-sdk's JwtGenerator does: what an app backend hands
// its users (e3kit's getToken callback, the Go Client's TokenProvider). The
// token is
//
//	base64url({"alg":"VEDS512","kid":<AppKeyID>,"typ":"JWT","cty":"virgil-jwt;v=1"})
//	. base64url({"iss":"virgil-<AppID>","sub":"identity-<identity>","iat":<s>,"exp":<s>[,"ada":{...}]})
//	. base64url(Sign(<the first two segments>, AppKey))
//
// with unpadded base64url segments, the header and payload keys in the
// order virgil-sdk's JavaScript generator writes them, and the signature
// the 83-byte [Sign] output over the ASCII text of the first two segments.
//
// Identities must be printable ASCII. virgil-sdk for JavaScript (and so
// e3kit in browsers and Node) turns JWT segments and card snapshots into
// base64 through Latin-1 "binary strings": identities with characters
// outside Latin-1 make its generator throw, Latin-1 characters such as "é"
// travel as single Latin-1 bytes instead of UTF-8, a UTF-8 token made here
// would be decoded into different characters there, and a card's id and
// self-signature would cover different bytes than its transmitted snapshot.
// Only ASCII means the same bytes on every side. Generate rejects anything
// else with [ErrInvalidIdentity].
//
// A JWTGenerator must not be modified while in use; Generate is safe for
// concurrent use.
type JWTGenerator struct {
	// AppID is the application id (hex in Virgil's dashboard); the token's
	// issuer is "virgil-" + AppID.
	AppID string
	// AppKey is the application's Ed25519 private key (the "App Key").
	AppKey *PrivateKey
	// AppKeyID identifies AppKey; it is the token header's "kid".
	AppKeyID string
	// TTL is the token lifetime; 0 means DefaultJWTTTL (20 minutes).
	TTL time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
	Cty string `json:"cty"`
}

type jwtPayload struct {
	Iss string         `json:"iss"`
	Sub string         `json:"sub"`
	Iat int64          `json:"iat"`
	Exp int64          `json:"exp"`
	Ada map[string]any `json:"ada,omitempty"`
}

// Generate returns a signed token for identity.
func (g *JWTGenerator) Generate(identity string) (string, error) {
	return g.GenerateWithData(identity, nil)
}

// TokenProvider returns a TokenProvider of tokens for identity, for a
// participant that holds the App Key itself (a server-side bot, a backend
// job): e3.Config{TokenProvider: gen.TokenProvider("care-bot")}. Each call
// signs a fresh token with Generate (the Client keeps each token until
// shortly before it expires). Nothing is checked when it is made: an
// identity or generator that Generate refuses makes every call fail with
// Generate's error (ErrInvalidIdentity for the identity), so New, which asks
// for a token first, reports it. A context already done fails the call
// with its error.
func (g *JWTGenerator) TokenProvider(identity string) TokenProvider {
	return TokenProviderFunc(func(ctx context.Context) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return g.Generate(identity)
	})
}

// GenerateWithData returns a signed token for identity that also carries
// data as the "ada" (additional data) claim; a nil or empty map leaves the
// claim out, as virgil-sdk does. Map keys are written in sorted order.
func (g *JWTGenerator) GenerateWithData(identity string, data map[string]any) (string, error) {
	if err := checkIdentity(identity); err != nil {
		return "", fmt.Errorf("e3: cannot issue a token for %q: %w", identity, err)
	}
	if g.AppKey == nil || !g.AppKey.valid() {
		return "", errors.New("e3: JWTGenerator.AppKey is not set")
	}
	if checkIdentity(g.AppID) != nil {
		return "", errors.New("e3: JWTGenerator.AppID must be non-empty printable ASCII")
	}
	if checkIdentity(g.AppKeyID) != nil {
		return "", errors.New("e3: JWTGenerator.AppKeyID must be non-empty printable ASCII")
	}
	ttl := g.TTL
	if ttl == 0 {
		ttl = DefaultJWTTTL
	}
	if ttl < time.Second {
		return "", fmt.Errorf("e3: JWTGenerator.TTL %v is shorter than one second", ttl)
	}
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	t := now()
	// virgil-sdk: iat = floor(now), exp = floor(now + ttl), both in seconds.
	h, err := jsonCompact(jwtHeader{Alg: jwtAlgorithm, Kid: g.AppKeyID, Typ: jwtType, Cty: jwtContentType})
	if err != nil {
		return "", err
	}
	p, err := jsonCompact(jwtPayload{
		Iss: jwtIssuerPfx + g.AppID,
		Sub: jwtSubjectPfx + identity,
		Iat: t.Unix(),
		Exp: t.Add(ttl).Unix(),
		Ada: data,
	})
	if err != nil {
		return "", fmt.Errorf("e3: JWT additional data: %w", err)
	}
	enc := base64.RawURLEncoding
	var b strings.Builder
	b.Grow(enc.EncodedLen(len(h)) + enc.EncodedLen(len(p)) + 2 + enc.EncodedLen(83))
	b.WriteString(enc.EncodeToString(h))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(p))
	sig, err := Sign([]byte(b.String()), g.AppKey)
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sig))
	return b.String(), nil
}

// jsonCompact marshals v as JSON.stringify would for the values used here:
// no HTML escaping, no trailing newline.
func jsonCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// JWTClaims is what a Virgil access token says.
type JWTClaims struct {
	// AppID is the issuer without its "virgil-" prefix.
	AppID string
	// Identity is the subject without its "identity-" prefix.
	Identity string
	// IssuedAt and ExpiresAt are the "iat" and "exp" claims (whole seconds).
	IssuedAt, ExpiresAt time.Time
	// AdditionalData is the "ada" claim, nil when absent.
	AdditionalData map[string]any
}

// parsedJWT is a token split and decoded, keeping the signed text exactly as
// received.
type parsedJWT struct {
	header    jwtHeader
	claims    JWTClaims
	signed    string // segment0 + "." + segment1, exactly as received
	signature []byte
}

// ParseJWTClaims decodes a Virgil access token without checking its
// signature or its times: what a client does with its own token to learn its
// identity (virgil-sdk's Jwt.fromString). The token must have three
// unpadded base64url segments, a JSON object header with string fields, and
// a JSON object payload with an issuer starting "virgil-", a subject
// starting "identity-" followed by a printable-ASCII identity, and integer
// "iat" and "exp". Never trust the result on a server: use [JWTVerifier].
//
// Every error matches ErrTokenInvalid; structural problems are also a
// [*ParseError]. Errors never contain the token.
func ParseJWTClaims(token string) (*JWTClaims, error) {
	p, err := parseJWT(token)
	if err != nil {
		return nil, err
	}
	return &p.claims, nil
}

func parseJWT(token string) (*parsedJWT, error) {
	if len(token) > MaxJWTLength {
		return nil, tokenMalformed("longer than " + strconv.Itoa(MaxJWTLength) + " bytes")
	}
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return nil, tokenMalformed("not three dot-separated segments")
	}
	enc := base64.RawURLEncoding.Strict()
	var raw [3][]byte
	for i, s := range segs {
		if s == "" {
			return nil, tokenMalformed("empty segment")
		}
		b, err := enc.DecodeString(s)
		if err != nil {
			return nil, tokenMalformed("segment " + strconv.Itoa(i+1) + " is not unpadded base64url")
		}
		raw[i] = b
	}
	p := &parsedJWT{signed: segs[0] + "." + segs[1], signature: raw[2]}
	if !isJSONObject(raw[0]) || json.Unmarshal(raw[0], &p.header) != nil {
		return nil, tokenMalformed("header is not a JSON object with string fields")
	}
	var body struct {
		Iss *string         `json:"iss"`
		Sub *string         `json:"sub"`
		Iat *int64          `json:"iat"`
		Exp *int64          `json:"exp"`
		Ada json.RawMessage `json:"ada"`
	}
	if !isJSONObject(raw[1]) || json.Unmarshal(raw[1], &body) != nil {
		return nil, tokenMalformed("payload is not a JSON object with the Virgil claim types")
	}
	switch {
	case body.Iss == nil || !strings.HasPrefix(*body.Iss, jwtIssuerPfx) || len(*body.Iss) == len(jwtIssuerPfx):
		return nil, tokenMalformed(`issuer is not "virgil-<app id>"`)
	case body.Sub == nil || !strings.HasPrefix(*body.Sub, jwtSubjectPfx):
		return nil, tokenMalformed(`subject is not "identity-<identity>"`)
	case body.Iat == nil || body.Exp == nil:
		return nil, tokenMalformed(`"iat" or "exp" is missing`)
	}
	identity := strings.TrimPrefix(*body.Sub, jwtSubjectPfx)
	if checkIdentity(identity) != nil {
		return nil, tokenMalformed("identity is empty or not printable ASCII")
	}
	c := &p.claims
	c.AppID = strings.TrimPrefix(*body.Iss, jwtIssuerPfx)
	c.Identity = identity
	c.IssuedAt = time.Unix(*body.Iat, 0)
	c.ExpiresAt = time.Unix(*body.Exp, 0)
	if len(body.Ada) > 0 && string(body.Ada) != "null" {
		if !isJSONObject(body.Ada) || json.Unmarshal(body.Ada, &c.AdditionalData) != nil {
			return nil, tokenMalformed(`"ada" is not a JSON object`)
		}
	}
	return p, nil
}

// isJSONObject reports whether b starts (after white space) with '{'.
func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// JWTVerifier checks Virgil access tokens on a server, as Virgil's services
// and virgil-sdk's JwtVerifier do. A token is accepted only if it parses
// (see [ParseJWTClaims]), its header says alg "VEDS512", typ "JWT" and cty
// "virgil-jwt;v=1", its kid equals AppKeyID, its signature over the first
// two segments exactly as received verifies with AppPublicKey, its issuer is
// "virgil-" + AppID, it has not expired and was not issued in the future.
// Both times are compared with a tolerance of Leeway for clock differences.
//
// A JWTVerifier must not be modified while in use; Verify is safe for
// concurrent use.
type JWTVerifier struct {
	// AppID is the application id the token's issuer must name.
	AppID string
	// AppKeyID is the app key id the token's header must name.
	AppKeyID string
	// AppPublicKey is the public half of the app key that signs tokens.
	AppPublicKey *PublicKey
	// Leeway is the clock-skew tolerance for "exp" and "iat" (0 means
	// none; negative values count as 0). Servers should allow some: a
	// client keeps using a token until shortly before its own clock says it
	// expires.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Verify checks token and returns its claims. Errors match ErrTokenInvalid,
// and ErrTokenExpired or ErrTokenUnknownApp when that is the reason; a
// signature failure also matches ErrAuthFailed. The signature is checked
// before the times, so an expired forgery is reported as invalid, not as
// expired.
func (v *JWTVerifier) Verify(token string) (*JWTClaims, error) {
	if v.AppPublicKey == nil {
		return nil, errors.New("e3: JWTVerifier.AppPublicKey is not set")
	}
	p, err := parseJWT(token)
	if err != nil {
		return nil, err
	}
	h := p.header
	if h.Alg != jwtAlgorithm || h.Typ != jwtType || h.Cty != jwtContentType {
		return nil, fmt.Errorf("%w: header is not alg %s, typ %s, cty %s", ErrTokenInvalid, jwtAlgorithm, jwtType, jwtContentType)
	}
	if h.Kid != v.AppKeyID {
		return nil, fmt.Errorf("%w: unknown app key id", ErrTokenUnknownApp)
	}
	if err := Verify([]byte(p.signed), p.signature, v.AppPublicKey); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrTokenInvalid, err)
	}
	if p.claims.AppID != v.AppID {
		return nil, fmt.Errorf("%w: unknown app id", ErrTokenUnknownApp)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	leeway := max(v.Leeway, 0)
	if t.After(p.claims.ExpiresAt.Add(leeway)) {
		return nil, ErrTokenExpired
	}
	if p.claims.IssuedAt.After(t.Add(leeway)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrTokenInvalid)
	}
	if p.claims.ExpiresAt.Before(p.claims.IssuedAt) {
		return nil, fmt.Errorf("%w: expires before it was issued", ErrTokenInvalid)
	}
	return &p.claims, nil
}
