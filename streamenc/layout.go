package streamenc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Layout is how a message's sealed content is placed in a Stream message.
// The layout of each message is recorded in it, so a Channel opens messages
// of every layout whatever it sends.
type Layout int

const (
	// LayoutText is the default and what e3kit apps do: the text field is
	// the standard base64 of e3kit's authEncrypt of the text, so an e3kit
	// client (the seed's React app) decrypts it unchanged. Sealed extras
	// (sensitive fields, attachment names and types) go in the custom
	// field "e3go".
	LayoutText Layout = iota

	// LayoutPushSafe puts a fixed placeholder in the text field, which is
	// what push notifications and Stream's own UI show, and everything
	// sealed (the text included) in the custom field "e3go". e3kit clients
	// that only decrypt the text field see the placeholder.
	LayoutPushSafe
)

// String returns "text" or "push-safe".
func (l Layout) String() string {
	switch l {
	case LayoutText:
		return "text"
	case LayoutPushSafe:
		return "push-safe"
	}
	return "Layout(" + fmt.Sprint(int(l)) + ")"
}

// The marker: the custom field markerKey holds a JSON object of strings,
//
//	{"v":"1","layout":"text"|"push","env":"<standard base64 of a sealed envelope>"}
//
// for messages sealed per recipient, and
//
//	{"v":"2","layout":"text"|"push","group":"<initiator>","env":"..."}
//
// for messages sealed in a channel's group session (group.go): "group"
// names the group's initiator, and with the channel's cid the group
// (GroupID). Version 1 readers refuse version 2 as ErrUnsupportedVersion,
// which is what they should say: they cannot open group messages. "env"
// is optional in the text layout (present only when there are sealed
// extras) and required in the push-safe layout. Strings only: Stream hands
// numbers back as float64 (spec §7.7).
const (
	markerKey          = "e3go"
	markerVersion      = "1"
	markerGroupVersion = "2"
	wireText           = "text"
	wirePush           = "push"

	// attachmentMarker marks, in an attachment's custom fields, the
	// attachments whose description is in the envelope (value "1"), in
	// envelope order.
	attachmentMarker = "e3go"
)

// Bounds on what a parser accepts before any decryption.
const (
	maxEnvB64       = 64 << 10 // a sealed envelope, base64 (Stream caps custom data at 5 KB)
	maxTextB64      = 64 << 10 // a sealed text, base64 (Stream caps text at 20,000 characters)
	maxEnvFields    = 100
	maxAttachments  = 30 // Stream's limit per message
	maxNameBytes    = 1024
	maxMIMEBytes    = 255
	maxFileKeyB64   = 256 // a file's one-off private key (48 bytes of DER), base64
	envelopeVersion = 1
)

// marker is the decoded custom field.
type marker struct {
	layout Layout
	group  string // the group's initiator (version 2), "" when sealed per recipient
	env    []byte // the sealed envelope, nil if absent
}

// encode returns the custom field value.
func (m *marker) encode() map[string]any {
	v := map[string]any{"v": markerVersion}
	if m.group != "" {
		v["v"] = markerGroupVersion
		v["group"] = m.group
	}
	if m.layout == LayoutPushSafe {
		v["layout"] = wirePush
	} else {
		v["layout"] = wireText
	}
	if m.env != nil {
		v["env"] = base64.StdEncoding.EncodeToString(m.env)
	}
	return v
}

// stringFields reads a custom field that must be a JSON object of string
// values with a version under "v" (the marker and the group opt-in): the
// object, a getter for its string values (ok false when absent) and the
// version.
func stringFields(key string, raw any) (obj map[string]any, get func(k string) (string, bool, error), version string, err error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, "", fmt.Errorf("%w: the %q field is not an object", ErrMalformed, key)
	}
	get = func(k string) (string, bool, error) {
		v, ok := obj[k]
		if !ok {
			return "", false, nil
		}
		s, ok := v.(string)
		if !ok {
			return "", false, fmt.Errorf("%w: %s.%s is not a string", ErrMalformed, key, k)
		}
		return s, true, nil
	}
	version, ok, err = get("v")
	if err != nil {
		return nil, nil, "", err
	}
	if !ok {
		return nil, nil, "", fmt.Errorf("%w: %s has no version", ErrMalformed, key)
	}
	return obj, get, version, nil
}

