// Command bot is a care-team bot on Stream Chat: patients ask it when and
// where their next appointment is, in end-to-end encrypted channels, and it
// answers in kind. It shows how a server-side participant works with e3go:
//
//   - it has its own identity and private key (an e3.Client), registered with
//     Virgil like any user, and is a member of the channels it serves, so
//     e3kit apps seal their messages for it too;
//   - it receives messages through Stream's webhooks:
//     streamenc.NewWebhookHandler checks each delivery's signature, refuses
//     replays and opens the message for the bot (decrypted, the sender's
//     signature verified);
//   - it answers with a sealed reply in the same channel (in the thread, if
//     the question was in one), readable by every member;
//   - it writes an audit log without PHI: JSON lines (log/slog) on standard
//     error with the action, the channel cid, message ids and the sender's
//     id, never a message's text.
//
// # Running it
//
//	go run ./examples/bot          # embedded services: a demo, then serves until Ctrl-C
//	go run ./examples/bot -demo    # the demo only: exits when it is done
//
// With no environment it starts an in-process Virgil-compatible server
// (e3test) and Stream emulator (streamtest), registers itself as "care-bot",
// points the emulator's webhooks at itself, and plays a demo on standard
// output: a patient, maria, asks "When is my appointment?" in a channel with
// the bot, then "Where is it?" in the thread of its answer, and reads the
// bot's sealed replies. Then it keeps serving webhooks until SIGINT or
// SIGTERM (with -demo it exits 0 instead, or 1 if the demo failed).
//
// The schedule is a tiny in-memory book with two patients, "maria" and
// "james"; anyone else is told there is no appointment on file.
//
// # Real services
//
// With STREAM_API_KEY and STREAM_API_SECRET it serves that Stream app; with
// VIRGIL_APP_ID, VIRGIL_APP_KEY (base64 private key from Virgil's
// dashboard) and VIRGIL_APP_KEY_ID, it registers with that Virgil app (both
// pairs are needed; STREAM_CHAT_URL, VIRGIL_API_URL and VIRGIL_SERVICE_KEY
// point it at other compatible servers). Then:
//
//   - Stream must send the app's webhooks to the bot: set the app's webhook
//     URL to https://<your host>/webhook in the app's chat settings in
//     Stream's dashboard (or with UpdateAppSettings' webhook_url), or start
//     the bot with -webhook-url set to that URL and it sets it itself
//     (replacing the app's webhook URL). Stream must reach it from the
//     internet: put the bot behind a TLS reverse proxy (or a tunnel, for a
//     try).
//   - Add the bot's identity (-identity, "care-bot" by default; the bot
//     creates its Stream user) to the channels it should serve. It answers
//     every message it can open there; messages sealed before it joined are
//     not sealed for it and are ignored.
//   - Its private key: with -keyring DIR it lives in a passphrase-protected
//     keyring directory (passphrase in BOT_KEYRING_PASSPHRASE) and survives
//     restarts. Without, it is kept in memory, and each start publishes a new
//     card (RotatePrivateKey): messages sealed for the previous key can no
//     longer be opened.
//
// # Flags
//
//	-addr host:port     listen address (default 127.0.0.1:8090; port 0 picks one)
//	-identity id        the bot's identity and Stream user id (default care-bot)
//	-demo               embedded services only: play the demo and exit
//	-webhook-url url    set the Stream app's webhook URL to url at start
//	-keyring dir        keep the private key in this keyring directory
//
// The record with "msg":"listening" on standard error carries the bound
// address ("addr") and the webhook URL ("webhook_url").
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/keyring"
	"github.com/e3go/e3go/streamenc/streamtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

type options struct {
	addr, identity, webhookURL, keyringDir string
	demo                                   bool
}

