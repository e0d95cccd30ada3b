package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// This file is a minimal HS256 JSON Web Token signer and verifier: the
// algorithm of Stream's user and server tokens and of this backend's own
// session tokens. It accepts exactly one header, so there is no algorithm
// negotiation to get wrong ("alg":"none", RS256/HS256 confusion).

var (
	errTokenMalformed = errors.New("backend: token malformed")
	errTokenSignature = errors.New("backend: token signature invalid")
	errTokenExpired   = errors.New("backend: token expired")
)

// maxTokenLen bounds what the verifier will look at.
const maxTokenLen = 4096

var b64 = base64.RawURLEncoding

// hs256Header is the only header signHS256 writes and verifyHS256 accepts
// (stream-chat-go writes the same bytes).
var hs256Header = b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// signHS256 returns header.payload.signature with claims as the payload.
func signHS256(key []byte, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := hs256Header + "." + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(mac(key, signed)), nil
}

// verifyHS256 checks token's signature with key and decodes its payload into
// claims (unknown claims are an error). It checks no claim: callers do.
func verifyHS256(key []byte, token string, claims any) error {
	if len(token) > maxTokenLen {
		return errTokenMalformed
	}
	header, rest, ok := strings.Cut(token, ".")
	if !ok || header != hs256Header {
		return errTokenMalformed
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return errTokenMalformed
	}
	// Compare the encoded forms: base64 has more than one spelling of
	// some byte strings, the token only one. hmac.Equal takes time
	// independent of where the two differ.
	want := b64.EncodeToString(mac(key, header+"."+payload))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return errTokenSignature
	}
	raw, err := b64.Strict().DecodeString(payload)
	if err != nil {
		return errTokenMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(claims); err != nil {
		return errTokenMalformed
	}
	if _, err := dec.Token(); err != io.EOF { // nothing may follow the object
		return errTokenMalformed
	}
	return nil
}

func mac(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}