// parseMarker reads the marker from a message's custom fields: (nil, nil)
// when there is none.
func parseMarker(extra map[string]any) (*marker, error) {
	raw, ok := extra[markerKey]
	if !ok {
		return nil, nil
	}
	obj, get, v, err := stringFields(markerKey, raw)
	if err != nil {
		return nil, err
	}
	if v != markerVersion && v != markerGroupVersion {
		return nil, fmt.Errorf("%w: version %s", ErrUnsupportedVersion, quoteBounded(v))
	}
	for k := range obj {
		if k != "v" && k != "layout" && k != "env" && (k != "group" || v != markerGroupVersion) {
			return nil, fmt.Errorf("%w: unknown field %s.%s", ErrMalformed, markerKey, quoteBounded(k))
		}
	}
	m := &marker{}
	if v == markerGroupVersion {
		g, _, err := get("group")
		if err != nil {
			return nil, err
		}
		if err := checkInitiator(g); err != nil {
			return nil, fmt.Errorf("%w: %s.group: %v", ErrMalformed, markerKey, err)
		}
		m.group = g
	}
	lay, _, err := get("layout")
	if err != nil {
		return nil, err
	}
	switch lay {
	case wireText:
		m.layout = LayoutText
	case wirePush:
		m.layout = LayoutPushSafe
	default:
		return nil, fmt.Errorf("%w: unknown layout %s", ErrMalformed, quoteBounded(lay))
	}
	env, ok, err := get("env")
	if err != nil {
		return nil, err
	}
	if ok {
		if m.env, err = decodeB64(env, maxEnvB64); err != nil {
			return nil, fmt.Errorf("%w: %s.env: %v", ErrMalformed, markerKey, err)
		}
	} else if m.layout == LayoutPushSafe {
		return nil, fmt.Errorf("%w: push-safe layout without a sealed payload", ErrMalformed)
	}
	return m, nil
}

// decodeB64 decodes standard base64, padded or not (e3kit-js pads), of at
// most max characters.
func decodeB64(s string, max int) ([]byte, error) {
	if len(s) > max {
		return nil, fmt.Errorf("base64 of %d characters, more than %d", len(s), max)
	}
	if s == "" {
		return nil, errors.New("empty base64")
	}
	if strings.ContainsAny(s, "\r\n") {
		// encoding/base64 skips line breaks even in strict mode.
		return nil, errors.New("line breaks in base64")
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not standard base64")
	}
	return b, nil
}

// sealedText decodes a text field that may hold an e3kit ciphertext: the
// bytes when it is standard base64 of something that starts as a Virgil
// message info does (a DER SEQUENCE, byte 0x30, so the base64 starts with
// "M" and can never be taken for a slash command).
func sealedText(s string) ([]byte, bool) {
	if len(s) < 4 || s[0] != 'M' {
		return nil, false
	}
	b, err := decodeB64(s, maxTextB64)
	if err != nil || len(b) == 0 || b[0] != 0x30 {
		return nil, false
	}
	return b, true
}

// groupText decodes a text field that may hold a group message (e3kit's
// group.encrypt output): the bytes when it is standard base64 of something
// that starts as every virgil-crypto group message does, 08 00 1A (a
// protobuf version 0 and a regular message), so the base64 starts with
// "CAAa".
func groupText(s string) ([]byte, bool) {
	if len(s) < 8 || s[:4] != "CAAa" {
		return nil, false
	}
	b, err := decodeB64(s, maxTextB64)
	if err != nil || len(b) < 4 || b[0] != 0x08 || b[1] != 0x00 || b[2] != 0x1a {
		return nil, false
	}
	return b, true
}

