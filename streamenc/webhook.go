package streamenc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
)

// Webhook rejections, passed to WebhookConfig.OnReject with the request.
var (
	// ErrWebhookSignature reports a missing or wrong X-Signature (answered
	// 401).
	ErrWebhookSignature = errors.New("streamenc: webhook signature missing or invalid")
	// ErrWebhookTooLarge reports a body over WebhookConfig.MaxBodyBytes
	// (answered 413).
	ErrWebhookTooLarge = errors.New("streamenc: webhook body too large")
	// ErrWebhookMalformed reports a body that is not a Stream event: not
	// JSON, no type, no created_at, an unsupported Content-Encoding
	// (answered 400, or 415 for the encoding).
	ErrWebhookMalformed = errors.New("streamenc: malformed webhook")
	// ErrWebhookStale reports a correctly signed event created outside the
	// replay window, too old (or too far in the future) to be told apart
	// from a replay (answered 400).
	ErrWebhookStale = errors.New("streamenc: webhook event outside the replay window")
	// ErrWebhookReplay reports a correctly signed event already handled
	// (answered 200, so that Stream stops retrying, and not handed to the
	// callback again).
	ErrWebhookReplay = errors.New("streamenc: webhook event already handled")
	// ErrWebhookInProgress reports a copy of an event that is being
	// handled right now (answered 503, so that Stream retries later).
	ErrWebhookInProgress = errors.New("streamenc: webhook event being handled")
)

// Webhook defaults.
const (
	DefaultWebhookMaxBody      = 1 << 20
	DefaultWebhookReplayWindow = 5 * time.Minute
	defaultReplayEntries       = 100000
)

