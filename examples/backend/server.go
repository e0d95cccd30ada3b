package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/e3go/e3go/e3"
)

// Request body limits: a sign-in is a few dozen bytes, and the credential
// endpoints take none (the seed's front end sends "{}").
const (
	maxAuthBody       = 4 << 10
	maxCredentialBody = 1 << 10
)

// server holds what the handlers share. Everything in it is read-only after
// start, or safe for concurrent use.
type server struct {
	log      *slog.Logger
	users    *directory
	sessions *sessions
	throttle *loginThrottle
	argon    gate
	stream   *streamApp
	virgil   *e3.JWTGenerator
	cors     corsPolicy
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/authenticate", s.authenticate)
	mux.HandleFunc("POST /v1/stream-credentials", s.requireSession(s.streamCredentials))
	mux.HandleFunc("POST /v1/virgil-credentials", s.requireSession(s.virgilCredentials))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s.logRequests(s.cors.wrap(mux))
}

// authenticate signs a user in: {"identity","password"} -> {"authToken","expiresAt"}.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Identity string `json:"identity"` // the seed's field
		User     string `json:"user"`     // accepted as a synonym
		Password string `json:"password"`
	}
	if !decodeJSONBody(w, r, maxAuthBody, &req) {
		return
	}
	identity := req.Identity
	if identity == "" {
		identity = req.User
	} else if req.User != "" && req.User != identity {
		writeError(w, http.StatusBadRequest, "identity and user differ")
		return
	}
	if !validIdentity(identity) {
		writeError(w, http.StatusBadRequest, "identity must have 1 to 64 letters, digits and @ _ . -")
		return
	}
	if req.Password == "" || len(req.Password) > maxPasswordLen {
		writeError(w, http.StatusUnauthorized, "invalid identity or password")
		return
	}
	if wait, ok := s.throttle.allow(identity); !ok {
		// Only known accounts are named in logs: an unknown "identity" may
		// be a password typed into the wrong field.
		s.log.Warn("sign-in throttled", "user", s.knownOrHidden(identity))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeError(w, http.StatusTooManyRequests, "too many failed sign-ins; try again later")
		return
	}
	if err := s.argon.enter(r.Context()); err != nil {
		return // the client went away
	}
	ok := s.users.check(identity, req.Password)
	s.argon.leave()
	if !ok {
		s.throttle.fail(identity)
		s.log.Warn("sign-in failed", "user", s.knownOrHidden(identity))
		writeError(w, http.StatusUnauthorized, "invalid identity or password")
		return
	}
	s.throttle.succeed(identity)
	token, expires, err := s.sessions.issue(identity)
	if err != nil {
		s.log.Error("issuing a session token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.log.Info("signed in", "user", identity, "expires", expires)
	writeJSON(w, http.StatusOK, map[string]string{
		"authToken": token,
		"expiresAt": expires.UTC().Format(time.RFC3339),
	})
}

func (s *server) knownOrHidden(identity string) string {
	if s.users.exists(identity) {
		return identity
	}
	return "(unknown)"
}

// requireSession runs next only for a request with a valid session token in
// "Authorization: Bearer <authToken>"; everything else gets 401.
func (s *server) requireSession(next func(w http.ResponseWriter, r *http.Request, identity string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="e3go-backend"`)
			writeError(w, http.StatusUnauthorized, "missing Authorization: Bearer <authToken>")
			return
		}
		identity, err := s.sessions.verify(token)
		if err == nil && !s.users.exists(identity) {
			err = errors.New("account no longer exists")
		}
		if err != nil {
			reason := "invalid"
			if errors.Is(err, errTokenExpired) {
				reason = "expired"
			}
			s.log.Warn("session refused", "reason", reason)
			w.Header().Set("WWW-Authenticate", `Bearer realm="e3go-backend", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "authToken "+reason+"; sign in again")
			return
		}
		// The seed's front end posts "{}". Anything else must still be a
		// small JSON object; its fields are ignored (the seed copied them
		// into the Stream user, which let a caller set its own fields).
		if !readOptionalObject(w, r, maxCredentialBody) {
			return
		}
		next(w, r, identity)
	}
}

// streamCredentials: -> {"apiKey","token","user":{"id","name","role"}}.
func (s *server) streamCredentials(w http.ResponseWriter, r *http.Request, identity string) {
	user := streamUser{ID: identity, Name: identity, Role: "user"}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.stream.upsertUser(ctx, user); err != nil {
		s.log.Error("registering the user with Stream", "user", identity, "err", err)
		writeError(w, http.StatusBadGateway, "Stream is unavailable")
		return
	}
	token, err := s.stream.userToken(identity)
	if err != nil {
		s.log.Error("issuing a Stream token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.log.Info("credentials issued", "user", identity, "service", "stream")
	writeJSON(w, http.StatusOK, map[string]any{
		"apiKey": s.stream.apiKey,
		"token":  token,
		"user":   user,
	})
}

// virgilCredentials: -> {"token"}, a Virgil JWT for the signed-in identity.
func (s *server) virgilCredentials(w http.ResponseWriter, r *http.Request, identity string) {
	token, err := s.virgil.Generate(identity)
	if err != nil {
		s.log.Error("issuing a Virgil token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.log.Info("credentials issued", "user", identity, "service", "virgil")
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// decodeJSONBody decodes a JSON object of at most limit bytes into dst,
// refusing unknown fields and trailing data; on failure it has answered.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	return checkBodyErr(w, err)
}

// readOptionalObject accepts an empty body or a JSON object of at most limit
// bytes.
func readOptionalObject(w http.ResponseWriter, r *http.Request, limit int64) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		var obj map[string]json.RawMessage
		err = json.Unmarshal(body, &obj)
		if err == nil && obj == nil {
			err = errors.New("null body")
		}
	}
	return checkBodyErr(w, err)
}

func checkBodyErr(w http.ResponseWriter, err error) bool {
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
	default:
		// The decoder's message may quote the body: say only what was expected.
		writeError(w, http.StatusBadRequest, "request body must be a JSON object with the documented fields")
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // tokens must not sit in caches
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// corsPolicy lets browser pages from the listed origins call the API. The
// API authenticates with a header, not cookies, so no credentials mode.
type corsPolicy struct {
	origins map[string]bool // exact "scheme://host[:port]"; "*" allows any
}

func (c corsPolicy) allowed(origin string) bool {
	return origin != "" && (c.origins["*"] || c.origins[origin])
}

func (c corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !c.allowed(origin) {
				writeError(w, http.StatusForbidden, "origin not allowed")
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if c.allowed(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one record per request: the route pattern (never the
// raw path or query, which a client could fill with anything), the status
// and the duration. No headers and no bodies: they carry tokens and
// passwords.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		switch {
		case route != "":
		case r.Method == http.MethodOptions:
			route = "OPTIONS (CORS preflight)"
		default:
			route = r.Method + " (no route)"
		}
		s.log.Info("request", "route", route, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