// envelope is the plaintext of a sealed payload (JSON). Strings for
// everything but sizes, which fit float64 exactly up to 2^53.
type envelope struct {
	V           int                        `json:"v"`
	CID         string                     `json:"cid"`
	ID          string                     `json:"id"`
	TextSHA256  string                     `json:"text_sha256,omitempty"` // text layout: SHA-256 of the text ciphertext (hex)
	Text        *string                    `json:"text,omitempty"`        // push-safe layout: the text
	Fields      map[string]json.RawMessage `json:"fields,omitempty"`
	Attachments []envAttachment            `json:"attachments,omitempty"`
}

// envAttachment describes one sealed attachment.
type envAttachment struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`   // plaintext bytes
	SHA256 string `json:"sha256"` // of the uploaded ciphertext (hex)
	// Key, for a file encrypted for a one-off key instead of the
	// recipients' (group channels, see group.go), is the standard base64
	// of that private key (PKCS#8 DER, as virgil-crypto exports it). It
	// is secret: the envelope holding it is only ever sealed.
	Key string `json:"key,omitempty"`
}

// marshalEnvelope encodes e (without HTML escaping, so the size is what it
// looks like).
func marshalEnvelope(e *envelope) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("streamenc: encoding the sealed payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// parseEnvelope decodes and checks a sealed payload's plaintext. It accepts
// exactly one JSON object with the known fields.
func parseEnvelope(b []byte) (*envelope, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: sealed payload is not UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e envelope
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: sealed payload: %v", ErrMalformed, jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: sealed payload: trailing data", ErrMalformed)
	}
	if e.V != envelopeVersion {
		if e.V > envelopeVersion {
			return nil, fmt.Errorf("%w: sealed payload version %d", ErrUnsupportedVersion, e.V)
		}
		return nil, fmt.Errorf("%w: sealed payload version %d", ErrMalformed, e.V)
	}
	if e.TextSHA256 != "" && !isHexSHA256(e.TextSHA256) {
		return nil, fmt.Errorf("%w: sealed payload: bad text digest", ErrMalformed)
	}
	if len(e.Fields) > maxEnvFields {
		return nil, fmt.Errorf("%w: sealed payload: %d fields", ErrMalformed, len(e.Fields))
	}
	for k, v := range e.Fields {
		if k == "" || len(k) > maxNameBytes {
			return nil, fmt.Errorf("%w: sealed payload: bad field name", ErrMalformed)
		}
		if v == nil {
			return nil, fmt.Errorf("%w: sealed payload: field without a value", ErrMalformed)
		}
	}
	if len(e.Attachments) > maxAttachments {
		return nil, fmt.Errorf("%w: sealed payload: %d attachments", ErrMalformed, len(e.Attachments))
	}
	for i, a := range e.Attachments {
		if len(a.Name) > maxNameBytes || len(a.Type) > maxMIMEBytes || a.Size < 0 || !isHexSHA256(a.SHA256) {
			return nil, fmt.Errorf("%w: sealed payload: attachment %d is invalid", ErrMalformed, i)
		}
		if a.Key != "" {
			if _, err := decodeB64(a.Key, maxFileKeyB64); err != nil {
				return nil, fmt.Errorf("%w: sealed payload: attachment %d has a bad key", ErrMalformed, i)
			}
		}
	}
	return &e, nil
}

// jsonReason returns a JSON error's text without echoing input beyond the
// decoder's own short description.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("wrong JSON type for %s", te.Field)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated JSON"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return "unknown field"
	}
	return "invalid JSON"
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// quoteBounded quotes at most 32 bytes of an untrusted string for an
// error message.
func quoteBounded(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return fmt.Sprintf("%q", s)
}
