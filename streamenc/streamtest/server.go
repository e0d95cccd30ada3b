package streamtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"
)

// Defaults for the zero Config.
const (
	DefaultMaxBodyBytes     = 5 << 20   // JSON request bodies
	DefaultMaxUploadBytes   = 100 << 20 // one uploaded file (Stream's documented limit)
	DefaultMaxMessageLength = 5000      // characters (runes) of message text
	DefaultRateLimit        = 10000     // requests per route per minute
	DefaultWebhookTimeout   = 6 * time.Second
	DefaultWebhookBackoff   = 50 * time.Millisecond
	DefaultMaxRecorded      = 10000 // requests kept by Requests
)

// Config configures a Server. The zero value is ready to use: every zero
// field takes the default named after it. A Config must not be changed
// after it is passed to NewServerWithConfig.
type Config struct {
	// APIKey and APISecret are the app's credentials. Empty means a random
	// value per server.
	APIKey    string
	APISecret string

	// Now is the server's clock (timestamps, token exp/nbf/iat checks,
	// rate-limit windows). Nil means time.Now.
	Now func() time.Time

	// MaxBodyBytes caps a JSON request body; a larger body gets 413, code 22.
	MaxBodyBytes int64
	// MaxUploadBytes caps one uploaded file; a larger file gets 413, code 22.
	MaxUploadBytes int64
	// MaxMessageLength is the channel types' max_message_length: message
	// text with more runes gets 400, code 20.
	MaxMessageLength int
	// RateLimit is how many requests each route accepts per minute before
	// answering 429, code 9. It is also what X-Ratelimit-Limit reports.
	RateLimit int

	// WebhookTimeout bounds one webhook delivery attempt.
	WebhookTimeout time.Duration
	// WebhookBackoff is the wait before the first retry of a failed
	// delivery; it doubles for each further retry.
	WebhookBackoff time.Duration

	// MaxRecordedRequests is how many requests Requests keeps (the oldest
	// are dropped first).
	MaxRecordedRequests int
}

// Server is an in-process Stream Chat emulator listening on a loopback
// port. Create one with NewServer; it is safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, of the form http://127.0.0.1:port,
	// with no trailing slash: assign it to stream.Client.BaseURL as is. It
	// is set before the server starts serving; do not change it.
	URL string
	// APIKey and APISecret are the app's credentials. They are for reading:
	// changing them has no effect on the server.
	APIKey    string
	APISecret string

	cfg    Config
	key    string
	secret []byte
	hs     *httptest.Server
	routes []*route
	wh     *webhookQueue

	mu       sync.Mutex
	st       state
	faults   []*faultState
	latency  time.Duration
	windows  map[string]*rateWindow
	requests []RecordedRequest
	reqSeq   int64
	events   []Event
}

// state is everything the app holds.
type state struct {
	users    map[string]*user
	channels map[string]*channel
	messages map[string]*message
	uploads  map[string]*upload
	app      appSettings
	seq      int64
}

// NewServer starts an emulator with the zero Config (random credentials).
// Call Close when done.
func NewServer() *Server {
	return NewServerWithConfig(Config{})
}

