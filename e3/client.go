package e3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/e3go/e3go/internal/virgilapi"
	"github.com/e3go/e3go/keyring"
)

// Client is the Go counterpart of e3kit's EThree: one user's identity, its
// private key on this device, and the operations e3kit apps use — register,
// find other users' cards, encrypt and decrypt for them, back up and
// restore the key, rotate it, unregister. It talks to Virgil's Cards,
// Keyknox and Pythia services (or a compatible server such as e3test) and
// reads and writes exactly what e3kit does: cards, ciphertexts and backups
// made by e3kit work with a Client and the other way round.
//
// The private key lives in Config.Keyring, as e3kit keeps it: under the
// identity (spaces and percent signs escaped as %20 and %25: keyring
// names are printable ASCII without spaces), as the base64 of
// its PKCS#8 DER. While Register or RotatePrivateKey publishes a card, the
// new key waits under the same name followed by "%pending" (see Register).
// Other users' cards are cached in memory (Config.CardCacheSize,
// Config.CardCacheTTL).
//
// A Client is safe for concurrent use by multiple goroutines.
// Encryption and decryption run in parallel; the operations that change the
// key or its backups (Register, RotatePrivateKey, Unregister, Cleanup, the
// backup methods) run one at a time per Client, waiting for each other
// (under their context), and e3kit's "Calling register two or more times in
// a row is not allowed" cannot happen. Several Clients (or processes) for
// the same identity should not change the key at the same moment: the
// Cards service, not the Client, decides who wins, and the keyring refuses
// to overwrite a key it already has.
type Client struct {
	identity  string
	api       *virgilapi.Client
	cards     *cardClient
	ring      keyring.Store
	keyName   string // keyring entry of the local private key
	pendName  string // keyring entry of a key whose card is being published
	sha256IDs bool
	log       *slog.Logger
	auditSink AuditSink
	now       func() time.Time
	cache     *cardCache
	groups    groupRegistry // open groups (group.go)

	ops chan struct{} // one slot: key-management operations run one at a time

	mu     sync.RWMutex
	key    *localKey // nil when the private key is not on this device
	keyGen uint64    // bumped by every change of key
}

// localKey is the private key on this device, with the identifier scheme
// applied, and its public half.
type localKey struct {
	priv *PrivateKey
	pub  *PublicKey
}

// clientOptions are the Client's settings from Config, defaults applied.
type clientOptions struct {
	cacheSize     int
	cacheTTL      time.Duration
	audit         AuditSink
	now           func() time.Time
	throttleDelay time.Duration
}

