package e3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/internal/pythia"
	"github.com/e3go/e3go/keyring"
)

// Virgil error codes the server answers with. Clients react to
// CodeTokenExpired (refresh the token, retry once), CodeInvalidPreviousHash
// (Keyknox: reread, merge, retry) and CodeThrottled (BrainKey: wait, retry
// once); the others are informational. 10001, 20300, 20303, 20304, 50005,
// 50010 and 60007 are Virgil's; the others are this server's choice in Virgil's
// ranges (Virgil's exact codes for those cases are not known).
const (
	CodeInternal            = 10000 // 500: storage failure
	CodeNotFound            = 10001 // 404: no such card
	CodeNoRoute             = 10002 // 404/405: no such endpoint or method
	CodeTokenInvalid        = 20300 // 401: missing, malformed, badly signed or not yet valid token
	CodeTokenUnknownApp     = 20303 // 401: token of another application or app key
	CodeTokenExpired        = 20304 // 401: expired token (beyond the leeway)
	CodeForbidden           = 20500 // 403: revoking another identity's card
	CodeInvalidJSON         = 40000 // 400: body is not the JSON object expected
	CodeBodyTooLarge        = 40001 // 413: body over Options.MaxBodyBytes
	CodeCardInvalid         = 40100 // 400: card model or content snapshot invalid
	CodeCardIdentity        = 40101 // 400: card identity is not the token's identity
	CodeCardSelfSignature   = 40102 // 400: self signature missing or invalid
	CodeCardExists          = 40103 // 409: a card with this id exists
	CodeCardPrevious        = 40104 // 400: previous card unknown, of another identity, superseded or revoked
	CodeSearchInvalid       = 40105 // 400: identities missing, invalid or too many
	CodeKeyknoxInvalid      = 50000 // 400: Keyknox request fields invalid
	CodeKeyknoxTooLarge     = 50005 // 400: Keyknox meta over Options.KeyknoxMaxMetaSize (Virgil's code for its "10kb" limit)
	CodeInvalidPreviousHash = 50010 // 409: stale Virgil-Keyknox-Previous-Hash
	CodePythiaInvalid       = 60000 // 400: blinded password invalid
	CodeThrottled           = 60007 // 429: BrainKey throttled
)

// Defaults of Options.
const (
	DefaultLeeway        = time.Minute
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxSearch     = 1000
	brainKeyTransformKey = "brainkey-v1"
	maxRequestLog        = 10000
)

// Options configures a server made by NewServerWithOptions. The zero value
// gives NewServer's server: fresh random credentials and secrets.
type Options struct {
	// AppID, AppKey and AppKeyID are the application credentials whose
	// tokens the server accepts ("" or nil: random). JWTGenerator returns
	// a generator for them.
	AppID    string
	AppKey   *e3.PrivateKey
	AppKeyID string

	// ServiceKey signs the "virgil" signature of every published card
	// (nil: random). Clients must trust its public half (ServiceKey).
	ServiceKey *e3.PrivateKey
	// NoServiceSignature publishes cards without a "virgil" signature, as
	// some self-hosted servers do; clients then need
	// e3.CardVerifier.InsecureSkipServiceSignature.
	NoServiceSignature bool

	// PythiaSecret and PythiaScopeSecret derive the BrainKey transformation
	// key (1..128 bytes each; nil: 32 random bytes). With the same secrets
	// and AppID, a password gives the same BrainKey on every run.
	PythiaSecret, PythiaScopeSecret []byte

	// Leeway is the clock-skew tolerance of token checks; 0 means
	// DefaultLeeway, negative none.
	Leeway time.Duration
	// TokenTTL is the lifetime of tokens from JWTGenerator (0: e3's
	// default, 20 minutes).
	TokenTTL time.Duration
	// MaxBodyBytes bounds request bodies (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxSearchIdentities bounds the identities of one search (0:
	// DefaultMaxSearch). Virgil's clients send up to 100.
	MaxSearchIdentities int
	// KeyknoxMaxMetaSize, if positive, refuses a Keyknox v1 or v2 push
	// whose meta is longer than this many base64 characters (as sent)
	// with 400 and Virgil's code 50005 (CodeKeyknoxTooLarge), as
	// Virgil's Keyknox refuses metas over "10kb" (e3kit-js#160). 0: no
	// limit. e3.KeyknoxMaxMetaSize (10000) is what e3go stays within.
	KeyknoxMaxMetaSize int

	// Storage keeps the state (nil: NewMemoryStorage()).
	Storage Storage
	// Addr is the TCP address to listen on ("": 127.0.0.1 on a free
	// port).
	Addr string
	// Logger receives one record per request (nil: none).
	Logger *slog.Logger
	// Now is the server's clock (nil: time.Now); JWTGenerator's tokens use
	// it too.
	Now func() time.Time
}

