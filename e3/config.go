package e3

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/e3go/e3go/keyring"
)

// TokenProvider supplies Virgil access tokens (see [JWTGenerator]) for the
// client's identity, typically by asking the app's backend. The identity
// is the token's subject. Token is called for the first request, again when
// the last token is within 5 seconds of its expiry, and after a service
// answered that it expired; never concurrently by one Client.
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
}

// TokenProviderFunc adapts a function to a [TokenProvider].
type TokenProviderFunc func(ctx context.Context) (string, error)

// Token calls f(ctx).
func (f TokenProviderFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Config configures a Client. Only TokenProvider is required; the zero
// values of the other fields are safe defaults. A Config must not be
// modified after it was passed to New.
type Config struct {
	// TokenProvider supplies access tokens; required. The Client's
	// identity is the subject of its tokens.
	TokenProvider TokenProvider

	// APIURL is the origin of the Cards, Keyknox and Pythia services,
	// optionally with a path prefix; "" means Virgil's cloud,
	// https://api.virgilsecurity.com. e3test servers give theirs in
	// e3test.Server.URL.
	APIURL string

	// HTTPClient sends the requests; nil means a client with sane
	// timeouts.
	HTTPClient *http.Client

	// Keyring keeps the private key; nil means keyring.NewMemory(), whose
	// keys are lost when the process exits.
	Keyring keyring.Store

	// Logger receives the Client's diagnostics (never keys, tokens or
	// plaintext); nil means none.
	Logger *slog.Logger

	// CardVerifier checks every card the services return; nil means the
	// zero CardVerifier: self-signature and Virgil's production Cards
	// service signature. A self-hosted server (or e3test) needs its own
	// service key here.
	CardVerifier *CardVerifier

	// UseSHA256Identifiers makes key identifiers in ciphertexts SHA-256
	// (e3kit's useSha256Identifiers option). All parties must agree.
	UseSHA256Identifiers bool

	// CardCacheSize is how many identities' cards FindUsers keeps; 0 means
	// DefaultCardCacheSize (1024), negative means no cache (every lookup
	// asks the service; concurrent lookups are still shared).
	CardCacheSize int

	// CardCacheTTL is how long a cached card is used before FindUsers asks
	// the service again: the longest a rotated or revoked key may still be
	// encrypted for. 0 means DefaultCardCacheTTL (5 minutes), negative
	// means no cache.
	CardCacheTTL time.Duration

	// Audit receives the Client's key events (register, rotation,
	// unregistration, backups, restores, password changes, changed cards,
	// decryption and verification failures) with identities and card ids,
	// never plaintext or key material; nil means none. See AuditSink.
	Audit AuditSink

	// Now returns the current time (card creation times, backup entry
	// dates, the card cache, audit events); nil means time.Now. For tests.
	Now func() time.Time

	// BrainKeyRetryDelay is the wait before the one retry of a BrainKey
	// request the Pythia service throttled (code 60007), as e3kit does; 0
	// means 2 seconds (e3kit's delay), negative means no wait.
	BrainKeyRetryDelay time.Duration
}