// New returns a Client for the identity of cfg.TokenProvider's tokens. It
// asks the provider for one token (the identity is its subject, as e3kit's
// initialize does) and loads the identity's private key from cfg.Keyring if
// one is there; it sends no request to the services. The Client does not
// keep ctx.
//
// A keyring entry that cannot be read (a damaged file, one written by a
// newer e3go, or data that is not a private key) fails New with an error
// matching the keyring's (keyring.ErrCorrupted, *keyring.VersionError, ...):
// delete the entry with the keyring's Delete and restore the key from its
// backup (RestorePrivateKey), or repair the keyring.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.TokenProvider == nil {
		return nil, errors.New("e3: Config.TokenProvider is required")
	}
	tok, err := cfg.TokenProvider.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("e3: getting an access token: %w", err)
	}
	claims, err := ParseJWTClaims(tok)
	if err != nil {
		return nil, fmt.Errorf("e3: the token provider's token: %w", err)
	}
	opts := optionsFromConfig(&cfg)
	apiCfg := cfg
	apiCfg.TokenProvider = &firstTokenProvider{first: tok, src: cfg.TokenProvider}
	api, err := newVirgilAPI(&apiCfg, opts.throttleDelay)
	if err != nil {
		return nil, err
	}
	c := &Client{
		identity:  claims.Identity,
		api:       api,
		cards:     &cardClient{api: api, verifier: cfg.CardVerifier, sha256IDs: cfg.UseSHA256Identifiers},
		ring:      cfg.Keyring,
		keyName:   keyringName(claims.Identity),
		pendName:  keyringName(claims.Identity) + pendingSuffix,
		sha256IDs: cfg.UseSHA256Identifiers,
		log:       cfg.Logger,
		auditSink: opts.audit,
		now:       opts.now,
		cache:     newCardCache(opts.cacheSize, opts.cacheTTL, opts.now),
		ops:       make(chan struct{}, 1),
	}
	if c.ring == nil {
		c.ring = keyring.NewMemory()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if _, err := c.reloadKey(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// firstTokenProvider hands out the token New already fetched once, then
// asks the real provider.
type firstTokenProvider struct {
	mu    sync.Mutex
	first string
	src   TokenProvider
}

func (p *firstTokenProvider) Token(ctx context.Context) (string, error) {
	p.mu.Lock()
	tok := p.first
	p.first = ""
	p.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return p.src.Token(ctx)
}

// Identity returns the Client's identity: the subject of its access tokens.
func (c *Client) Identity() string { return c.identity }

// Keyring entry names. The private key is stored as e3kit stores it: under
// the identity, as the base64 of its PKCS#8 DER. Keyring names are
// printable ASCII without spaces, so an identity's spaces and percent signs
// are escaped ("%20", "%25"); other identities are used as they are. A key
// whose card is being published waits under the name followed by
// "%pending", which no escaped identity can end with.
const (
	pendingSuffix = "%pending"

	metaKind     = "kind"
	metaIdentity = "identity"
	metaCardID   = "card_id"
	kindLocalKey = "e3.private-key"
	kindPending  = "e3.private-key.pending"
)

// keyringName returns the keyring entry name of identity's private key.
func keyringName(identity string) string {
	if !strings.ContainsAny(identity, " %") {
		return identity
	}
	var b strings.Builder
	for i := 0; i < len(identity); i++ {
		switch identity[i] {
		case ' ':
			b.WriteString("%20")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteByte(identity[i])
		}
	}
	return b.String()
}

// encodeKeyEntry returns a key's keyring data: base64 of its PKCS#8 DER,
// e3kit's local-storage value.
func encodeKeyEntry(k *PrivateKey) []byte {
	der := k.Export()
	out := make([]byte, base64.StdEncoding.EncodedLen(len(der)))
	base64.StdEncoding.Encode(out, der)
	clear(der)
	return out
}

// decodeKeyEntry parses keyring data: base64 PKCS#8 (as e3kit stores it),
// or raw PKCS#8 DER.
func decodeKeyEntry(data []byte) (*PrivateKey, error) {
	der := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	defer clear(der)
	if n, err := base64.StdEncoding.Decode(der, data); err == nil {
		return ParsePrivateKey(der[:n])
	}
	return ParsePrivateKey(data)
}

// withScheme applies the configured identifier scheme to k.
func (c *Client) withScheme(k *PrivateKey) *localKey {
	if c.sha256IDs {
		k = k.WithSHA256ID()
	}
	return &localKey{priv: k, pub: k.Public()}
}

// pubScheme applies the configured identifier scheme to a public key.
func (c *Client) pubScheme(k *PublicKey) *PublicKey {
	if c.sha256IDs && !k.sha256 {
		return k.WithSHA256ID()
	}
	if !c.sha256IDs && k.sha256 {
		d := *k
		d.setID(false)
		return &d
	}
	return k
}

// loadEntry reads the private key stored under name; (nil, nil) if there
// is none.
func (c *Client) loadEntry(ctx context.Context, name string) (*PrivateKey, error) {
	e, err := c.ring.Load(ctx, name)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("e3: reading the private key of %s from the keyring (entry %q): %w", quoteIdentity(c.identity), name, err)
	}
	k, err := decodeKeyEntry(e.Data)
	clear(e.Data)
	if err != nil {
		return nil, fmt.Errorf("e3: keyring entry %q does not hold a private key (delete it and restore the key from its backup): %w", name, err)
	}
	return k, nil
}

// reloadKey reads the local private key from the keyring into memory and
// returns it (nil when there is none). If the Client changed its key while
// the keyring was being read, the newer in-memory key is kept.
func (c *Client) reloadKey(ctx context.Context) (*localKey, error) {
	c.mu.RLock()
	gen := c.keyGen
	c.mu.RUnlock()
	k, err := c.loadEntry(ctx, c.keyName)
	if err != nil {
		return nil, err
	}
	var lk *localKey
	if k != nil {
		lk = c.withScheme(k)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keyGen != gen {
		return c.key, nil
	}
	c.key = lk
	c.keyGen++
	return lk, nil
}

// setKey makes lk the in-memory local key.
func (c *Client) setKey(lk *localKey) {
	c.mu.Lock()
	c.key = lk
	c.keyGen++
	c.mu.Unlock()
}

// localKey returns the in-memory local private key, or an error matching
// ErrNoLocalKey.
func (c *Client) localKey() (*localKey, error) {
	c.mu.RLock()
	lk := c.key
	c.mu.RUnlock()
	if lk == nil {
		return nil, ErrNoLocalKey
	}
	return lk, nil
}

// saveLocalKey stores k as the local private key (refusing to overwrite
// one) and makes it the in-memory key.
func (c *Client) saveLocalKey(ctx context.Context, k *PrivateKey, cardID string) error {
	meta := map[string]string{metaKind: kindLocalKey, metaIdentity: c.identity}
	if cardID != "" {
		meta[metaCardID] = cardID
	}
	data := encodeKeyEntry(k)
	err := c.ring.Save(ctx, c.keyName, data, meta)
	clear(data)
	if errors.Is(err, keyring.ErrExists) {
		return ErrLocalKeyExists
	}
	if err != nil {
		return fmt.Errorf("e3: storing the private key in the keyring: %w", err)
	}
	c.setKey(c.withScheme(k))
	return nil
}

// deleteEntry deletes a keyring entry; a missing one is not an error.
func (c *Client) deleteEntry(ctx context.Context, name string) error {
	err := c.ring.Delete(ctx, name)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("e3: deleting keyring entry %q: %w", name, err)
	}
	return nil
}

// lock takes the key-management slot, or fails when ctx is done first.
func (c *Client) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case c.ops <- struct{}{}:
		return func() { <-c.ops }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wrap adds the operation and identity to a Client error.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *identityError
	if errors.As(err, &ie) {
		return err
	}
	return &identityError{op: op, identity: c.identity, err: err}
}

// HasLocalPrivateKey reports whether the identity's private key is on this
// device, reading the keyring (which another Client or process may have
// changed); the Client's in-memory copy is brought up to date.
func (c *Client) HasLocalPrivateKey(ctx context.Context) (bool, error) {
	lk, err := c.reloadKey(ctx)
	if err != nil {
		return false, err
	}
	return lk != nil, nil
}

// Cleanup deletes the private key from this device (and from the Client),
// as e3kit's cleanup does when a user logs out, and forgets the cached
// cards. The card stays published: RestorePrivateKey brings the key back
// from its backup. Without a backup the key is lost for good, messages
// encrypted for it cannot be read any more, and the identity needs
// RotatePrivateKey. Cleanup without a local key is not an error.
func (c *Client) Cleanup(ctx context.Context) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return c.wrap("Cleanup", err)
	}
	defer unlock()
	err = c.deleteEntry(ctx, c.keyName)
	if err == nil {
		c.setKey(nil)
		c.cache.forget()
		err = c.deleteEntry(ctx, c.pendName)
	}
	c.audit(ctx, AuditEvent{Type: AuditCleanup, Err: err})
	return c.wrap("Cleanup", err)
}
