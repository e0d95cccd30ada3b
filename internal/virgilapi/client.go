// Package virgilapi is the HTTP protocol layer for Virgil's Cards v5,
// Keyknox v1/v2 and Pythia BrainKey services (and e3test, which speaks the
// same API): one transport with Virgil's authentication and error
// conventions, and one method per endpoint. It knows the wire formats, not
// the cryptography: cards come back as raw models for package e3 to parse
// and verify, Keyknox values as opaque bytes, and BrainKey as the deblinded
// key material (package e3 derives the key pair from it).
//
// Conventions, as virgil-sdk and e3kit-js 2.5.1 use them
// (shared/specs/virgil-services.md §3):
//
//   - every request carries "Authorization: Virgil <jwt>" and
//     "Virgil-Agent: e3go;go;<GOOS>;<version>"; bodies are JSON;
//   - any 2xx is success; an error is a 4xx/5xx whose body may be
//     {"code": <int>, "message": "<text>"} and becomes an [*Error];
//   - a 401 with code 20304 (token expired) is retried once with a token
//     fetched anew from the TokenProvider (e3kit only does this for cards;
//     here every service does it: the first request was rejected before it
//     did anything);
//   - BrainKey code 60007 (throttling) is retried once after
//     Config.ThrottleRetryDelay (2 s, e3kit's delay);
//   - nothing else is retried, 5xx included (a publish or push may have
//     been applied);
//   - response bodies are read up to Config.MaxResponseBytes.
//
// Tokens are cached: the provider is called for the first request, when the
// cached token is within 5 s of its expiry (virgil-sdk's
// CachingJwtProvider rule), and after a 20304 answer; one call at a time.
package virgilapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultBaseURL is Virgil's cloud.
const DefaultBaseURL = "https://api.virgilsecurity.com"

// Virgil error codes clients react to.
const (
	CodeNotFound            = 10001 // entity not found (404)
	CodeTokenExpired        = 20304 // access token expired (401): fetch a new token, retry once
	CodeInvalidPreviousHash = 50010 // Keyknox: Virgil-Keyknox-Previous-Hash is stale
	CodeThrottled           = 60007 // Pythia: too many requests, retry after a delay
)

// Limits and defaults.
const (
	DefaultMaxResponseBytes   = 8 << 20
	DefaultThrottleRetryDelay = 2 * time.Second // e3kit's delay before its one BrainKey retry
	DefaultHTTPTimeout        = 60 * time.Second
	maxErrorBodyBytes         = 64 << 10
	maxErrorMessage           = 512
	tokenRefreshMargin        = 5 * time.Second // virgil-sdk CachingJwtProvider
)

// TokenProvider returns a Virgil access token for the client's identity.
// e3.TokenProvider satisfies it.
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
}

// Config configures a Client.
type Config struct {
	// BaseURL is the service origin, optionally with a path prefix; ""
	// means DefaultBaseURL. A trailing slash is ignored.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a
	// DefaultHTTPTimeout overall timeout.
	HTTPClient *http.Client
	// Tokens supplies access tokens. Required.
	Tokens TokenProvider
	// MaxResponseBytes bounds every response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// ThrottleRetryDelay is the wait before the one BrainKey retry after
	// code 60007; 0 means DefaultThrottleRetryDelay, negative means none.
	ThrottleRetryDelay time.Duration
	// WrapError, if set, makes the public error every service error
	// unwraps to (package e3 turns them into *e3.APIError).
	WrapError func(*Error) error
	// Logger receives one debug record per request (method, path, status,
	// duration; never tokens or bodies). nil means none.
	Logger *slog.Logger
	// Now returns the current time for the token cache; nil means
	// time.Now.
	Now func() time.Time
}

// Client calls Virgil's services. It is safe for concurrent use.
type Client struct {
	base     string
	hc       *http.Client
	agent    string
	maxBody  int64
	throttle time.Duration
	wrap     func(*Error) error
	log      *slog.Logger
	tokens   *tokenCache
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("virgilapi: Config.Tokens is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, errors.New("virgilapi: BaseURL must be an http or https URL")
	}
	c := &Client{
		base:     base,
		hc:       cfg.HTTPClient,
		agent:    "e3go;go;" + runtime.GOOS + ";" + moduleVersion(),
		maxBody:  cfg.MaxResponseBytes,
		throttle: cfg.ThrottleRetryDelay,
		wrap:     cfg.WrapError,
		log:      cfg.Logger,
		tokens:   newTokenCache(cfg.Tokens, cfg.Now),
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.throttle == 0 {
		c.throttle = DefaultThrottleRetryDelay
	}
	return c, nil
}

// Agent returns the Virgil-Agent header value the client sends.
func (c *Client) Agent() string { return c.agent }

// BaseURL returns the origin (and prefix) requests go to.
func (c *Client) BaseURL() string { return c.base }

// moduleVersion is this module's version from the build information, or
// "devel".
func moduleVersion() string {
	const mod = "github.com/e3go/e3go"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := ""
	if bi.Main.Path == mod {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			v = d.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}

// Error is an error answer from a service.
type Error struct {
	Method     string // request method
	Path       string // request path (no query, no base URL)
	StatusCode int    // HTTP status
	Code       int    // Virgil error code from the body; 0 if none
	Message    string // message from the body, or the HTTP status text
	public     error
}

// Error returns the public error's text if there is one, else
// "virgilapi: <method> <path>: <status> (code <code>): <message>".
func (e *Error) Error() string {
	if e.public != nil {
		return e.public.Error()
	}
	s := "virgilapi: " + e.Method + " " + e.Path + ": " + strconv.Itoa(e.StatusCode)
	if e.Code != 0 {
		s += " (code " + strconv.Itoa(e.Code) + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the public error made by Config.WrapError, if any.
func (e *Error) Unwrap() error { return e.public }

// CodeOf returns the Virgil error code of err, or 0.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// ErrMalformedResponse reports a 2xx answer the client cannot use: not
// JSON of the expected shape, or too large.
var ErrMalformedResponse = errors.New("virgilapi: malformed service response")

func malformed(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedResponse, what, err)
	}
	return fmt.Errorf("%w: %s", ErrMalformedResponse, what)
}

// request is one API call.
type request struct {
	method   string
	path     string
	body     any    // marshalled as JSON when non-nil
	rawBody  []byte // sent as is when body is nil (with contentType)
	ctype    string
	prevHash string // Virgil-Keyknox-Previous-Hash
}

// response is a successful answer.
type response struct {
	header http.Header
	body   []byte
}

// do sends r, retrying once with a fresh token after a 20304 answer.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	var payload []byte
	ctype := r.ctype
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("virgilapi: encoding the %s body: %w", r.path, err)
		}
		payload, ctype = b, "application/json"
	} else if r.rawBody != nil {
		payload = r.rawBody
	}
	token, err := c.tokens.get(ctx, "")
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, r, ctype, payload, token)
	if err != nil && CodeOf(err) == CodeTokenExpired {
		if token, err = c.tokens.get(ctx, token); err != nil {
			return nil, err
		}
		resp, err = c.send(ctx, r, ctype, payload, token)
	}
	return resp, err
}

