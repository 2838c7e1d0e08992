package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/dxl-network/dxl/membership/state"
)

// NewOperatorToken returns a fresh operator token (64 hex digits: 256
// random bits) and its SHA-256, the only form the registry stores.
func (s *Server) NewOperatorToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rnd, b); err != nil {
		return "", "", fmt.Errorf("membership: random token: %w", err)
	}
	token = hex.EncodeToString(b)
	return token, state.TokenHash(token), nil
}

// CreateOperator mints a token for a new operator name with role and
// commits its hash (AddOperator, actor as given). The token is returned
// once and stored nowhere.
func (s *Server) CreateOperator(ctx context.Context, actor, name string, role state.Role) (token string, res state.Result, err error) {
	token, hash, err := s.NewOperatorToken()
	if err != nil {
		return "", state.Result{}, err
	}
	res, err = s.Apply(ctx, &state.AddOperator{Header: state.Header{Actor: actor}, Name: name, Role: role, TokenSHA256: hash})
	if err != nil {
		return "", state.Result{}, err
	}
	return token, res, nil
}
