package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/streamenc/streamtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	addr, allowOrigin    string
	usersFile, demoUsers string
	tlsCert, tlsKey      string
	sessionTTL           time.Duration
	streamTTL, virgilTTL time.Duration
	hashPassword         bool
}

// run is main with its inputs and outputs as arguments; it returns the exit
// status: 0 after a clean shutdown, 1 when the server could not start or
// failed, 2 for bad flags or configuration.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&o.allowOrigin, "allow-origin", "http://localhost:3000", "comma-separated `origins` browsers may call from (* for any)")
	fs.StringVar(&o.usersFile, "users", "", "account `file`: lines identity:<hash from -hash-password> (default: demo users)")
	fs.StringVar(&o.demoUsers, "demo-users", "alice,bob", "comma-separated demo `identities` when -users is not given")
	fs.DurationVar(&o.sessionTTL, "session-ttl", time.Hour, "lifetime of an authToken")
	fs.DurationVar(&o.streamTTL, "stream-token-ttl", time.Hour, "lifetime of a Stream user token")
	fs.DurationVar(&o.virgilTTL, "virgil-token-ttl", e3.DefaultJWTTTL, "lifetime of a Virgil JWT")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM; needs -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the private key `file` (PEM) for -tls-cert")
	fs.BoolVar(&o.hashPassword, "hash-password", false, "read a password on standard input, print its hash for a -users file, exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backend: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.hashPassword {
		return hashPasswordCommand(stdin, stdout, stderr)
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, banner, cleanup, err := setup(o, getenv, log)
	defer cleanup()
	if err != nil {
		log.Error("configuration", "err", err)
		return 2
	}
	return serve(ctx, o, srv, banner, log, stdout)
}

// setup builds the server from the options and the environment, starting
// the embedded services that the environment does not replace. cleanup is
// never nil and stops what was started.
func setup(o options, getenv func(string) string, log *slog.Logger) (s *server, banner []string, cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	if o.sessionTTL <= 0 || o.streamTTL <= 0 || o.virgilTTL <= 0 {
		return nil, nil, cleanup, errors.New("backend: token lifetimes must be positive")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, nil, cleanup, errors.New("backend: -tls-cert and -tls-key go together")
	}
	if o.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey); err != nil {
			return nil, nil, cleanup, fmt.Errorf("backend: TLS: %w", err)
		}
	}
	cors, err := parseOrigins(o.allowOrigin)
	if err != nil {
		return nil, nil, cleanup, err
	}
	s = &server{
		log:      log,
		cors:     cors,
		throttle: newLoginThrottle(5, time.Minute, time.Now),
		argon:    make(gate, runtime.GOMAXPROCS(0)),
	}

	// Accounts.
	var accounts string
	if o.usersFile != "" {
		f, err := os.Open(o.usersFile)
		if err != nil {
			return nil, nil, cleanup, fmt.Errorf("backend: %w", err)
		}
		s.users, err = parseUsers(f)
		f.Close()
		if err != nil {
			return nil, nil, cleanup, err
		}
		log.Info("accounts", "source", "users file", "count", len(s.users.hashes))
		accounts = fmt.Sprintf("accounts: %d from %s", len(s.users.hashes), o.usersFile)
	} else {
		// A random demo password goes to the terminal (never to the logs);
		// one from the environment is not repeated.
		password, shown := getenv("DEMO_PASSWORD"), "from DEMO_PASSWORD"
		if password == "" {
			password = rand.Text()
			shown = password + " (random for this run; DEMO_PASSWORD sets it)"
		}
		users := strings.Split(o.demoUsers, ",")
		if s.users, err = demoDirectory(users, password); err != nil {
			return nil, nil, cleanup, err
		}
		ids := s.users.identities()
		slices.Sort(ids)
		log.Info("accounts", "source", "demo", "users", ids)
		accounts = fmt.Sprintf("demo users: %s; password %s", strings.Join(ids, ", "), shown)
	}

	// Session tokens.
	key := make([]byte, 32)
	if enc := getenv("SESSION_KEY"); enc != "" {
		if key, err = decodeKey(enc); err != nil {
			return nil, nil, cleanup, err
		}
	} else if _, err := rand.Read(key); err != nil {
		return nil, nil, cleanup, err
	}
	s.sessions = &sessions{key: key, ttl: o.sessionTTL, now: time.Now}

	// Stream: the real service, or the in-process emulator.
	s.stream = &streamApp{
		tokenTTL: o.streamTTL,
		client:   &http.Client{Timeout: 15 * time.Second},
		now:      time.Now,
	}
	apiKey, secret := getenv("STREAM_API_KEY"), getenv("STREAM_API_SECRET")
	switch {
	case apiKey != "" && secret != "":
		s.stream.apiKey, s.stream.secret = apiKey, []byte(secret)
		s.stream.baseURL = strings.TrimRight(orDefault(getenv("STREAM_CHAT_URL"), defaultStreamURL), "/")
		log.Info("stream", "mode", "service", "stream_url", s.stream.baseURL, "stream_api_key", apiKey)
		banner = append(banner, "Stream: "+s.stream.baseURL+" (api key "+apiKey+")")
	case apiKey == "" && secret == "":
		st := streamtest.NewServer()
		closers = append(closers, st.Close)
		s.stream.baseURL, s.stream.apiKey, s.stream.secret = st.URL, st.APIKey, []byte(st.APISecret)
		log.Info("stream", "mode", "embedded", "stream_url", st.URL, "stream_api_key", st.APIKey)
		banner = append(banner, "Stream: embedded emulator at "+st.URL+" (api key "+st.APIKey+"; no WebSocket: REST only)")
	default:
		return nil, nil, cleanup, errors.New("backend: set both STREAM_API_KEY and STREAM_API_SECRET, or neither")
	}

	// Virgil: the real app's credentials, or the in-process e3test server.
	appID, appKey, appKeyID := getenv("VIRGIL_APP_ID"), getenv("VIRGIL_APP_KEY"), getenv("VIRGIL_APP_KEY_ID")
	switch {
	case appID != "" && appKey != "" && appKeyID != "":
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(appKey))
		if err != nil {
			return nil, nil, cleanup, errors.New("backend: VIRGIL_APP_KEY is not base64")
		}
		k, err := e3.ParsePrivateKey(der)
		if err != nil {
			return nil, nil, cleanup, fmt.Errorf("backend: VIRGIL_APP_KEY: %w", err)
		}
		s.virgil = &e3.JWTGenerator{AppID: appID, AppKey: k, AppKeyID: appKeyID}
		log.Info("virgil", "mode", "service", "virgil_app_id", appID, "virgil_app_key_id", appKeyID,
			"virgil_app_public_key", base64.StdEncoding.EncodeToString(k.Public().Export()))
		banner = append(banner, "Virgil: app "+appID+" (e3kit's default apiUrl)")
	case appID == "" && appKey == "" && appKeyID == "":
		vs := e3test.NewServer()
		closers = append(closers, vs.Close)
		gen := *vs.JWTGenerator()
		s.virgil = &gen
		log.Info("virgil", "mode", "embedded", "virgil_url", vs.URL,
			"virgil_app_id", gen.AppID, "virgil_app_key_id", gen.AppKeyID,
			"virgil_app_public_key", base64.StdEncoding.EncodeToString(gen.AppKey.Public().Export()),
			"virgil_service_key", base64.StdEncoding.EncodeToString(vs.ServiceKey().Export()))
		banner = append(banner, "Virgil: embedded e3test at "+vs.URL+" (e3kit: EThree.initialize(getToken, {apiUrl: \""+vs.URL+"\"}))")
	default:
		return nil, nil, cleanup, errors.New("backend: set all of VIRGIL_APP_ID, VIRGIL_APP_KEY and VIRGIL_APP_KEY_ID, or none")
	}
	s.virgil.TTL = o.virgilTTL
	// Fail now, not at the first request, if the key cannot sign.
	if _, err := s.virgil.Generate("startup-check"); err != nil {
		return nil, nil, cleanup, fmt.Errorf("backend: Virgil app key: %w", err)
	}
	return s, append(banner, accounts), cleanup, nil
}