// Server is an in-process, Virgil-compatible server: Cards v5, Keyknox v1
// and v2, and Pythia BrainKey, on one origin (URL). It is safe for
// concurrent use.
type Server struct {
	// URL is the server's base URL ("http://127.0.0.1:port"), what e3kit's
	// apiUrl option and e3.Config.APIURL take.
	URL string

	hs         *httptest.Server
	appID      string
	appKeyID   string
	appKey     *e3.PrivateKey
	verifier   *e3.JWTVerifier
	serviceKey *e3.PrivateKey
	noSvcSig   bool
	pythiaKey  *pythia.TransformationKey
	tokenTTL   time.Duration
	maxBody    int64
	maxSearch  int
	maxMeta    int
	store      Storage
	log        *slog.Logger
	now        func() time.Time

	mu  sync.Mutex // serialises state changes
	seq uint64     // last Keyknox v2 creation sequence number

	fmu     sync.Mutex // faults, latency, request log
	faults  []*Fault
	latency time.Duration
	reqs    []Request
}

// NewServer starts a server with fresh random credentials on a free port of
// 127.0.0.1. It panics if it cannot listen, like httptest.NewServer. Close
// it when done.
func NewServer() *Server {
	s, err := NewServerWithOptions(Options{})
	if err != nil {
		panic(err)
	}
	return s
}

// NewServerWithOptions starts a server configured by o.
func NewServerWithOptions(o Options) (*Server, error) {
	s := &Server{
		appID: o.AppID, appKeyID: o.AppKeyID, appKey: o.AppKey, serviceKey: o.ServiceKey,
		noSvcSig: o.NoServiceSignature, tokenTTL: o.TokenTTL, maxBody: o.MaxBodyBytes,
		maxSearch: o.MaxSearchIdentities, maxMeta: o.KeyknoxMaxMetaSize, store: o.Storage, log: o.Logger, now: o.Now,
	}
	var err error
	if s.appID == "" {
		s.appID = randomHex(16)
	}
	if s.appKeyID == "" {
		s.appKeyID = randomHex(16)
	}
	if s.appKey == nil {
		if s.appKey, err = e3.GenerateKey(); err != nil {
			return nil, err
		}
	}
	if s.serviceKey == nil {
		if s.serviceKey, err = e3.GenerateKey(); err != nil {
			return nil, err
		}
	}
	if s.appKey.Type() != e3.Ed25519 || s.serviceKey.Type() != e3.Ed25519 {
		return nil, errors.New("e3test: the app key and the service key must be Ed25519")
	}
	secret, scope := o.PythiaSecret, o.PythiaScopeSecret
	if secret == nil {
		secret = randomBytes(32)
	}
	if scope == nil {
		scope = randomBytes(32)
	}
	if s.pythiaKey, err = pythia.NewTransformationKey(secret, scope, []byte(brainKeyTransformKey)); err != nil {
		return nil, fmt.Errorf("e3test: pythia secrets: %w", err)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxSearch <= 0 {
		s.maxSearch = DefaultMaxSearch
	}
	if s.store == nil {
		s.store = NewMemoryStorage()
	}
	if s.now == nil {
		s.now = time.Now
	}
	leeway := o.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	s.verifier = &e3.JWTVerifier{AppID: s.appID, AppKeyID: s.appKeyID, AppPublicKey: s.appKey.Public(), Leeway: leeway, Now: s.now}

	s.hs = httptest.NewUnstartedServer(s)
	if o.Addr != "" {
		l, err := net.Listen("tcp", o.Addr)
		if err != nil {
			return nil, fmt.Errorf("e3test: %w", err)
		}
		s.hs.Listener.Close()
		s.hs.Listener = l
	}
	s.hs.Start()
	s.URL = s.hs.URL
	return s, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.hs.Close() }

// AppID returns the application id the server accepts tokens for.
func (s *Server) AppID() string { return s.appID }

// JWTGenerator returns a new generator of tokens the server accepts (its
// app credentials, Options.TokenTTL, the server's clock). Changing the copy
// does not change the server.
func (s *Server) JWTGenerator() *e3.JWTGenerator {
	return &e3.JWTGenerator{AppID: s.appID, AppKey: s.appKey, AppKeyID: s.appKeyID, TTL: s.tokenTTL, Now: s.now}
}

// ServiceKey returns the public key of the server's "virgil" card
// signatures: what an e3.CardVerifier must trust.
func (s *Server) ServiceKey() *e3.PublicKey { return s.serviceKey.Public() }

// CardVerifier returns a verifier that trusts this server's cards.
func (s *Server) CardVerifier() *e3.CardVerifier {
	if s.noSvcSig {
		return &e3.CardVerifier{InsecureSkipServiceSignature: true}
	}
	return &e3.CardVerifier{ServiceKey: s.ServiceKey()}
}

// ClientConfig returns a ready configuration of an e3 Client for identity:
// the server's URL and HTTP client, a token provider issuing tokens for
// identity with JWTGenerator, a CardVerifier trusting ServiceKey and a
// fresh in-memory keyring. Fields may be changed before use.
func (s *Server) ClientConfig(identity string) e3.Config {
	gen := s.JWTGenerator()
	return e3.Config{
		TokenProvider: e3.TokenProviderFunc(func(context.Context) (string, error) { return gen.Generate(identity) }),
		APIURL:        s.URL,
		HTTPClient:    s.hs.Client(),
		Keyring:       keyring.NewMemory(),
		CardVerifier:  s.CardVerifier(),
	}
}

// Fault makes the server misbehave for matching requests: answer with
// Status and {Code, Message} instead of serving them, and/or wait Delay
// first. Faults apply in the order injected; one request consumes at most
// one fault.
type Fault struct {
	Method     string        // "" matches any method
	PathPrefix string        // "" matches any path; "/keyknox/" every Keyknox request
	Times      int           // how many matching requests (0: 1)
	Status     int           // HTTP status; 0 only delays, then serves normally
	Code       int           // Virgil error code of the answer
	Message    string        // message of the answer ("": the status text)
	Delay      time.Duration // wait before answering
}

// InjectFault queues f.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.fmu.Lock()
	s.faults = append(s.faults, &f)
	s.fmu.Unlock()
}