// WebhookConfig configures a WebhookHandler. Secret, Client and Handle are
// required; the zero values of the others are the defaults named on them.
// A WebhookConfig must not be changed after it is passed to
// NewWebhookHandler.
type WebhookConfig struct {
	// Secret is the Stream app's API secret, which signs webhooks.
	Secret string

	// Client is the server-side participant (the bot): message events are
	// opened for its identity, which must be a member of the channels it
	// should read.
	Client *e3.Client

	// Handle receives every accepted event, in the request's goroutine
	// with the request's context. Message events have Event.Message
	// opened. Returning an error answers 500, so Stream retries the
	// delivery (the event is not recorded as handled); answer quickly,
	// Stream waits about 3 s.
	Handle func(ctx context.Context, ev *Event) error

	// MaxBodyBytes bounds a webhook body (after gunzip); 0 means 1 MiB.
	MaxBodyBytes int64

	// ReplayWindow is how far an event's created_at may be from now, in
	// either direction, and how long handled events are remembered; 0
	// means 5 minutes. Stream's own retries end within 15 s of the first
	// attempt; an event Stream delivers later than the window (after an
	// outage on its side, or with a clock off by more) is refused with 400
	// and not retried, so OnReject should log ErrWebhookStale and the
	// window be raised if that happens.
	ReplayWindow time.Duration

	// MaxRemembered bounds how many handled events are remembered for
	// the replay check; 0 means 100,000. When full, the oldest are
	// forgotten before their window ends.
	MaxRemembered int

	// OnReject, if set, is called for every request that is not handed
	// to Handle, with the reason (one of the ErrWebhook* errors, wrapped).
	OnReject func(r *http.Request, err error)

	// Logger receives one line per rejected request (never the body);
	// nil means none.
	Logger *slog.Logger

	// HTTPClient, MaxAttachmentBytes and CheckAttachmentURL are as in
	// ChannelOptions, for the attachments of opened messages.
	HTTPClient         *http.Client
	MaxAttachmentBytes int64
	CheckAttachmentURL func(*url.URL) error

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Event is a webhook event as the bot reads it.
type Event struct {
	// Type is the event type ("message.new", "member.added", ...).
	Type string
	// CID is the channel's cid, if the event has one.
	CID string
	// CreatedAt is when Stream created the event.
	CreatedAt time.Time
	// Message is the event's message opened for the bot, for
	// message.new and message.updated; nil for every other type (their
	// raw message, if any, is in Raw). Check Message.Err: a message the
	// bot cannot open (not sealed for it, not sealed at all, altered) is
	// still handed over, with Err set and no content. Err matching
	// e3.ErrNoLocalKey means the bot's private key is not in its keyring:
	// no sealed message can be opened until it is restored. The bot's own
	// messages come back too (Message.SenderID). Group messages are
	// opened in the group their marker names; one posted without the
	// marker fails with ErrGroupNoAccess here (the handler reads no
	// channel data to tell its group; a Channel opens it).
	Message *Message
	// Raw is the event as stream-chat-go decodes it.
	Raw *stream.Event
	// WebhookID and Attempt are Stream's X-Webhook-Id and
	// X-Webhook-Attempt headers (not covered by the signature).
	WebhookID string
	Attempt   int
}

// Channel returns the event's channel as a Channel for client's identity
// (typically the bot's, WebhookConfig.Client), to reply or read more: it
// splits CID into the channel type and id and calls NewChannel over
// sc.Channel(type, id), with opts.StreamClient set to sc when it is nil
// (opts may be nil). It makes no request. It fails for an event without a
// channel (CID empty) and, wrapping ErrWebhookMalformed, for a CID that is
// not "type:id"; like NewChannel it panics if sc or client is nil.
//
// See NewWebhookHandler for a reply that Stream's retries cannot send
// twice.
func (e *Event) Channel(sc *stream.Client, client *e3.Client, opts *ChannelOptions) (*Channel, error) {
	if sc == nil || client == nil {
		panic("streamenc: Event.Channel with a nil stream.Client or e3.Client")
	}
	if e.CID == "" {
		return nil, fmt.Errorf("streamenc: the %q event has no channel", e.Type)
	}
	typ, id, ok := strings.Cut(e.CID, ":")
	if !ok || typ == "" || id == "" {
		return nil, fmt.Errorf("%w: cid %q is not type:id", ErrWebhookMalformed, e.CID)
	}
	var o ChannelOptions
	if opts != nil {
		o = *opts
	}
	if o.StreamClient == nil {
		o.StreamClient = sc
	}
	return NewChannel(sc.Channel(typ, id), client, &o), nil
}

// WebhookHandler is an http.Handler for Stream's webhooks that verifies
// them, drops replays and opens message events for a server-side
// participant. See NewWebhookHandler.
type WebhookHandler struct {
	secret  []byte
	handle  func(ctx context.Context, ev *Event) error
	o       *opener
	maxBody int64
	window  time.Duration
	onRej   func(*http.Request, error)
	log     *slog.Logger
	now     func() time.Time
	replay  *replayCache
}

// NewWebhookHandler returns a handler for Stream's webhooks. For every
// POST it:
//
//  1. reads the body, at most MaxBodyBytes (gunzipping it first if
//     Content-Encoding is gzip; Stream signs the uncompressed JSON): 413
//     beyond;
//  2. checks X-Signature, the lowercase hex HMAC-SHA256 of the body keyed
//     with the API secret, in constant time: 401 if missing or wrong;
//  3. decodes the event (stream-chat-go's stream.Event): 400 if it is not
//     a JSON object with a type and a created_at;
//  4. refuses replays: 400 for an event whose created_at is more than
//     ReplayWindow away from now; 200 without calling Handle for an event
//     already handled (same body bytes, or for message events the same
//     type, message id, created_at and message updated_at); 503 for one
//     being handled at this moment;
//  5. opens the message of message.new and message.updated events for
//     Client's identity, and calls Handle: 500 if it fails (the event may
//     come again), 200 otherwise.
//
// Replay protection is in memory, per handler: it does not survive a
// restart and is not shared between processes or replicas, which each
// accept a replay of an event handled by another; and an event is only
// remembered for ReplayWindow (older ones are refused by their
// created_at). A replay is a byte-identical copy of a body Stream signed;
// nothing but the secret can make a new one.
//
// To reply, a bot sends in the event's channel (Event.Channel, then
// Channel.SendMessage). Stream delivers an event again when Handle fails
// or answers late, and the replay protection does not cover a restart or
// another replica, so a reply must be safe to send twice: derive its
// message id from the question's, set as the "id" custom field, and Stream
// refuses the second send (a message id is unique). When the send fails,
// GetMessage of that id tells whether an earlier attempt got through:
//
//	ch, err := ev.Channel(streamClient, botClient, nil)
//	if err != nil {
//		return err
//	}
//	replyID := "reply-" + ev.Message.ID
//	_, err = ch.SendMessage(ctx, &stream.Message{Text: answer,
//		ParentID: ev.Message.ParentID, // in the thread, if asked in one
//		ExtraData: map[string]any{"id": replyID}}, "")
//	if err != nil {
//		if prev, gerr := ch.GetMessage(ctx, replyID); gerr == nil && prev.SenderID == botClient.Identity() {
//			return nil // replied by an earlier delivery
//		}
//		return err // 500: Stream delivers the event again
//	}
func NewWebhookHandler(cfg WebhookConfig) (*WebhookHandler, error) {
	switch {
	case cfg.Secret == "":
		return nil, errors.New("streamenc: WebhookConfig.Secret is required")
	case cfg.Client == nil:
		return nil, errors.New("streamenc: WebhookConfig.Client is required")
	case cfg.Handle == nil:
		return nil, errors.New("streamenc: WebhookConfig.Handle is required")
	}
	h := &WebhookHandler{
		secret:  []byte(cfg.Secret),
		handle:  cfg.Handle,
		o:       newOpener(cfg.Client, cfg.HTTPClient, cfg.MaxAttachmentBytes, cfg.CheckAttachmentURL, 0),
		maxBody: cfg.MaxBodyBytes,
		window:  cfg.ReplayWindow,
		onRej:   cfg.OnReject,
		log:     cfg.Logger,
		now:     cfg.Now,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultWebhookMaxBody
	}
	if h.window <= 0 {
		h.window = DefaultWebhookReplayWindow
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.o.now = h.now
	max := cfg.MaxRemembered
	if max <= 0 {
		max = defaultReplayEntries
	}
	h.replay = newReplayCache(max)
	return h, nil
}

// ServeHTTP handles one webhook delivery.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s", ErrWebhookMalformed, r.Method))
		return
	}
	body, status, err := h.readBody(r)
	if err != nil {
		h.reject(w, r, status, err)
		return
	}
	if !h.validSignature(body, r.Header.Get("X-Signature")) {
		h.reject(w, r, http.StatusUnauthorized, ErrWebhookSignature)
		return
	}
	ev, err := parseWebhookEvent(body)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, err)
		return
	}
	now := h.now()
	if d := now.Sub(ev.CreatedAt); d > h.window || d < -h.window {
		h.reject(w, r, http.StatusBadRequest, fmt.Errorf("%w: created %s, now %s", ErrWebhookStale,
			ev.CreatedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		return
	}
	keys := replayKeys(body, ev)
	until := ev.CreatedAt.Add(h.window)
	switch h.replay.begin(keys, now) {
	case replaySeen:
		h.reject(w, r, http.StatusOK, ErrWebhookReplay)
		return
	case replayBusy:
		w.Header().Set("Retry-After", "1")
		h.reject(w, r, http.StatusServiceUnavailable, ErrWebhookInProgress)
		return
	}
	out := &Event{Type: string(ev.Type), CID: ev.CID, CreatedAt: ev.CreatedAt, Raw: ev,
		WebhookID: r.Header.Get("X-Webhook-Id")}
	out.Attempt, _ = strconv.Atoi(r.Header.Get("X-Webhook-Attempt"))
	if (ev.Type == stream.EventMessageNew || ev.Type == stream.EventMessageUpdated) && ev.Message != nil {
		out.Message = h.o.openAll(r.Context(), []*stream.Message{ev.Message}, ev.CID)[0]
	}
	if err := h.handle(r.Context(), out); err != nil {
		h.replay.end(keys, false, until)
		h.log.Warn("streamenc: webhook handler failed", "type", out.Type, "err", err)
		http.Error(w, "handler failed", http.StatusInternalServerError)
		return
	}
	h.replay.end(keys, true, until)
	w.WriteHeader(http.StatusOK)
}

func (h *WebhookHandler) reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	if h.onRej != nil {
		h.onRej(r, err)
	}
	h.log.Warn("streamenc: webhook rejected", "status", status, "err", err)
	if status == http.StatusOK {
		w.WriteHeader(status)
		return
	}
	http.Error(w, trimPrefix(err.Error()), status)
}

