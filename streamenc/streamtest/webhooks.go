package streamtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is one event the server emitted (whether or not a webhook URL was
// set): channel.created/updated/deleted/truncated, member.added/updated/
// removed, message.new/updated/deleted/read, reaction.new/updated/deleted.
type Event struct {
	Seq       int64
	Type      string
	CID       string
	MessageID string
	// Body is the event's JSON, byte for byte what a webhook receives.
	Body      []byte
	CreatedAt time.Time
}

// WebhookDelivery is the record of one event sent (or being sent) to the
// webhook URL.
type WebhookDelivery struct {
	// ID is the X-Webhook-Id header, the same on every attempt.
	ID        string
	EventSeq  int64
	EventType string
	URL       string
	Body      []byte
	// Signature is the X-Signature header: lowercase hex HMAC-SHA256 of
	// Body keyed with the API secret.
	Signature string
	Attempts  []WebhookAttempt
	// Delivered reports that an attempt got a 2xx answer.
	Delivered bool
	// Done reports that no attempt is left (delivered or given up).
	Done bool
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	Number   int // X-Webhook-Attempt, from 1
	Status   int // HTTP status, 0 if the request failed
	Err      string
	Duration time.Duration
}

// webhookTotalTimeout bounds a delivery with all its retries, as Stream
// documents (15 s).
const webhookTotalTimeout = 15 * time.Second

// eventNeedsChannel are the event types whose body carries the channel.
func eventNeedsChannel(typ string) bool {
	return strings.HasPrefix(typ, "channel.") || strings.HasPrefix(typ, "member.") || strings.HasPrefix(typ, "reaction.")
}

// emit records an event and queues it for the webhook. It must be called
// with s.mu held. It returns the event body.
func (s *Server) emit(c *reqCtx, typ string, ch *channel, extra map[string]any) map[string]any {
	body := map[string]any{"type": typ, "created_at": ts(c.now)}
	if ch != nil {
		body["cid"] = ch.cid
		body["channel_id"] = ch.id
		body["channel_type"] = ch.typ
		if eventNeedsChannel(typ) {
			body["channel"] = s.renderChannel(ch)
		}
	}
	for k, v := range extra {
		body[k] = v
	}
	b, err := marshalJSON(body)
	if err != nil {
		return body
	}
	ev := Event{Seq: int64(len(s.events)) + 1, Type: typ, CreatedAt: c.now, Body: b}
	if ch != nil {
		ev.CID = ch.cid
	}
	if id, ok := extra["message_id"].(string); ok {
		ev.MessageID = id
	}
	s.events = append(s.events, ev)
	app := s.st.app
	if app.webhookURL != "" && (len(app.webhookEvents) == 0 || slices.Contains(app.webhookEvents, typ)) {
		mac := hmac.New(sha256.New, s.secret)
		mac.Write(b)
		s.wh.enqueue(&WebhookDelivery{ID: randomUUID(), EventSeq: ev.Seq, EventType: typ,
			URL: app.webhookURL, Body: b, Signature: hex.EncodeToString(mac.Sum(nil))})
	}
	return body
}

// Events returns every event emitted so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Body = slicesClone(e.Body)
		out[i] = e
	}
	return out
}

// WebhookDeliveries returns the record of every webhook delivery, in the
// order the events happened.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	return s.wh.snapshot()
}

// WaitWebhooks blocks until every queued webhook delivery is done
// (delivered or given up after its retries), or ctx ends.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	return s.wh.wait(ctx)
}

// webhookQueue delivers events one at a time, in order: an event is sent
// only once the one before it is delivered or given up.
type webhookQueue struct {
	s       *Server
	client  *http.Client
	mu      sync.Mutex
	pending []*WebhookDelivery
	all     []*WebhookDelivery
	busy    bool
	closed  bool
	changed chan struct{} // closed and replaced on every state change
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

var errWebhooksClosed = errors.New("streamtest: server closed with webhook deliveries pending")

func newWebhookQueue(s *Server) *webhookQueue {
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	q := &webhookQueue{s: s, client: &http.Client{Transport: tr}, changed: make(chan struct{}),
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go q.run()
	return q
}

func (q *webhookQueue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *webhookQueue) enqueue(d *WebhookDelivery) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, d)
	q.all = append(q.all, d)
	q.notifyLocked()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *webhookQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
			case <-q.ctx.Done():
				return
			}
			continue
		}
		d := q.pending[0]
		q.pending = q.pending[1:]
		q.busy = true
		q.mu.Unlock()

		q.deliver(d)

		q.mu.Lock()
		q.busy = false
		d.Done = true
		q.notifyLocked()
		q.mu.Unlock()
	}
}

// deliver sends d with Stream's retry policy: a 408, 429 or 5xx answer or a
// timeout is tried 3 times in all, a network error 2 times, any other
// answer once; all attempts together within 15 s.
func (q *webhookQueue) deliver(d *WebhookDelivery) {
	cfg := q.s.cfg
	deadline := time.Now().Add(max(webhookTotalTimeout, cfg.WebhookTimeout))
	for n := 1; ; n++ {
		start := time.Now()
		status, err := q.post(d, n)
		at := WebhookAttempt{Number: n, Status: status, Duration: time.Since(start)}
		if err != nil {
			at.Err = err.Error()
		}
		ok := err == nil && status >= 200 && status < 300
		q.mu.Lock()
		d.Attempts = append(d.Attempts, at)
		d.Delivered = ok
		q.notifyLocked()
		q.mu.Unlock()
		if ok {
			return
		}
		maxAttempts := 1
		var ne net.Error
		switch {
		case err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())):
			maxAttempts = 3
		case err != nil:
			maxAttempts = 2
		case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
			maxAttempts = 3
		}
		if n >= maxAttempts || q.ctx.Err() != nil {
			return
		}
		wait := cfg.WebhookBackoff << (n - 1)
		if time.Now().Add(wait).After(deadline) {
			return
		}
		select {
		case <-time.After(wait):
		case <-q.ctx.Done():
			return
		}
	}
}

func (q *webhookQueue) post(d *WebhookDelivery, attempt int) (int, error) {
	ctx, cancel := context.WithTimeout(q.ctx, q.s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", d.Signature)
	req.Header.Set("X-Api-Key", q.s.key)
	req.Header.Set("X-Webhook-Id", d.ID)
	req.Header.Set("X-Webhook-Attempt", strconv.Itoa(attempt))
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (q *webhookQueue) wait(ctx context.Context) error {
	for {
		q.mu.Lock()
		idle := len(q.pending) == 0 && !q.busy
		closed := q.closed
		ch := q.changed
		q.mu.Unlock()
		if idle {
			return nil
		}
		if closed {
			return errWebhooksClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *webhookQueue) snapshot() []WebhookDelivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]WebhookDelivery, len(q.all))
	for i, d := range q.all {
		cp := *d
		cp.Body = slicesClone(d.Body)
		cp.Attempts = slices.Clone(d.Attempts)
		out[i] = cp
	}
	return out
}

func (q *webhookQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.notifyLocked()
	q.mu.Unlock()
	q.cancel()
	<-q.done
	q.client.CloseIdleConnections()
}