// NewServerWithConfig starts an emulator configured by cfg.
// Call Close when done.
func NewServerWithConfig(cfg Config) *Server {
	if cfg.APIKey == "" {
		cfg.APIKey = randomHex(8)
	}
	if cfg.APISecret == "" {
		cfg.APISecret = randomHex(32)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxMessageLength <= 0 {
		cfg.MaxMessageLength = DefaultMaxMessageLength
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = DefaultWebhookTimeout
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = DefaultWebhookBackoff
	}
	if cfg.MaxRecordedRequests <= 0 {
		cfg.MaxRecordedRequests = DefaultMaxRecorded
	}
	s := &Server{
		APIKey:    cfg.APIKey,
		APISecret: cfg.APISecret,
		cfg:       cfg,
		key:       cfg.APIKey,
		secret:    []byte(cfg.APISecret),
		windows:   map[string]*rateWindow{},
		st: state{
			users:    map[string]*user{},
			channels: map[string]*channel{},
			messages: map[string]*message{},
			uploads:  map[string]*upload{},
			app:      appSettings{name: "streamtest"},
		},
	}
	s.routes = s.buildRoutes()
	s.wh = newWebhookQueue(s)
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// URL is set before the server starts serving and never written again:
	// handlers read it (upload URLs), and requests from another process give
	// the race detector no ordering with a write made after Start.
	s.URL = "http://" + s.hs.Listener.Addr().String()
	s.hs.Start()
	if s.hs.URL != s.URL {
		panic("streamtest: server URL " + s.hs.URL + " differs from its listener's " + s.URL)
	}
	return s
}

// Close stops webhook delivery (queued deliveries that have not started are
// dropped) and shuts the server down, blocking until outstanding requests
// have completed.
func (s *Server) Close() {
	s.wh.close()
	s.hs.Close()
}

// Client returns a stream-chat-go client for the app, pointed at the
// server. Its base URL and HTTP client are set explicitly, so the
// STREAM_CHAT_URL and STREAM_CHAT_TIMEOUT environment variables have no
// effect on it (except that NewClient itself refuses a non-integer
// STREAM_CHAT_TIMEOUT, in which case Client panics). Its HTTP timeout is
// 30 s (the SDK's default is 6 s) so a slow test machine does not flake.
// Each call returns a new client; they share one connection pool.
func (s *Server) Client() *stream.Client {
	c, err := stream.NewClient(s.key, string(s.secret))
	if err != nil {
		panic("streamtest: stream.NewClient: " + err.Error())
	}
	c.BaseURL = s.URL
	hc := s.hs.Client()
	c.SetClient(&http.Client{Transport: hc.Transport, Timeout: 30 * time.Second})
	return c
}

// UserToken returns a user token for userID with no expiry, the same bytes
// stream.Client.CreateToken(userID, time.Time{}) produces. It panics on an
// empty userID.
func (s *Server) UserToken(userID string) string {
	if userID == "" {
		panic("streamtest: UserToken: empty user ID")
	}
	return s.Token(map[string]any{"user_id": userID})
}

// Token signs arbitrary claims with the app secret (HS256), for tests of
// the token checks: expired, not yet valid, issued in the future, no
// known claim.
func (s *Server) Token(claims map[string]any) string {
	tok, err := signHS256(s.secret, claims)
	if err != nil {
		panic("streamtest: Token: " + err.Error())
	}
	return tok
}

// NewUserRequest returns a request to the server as Stream's JavaScript
// client sends one for userID (spec §8): the bare user JWT in
// Authorization, "stream-auth-type: jwt", X-Stream-Client,
// x-client-request-id, and api_key, user_id and connection_id in the
// query. pathAndQuery is relative to the server, such as
// "/channels/messaging/general/message". body may be nil, a []byte, a
// string, an io.Reader, or any value, which is encoded as JSON. Like
// httptest.NewRequest it panics on error, which is acceptable in tests.
func (s *Server) NewUserRequest(ctx context.Context, method, pathAndQuery, userID string, body any) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			panic("streamtest: NewUserRequest: " + err.Error())
		}
		rd = bytes.NewReader(enc)
	}
	u, err := url.Parse(s.URL + pathAndQuery)
	if err != nil {
		panic("streamtest: NewUserRequest: " + err.Error())
	}
	q := u.Query()
	q.Set("api_key", s.key)
	q.Set("user_id", userID)
	q.Set("connection_id", "streamtest-"+randomHex(8))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		panic("streamtest: NewUserRequest: " + err.Error())
	}
	req.Header.Set("Authorization", s.UserToken(userID))
	req.Header.Set("stream-auth-type", "jwt")
	req.Header.Set("X-Stream-Client", "stream-chat-js-v9.53.0-node")
	req.Header.Set("x-client-request-id", randomUUID())
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (s *Server) now() time.Time {
	return s.cfg.Now().UTC().Truncate(time.Microsecond)
}

