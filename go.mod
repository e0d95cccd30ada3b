module github.com/e3go/e3go

go 1.24.0

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/GetStream/stream-chat-go/v6 v6.10.0 // indirect
	github.com/bits-and-blooms/bitset v1.20.0 // indirect
	github.com/consensys/gnark-crypto v0.19.2 // indirect
	github.com/golang-jwt/jwt/v4 v4.5.2 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
