package node

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
)

// openAccessKeys opens the signed-access-key authenticator (node/auth):
// its keys in the database, HMAC secrets sealed with an AES-256 key
// derived (HKDF-SHA256, "DXL-ACCESS-KEY-SEAL-v1") from the seed in
// DIR/archive.key (created as the message log's keys are, logKeys, on
// first use). The accepted clock skew is the global configuration's
// max_clock_skew.
func (n *Node) openAccessKeys(passphrase []byte) error {
	path := filepath.Join(n.dir, FileArchiveKey)
	k, err := keystore.ReadFile(path, passphrase)
	if errors.Is(err, fs.ErrNotExist) {
		if _, _, err = logKeys(n.dir, passphrase); err == nil {
			k, err = keystore.ReadFile(path, passphrase)
		}
	}
	if err != nil {
		return err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return fmt.Errorf("%w: %s is not an Ed25519 seed", ErrConfig, FileArchiveKey)
	}
	seal, err := hkdf.Key(sha256.New, ek.Seed(), nil, "DXL-ACCESS-KEY-SEAL-v1", 32)
	if err != nil {
		return err
	}
	store, err := auth.NewBoltKeyStore(n.db)
	if err != nil {
		return err
	}
	n.keys, err = auth.NewAccessKeys(auth.KeysConfig{Store: store, SealKey: seal, Now: n.now, Logger: n.log,
		MaxSkew: func() time.Duration {
			if v := n.view(); v != nil {
				return min(time.Duration(v.Doc().Policy.MaxClockSkew), confview.ReplayWindow)
			}
			return 0
		}})
	return err
}

// AccessKeys is the node's signed-access-key authenticator.
func (n *Node) AccessKeys() *auth.AccessKeys { return n.keys }

// accessKeyRoutes are the admin API's access-key endpoints, each change
// recorded in the admin audit log:
//
//	POST   /v1/access-keys        {"subsystem","allow_hmac_sha1","rsa_public_key"} → {"access_key","secret_key",…} (secret shown once)
//	GET    /v1/access-keys        → [{access_key, subsystem, kind, …}] (no secrets)
//	DELETE /v1/access-keys/{key}  → the revoked key
func (n *Node) accessKeyRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/access-keys", func(w http.ResponseWriter, r *http.Request) {
		var b auth.NewAccessKey
		if err := jsonin.DecodeOpen(io.LimitReader(r.Body, 16<<10), &b); err != nil {
			exchange.WriteJSON(w, http.StatusBadRequest, ErrorBody{Code: "bad_request", Message: err.Error()})
			return
		}
		if err := n.checkOwnSubsystem(b.Subsystem); err != nil {
			exchange.WriteJSON(w, http.StatusBadRequest, ErrorBody{Code: exchange.Codes.Code(err), Message: err.Error()})
			return
		}
		k, err := n.keys.Create(r.Context(), b)
		if err == nil {
			detail := b.Subsystem + " " + k.Kind
			if k.AllowSHA1 {
				detail += " hmac-sha1-allowed"
			}
			n.auditAction(r, "access_key.create", k.AccessKey, detail)
		}
		accessKeyAnswer(w, k, err)
	})
	m.HandleFunc("GET /v1/access-keys", func(w http.ResponseWriter, r *http.Request) {
		ks, err := n.keys.List(r.Context())
		accessKeyAnswer(w, ks, err)
	})
	m.HandleFunc("DELETE /v1/access-keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		k, err := n.keys.Revoke(r.Context(), r.PathValue("key"))
		if err == nil {
			n.auditAction(r, "access_key.revoke", k.ID, k.Subsystem)
		}
		accessKeyAnswer(w, k, err)
	})
}

func accessKeyAnswer(w http.ResponseWriter, v any, err error) {
	if err == nil {
		exchange.WriteJSON(w, http.StatusOK, v)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, auth.ErrSubsystem), errors.Is(err, auth.ErrConfig):
		status = http.StatusBadRequest
	case errors.Is(err, auth.ErrUnknownKey):
		status = http.StatusNotFound
	}
	exchange.WriteJSON(w, status, ErrorBody{Code: auth.Codes.Code(err), Message: err.Error()})
}