func (s *Server) nextSeq() int64 {
	s.st.seq++
	return s.st.seq
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("streamtest: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func randomUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("streamtest: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ---- routing ----------------------------------------------------------------

type handlerFunc func(c *reqCtx) (int, map[string]any, *apiError)

type route struct {
	method string
	segs   []string // literal segments, or "{name}" for a parameter
	op     string   // Stream's operation name, used in error messages
	h      handlerFunc
	upload bool // the handler reads the (multipart) body itself
}

// reqCtx carries one API request through its handler.
type reqCtx struct {
	s      *Server
	r      *http.Request
	route  *route
	params map[string]string
	query  url.Values
	body   []byte
	auth   authInfo
	now    time.Time
}

func (c *reqCtx) param(name string) string { return c.params[name] }

func (s *Server) buildRoutes() []*route {
	r := func(method, pattern, op string, h handlerFunc) *route {
		return &route{method: method, segs: strings.Split(strings.Trim(pattern, "/"), "/"), op: op, h: h}
	}
	up := func(rt *route) *route { rt.upload = true; return rt }
	return []*route{
		r("GET", "/app", "GetApp", s.getApp),
		r("PATCH", "/app", "UpdateApp", s.updateApp),

		r("POST", "/users", "UpdateUsers", s.upsertUsers),
		r("PATCH", "/users", "UpdateUsersPartial", s.partialUpdateUsers),
		r("GET", "/users", "QueryUsers", s.queryUsers),
		r("DELETE", "/users/{id}", "DeleteUser", s.deleteUser),
		r("POST", "/users/{id}/event", "SendUserCustomEvent", s.sendUserEvent),

		r("POST", "/channels", "QueryChannels", s.queryChannels),
		r("POST", "/channels/read", "MarkChannelsRead", s.markAllRead),
		r("POST", "/channels/{type}/query", "GetOrCreateDistinctChannel", s.queryChannel),
		r("POST", "/channels/{type}/{id}/query", "GetOrCreateChannel", s.queryChannel),
		r("POST", "/channels/{type}/{id}", "UpdateChannel", s.updateChannel),
		r("PATCH", "/channels/{type}/{id}", "UpdateChannelPartial", s.partialUpdateChannel),
		r("DELETE", "/channels/{type}/{id}", "DeleteChannel", s.deleteChannel),
		r("POST", "/channels/{type}/{id}/truncate", "TruncateChannel", s.truncateChannel),
		r("POST", "/channels/{type}/{id}/message", "SendMessage", s.sendMessage),
		r("GET", "/channels/{type}/{id}/messages", "GetManyMessages", s.getManyMessages),
		r("POST", "/channels/{type}/{id}/read", "MarkRead", s.markRead),
		r("POST", "/channels/{type}/{id}/event", "SendEvent", s.sendEvent),
		r("POST", "/channels/{type}/{id}/hide", "HideChannel", s.hideChannel),
		r("POST", "/channels/{type}/{id}/show", "ShowChannel", s.showChannel),
		r("POST", "/channels/{type}/{id}/stop-watching", "StopWatchingChannel", s.stopWatching),
		up(r("POST", "/channels/{type}/{id}/file", "UploadFile", s.uploadFile)),
		up(r("POST", "/channels/{type}/{id}/image", "UploadImage", s.uploadFile)),
		r("DELETE", "/channels/{type}/{id}/file", "DeleteFile", s.deleteFile),
		r("DELETE", "/channels/{type}/{id}/image", "DeleteImage", s.deleteFile),

		r("GET", "/members", "QueryMembers", s.queryMembers),

		r("GET", "/messages/{id}", "GetMessage", s.getMessage),
		r("POST", "/messages/{id}", "UpdateMessage", s.updateMessage),
		r("PUT", "/messages/{id}", "UpdateMessagePartial", s.partialUpdateMessage),
		r("DELETE", "/messages/{id}", "DeleteMessage", s.deleteMessage),
		r("GET", "/messages/{id}/replies", "GetReplies", s.getReplies),
		r("POST", "/messages/{id}/reaction", "SendReaction", s.sendReaction),
		r("DELETE", "/messages/{id}/reaction/{type}", "DeleteReaction", s.deleteReaction),
		r("GET", "/messages/{id}/reactions", "GetReactions", s.getReactions),

		r("GET", "/search", "Search", s.search),
	}
}

// match finds the route for method and the raw (escaped) path. It reports
// whether some route has that path under another method.
func (s *Server) match(method, rawPath string) (*route, map[string]string, bool) {
	if rawPath == "" || rawPath[0] != '/' {
		return nil, nil, false
	}
	raw := strings.Split(rawPath[1:], "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil || u == "" {
			return nil, nil, false
		}
		segs[i] = u
	}
	var best *route
	var bestParams map[string]string
	bestLiterals := -1
	otherMethod := false
	for _, rt := range s.routes {
		if len(rt.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		literals := 0
		ok := true
		for i, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				params[p[1:len(p)-1]] = segs[i]
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if !ok {
			continue
		}
		if rt.method != method {
			otherMethod = true
			continue
		}
		if literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	return best, bestParams, otherMethod
}

// ---- request handling -------------------------------------------------------

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Stream-Auth-Type, X-Stream-Client, X-Client-Request-Id")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, uploadsPrefix) {
		s.serveUpload(w, r)
		return
	}
	rec := RecordedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}

	// Injected faults come first, as the edge would answer them.
	if f := s.takeFault(r.Method, r.URL.Path); f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.CloseConnection {
			rec.Status = 0
			s.record(rec)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if f.Status != 0 {
			s.writeFault(w, f, start, &rec)
			return
		}
	}
	if d := s.currentLatency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}

	rt, params, otherMethod := s.match(r.Method, r.URL.EscapedPath())
	if rt == nil {
		status := http.StatusNotFound
		msg := fmt.Sprintf("%s %s does not exist", r.Method, r.URL.Path)
		if otherMethod {
			status = http.StatusMethodNotAllowed
			msg = fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
		}
		s.writeErr(w, &apiError{status: status, code: CodeDoesNotExist, message: msg}, start, &rec)
		return
	}
	c := &reqCtx{s: s, r: r, route: rt, params: params, query: r.URL.Query(), now: s.now()}

	if aerr := s.rateLimit(w, rt, c.now); aerr != nil {
		s.writeErr(w, aerr, start, &rec)
		return
	}
	auth, aerr := s.authenticate(r, c.query, c.now)
	if aerr != nil {
		s.writeErr(w, aerr, start, &rec)
		return
	}
	c.auth = auth
	rec.Auth = auth.describe()
	if !rt.upload {
		body, aerr := s.readBody(w, r, rt.op)
		rec.Body = body
		if aerr != nil {
			s.writeErr(w, aerr, start, &rec)
			return
		}
		c.body = body
	} else {
		rec.Body = []byte("[multipart body: see Uploads]")
	}

	status, resp, aerr := s.runHandler(c)
	if aerr != nil {
		s.writeErr(w, aerr, start, &rec)
		return
	}
	s.writeJSON(w, status, resp, start, &rec)
}

