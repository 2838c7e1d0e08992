package client

import (
	"encoding/json"
)

// Paths of the join workflow.
const (
	JoinPath     = "/v1/join"
	AddVoterPath = "/internal/v1/add-voter"
)

// JoinRequest is the body of POST /v1/join.
type JoinRequest struct {
	Secret   string   `json:"secret"`
	ID       string   `json:"id"`
	RaftAddr string   `json:"raft_addr"` // advertised host:port of its Raft transport
	APIURL   string   `json:"api_url"`
	DNSNames []string `json:"dns_names,omitempty"`
	IPs      []string `json:"ip_addresses,omitempty"`
	CSR      string   `json:"csr"` // PEM, the server's TLS key
}

// JoinResponse carries what a joining server needs. The private keys are
// PKCS#8 PEM in clear: the channel is TLS to a root the token pinned, and
// the joiner seals them with its own passphrase at once.
type JoinResponse struct {
	Instance          string          `json:"instance"`
	ServerCert        string          `json:"server_cert_pem"` // leaf, intermediate, root
	CARoot            string          `json:"ca_root_pem"`
	CAIntermediate    string          `json:"ca_intermediate_pem"`
	CAIntermediateKey string          `json:"ca_intermediate_key_pem"`
	CAConfig          json.RawMessage `json:"ca_config"` // ca.json
	ConfigKey         string          `json:"config_key_pem"`
	ConfigChain       string          `json:"config_chain_pem"` // signer, intermediate
	Anchor            json.RawMessage `json:"anchor"`
	Index             uint64          `json:"index"`
}

// AddVoterRequest is the body of POST /internal/v1/add-voter.
type AddVoterRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
}