// readBody reads the body within the limit, gunzipping it if needed.
func (h *WebhookHandler) readBody(r *http.Request) ([]byte, int, error) {
	if r.ContentLength > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, the limit is %d", ErrWebhookTooLarge, r.ContentLength, h.maxBody)
	}
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, h.maxBody+1))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("%w: bad gzip body", ErrWebhookMalformed)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("%w: Content-Encoding %s", ErrWebhookMalformed, quoteBounded(enc))
	}
	body, err := io.ReadAll(io.LimitReader(src, h.maxBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: reading the body: %v", ErrWebhookMalformed, err)
	}
	if int64(len(body)) > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: more than %d bytes", ErrWebhookTooLarge, h.maxBody)
	}
	return body, 0, nil
}

// validSignature checks X-Signature against the body in constant time.
func (h *WebhookHandler) validSignature(body []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}

// parseWebhookEvent decodes a verified body into a stream.Event.
func parseWebhookEvent(body []byte) (*stream.Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: the body is not a JSON object", ErrWebhookMalformed)
	}
	var ev stream.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrWebhookMalformed, jsonReason(err))
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: the event has no type", ErrWebhookMalformed)
	}
	if ev.CreatedAt.IsZero() {
		return nil, fmt.Errorf("%w: the event has no created_at", ErrWebhookMalformed)
	}
	return &ev, nil
}