// runHandler runs the route's handler, turning a panic into a 500 so that
// one bad request never takes the server down.
func (s *Server) runHandler(c *reqCtx) (status int, resp map[string]any, aerr *apiError) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			status, resp = 0, nil
			aerr = &apiError{status: http.StatusInternalServerError, code: CodeInternal,
				message: fmt.Sprintf("%s failed with error: \"internal emulator error: %v\"", c.route.op, p)}
		}
	}()
	return c.route.h(c)
}

func (a authInfo) describe() string {
	switch {
	case a.server:
		return "server"
	case a.userID != "":
		return "user:" + a.userID
	}
	return ""
}

// authenticate applies the checks of spec §6.1, in its order.
func (s *Server) authenticate(r *http.Request, q url.Values, now time.Time) (authInfo, *apiError) {
	if q.Get("api_key") != s.key {
		return authInfo{}, &apiError{status: http.StatusUnauthorized, code: CodeAccessKey, message: "api_key not found or invalid"}
	}
	typ := r.Header.Get("Stream-Auth-Type")
	if typ != "jwt" {
		if typ == "" {
			return authInfo{}, authErr(CodeAuthentication, "missing Stream-Auth-Type header")
		}
		return authInfo{}, authErr(CodeAuthentication, "Stream-Auth-Type %q is not supported by streamtest, use jwt", typ)
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: missing Authorization header")
	}
	s.mu.Lock()
	devOK := s.st.app.disableAuthChecks
	s.mu.Unlock()
	return verifyToken(tok, s.secret, s.key, now, devOK)
}

// readBody reads a JSON request body, capped at MaxBodyBytes. Bodies are
// chunked (stream-chat-go never sets Content-Length), so the cap is
// applied while reading.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, op string) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, opError(http.StatusRequestEntityTooLarge, CodePayloadTooBig, op,
				"request body is too large, max is %d bytes", s.cfg.MaxBodyBytes)
		}
		return nil, opError(http.StatusBadRequest, CodeInput, op, "cannot read request body")
	}
	return body, nil
}

func durationString(start time.Time) string {
	return strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 2, 64) + "ms"
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, resp map[string]any, start time.Time, rec *RecordedRequest) {
	if resp == nil {
		resp = map[string]any{}
	}
	resp["duration"] = durationString(start)
	b, err := marshalJSON(resp)
	if err != nil {
		s.writeErr(w, &apiError{status: 500, code: CodeInternal, message: "cannot encode response: " + err.Error()}, start, rec)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
	rec.Status = status
	rec.Response = b
	s.record(*rec)
}

func (s *Server) writeErr(w http.ResponseWriter, e *apiError, start time.Time, rec *RecordedRequest) {
	b, _ := marshalJSON(envelope(e, durationString(start)))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	w.Write(b)
	rec.Status = e.status
	rec.Code = e.code
	rec.Response = b
	s.record(*rec)
}

// ---- rate limits ------------------------------------------------------------

type rateWindow struct {
	start time.Time
	count int
}

// rateLimit counts the request against its route's one-minute window and
// sets the X-Ratelimit-* headers stream-chat-go reads.
func (s *Server) rateLimit(w http.ResponseWriter, rt *route, now time.Time) *apiError {
	s.mu.Lock()
	key := rt.method + " " + strings.Join(rt.segs, "/")
	win := s.windows[key]
	minute := now.Truncate(time.Minute)
	if win == nil || !win.start.Equal(minute) {
		win = &rateWindow{start: minute}
		s.windows[key] = win
	}
	win.count++
	limit := s.cfg.RateLimit
	remaining := max(limit-win.count, 0)
	over := win.count > limit
	reset := minute.Add(time.Minute).Unix()
	s.mu.Unlock()
	setRateHeaders(w.Header(), limit, remaining, reset)
	if over {
		return &apiError{status: http.StatusTooManyRequests, code: CodeRateLimit,
			message: "Too many requests, check response headers for more information."}
	}
	return nil
}

func setRateHeaders(h http.Header, limit, remaining int, reset int64) {
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(reset, 10))
}