// ThrottleBrainKey makes the next n BrainKey requests fail with 429 and
// code 60007, as Virgil's rate limiter does.
func (s *Server) ThrottleBrainKey(n int) {
	s.InjectFault(Fault{Method: http.MethodPost, PathPrefix: "/pythia/v1/brainkey", Times: n, Status: http.StatusTooManyRequests,
		Code: CodeThrottled, Message: "Too many requests"})
}

// ClearFaults drops every queued fault and the latency.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	s.faults, s.latency = nil, 0
	s.fmu.Unlock()
}

// SetLatency delays every request by d (0: none).
func (s *Server) SetLatency(d time.Duration) {
	s.fmu.Lock()
	s.latency = d
	s.fmu.Unlock()
}

// Request is one request the server answered.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Identity string // from a valid token, else ""
	Status   int
	Code     int // Virgil error code of an error answer, else 0
}

// Requests returns the requests answered so far, oldest first (only the
// more recent ones once there were more than 10000).
func (s *Server) Requests() []Request {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// takeFault returns the fault for r, consuming one use, and the latency.
func (s *Server) takeFault(r *http.Request) (*Fault, time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			c := *f
			return &c, s.latency
		}
	}
	return nil, s.latency
}

// apiError is an error answer.
type apiError struct {
	status  int
	code    int
	message string
}

func (e *apiError) Error() string { return e.message }

