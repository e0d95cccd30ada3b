package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/keyring"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// services is what the quickstart talks to: Virgil's services (cards,
// key backups) and Stream Chat (messages, files). Each is either embedded in
// this process (packages e3test and streamtest, the default) or the real
// service, chosen by the environment.
type services struct {
	// Stream is a server-side stream-chat-go client (it holds the app
	// secret and may act as any user; streamenc only ever acts as the
	// identity whose key it holds).
	Stream *stream.Client

	// newE3Config returns the e3.Config of one device of identity: how
	// to reach Virgil, where its access tokens come from, and an empty
	// keyring.
	newE3Config func(identity string) e3.Config

	// streamEmu is the embedded Stream emulator, nil with the real Stream.
	streamEmu *streamtest.Server

	// Real reports whether either service is a real one: then the run uses
	// identities and a channel of its own and removes them at the end.
	Real bool

	// Banner describes the services in a line or two.
	Banner []string

	closers []func()
}

// connect sets the services up from the environment (getenv is os.Getenv):
//
//	STREAM_API_KEY, STREAM_API_SECRET            a Stream app (both or neither);
//	                                             STREAM_CHAT_URL, read by stream-chat-go, overrides its API origin
//	VIRGIL_APP_ID, VIRGIL_APP_KEY,
//	VIRGIL_APP_KEY_ID                            a Virgil app (all or none); VIRGIL_APP_KEY is the
//	                                             base64 private key Virgil's dashboard gives
//	VIRGIL_API_URL, VIRGIL_SERVICE_KEY           optional, for a Virgil-compatible server of your own
//	                                             (such as e3test run separately): its URL, and the
//	                                             base64 public key that countersigns its cards
func connect(getenv func(string) string) (*services, error) {
	s := &services{}

	// Stream: the app's credentials, or the in-process emulator.
	apiKey, secret := getenv("STREAM_API_KEY"), getenv("STREAM_API_SECRET")
	switch {
	case apiKey != "" && secret != "":
		c, err := stream.NewClient(apiKey, secret)
		if err != nil {
			return nil, fmt.Errorf("stream client: %w", err)
		}
		s.Stream, s.Real = c, true
		s.Banner = append(s.Banner, "Stream    app "+apiKey+" at "+c.BaseURL)
	case apiKey == "" && secret == "":
		emu := streamtest.NewServer()
		s.closers = append(s.closers, emu.Close)
		s.Stream, s.streamEmu = emu.Client(), emu
		s.Banner = append(s.Banner, "Stream    embedded emulator (streamtest) at "+emu.URL)
	default:
		return nil, errors.New("set both STREAM_API_KEY and STREAM_API_SECRET, or neither")
	}

	// Virgil: an app's credentials, or the in-process e3test server.
	appID, appKey, appKeyID := getenv("VIRGIL_APP_ID"), getenv("VIRGIL_APP_KEY"), getenv("VIRGIL_APP_KEY_ID")
	switch {
	case appID != "" && appKey != "" && appKeyID != "":
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(appKey))
		if err != nil {
			s.Close()
			return nil, errors.New("VIRGIL_APP_KEY is not base64")
		}
		key, err := e3.ParsePrivateKey(der)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("VIRGIL_APP_KEY: %w", err)
		}
		// The app key signs access tokens ("Virgil JWTs"). In a real app
		// only the backend holds it and hands each signed-in user a token
		// for their own identity (see examples/backend); the quickstart
		// plays the backend's part for its two users.
		gen := &e3.JWTGenerator{AppID: appID, AppKey: key, AppKeyID: appKeyID}
		var verifier *e3.CardVerifier // nil: trust Virgil's own Cards service key
		if sk := getenv("VIRGIL_SERVICE_KEY"); sk != "" {
			der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sk))
			if err != nil {
				s.Close()
				return nil, errors.New("VIRGIL_SERVICE_KEY is not base64")
			}
			pub, err := e3.ParsePublicKey(der)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("VIRGIL_SERVICE_KEY: %w", err)
			}
			verifier = &e3.CardVerifier{ServiceKey: pub}
		}
		apiURL := getenv("VIRGIL_API_URL") // "": Virgil's cloud
		s.newE3Config = func(identity string) e3.Config {
			return e3.Config{
				APIURL:        apiURL,
				TokenProvider: gen.TokenProvider(identity),
				CardVerifier:  verifier,
				Keyring:       keyring.NewMemory(),
			}
		}
		s.Real = true
		where := "https://api.virgilsecurity.com"
		if apiURL != "" {
			where = apiURL
		}
		s.Banner = append(s.Banner, "Virgil    app "+appID+" at "+where)
	case appID == "" && appKey == "" && appKeyID == "":
		srv := e3test.NewServer()
		s.closers = append(s.closers, srv.Close)
		s.newE3Config = func(identity string) e3.Config {
			cfg := srv.ClientConfig(identity) // URL, tokens for identity, trust in srv's card signatures
			cfg.Keyring = keyring.NewMemory()
			return cfg
		}
		s.Banner = append(s.Banner, "Virgil    embedded Virgil-compatible server (e3test) at "+srv.URL)
	default:
		s.Close()
		return nil, errors.New("set all of VIRGIL_APP_ID, VIRGIL_APP_KEY and VIRGIL_APP_KEY_ID, or none")
	}
	return s, nil
}

// Close stops the embedded servers.
func (s *services) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// findStored looks for each needle in what Stream holds of the channel cid
// and its files, and returns "<needle> at <where>" for every one found,
// and what was searched.
//
// With the embedded emulator it searches every byte the emulator stored,
// received or sent (streamtest's Find: messages, custom data, uploads,
// request bodies, webhook bodies). With the real Stream it searches what
// Stream returns for the channel to a server-side client (every message as
// JSON, its custom data included) and the bytes of the uploaded files.
func (s *services) findStored(ctx context.Context, cid string, fileURLs []string, needles []string) (found []string, scope string, err error) {
	if s.streamEmu != nil {
		for _, n := range needles {
			for _, where := range s.streamEmu.Find([]byte(n)) {
				found = append(found, fmt.Sprintf("%q at %s", n, where))
			}
		}
		return found, "every byte the Stream emulator stored, received or sent", nil
	}
	typ, id, _ := strings.Cut(cid, ":")
	resp, err := s.Stream.Channel(typ, id).Query(ctx, &stream.QueryRequest{
		State:    true,
		Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 100}},
	})
	if err != nil {
		return nil, "", err
	}
	var stored [][]byte
	for _, m := range resp.Messages {
		b, err := json.Marshal(m) // text, attachments and custom data as Stream returned them
		if err != nil {
			return nil, "", err
		}
		stored = append(stored, b)
	}
	for _, u := range fileURLs {
		b, err := download(ctx, u)
		if err != nil {
			return nil, "", err
		}
		stored = append(stored, b)
	}
	for _, n := range needles {
		for i, b := range stored {
			if strings.Contains(string(b), n) {
				found = append(found, fmt.Sprintf("%q in stored item %d", n, i))
			}
		}
	}
	return found, fmt.Sprintf("the channel as Stream returns it (%d messages with custom data) and %d uploaded file(s)", len(resp.Messages), len(fileURLs)), nil
}

// download fetches an uploaded file as Stream serves it: the ciphertext.
func download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download of an uploaded file: HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 10<<20))
}
