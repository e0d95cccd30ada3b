package streamtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzRoutes are the requests the fuzz target sends; the fuzzer picks one
// and supplies its body (or, for GET routes, its payload parameter).
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/users"},
	{"PATCH", "/users"},
	{"GET", "/users"},
	{"POST", "/channels"},
	{"POST", "/channels/messaging/query"},
	{"POST", "/channels/messaging/general/query"},
	{"POST", "/channels/messaging/general"},
	{"PATCH", "/channels/messaging/general"},
	{"POST", "/channels/messaging/general/truncate"},
	{"POST", "/channels/messaging/general/message"},
	{"POST", "/channels/messaging/general/read"},
	{"POST", "/channels/messaging/general/event"},
	{"POST", "/channels/messaging/general/hide"},
	{"POST", "/channels/messaging/general/file"},
	{"GET", "/members"},
	{"POST", "/messages/m1"},
	{"PUT", "/messages/m1"},
	{"POST", "/messages/m1/reaction"},
	{"GET", "/search"},
	{"PATCH", "/app"},
	{"POST", "/channels/read"},
	{"POST", "/users/alice/event"},
}

const fuzzBoundary = "fuzzboundary"

// fuzzSeeds reads every captured request body of testdata/captures.json
// and pairs it with its route.
func fuzzSeeds(t testing.TB) [][2]any {
	raw, err := os.ReadFile(filepath.Join("testdata", "captures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var caps []struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Query  map[string]any  `json:"query"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &caps); err != nil {
		t.Fatal(err)
	}
	var seeds [][2]any
	for _, c := range caps {
		for i, r := range fuzzRoutes {
			if r.method != c.Method || r.path != c.Path {
				continue
			}
			body := []byte(c.Body)
			if r.method == "GET" {
				p, _ := json.Marshal(c.Query["payload"])
				body = p
			}
			seeds = append(seeds, [2]any{uint8(i), body})
		}
	}
	return seeds
}

func newFuzzServer(t testing.TB) *Server {
	s := NewServerWithConfig(Config{Now: func() time.Time { return time.Unix(1700000000, 0) }})
	t.Cleanup(s.Close)
	srvReq := func(method, path, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path+"?api_key="+s.APIKey, strings.NewReader(body))
		req.Header.Set("Authorization", s.Token(map[string]any{"server": true}))
		req.Header.Set("Stream-Auth-Type", "jwt")
		s.hs.Config.Handler.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			t.Fatalf("setup %s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	srvReq("POST", "/users", `{"users":{"alice":{"id":"alice"},"bob":{"id":"bob"}}}`)
	srvReq("POST", "/channels/messaging/general/query", `{"data":{"created_by_id":"alice","members":["alice","bob"]}}`)
	srvReq("POST", "/channels/messaging/general/message", `{"message":{"id":"m1","text":"hi","user_id":"alice"}}`)
	return s
}

// FuzzRequest sends arbitrary bodies to the JSON (and multipart) decoding
// paths: no panic (a recovered panic would be a 500), every answer JSON,
// every error Stream's envelope with StatusCode equal to the HTTP status.
func FuzzRequest(f *testing.F) {
	seeds := fuzzSeeds(f)
	if len(seeds) < 20 {
		f.Fatalf("only %d seeds from testdata/captures.json", len(seeds))
	}
	for _, sd := range seeds {
		f.Add(sd[0].(uint8), sd[1].([]byte))
	}
	for _, b := range []string{`null`, `{}`, `[]`, `{"message":null}`, `{"message":{"text":"x","user_id":"alice","attachments":[{"title":{}}]}}`,
		`{"users":{"x":{"id":"y"}}}`, `{"filter_conditions":{"$or":[{"a":{"$in":1}}]}}`, `{"set":{"pin_expires":"not a time"},"user_id":"alice"}`,
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\n{\"id\":\"alice\"}\r\n--" + fuzzBoundary +
			"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\nxyz\r\n--" + fuzzBoundary + "--\r\n"} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), []byte(b))
		}
	}
	s := newFuzzServer(f)
	h := s.hs.Config.Handler
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := r.path + "?api_key=" + s.APIKey
		var rd *bytes.Reader
		if r.method == "GET" {
			target += "&payload=" + url.QueryEscape(string(body))
			rd = bytes.NewReader(nil)
		} else {
			rd = bytes.NewReader(body)
		}
		req := httptest.NewRequest(r.method, target, rd)
		req.Header.Set("Authorization", s.Token(map[string]any{"server": true}))
		req.Header.Set("Stream-Auth-Type", "jwt")
		req.Header.Set("Content-Type", "application/json")
		if strings.HasSuffix(r.path, "/file") {
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %q", r.method, r.path, rec.Body)
		}
		if rec.Code >= 400 {
			if sc, _ := out["StatusCode"].(float64); int(sc) != rec.Code || out["code"] == nil || out["message"] == nil {
				t.Fatalf("%s %s: bad error envelope %v for status %d", r.method, r.path, out, rec.Code)
			}
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusCreated && rec.Code < 400 {
			t.Fatalf("%s %s: status %d", r.method, r.path, rec.Code)
		}
	})
}

// FuzzVerifyToken: arbitrary Authorization values never panic, and only a
// token signed with the secret is accepted.
func FuzzVerifyToken(f *testing.F) {
	secret := []byte("probe-secret")
	for _, tok := range []string{
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.DWJqR_fUzCwHg_syJQ0ar5alSasuGNXu-qRZXBIGICs",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.jZ0WnxPz27pfCDa1UIk9upRXDLMj5rOmDSaSl6NdSBA",
		"a.b.c", "..", "", "eyJhbGciOiJub25lIn0.eyJzZXJ2ZXIiOnRydWV9.",
	} {
		f.Add(tok)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, tok string) {
		info, aerr := verifyToken(tok, secret, "probe-key", now, false)
		if aerr != nil {
			if aerr.status != http.StatusUnauthorized || aerr.message == "" {
				t.Fatalf("error %+v", aerr)
			}
			return
		}
		if !info.server && info.userID == "" {
			t.Fatalf("accepted %q with no identity", tok)
		}
		// Accepted: it must carry a valid HS256 signature.
		parts := strings.Split(tok, ".")
		again, err := signHS256(secret, json.RawMessage("{}"))
		if err != nil || len(parts) != 3 || again == "" {
			t.Fatalf("accepted malformed %q", tok)
		}
	})
}
