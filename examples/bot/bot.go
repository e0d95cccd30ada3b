package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

// bot answers patients' questions about their appointments. It is a
// participant like any other: it has its own identity and private key
// (its e3.Client), is a member of the channels it serves, and reads and
// writes sealed messages. What it logs is an audit trail without PHI:
// identifiers and actions, never a message's text.
type bot struct {
	e3       *e3.Client
	stream   *stream.Client // server-side stream-chat-go client of the app
	schedule schedule
	audit    *slog.Logger
}

// webhookHandler is the bot's http.Handler: streamenc verifies every
// delivery (signature, size, replays) and opens the message for the bot
// before handle sees it.
func (b *bot) webhookHandler(secret string, logger *slog.Logger) (http.Handler, error) {
	return streamenc.NewWebhookHandler(streamenc.WebhookConfig{
		Secret:   secret, // the Stream app's API secret: it signs webhooks
		Client:   b.e3,
		Handle:   b.handle,
		OnReject: b.rejected,
		Logger:   logger,
	})
}

// handle is called for every genuine, new webhook event. Returning an error
// answers 500, and Stream delivers the event again.
func (b *bot) handle(ctx context.Context, ev *streamenc.Event) error {
	if ev.Type != "message.new" || ev.Message == nil {
		return nil // edits, reactions, membership changes: nothing to answer
	}
	m := ev.Message
	if m.SenderID == b.e3.Identity() {
		return nil // the bot's own replies come back as events too
	}
	if m.Deleted || m.Type == stream.MessageTypeSystem {
		return nil
	}
	attrs := []slog.Attr{
		slog.String("cid", ev.CID),
		slog.String("message_id", m.ID),
		slog.String("sender", m.SenderID),
		slog.String("webhook_id", ev.WebhookID),
	}
	if m.Err != nil {
		// Not sealed for the bot, sent in clear, altered, or from an unknown
		// sender: the bot does not act on what it cannot verify. (Nothing is
		// gained by retrying, so no error is returned.)
		b.record(ctx, slog.LevelWarn, "unreadable", append(attrs, slog.String("reason", openFailure(m.Err)))...)
		return nil
	}

	// The reply: sealed for every member of the channel (the patient, the
	// care team, the bot), in the thread if the question was in one. Its id
	// is derived from the question's, so that a retried delivery cannot
	// make a second reply: Stream refuses a message id twice.
	reply := &stream.Message{
		Text:      b.schedule.answer(m.Sender.Identity, m.Text),
		ParentID:  m.ParentID,
		ExtraData: map[string]any{"id": "reply-" + m.ID},
	}
	if m.ParentID != "" {
		attrs = append(attrs, slog.String("thread", m.ParentID))
	}
	ch, err := ev.Channel(b.stream, b.e3, nil)
	if err != nil {
		b.record(ctx, slog.LevelWarn, "unreadable", append(attrs, slog.String("reason", "no channel"))...)
		return nil
	}
	sent, err := ch.SendMessage(ctx, reply, "")
	if err != nil {
		// A reply sent by an earlier attempt whose answer was lost?
		if prev, gerr := ch.GetMessage(ctx, "reply-"+m.ID); gerr == nil && prev.SenderID == b.e3.Identity() {
			b.record(ctx, slog.LevelInfo, "already_replied", append(attrs, slog.String("reply_id", prev.ID))...)
			return nil
		}
		b.record(ctx, slog.LevelError, "reply_failed", append(attrs, slog.String("err", err.Error()))...)
		return fmt.Errorf("bot: replying to %s: %w", m.ID, err)
	}
	b.record(ctx, slog.LevelInfo, "replied", append(attrs, slog.String("reply_id", sent.ID))...)
	return nil
}

// rejected records a webhook delivery that streamenc refused: forged
// (bad signature), replayed, stale, malformed or too large.
func (b *bot) rejected(r *http.Request, err error) {
	reason := "other"
	for _, k := range []struct {
		err  error
		name string
	}{
		{streamenc.ErrWebhookSignature, "bad_signature"},
		{streamenc.ErrWebhookReplay, "replay"},
		{streamenc.ErrWebhookInProgress, "in_progress"},
		{streamenc.ErrWebhookStale, "stale"},
		{streamenc.ErrWebhookMalformed, "malformed"},
		{streamenc.ErrWebhookTooLarge, "too_large"},
	} {
		if errors.Is(err, k.err) {
			reason = k.name
			break
		}
	}
	b.record(r.Context(), slog.LevelWarn, "webhook_rejected",
		slog.String("reason", reason),
		slog.String("remote", r.RemoteAddr),
		slog.String("webhook_id", r.Header.Get("X-Webhook-Id")))
}

// record writes one audit record: an action and identifiers, never text.
func (b *bot) record(ctx context.Context, level slog.Level, action string, attrs ...slog.Attr) {
	b.audit.LogAttrs(ctx, level, "audit", append([]slog.Attr{slog.String("action", action)}, attrs...)...)
}

// openFailure names why a message could not be opened, for the audit log.
func openFailure(err error) string {
	switch {
	case errors.Is(err, streamenc.ErrNotSealed):
		return "not_sealed"
	case errors.Is(err, streamenc.ErrNotRecipient):
		return "not_sealed_for_bot"
	case errors.Is(err, streamenc.ErrTampered):
		return "tampered"
	case errors.Is(err, streamenc.ErrUnknownSender):
		return "unknown_sender"
	case errors.Is(err, streamenc.ErrMalformed):
		return "malformed"
	case errors.Is(err, e3.ErrNoLocalKey):
		return "no_private_key" // the bot's key is not in its keyring
	}
	return "other"
}

// appointment is one entry of the schedule.
type appointment struct {
	At    time.Time
	With  string
	Where string
}

// schedule is the bot's tiny in-memory appointment book, by patient
// identity. A real bot would ask the practice's scheduling system.
type schedule map[string]appointment

// demoSchedule books the demo patients on the second and the fifth working
// day from now.
func demoSchedule(now time.Time) schedule {
	day := func(n, hour, minute int) time.Time {
		d := now
		for n > 0 {
			d = d.AddDate(0, 0, 1)
			if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
				n--
			}
		}
		return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, now.Location())
	}
	return schedule{
		"maria": {At: day(2, 10, 30), With: "Dr. Chen", Where: "Room 4B, second floor, east wing"},
		"james": {At: day(5, 15, 0), With: "Nurse Okafor", Where: "Room 1A, ground floor"},
	}
}

// answer is the reply to text from patient.
func (s schedule) answer(patient, text string) string {
	q := strings.ToLower(text)
	a, booked := s[patient]
	switch {
	case !strings.Contains(q, "where") && !strings.Contains(q, "when") && !strings.Contains(q, "appointment"):
		return `I'm the care team's scheduling assistant. Ask me "When is my appointment?" or "Where is it?"`
	case !booked:
		return "I have no upcoming appointment on file for you. Please call the clinic to book one."
	case strings.Contains(q, "where"):
		return fmt.Sprintf("Your appointment with %s is in %s.", a.With, a.Where)
	default:
		return fmt.Sprintf("Your next appointment is on %s at %s with %s.", a.At.Format("Monday 2 January"), a.At.Format("15:04"), a.With)
	}
}