// replayKeys are the identities of an event: its body's digest, and for
// message events its type, message id, created_at and the message's
// updated_at (so that a copy whose JSON was re-serialised is caught too).
func replayKeys(body []byte, ev *stream.Event) []string {
	sum := sha256.Sum256(body)
	keys := []string{"b:" + hex.EncodeToString(sum[:])}
	if ev.Message != nil && ev.Message.ID != "" && strings.HasPrefix(string(ev.Type), "message.") {
		k := "m:" + string(ev.Type) + "\x00" + ev.Message.ID + "\x00" + ev.CreatedAt.UTC().Format(time.RFC3339Nano)
		if ev.Message.UpdatedAt != nil {
			k += "\x00" + ev.Message.UpdatedAt.UTC().Format(time.RFC3339Nano)
		}
		keys = append(keys, k)
	}
	return keys
}

// replayCache remembers handled events until their window ends.
type replayCache struct {
	max int

	mu    sync.Mutex
	done  map[string]time.Time // key -> forget after
	busy  map[string]bool
	order []replayEntry // FIFO of done keys from head on, for expiry and the bound
	head  int
}

type replayEntry struct {
	key   string
	until time.Time
}

type replayState int

const (
	replayNew replayState = iota
	replaySeen
	replayBusy
)

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, done: map[string]time.Time{}, busy: map[string]bool{}}
}

// begin checks keys and, if the event is new, marks it as being handled.
func (c *replayCache) begin(keys []string, now time.Time) replayState {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	for _, k := range keys {
		if t, ok := c.done[k]; ok && now.Before(t) {
			return replaySeen
		}
	}
	for _, k := range keys {
		if c.busy[k] {
			return replayBusy
		}
	}
	for _, k := range keys {
		c.busy[k] = true
	}
	return replayNew
}

// end records the outcome of handling: a handled event is remembered
// until until (when its created_at leaves the window); a failed one is
// forgotten so that a retry is handled.
func (c *replayCache) end(keys []string, handled bool, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.busy, k)
		if handled {
			c.done[k] = until
			c.order = append(c.order, replayEntry{key: k, until: until})
		}
	}
}

// expire forgets entries whose window ended, and the oldest beyond the
// bound. It must be called with c.mu held.
func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.order) {
		e := c.order[c.head]
		if now.Before(e.until) && len(c.order)-c.head <= c.max {
			break
		}
		if t, ok := c.done[e.key]; ok && t.Equal(e.until) {
			delete(c.done, e.key)
		}
		c.order[c.head] = replayEntry{}
		c.head++
	}
	if c.head > 1024 && c.head > len(c.order)/2 {
		c.order = append([]replayEntry(nil), c.order[c.head:]...)
		c.head = 0
	}
}