// ---- faults and latency -----------------------------------------------------

// Fault makes the server misbehave for the next matching requests, before
// any authentication, as Stream's edge would. Set Status for an error
// response, Delay for latency, or CloseConnection to drop the connection
// without answering.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path matches the request path with path.Match (so "*" stands for one
	// path segment), such as "/channels/*/*/message"; "" matches any.
	Path string
	// Times is how many matching requests the fault applies to; 0 means 1.
	Times int
	// Status is the HTTP status to answer with; 0 means answer normally
	// after Delay.
	Status int
	// Code is the Stream error code of the envelope; 0 means the usual
	// code for Status (429 → 9, 404 → 16, 5xx → -1, …).
	Code int
	// Message is the envelope's message; "" means a generic one.
	Message string
	// Body, when non-nil, is sent as the whole response body instead of the
	// JSON envelope (for example the plain-text body of Stream's edge rate
	// limiter).
	Body []byte
	// Delay is waited before answering.
	Delay time.Duration
	// CloseConnection drops the connection without a response.
	CloseConnection bool
}

type faultState struct {
	Fault
	left int
}

// InjectFault queues a fault; faults are matched in the order they were
// injected.
func (s *Server) InjectFault(f Fault) {
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &faultState{Fault: f, left: n})
	s.mu.Unlock()
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// SetLatency makes every API request wait d before it is handled (0
// turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

func (s *Server) currentLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

func (s *Server) takeFault(method, p string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" {
			if ok, err := path.Match(f.Path, p); err != nil || !ok {
				continue
			}
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		out := f.Fault
		return &out
	}
	return nil
}

func (s *Server) writeFault(w http.ResponseWriter, f *Fault, start time.Time, rec *RecordedRequest) {
	if f.Status == http.StatusTooManyRequests {
		setRateHeaders(w.Header(), s.cfg.RateLimit, 0, s.now().Truncate(time.Minute).Add(time.Minute).Unix())
	}
	if f.Body != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		w.Write(f.Body)
		rec.Status = f.Status
		rec.Response = slicesClone(f.Body)
		s.record(*rec)
		return
	}
	code := f.Code
	if code == 0 {
		code = defaultCodeForStatus(f.Status)
	}
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("streamtest: injected fault (HTTP %d)", f.Status)
		if f.Status == http.StatusTooManyRequests {
			msg = "Too many requests, check response headers for more information."
		}
	}
	s.writeErr(w, &apiError{status: f.Status, code: code, message: msg}, start, rec)
}

func slicesClone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// ---- request log ------------------------------------------------------------

// RecordedRequest is one API request the server received, as it was sent,
// with the answer it got. Upload bodies are not kept here (see Uploads).
type RecordedRequest struct {
	Seq      int64
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Auth     string // "server", "user:<id>", or "" when authentication failed
	Body     []byte
	Status   int // 0 when the connection was dropped by a fault
	Code     int // the Stream error code of an error answer
	Response []byte
}

func (s *Server) record(rec RecordedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqSeq++
	rec.Seq = s.reqSeq
	if len(s.requests) >= s.cfg.MaxRecordedRequests {
		// Drop the oldest tenth at once, so trimming stays cheap.
		drop := len(s.requests) - s.cfg.MaxRecordedRequests + 1 + s.cfg.MaxRecordedRequests/10
		s.requests = append(s.requests[:0:0], s.requests[min(drop, len(s.requests)):]...)
	}
	s.requests = append(s.requests, rec)
}

// Requests returns the recorded API requests, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedRequest, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = slicesClone(r.Body)
		r.Response = slicesClone(r.Response)
		out[i] = r
	}
	return out
}