func (c *Client) send(ctx context.Context, r request, ctype string, payload []byte, token string) (*response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return nil, fmt.Errorf("virgilapi: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Virgil "+token)
	req.Header.Set("Virgil-Agent", c.agent)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.prevHash != "" {
		req.Header.Set("Virgil-Keyknox-Previous-Hash", r.prevHash)
	}
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		// The URL in a *url.Error holds no secret (the token is a header).
		return nil, fmt.Errorf("virgilapi: %s %s: %w", r.method, r.path, err)
	}
	defer res.Body.Close()
	if c.log != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "virgil request",
			slog.String("method", r.method), slog.String("path", r.path),
			slog.Int("status", res.StatusCode), slog.Duration("took", time.Since(start)))
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, c.apiError(r, res)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("virgilapi: %s %s: reading the response: %w", r.method, r.path, err)
	}
	if int64(len(b)) > c.maxBody {
		return nil, malformed(r.method+" "+r.path, fmt.Errorf("response body larger than %d bytes", c.maxBody))
	}
	return &response{header: res.Header, body: b}, nil
}

// apiError builds the *Error for a non-2xx answer.
func (c *Client) apiError(r request, res *http.Response) error {
	e := &Error{Method: r.method, Path: r.path, StatusCode: res.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBodyBytes))
	var body struct {
		Code    json.Number `json:"code"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(b, &body) == nil {
		if n, err := strconv.Atoi(string(body.Code)); err == nil {
			e.Code = n
		}
		e.Message = cleanMessage(body.Message)
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	if c.wrap != nil {
		e.public = c.wrap(e)
	}
	return e
}

// cleanMessage bounds a server-supplied message and drops control
// characters, so that it is safe to log.
func cleanMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	if len(s) > maxErrorMessage {
		i := maxErrorMessage
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// decodeJSON decodes a successful answer's body into v.
func decodeJSON(what string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return malformed(what, err)
	}
	return nil
}

// tokenCache holds the last token and fetches a new one when needed, one
// fetch at a time.
type tokenCache struct {
	src   TokenProvider
	now   func() time.Time
	sem   chan struct{}
	token string
	exp   time.Time
}

func newTokenCache(src TokenProvider, now func() time.Time) *tokenCache {
	if now == nil {
		now = time.Now
	}
	return &tokenCache{src: src, now: now, sem: make(chan struct{}, 1)}
}

// get returns a usable token. stale, if not empty, is a token the server
// rejected as expired: if it is still the cached one, a new one is fetched.
func (t *tokenCache) get(ctx context.Context, stale string) (string, error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()
	if t.token != "" && t.token != stale && t.now().Before(t.exp.Add(-tokenRefreshMargin)) {
		return t.token, nil
	}
	tok, err := t.src.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("virgilapi: getting an access token: %w", err)
	}
	exp, err := tokenExpiry(tok)
	if err != nil {
		return "", err
	}
	t.token, t.exp = tok, exp
	return tok, nil
}

// errBadToken reports a token from the provider that is not a Virgil JWT.
var errBadToken = errors.New("virgilapi: the token provider returned something that is not a Virgil JWT")

// tokenExpiry reads the "exp" claim of a JWT without checking anything
// else (package e3 parses tokens properly; this only drives the cache).
func tokenExpiry(tok string) (time.Time, error) {
	if len(tok) > 16<<10 || strings.ContainsAny(tok, " \t\r\n") {
		return time.Time{}, errBadToken
	}
	segs := strings.Split(tok, ".")
	if len(segs) != 3 {
		return time.Time{}, errBadToken
	}
	p, err := base64.RawURLEncoding.DecodeString(segs[1])
	if err != nil {
		return time.Time{}, errBadToken
	}
	var body struct {
		Exp *int64 `json:"exp"`
	}
	if json.Unmarshal(p, &body) != nil || body.Exp == nil {
		return time.Time{}, errBadToken
	}
	return time.Unix(*body.Exp, 0), nil
}