// run is main with its inputs and outputs as arguments; it returns the exit
// status: 0 after the demo (-demo) or a clean shutdown, 1 on a failure,
// 2 for bad flags or configuration.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8090", "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&o.identity, "identity", "care-bot", "the bot's `identity` (Virgil identity and Stream user id)")
	fs.BoolVar(&o.demo, "demo", false, "embedded services only: play the demo and exit")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "set the Stream app's webhook URL to this public `url` at start")
	fs.StringVar(&o.keyringDir, "keyring", "", "keep the private key in this keyring `directory` (passphrase in BOT_KEYRING_PASSPHRASE)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bot: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	svc, err := connect(o, getenv)
	if err != nil {
		log.Error("configuration", "err", err.Error())
		return 2
	}
	defer svc.close()

	b, err := start(ctx, o, svc, getenv, log)
	if err != nil {
		log.Error("start", "err", err.Error())
		return 1
	}
	return serve(ctx, o, svc, b, log, stdout)
}

// services are the bot's Virgil and Stream, embedded or real.
type services struct {
	stream      *stream.Client
	secret      string // the Stream app's API secret: it signs webhooks
	emu         *streamtest.Server
	virgil      *e3test.Server // embedded Virgil, for the demo's patient
	newE3Config func(identity string) e3.Config
	closers     []func()
}

func (s *services) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// connect sets the services up from the flags and the environment.
func connect(o options, getenv func(string) string) (*services, error) {
	apiKey, secret := getenv("STREAM_API_KEY"), getenv("STREAM_API_SECRET")
	appID, appKey, appKeyID := getenv("VIRGIL_APP_ID"), getenv("VIRGIL_APP_KEY"), getenv("VIRGIL_APP_KEY_ID")
	realStream := apiKey != "" && secret != ""
	realVirgil := appID != "" && appKey != "" && appKeyID != ""
	noStream := apiKey == "" && secret == ""
	noVirgil := appID == "" && appKey == "" && appKeyID == ""
	s := &services{}

	switch {
	case noStream && noVirgil:
		// Embedded: the bot's whole world in this process.
		emu := streamtest.NewServer()
		virgil := e3test.NewServer()
		s.closers = append(s.closers, emu.Close, virgil.Close)
		s.stream, s.secret, s.emu, s.virgil = emu.Client(), emu.APISecret, emu, virgil
		s.newE3Config = func(identity string) e3.Config {
			cfg := virgil.ClientConfig(identity)
			cfg.Keyring = keyring.NewMemory()
			return cfg
		}
	case realStream && realVirgil:
		if o.demo {
			return nil, errors.New("bot: -demo runs on the embedded services only (unset STREAM_* and VIRGIL_*)")
		}
		c, err := stream.NewClient(apiKey, secret) // STREAM_CHAT_URL, if set, is read here
		if err != nil {
			return nil, fmt.Errorf("bot: stream client: %w", err)
		}
		s.stream, s.secret = c, secret
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(appKey))
		if err != nil {
			return nil, errors.New("bot: VIRGIL_APP_KEY is not base64")
		}
		key, err := e3.ParsePrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("bot: VIRGIL_APP_KEY: %w", err)
		}
		// The bot runs on the backend side, so it signs its own access
		// tokens with the app key (nobody else needs to hand them out).
		gen := &e3.JWTGenerator{AppID: appID, AppKey: key, AppKeyID: appKeyID}
		var verifier *e3.CardVerifier // nil: trust Virgil's Cards service key
		if sk := getenv("VIRGIL_SERVICE_KEY"); sk != "" {
			der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sk))
			if err != nil {
				return nil, errors.New("bot: VIRGIL_SERVICE_KEY is not base64")
			}
			pub, err := e3.ParsePublicKey(der)
			if err != nil {
				return nil, fmt.Errorf("bot: VIRGIL_SERVICE_KEY: %w", err)
			}
			verifier = &e3.CardVerifier{ServiceKey: pub}
		}
		apiURL := getenv("VIRGIL_API_URL")
		s.newE3Config = func(identity string) e3.Config {
			return e3.Config{
				APIURL:        apiURL,
				TokenProvider: gen.TokenProvider(identity),
				CardVerifier:  verifier,
				Keyring:       keyring.NewMemory(),
			}
		}
	default:
		return nil, errors.New("bot: set STREAM_API_KEY and STREAM_API_SECRET and VIRGIL_APP_ID, VIRGIL_APP_KEY and VIRGIL_APP_KEY_ID, or none of them")
	}
	return s, nil
}