// serve listens, announces the address and serves until ctx ends, then
// shuts down gracefully.
func serve(ctx context.Context, o options, s *server, banner []string, log *slog.Logger, stdout io.Writer) int {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	hs := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	addr := ln.Addr().String()
	u := scheme + "://" + addr
	if host, _, _ := net.SplitHostPort(addr); scheme == "http" && !net.ParseIP(host).IsLoopback() {
		log.Warn("serving plain HTTP beyond loopback: tokens and passwords cross the network in clear; use -tls-cert/-tls-key or a TLS proxy")
	}
	log.Info("listening", "addr", addr, "url", u)
	fmt.Fprintf(stdout, "e3go example backend at %s\n", u)
	for _, line := range banner {
		fmt.Fprintf(stdout, "  %s\n", line)
	}
	fmt.Fprintln(stdout, "  Ctrl-C stops it.")

	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			errc <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		log.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// hashPasswordCommand reads one line from stdin and prints its argon2id hash.
func hashPasswordCommand(stdin io.Reader, stdout, stderr io.Writer) int {
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLen+2), maxPasswordLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "backend: reading the password:", err)
		return 1
	}
	password := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	h, err := hashPassword(password)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, h)
	return 0
}

// parseOrigins reads -allow-origin: "*" or origins like https://app.example.com.
func parseOrigins(list string) (corsPolicy, error) {
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return p, fmt.Errorf("backend: -allow-origin: %q is not an origin (scheme://host[:port])", o)
			}
		}
		p.origins[o] = true
	}
	return p, nil
}

// decodeKey reads SESSION_KEY: base64 (standard or URL-safe, padded or
// not) of at least 32 bytes. The error does not repeat it.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) < 32 {
				return nil, errors.New("backend: SESSION_KEY must hold at least 32 bytes")
			}
			return k, nil
		}
	}
	return nil, errors.New("backend: SESSION_KEY is not base64")
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
