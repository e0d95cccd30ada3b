// Command backend is the seed system's backend in Go: it signs users in and
// hands a browser front end (React with Stream Chat's JavaScript client and
// Virgil's e3kit) the credentials it needs to talk to Stream and Virgil.
// Messages are encrypted in the browser; this backend never sees them.
//
//	go run ./examples/backend
//
// With no environment it starts an in-process Virgil-compatible server
// (package e3test) and Stream Chat emulator (package streamtest) and prints
// their URLs, a demo user list and a random demo password. With
// STREAM_API_KEY and STREAM_API_SECRET, and VIRGIL_APP_ID, VIRGIL_APP_KEY
// and VIRGIL_APP_KEY_ID, it issues credentials for the real services instead
// (each pair of services independently).
//
// # Endpoints
//
// The request and response shapes are the seed tutorial's (Stream's "HIPAA
// compliant end-to-end encrypted chat with Stream React Chat and Virgil
// Security", its backend/ directory); README.md says what differs and why.
//
//	POST /v1/authenticate        {"identity":"alice","password":"..."}
//	                             -> {"authToken":"...","expiresAt":"..."}
//	POST /v1/stream-credentials  Authorization: Bearer <authToken>
//	                             -> {"apiKey":"...","token":"...","user":{"id":"alice","name":"alice","role":"user"}}
//	POST /v1/virgil-credentials  Authorization: Bearer <authToken>
//	                             -> {"token":"<Virgil JWT>"}
//	GET  /healthz                -> {"status":"ok"}
//
// # Flags
//
//	-addr host:port        listen address (default 127.0.0.1:8080; :0 picks a port)
//	-allow-origin list     comma-separated origins a browser may call from (default http://localhost:3000; * for any)
//	-users file            accounts: lines "identity:<argon2id PHC hash>" (default: the demo users)
//	-demo-users list       demo accounts when -users is not given (default alice,bob)
//	-session-ttl d         lifetime of an authToken (default 1h)
//	-stream-token-ttl d    lifetime of a Stream user token (default 1h)
//	-virgil-token-ttl d    lifetime of a Virgil JWT (default 20m, e3kit's)
//	-tls-cert, -tls-key    serve HTTPS with this certificate and key
//	-hash-password         read a password on standard input, print its hash for a -users file, exit
//
// # Environment
//
//	STREAM_API_KEY, STREAM_API_SECRET        the Stream app (both or neither)
//	STREAM_CHAT_URL                          Stream's API origin (default https://chat.stream-io-api.com)
//	VIRGIL_APP_ID, VIRGIL_APP_KEY,
//	VIRGIL_APP_KEY_ID                        the Virgil app (all or none); VIRGIL_APP_KEY is the base64
//	                                         PKCS#8 private key Virgil's dashboard gives
//	SESSION_KEY                              base64, at least 32 bytes: the authToken signing key
//	                                         (default: random, so sessions end when the process does)
//	DEMO_PASSWORD                            the demo users' password (default: random, printed once)
//
// # Output
//
// Standard output gets a short banner for people. Standard error gets the
// logs as JSON lines (log/slog), without tokens, passwords, request bodies or
// message content; the first records describe the services, and the record
// with "msg":"listening" carries the address actually bound ("addr", "url"),
// which is how a test finds a server started with -addr 127.0.0.1:0.
//
// SIGINT or SIGTERM stops the server gracefully: requests in flight get up to
// 10 seconds, then the embedded services close and the process exits 0.
package main
