// Package e3test is an in-process server that speaks Virgil Security's
// Cards v5, Keyknox v1/v2 and Pythia BrainKey APIs, the services behind
// e3kit: for tests, examples and offline development. The real e3kit-node
// 2.5.1 works against it unmodified (its Node interop suite proves it), and
// so does this module's e3 Client.
//
//	srv := e3test.NewServer()
//	defer srv.Close()
//	cfg := srv.ClientConfig("alice") // URL, tokens for alice, trust in srv's service key, memory keyring
//
// For e3kit, pass srv.URL as the apiUrl option and have getToken return
// srv.JWTGenerator().Generate(identity) (the app credentials the server
// trusts).
//
// # What it does
//
//   - Access tokens: every request needs "Authorization: Virgil <jwt>",
//     verified with e3.JWTVerifier against the server's app credentials
//     (signature over the received segments, alg/typ/cty, kid, issuer,
//     expiry and issue time with Options.Leeway, a minute by default).
//     Answers: 401 with code 20300 (missing, malformed, forged), 20303
//     (another app or app key) or 20304, only for a token that expired
//     beyond the leeway (clients refresh their token and retry on it).
//   - Cards: publish checks the snapshot (version 5.0, identity equal to
//     the token's, an importable key), the self-signature, that the id is
//     new and that a previous card exists, is the same identity's and is
//     neither superseded nor revoked; then it adds its own "virgil"
//     signature (ServiceKey) and stores the snapshot byte for byte. Search
//     returns the active cards of the requested identities and their
//     predecessors, hiding every chain that ends in a revoked card; get by
//     id marks superseded and revoked cards with
//     "X-Virgil-Is-Superseeded: true"; only a card's identity may revoke
//     it.
//   - Keyknox v1: one entry per identity; a never-written entry reads as
//     empty ("" meta and value, version "1.0"), never 404; every answer
//     carries Virgil-Keyknox-Hash; a push over a non-empty entry needs the
//     current hash in Virgil-Keyknox-Previous-Hash, else 409 with code
//     50010.
//   - Keyknox v2: entries (owner, root, path, key) keep one copy of meta and
//     value per recipient; a push replaces the owner's and the listed
//     identities' copies (duplicates collapse) and leaves the others';
//     pull gives the caller its own copy and the full recipient list, or an
//     empty value (identities []) when the caller is no recipient; keys
//     lists only keys the caller can read; reset removes one recipient
//     (keeping the entry's hash) or deletes entries; a push onto an existing
//     entry needs its hash (50010 otherwise), onto a new one nothing.
//   - BrainKey: deterministic per app, identity and brainkey id (tweak
//     SHA-256(app id ‖ 0 ‖ identity ‖ 0 ‖ brainkey id), transformation key
//     from Options.PythiaSecret and PythiaScopeSecret, random per server
//     unless set).
//   - Bad input is refused with Virgil's {"code", "message"} body and never
//     changes stored state: bodies over Options.MaxBodyBytes (413, 40001),
//     malformed JSON (400, 40000), invalid cards and Keyknox fields (see the
//     Code constants).
//   - Keyknox's size limit, only when Options.KeyknoxMaxMetaSize is set: a
//     v1 or v2 push whose meta is longer than that many base64 characters
//     is refused with 400 and Virgil's code 50005, as Virgil's cloud
//     refuses metas over "10kb" (e3kit-js#160; its exact rule is not
//     published). By default there is no limit.
//   - CORS: any origin; Authorization, Virgil-Agent, Content-Type and
//     Virgil-Keyknox-Previous-Hash allowed; Virgil-Keyknox-Hash and
//     X-Virgil-Is-Superseeded exposed (for browser builds of e3kit).
//   - Tests can inspect stored cards and Keyknox entries (Cards, Card,
//     KeyknoxV1, KeyknoxV2, KeyknoxV2Entries), read the request log
//     (Requests), and inject faults: an error status and code for the next
//     requests matching a method and path prefix, latency, BrainKey
//     throttling (InjectFault, SetLatency, ThrottleBrainKey).
//
// State lives in a Storage (in memory unless Options.Storage says
// otherwise). The server is safe for concurrent use; it serialises every
// state-changing request.
//
// # Where it differs from Virgil's cloud
//
//   - One application per server, with one app key; Virgil serves many
//     apps, each with several keys.
//   - Cards are countersigned with the server's own service key, not
//     Virgil's: clients must trust ServiceKey (ClientConfig and
//     CardVerifier do). e3kit skips card signature checks on any apiUrl
//     other than Virgil's, so it needs nothing.
//   - BrainKey answers come from this server's Pythia secrets and its own
//     tweak rule, so backups made against Virgil's cloud cannot be
//     restored here, nor the other way round. Keep Options.PythiaSecret and
//     PythiaScopeSecret (and AppID) to restore backups across restarts.
//   - Error codes: 10001, 20300, 20303, 20304, 50005, 50010 and 60007 are
//     the ones Virgil's clients know; the validation codes (40000-40105, 50000,
//     60000) are this server's own. Virgil's exact messages are not
//     reproduced.
//   - No rate limiting other than injected faults; Virgil throttles
//     BrainKey (60007) on its own.
//   - The Keyknox v2 rules above were inferred from Virgil's clients and
//     their integration tests, not observed on the cloud
//     (shared/specs/virgil-services.md §6.2); the real service may, for
//     example, delete only the owner's copy on reset.
//   - Limits are this server's: request bodies of 1 MiB, 1000 identities per
//     search, identities of 1..1024 printable-ASCII bytes (see
//     e3.JWTGenerator for why ASCII), Keyknox roots, paths and keys of
//     1..1024 bytes of UTF-8 without control characters.
//   - BrainKey requests are decoded strictly: a blinded point that is not
//     canonical or not in G1 is refused (libpythia is laxer; honest clients
//     never send one).
//   - Only what e3kit 2.x uses: no Cards v4, no card_types filtering (the
//     field is ignored), no /pythia/v1/password, no Keyknox v2 listing of
//     every root.
package e3test