// start makes the bot a participant: its key on this machine and its card
// published, its Stream user created.
func start(ctx context.Context, o options, svc *services, getenv func(string) string, log *slog.Logger) (*bot, error) {
	cfg := svc.newE3Config(o.identity)
	cfg.Audit = e3.AuditLogger(log) // key events (registration, failed decryptions), never content
	if o.keyringDir != "" {
		pass := getenv("BOT_KEYRING_PASSPHRASE")
		if pass == "" {
			return nil, errors.New("bot: -keyring needs BOT_KEYRING_PASSPHRASE")
		}
		kr, err := keyring.NewFile(o.keyringDir, []byte(pass))
		if err != nil {
			return nil, err
		}
		cfg.Keyring = kr
	}
	client, err := e3.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	has, err := client.HasLocalPrivateKey(ctx)
	if err != nil {
		return nil, err
	}
	if !has {
		err := client.Register(ctx)
		if errors.Is(err, e3.ErrAlreadyRegistered) {
			// The identity has a card but its key is not here (a restart
			// without -keyring): publish a new key.
			log.Warn("the bot's private key is not on this machine: publishing a new card (use -keyring to keep it)", "identity", o.identity)
			err = client.RotatePrivateKey(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := svc.stream.UpsertUser(ctx, &stream.User{ID: o.identity, Name: "Care team bot"}); err != nil {
		return nil, fmt.Errorf("bot: creating its Stream user: %w", err)
	}
	return &bot{e3: client, stream: svc.stream, schedule: demoSchedule(time.Now()), audit: log}, nil
}

// serve listens for webhooks, plays the demo on the embedded services,
// and serves until ctx ends (or the demo is over, with -demo).
func serve(ctx context.Context, o options, svc *services, b *bot, log *slog.Logger, stdout io.Writer) int {
	hook, err := b.webhookHandler(svc.secret, log)
	if err != nil {
		log.Error("webhook handler", "err", err.Error())
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		log.Error("listen", "err", err.Error())
		return 1
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	local := "http://" + ln.Addr().String() + "/webhook"
	log.Info("listening", "addr", ln.Addr().String(), "webhook_url", local, "identity", b.e3.Identity())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	// Where Stream sends webhooks.
	switch {
	case svc.emu != nil:
		svc.emu.SetWebhookURL(local)
	case o.webhookURL != "":
		if _, err := svc.stream.UpdateAppSettings(ctx, stream.NewAppSettings().SetWebhookURL(o.webhookURL)); err != nil {
			log.Error("setting the app's webhook URL", "err", err.Error())
			return 1
		}
		log.Info("webhook URL set", "webhook_url", o.webhookURL)
	}

	status := 0
	if svc.emu != nil {
		fmt.Fprintf(stdout, "care-team bot %q serving Stream webhooks at %s (embedded Virgil and Stream)\n", b.e3.Identity(), local)
		if err := demo(ctx, svc, b, stdout); err != nil {
			fmt.Fprintln(stdout, "demo FAILED:", err)
			log.Error("demo", "err", err.Error())
			status = 1
		}
	} else {
		fmt.Fprintf(stdout, "care-team bot %q serving Stream webhooks at %s\n", b.e3.Identity(), local)
	}
	if !o.demo {
		fmt.Fprintln(stdout, "Ctrl-C stops it.")
		select {
		case err := <-errc:
			log.Error("serve", "err", err.Error())
			return 1
		case <-ctx.Done():
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err.Error())
		return 1
	}
	return status
}
