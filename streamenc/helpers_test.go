package streamenc_test

import (
	"context"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// world is a Stream emulator and a Virgil emulator with registered users.
type world struct {
	t       testing.TB
	ss      *streamtest.Server
	es      *e3test.Server
	sc      *stream.Client
	clients map[string]*e3.Client
}

func newWorld(t testing.TB, users ...string) *world {
	t.Helper()
	w := &world{t: t, ss: newStreamServer(t), es: e3test.NewServer(), clients: map[string]*e3.Client{}}
	t.Cleanup(w.ss.Close)
	t.Cleanup(w.es.Close)
	w.sc = w.ss.Client()
	for _, u := range users {
		w.addUser(u, true)
	}
	return w
}

// newStreamServer starts a Stream emulator. Benchmarks send thousands of
// requests a minute to one route, so for them the emulated per-route rate
// limit (Stream's) is lifted: it would answer 429 before they end.
func newStreamServer(t testing.TB) *streamtest.Server {
	var cfg streamtest.Config
	if _, ok := t.(*testing.B); ok {
		cfg.RateLimit = 1 << 30
	}
	return streamtest.NewServerWithConfig(cfg)
}

// addUser creates the Stream user and, if register, its e3 identity.
func (w *world) addUser(id string, register bool) *e3.Client {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.sc.UpsertUser(ctx, &stream.User{ID: id}); err != nil {
		w.t.Fatalf("UpsertUser %s: %v", id, err)
	}
	c, err := e3.New(ctx, w.es.ClientConfig(id))
	if err != nil {
		w.t.Fatalf("e3.New %s: %v", id, err)
	}
	if register {
		if err := c.Register(ctx); err != nil {
			w.t.Fatalf("Register %s: %v", id, err)
		}
	}
	w.clients[id] = c
	return c
}

// channel creates a channel with the members (the first creates it).
func (w *world) channel(id string, members ...string) *stream.Channel {
	w.t.Helper()
	resp, err := w.sc.CreateChannel(context.Background(), "messaging", id, members[0],
		&stream.ChannelRequest{Members: members})
	if err != nil {
		w.t.Fatalf("CreateChannel: %v", err)
	}
	return resp.Channel
}

// enc wraps ch for user.
func (w *world) enc(ch *stream.Channel, user string, opts *streamenc.ChannelOptions) *streamenc.Channel {
	var o streamenc.ChannelOptions
	if opts != nil {
		o = *opts
	}
	if o.StreamClient == nil {
		o.StreamClient = w.sc
	}
	return streamenc.NewChannel(ch, w.clients[user], &o)
}

// assertNoPlaintext fails if any of the plaintexts occurs anywhere the
// Stream emulator stored or saw.
func (w *world) assertNoPlaintext(plaintexts ...string) {
	w.t.Helper()
	for _, p := range plaintexts {
		if where := w.ss.Find([]byte(p)); len(where) > 0 {
			w.t.Errorf("plaintext %q found at %v", p, where)
		}
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