func errorf(status, code int, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

// reply is a successful answer.
type reply struct {
	status int
	header map[string]string
	body   any // marshalled as JSON; nil: empty body
}

// call is one request being served.
type call struct {
	r        *http.Request
	identity string
	body     []byte
}

// decode reads the body as a JSON object into v.
func (c *call) decode(v any) *apiError {
	b := bytes.TrimLeft(c.body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "JSON specified as a request body is invalid: want an object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "JSON specified as a request body is invalid")
	}
	return nil
}

type handler func(s *Server, c *call) (*reply, *apiError)

// route finds the handler for a request; allowed lists the methods of a
// known path.
func route(method, path string) (h handler, allowed string) {
	switch {
	case path == "/card/v5":
		return pick(method, http.MethodPost, (*Server).publishCard)
	case path == "/card/v5/actions/search":
		return pick(method, http.MethodPost, (*Server).searchCards)
	case strings.HasPrefix(path, "/card/v5/actions/revoke/"):
		return pick(method, http.MethodPost, (*Server).revokeCard)
	case strings.HasPrefix(path, "/card/v5/") && !strings.HasPrefix(path, "/card/v5/actions/"):
		return pick(method, http.MethodGet, (*Server).getCard)
	case path == "/keyknox/v1":
		switch method {
		case http.MethodGet:
			return (*Server).pullV1, ""
		case http.MethodPut:
			return (*Server).pushV1, ""
		}
		return nil, "GET, PUT"
	case path == "/keyknox/v1/reset":
		return pick(method, http.MethodPost, (*Server).resetV1)
	case path == "/keyknox/v2/push":
		return pick(method, http.MethodPost, (*Server).pushV2)
	case path == "/keyknox/v2/pull":
		return pick(method, http.MethodPost, (*Server).pullV2)
	case path == "/keyknox/v2/keys":
		return pick(method, http.MethodPost, (*Server).keysV2)
	case path == "/keyknox/v2/reset":
		return pick(method, http.MethodPost, (*Server).resetV2)
	case path == "/pythia/v1/brainkey":
		return pick(method, http.MethodPost, (*Server).brainKey)
	}
	return nil, ""
}

func pick(method, want string, h handler) (handler, string) {
	if method == want {
		return h, ""
	}
	return nil, want
}

// ServeHTTP serves the Virgil API. Mount it elsewhere to serve it from
// another listener (the server's own listener keeps running).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", "Virgil-Keyknox-Hash, X-Virgil-Is-Superseeded")
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Virgil-Agent, Content-Type, Virgil-Keyknox-Previous-Hash")
		hdr.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c := &call{r: r}
	rep, aerr := s.serve(w, c)
	status, code := http.StatusOK, 0
	if aerr != nil {
		status, code = aerr.status, aerr.code
		writeJSON(w, status, nil, map[string]any{"code": aerr.code, "message": aerr.message})
	} else {
		status = rep.status
		writeJSON(w, rep.status, rep.header, rep.body)
	}
	s.record(Request{Time: start, Method: r.Method, Path: r.URL.Path, Identity: c.identity, Status: status, Code: code})
	if s.log != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "e3test", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("identity", c.identity), slog.Int("status", status), slog.Int("code", code), slog.Duration("took", time.Since(start)))
	}
}

func (s *Server) serve(w http.ResponseWriter, c *call) (*reply, *apiError) {
	r := c.r
	f, latency := s.takeFault(r)
	if f != nil {
		latency += f.Delay
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if f != nil && f.Status != 0 {
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		return nil, &apiError{f.Status, f.Code, msg}
	}
	h, allowed := route(r.Method, r.URL.Path)
	if h == nil {
		if allowed != "" {
			w.Header().Set("Allow", allowed)
			return nil, errorf(http.StatusMethodNotAllowed, CodeNoRoute, "method %s not allowed", r.Method)
		}
		return nil, errorf(http.StatusNotFound, CodeNoRoute, "no such endpoint")
	}
	identity, aerr := s.authenticate(r)
	if aerr != nil {
		return nil, aerr
	}
	c.identity = identity
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is larger than %d bytes", s.maxBody)
		}
		return nil, errorf(http.StatusBadRequest, CodeInvalidJSON, "reading the request body failed")
	}
	c.body = body
	return h(s, c)
}

// authenticate checks the Authorization header and returns the token's
// identity.
func (s *Server) authenticate(r *http.Request) (string, *apiError) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Virgil ")
	if !ok || tok == "" {
		return "", errorf(http.StatusUnauthorized, CodeTokenInvalid, "The Virgil access token was not specified or is invalid")
	}
	claims, err := s.verifier.Verify(tok)
	switch {
	case err == nil:
		return claims.Identity, nil
	case errors.Is(err, e3.ErrTokenExpired):
		return "", errorf(http.StatusUnauthorized, CodeTokenExpired, "The Virgil access token has expired")
	case errors.Is(err, e3.ErrTokenUnknownApp):
		return "", errorf(http.StatusUnauthorized, CodeTokenUnknownApp, "The application or app key of the access token was not found")
	default:
		return "", errorf(http.StatusUnauthorized, CodeTokenInvalid, "The Virgil access token was not specified or is invalid")
	}
}

func writeJSON(w http.ResponseWriter, status int, header map[string]string, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for k, v := range header {
		h.Set(k, v)
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			status, b = http.StatusInternalServerError, []byte(`{"code":10000,"message":"internal error"}`)
		}
	}
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) record(r Request) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if len(s.reqs) >= maxRequestLog { // keep the newer half
		s.reqs = append(s.reqs[:0:0], s.reqs[maxRequestLog/2:]...)
	}
	s.reqs = append(s.reqs, r)
}

// internal turns a storage failure into a 500 answer.
func internal(err error) *apiError {
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error: %v", err)
}

// validName reports whether s is a non-empty printable-ASCII string of at
// most 1024 bytes: what identities must be.
func validName(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validKey reports whether s is a non-empty UTF-8 string of at most 1024
// bytes without control characters: Keyknox roots, paths and keys (e3kit's
// backup key names are the user's choice).
func validKey(s string) bool {
	if s == "" || len(s) > 1024 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
