package streamtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// clockLeeway is how far in the future nbf and iat may be before a token is
// refused (exp gets no leeway).
const clockLeeway = 5 * time.Second

// signHS256 returns a compact HS256 JWT over claims, encoded as
// golang-jwt (and so stream-chat-go) encodes it: header
// {"alg":"HS256","typ":"JWT"}, base64url segments without padding.
func signHS256(secret []byte, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// authInfo is who a request is authenticated as.
type authInfo struct {
	server bool
	userID string
}

func authErr(code int, format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: code, message: fmt.Sprintf(format, args...)}
}

// decodeSegment decodes one base64url JWT segment; trailing padding is
// tolerated.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// verifyToken checks a bare compact JWT the way spec §6.1 lists:
// HS256 only, constant-time signature check with the API secret, then
// exp/nbf/iat, then the claims that say who is calling.
func verifyToken(token string, secret []byte, apiKey string, now time.Time, allowUnsigned bool) (authInfo, *apiError) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token is malformed: token contains an invalid number of segments")
	}
	hdrBytes, err := decodeSegment(parts[0])
	if err != nil {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token is malformed: could not base64 decode header")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hdrBytes, &hdr); err != nil {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token is malformed: could not JSON decode header")
	}
	if hdr.Alg != "HS256" {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: signing method %q is not supported, use HS256", hdr.Alg)
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token is malformed: could not base64 decode claims")
	}
	devToken := parts[2] == "devtoken"
	if !(devToken && allowUnsigned) {
		sig, err := decodeSegment(parts[2])
		if err != nil {
			return authInfo{}, authErr(CodeTokenSignatureWrong, "JWTAuth error: signature is not valid. Make sure the token is created using the secret for API key %q", apiKey)
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			return authInfo{}, authErr(CodeTokenSignatureWrong, "JWTAuth error: signature is not valid. Make sure the token is created using the secret for API key %q", apiKey)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil || dec.More() {
		return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token is malformed: could not JSON decode claims")
	}
	numClaim := func(name string) (float64, bool, *apiError) {
		v, ok := claims[name]
		if !ok || v == nil {
			return 0, false, nil
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return 0, false, authErr(CodeAuthentication, "JWTAuth error: token is malformed: claim %s is not a number", name)
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false, authErr(CodeAuthentication, "JWTAuth error: token is malformed: claim %s is not a number", name)
		}
		return f, true, nil
	}
	unix := float64(now.Unix())
	if exp, ok, aerr := numClaim("exp"); aerr != nil {
		return authInfo{}, aerr
	} else if ok && unix >= exp {
		return authInfo{}, authErr(CodeTokenExpired, "JWTAuth error: token is expired")
	}
	if nbf, ok, aerr := numClaim("nbf"); aerr != nil {
		return authInfo{}, aerr
	} else if ok && unix+clockLeeway.Seconds() < nbf {
		return authInfo{}, authErr(CodeTokenNotValidYet, "JWTAuth error: token is not valid yet")
	}
	if iat, ok, aerr := numClaim("iat"); aerr != nil {
		return authInfo{}, aerr
	} else if ok && unix+clockLeeway.Seconds() < iat {
		return authInfo{}, authErr(CodeTokenUsedBeforeIAT, "JWTAuth error: token used before issue at (iat)")
	}
	if srv, ok := claims["server"].(bool); ok && srv && !devToken {
		return authInfo{server: true}, nil
	}
	if uid, ok := claims["user_id"].(string); ok && uid != "" {
		return authInfo{userID: uid}, nil
	}
	return authInfo{}, authErr(CodeAuthentication, "JWTAuth error: token has neither a server claim nor a user_id claim")
}
