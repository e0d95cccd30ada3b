package e3test

import (
	"crypto/sha256"
	"net/http"

	"github.com/e3go/e3go/internal/pythia"
)

// brainKey: POST /pythia/v1/brainkey {"blinded_password", "brainkey_id"?}
// → {"seed"}. The answer is deterministic per (app, identity, brainkey id):
// the tweak is SHA-256(app id ‖ 0 ‖ identity ‖ 0 ‖ brainkey id) and the
// transformation key comes from the server's Pythia secrets (see
// brainkey.md §8). The blinded point is decoded strictly (canonical, in G1).
func (s *Server) brainKey(c *call) (*reply, *apiError) {
	var q struct {
		BlindedPassword []byte  `json:"blinded_password"`
		BrainKeyID      *string `json:"brainkey_id"`
	}
	if aerr := c.decode(&q); aerr != nil {
		return nil, aerr
	}
	id := ""
	if q.BrainKeyID != nil {
		id = *q.BrainKeyID
	}
	if len(q.BlindedPassword) != pythia.G1Size || len(id) > 1024 {
		return nil, errorf(http.StatusBadRequest, CodePythiaInvalid, "blinded_password must be a base64 %d-byte point", pythia.G1Size)
	}
	seed, err := pythia.Transform(q.BlindedPassword, s.tweak(c.identity, id), s.pythiaKey)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodePythiaInvalid, "blinded_password is not a valid point")
	}
	return &reply{status: http.StatusOK, body: map[string][]byte{"seed": seed}}, nil
}

// tweak is the Pythia tweak of identity's BrainKey with id.
func (s *Server) tweak(identity, id string) []byte {
	h := sha256.New()
	h.Write([]byte(s.appID))
	h.Write([]byte{0})
	h.Write([]byte(identity))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return h.Sum(nil)
}
