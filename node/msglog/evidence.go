package msglog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/tsa"
)

// BundleFormat is the only bundle format this package writes and reads.
const BundleFormat = 1

// MaxBundle caps what ReadBundle reads.
const MaxBundle = 1 << 20

// Bundle is the offline evidence for one logged exchange (doc.go,
// "Evidence bundle"). Write it with Marshal; ReadBundle accepts only
// that form.
type Bundle struct {
	Format     int       `json:"format"` // BundleFormat
	Record     Record    `json:"record"`
	Proof      tsa.Proof `json:"proof"`       // inclusion of tsa.LeafHash(Record.Hash) under MerkleRoot
	MerkleRoot []byte    `json:"merkle_root"` // root of the record's batch
	Token      []byte    `json:"token"`       // DER TimeStampResp over MerkleRoot (SHA-256)
	CAChain    [][]byte  `json:"ca_chain"`    // DER, issuing CA first, root last
}

// Marshal returns the canonical file form of b: indented JSON (two
// spaces) and a final newline.
func (b *Bundle) Marshal() ([]byte, error) { return canonicalJSON(b) }

// canonicalJSON is the file form of a bundle: indented JSON (two spaces)
// and a final newline.
func canonicalJSON(v any) ([]byte, error) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ReadBundle parses a bundle strictly: at most MaxBundle bytes, no
// unknown fields, and byte for byte the canonical form Marshal writes, so
// that every altered byte is refused here even where JSON alone would not
// notice (key case, duplicate keys, whitespace, unused base64 bits).
// It does not verify; see VerifyBundle.
func ReadBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := readCanonical(data, &b, func() int { return b.Format }, BundleFormat); err != nil {
		return nil, err
	}
	return &b, nil
}

// readCanonical decodes data into v strictly (at most MaxBundle bytes, no
// unknown fields, format() == want, byte for byte canonicalJSON).
func readCanonical(data []byte, v any, format func() int, want int) error {
	if len(data) > MaxBundle {
		return fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxBundle)
	}
	if err := jsonin.Decode(bytes.NewReader(data), v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f := format(); f != want {
		return fmt.Errorf("%w: format %d, want %d", ErrMalformed, f, want)
	}
	canon, err := canonicalJSON(v)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(canon, data) {
		return fmt.Errorf("%w: not in canonical form (altered or re-formatted)", ErrMalformed)
	}
	return nil
}

// Evidence builds the bundle for the exchange requestID. When several
// records carry that ID (a node calling its own service logs both
// sides), the first with a response envelope is taken, else the first.
// It flushes the queue and, if the record is not stamped yet, calls
// StampNow. caChain is the network CA chain (DER, issuing CA first, root
// last), embedded so the bundle verifies with the root alone.
func (l *Log) Evidence(ctx context.Context, requestID string, caChain [][]byte) (*Bundle, error) {
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	recs, err := l.Records(requestID)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: request %q", ErrNotFound, requestID)
	}
	var pick *Record
	for i := range recs {
		r := &recs[i]
		if !r.IsDelivery() && (pick == nil || (len(pick.Response) == 0 && len(r.Response) > 0)) {
			pick = r
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("%w: request %q (a delivery's records: see DeliveryEvidence)", ErrNotFound, requestID)
	}
	return l.EvidenceSeq(ctx, pick.Seq, caChain)
}

// EvidenceSeq is Evidence for record seq.
func (l *Log) EvidenceSeq(ctx context.Context, seq uint64, caChain [][]byte) (*Bundle, error) {
	chain, err := copyChain(caChain)
	if err != nil {
		return nil, err
	}
	st, err := l.stamped(ctx, seq)
	if err != nil {
		return nil, err
	}
	return &Bundle{Format: BundleFormat, Record: st.Record, Proof: st.Proof, MerkleRoot: st.MerkleRoot, Token: st.Token, CAChain: chain}, nil
}

// copyChain checks and copies a CA chain for a bundle.
func copyChain(caChain [][]byte) ([][]byte, error) {
	if len(caChain) == 0 {
		return nil, fmt.Errorf("%w: empty CA chain", ErrConfig)
	}
	chain := make([][]byte, len(caChain))
	for i, der := range caChain {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: CA chain[%d]: %v", ErrConfig, i, err)
		}
		chain[i] = clone(der)
	}
	return chain, nil
}

// Stamped is one record with its inclusion proof, its batch's Merkle
// root and the time-stamp token over that root.
type Stamped struct {
	Record     Record    `json:"record"`
	Proof      tsa.Proof `json:"proof"`
	MerkleRoot []byte    `json:"merkle_root"`
	Token      []byte    `json:"token"`
}

// stamped reads record seq with its stamp, stamping first if needed.
func (l *Log) stamped(ctx context.Context, seq uint64) (*Stamped, error) {
	l.mu.Lock()
	stamped := seq <= l.stampedThrough
	l.mu.Unlock()
	if !stamped {
		if err := l.Flush(ctx); err != nil {
			return nil, err
		}
		if err := l.StampNow(ctx); err != nil {
			return nil, err
		}
	}
	var out *Stamped
	err := l.view(func(tx *bolt.Tx) error {
		r, err := l.getRecord(tx, seq)
		if err != nil {
			return err
		}
		b, err := batchOf(tx, seq)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("%w: record %d is in no batch", ErrNotFound, seq)
		}
		lv, err := leaves(tx, b.First, b.Last)
		if err != nil {
			return err
		}
		if !bytes.Equal(tsa.Root(lv), b.Root) {
			return fmt.Errorf("%w: batch %d..%d Merkle root does not recompute", ErrChain, b.First, b.Last)
		}
		proof, err := tsa.Prove(lv, int(seq-b.First))
		if err != nil {
			return err
		}
		out = &Stamped{Record: *r, Proof: proof, MerkleRoot: b.Root, Token: b.Token}
		return nil
	})
	return out, err
}

// Verified is what a bundle proves.
type Verified struct {
	RequestID, Client, Service string
	// Signer and Responder are the member IDs (INSTANCE/CLASS/CODE) whose
	// certificates signed the request and the response (empty without a
	// response).
	Signer, Responder string
	// RequestTime and ResponseTime are the envelopes' signing times;
	// StampTime is the token's genTime: the exchange existed by then.
	RequestTime, ResponseTime, StampTime time.Time
	Status                               int
	// Method, Path (with query) and UserID of the call, and the headers
	// each side signed (version 2 envelopes).
	Method, Path, UserID            string
	RequestHeaders, ResponseHeaders []envelope.Header `json:",omitempty"`
}

// acceptAll is a replay guard that remembers nothing: evidence
// verification re-checks envelopes long after they were used.
type acceptAll struct{}

func (acceptAll) Window() time.Duration                               { return math.MaxInt64 }
func (acceptAll) Mark(envelope.RequestID, time.Time, time.Time) error { return nil }

// VerifyBundle checks b offline against the network root(s):
//
//   - the record hash recomputes from the record's fields, its time is
//     canonical UTC and the hashes are 32 bytes (ErrTamper);
//   - the request envelope (and the response envelope, if any) verify as
//     node/envelope does on receipt, but at the envelope's own signing
//     time: signature, member-sign certificate chaining to roots through
//     CAChain at that time, signer member = client member (request) or
//     provider member (response), response bound to the request by ID
//     and hash (ErrEvidence, wrapping the envelope sentinel). Revocation
//     is not checked: the bundle carries no revocation data;
//   - the record agrees with the envelopes: request ID, client, service
//     and status (0 without a response) (ErrTamper);
//   - the proof leads from tsa.LeafHash(Record.Hash) to MerkleRoot
//     (ErrTamper, wrapping tsa.ErrProof);
//   - Token is a valid tsa.Verify token over MerkleRoot (SHA-256) from a
//     TSA chaining to roots at its genTime (ErrEvidence, wrapping the tsa
//     sentinel);
//   - CAChain is exactly a chain from its first certificate to one of
//     roots, each certificate issued by the next (ErrEvidence).
func VerifyBundle(b *Bundle, roots *x509.CertPool) (*Verified, error) {
	if b == nil || roots == nil {
		return nil, fmt.Errorf("%w: bundle and roots are required", ErrConfig)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %d", ErrMalformed, b.Format)
	}
	r := &b.Record
	if err := checkBundleRecord(r); err != nil {
		return nil, err
	}
	chain, inters, err := parseBundleChain(b.CAChain)
	if err != nil {
		return nil, err
	}
	v, err := verifyEnvelopes(r, envelope.NewChainChecker(roots, inters, 0))
	if err != nil {
		return nil, err
	}
	if err := checkRecordAgrees(r, v); err != nil {
		return nil, err
	}
	st := &Stamped{Record: b.Record, Proof: b.Proof, MerkleRoot: b.MerkleRoot, Token: b.Token}
	info, err := verifyStamp(st, roots, inters)
	if err != nil {
		return nil, err
	}
	v.StampTime = info.Time
	if err := checkStampBinding(st, info); err != nil {
		return nil, err
	}
	if err := checkChainIsPath(chain, roots, inters, info.Time); err != nil {
		return nil, err
	}
	return v, nil
}

// checkBundleRecord checks the record alone: hash and previous hash of 32
// bytes, canonical time, a sequence number, the hash recomputing and a
// known role.
func checkBundleRecord(r *Record) error {
	if len(r.Hash) != 32 || len(r.PrevHash) != 32 || !canonicalTime(r.Time) || r.Seq == 0 {
		return fmt.Errorf("%w: record hash, previous hash, time or seq malformed", ErrTamper)
	}
	if !bytes.Equal(r.ComputeHash(), r.Hash) {
		return fmt.Errorf("%w: record hash does not recompute", ErrTamper)
	}
	if err := r.checkKind(); err != nil || r.IsDelivery() {
		return fmt.Errorf("%w: role %q of a call record", ErrTamper, r.Role)
	}
	return nil
}

// parseBundleChain parses the embedded CA chain and pools all but its last
// certificate (the root) as intermediates.
func parseBundleChain(ders [][]byte) ([]*x509.Certificate, *x509.CertPool, error) {
	if len(ders) == 0 {
		return nil, nil, fmt.Errorf("%w: empty CA chain", ErrEvidence)
	}
	chain := make([]*x509.Certificate, len(ders))
	inters := x509.NewCertPool()
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: CA chain[%d]: %v", ErrEvidence, i, err)
		}
		chain[i] = c
		if i < len(ders)-1 {
			inters.AddCert(c)
		}
	}
	return chain, inters, nil
}

// verifyEnvelopes verifies the request envelope and the response envelope,
// if any, each at its own signing time, and returns what they state.
func verifyEnvelopes(r *Record, certs envelope.CertChecker) (*Verified, error) {
	at := func(t time.Time) envelope.Policy {
		return envelope.Policy{Now: func() time.Time { return t }, MaxSkew: time.Second, Certs: certs}
	}
	v := &Verified{}
	preq, err := envelope.ParseRequest(r.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: request envelope: %w", ErrEvidence, err)
	}
	req, err := envelope.VerifyRequest(r.Request, at(preq.Time), acceptAll{})
	if err != nil {
		return nil, fmt.Errorf("%w: request envelope: %w", ErrEvidence, err)
	}
	v.RequestID, v.Client, v.Service = req.RequestID.String(), req.Client, req.Service
	v.Signer, v.RequestTime = req.Signer.Member.String(), req.Time
	v.Method, v.Path, v.UserID, v.RequestHeaders = req.Method, req.Path, req.UserID, req.Headers
	if len(r.Response) > 0 {
		presp, err := envelope.ParseResponse(r.Response)
		if err != nil {
			return nil, fmt.Errorf("%w: response envelope: %w", ErrEvidence, err)
		}
		resp, err := envelope.VerifyResponse(r.Response, req, at(presp.Time))
		if err != nil {
			return nil, fmt.Errorf("%w: response envelope: %w", ErrEvidence, err)
		}
		v.Responder, v.ResponseTime, v.Status = resp.Signer.Member.String(), resp.Time, int(resp.Status)
		v.ResponseHeaders = resp.Headers
	}
	return v, nil
}

// checkRecordAgrees requires the record's request ID, client, service and
// status to be those its envelopes state.
func checkRecordAgrees(r *Record, v *Verified) error {
	if r.RequestID != v.RequestID || r.Client != v.Client || r.Service != v.Service || r.Status != v.Status {
		return fmt.Errorf("%w: record (request %s, client %s, service %s, status %d) disagrees with its envelopes (%s, %s, %s, %d)",
			ErrTamper, r.RequestID, r.Client, r.Service, r.Status, v.RequestID, v.Client, v.Service, v.Status)
	}
	return nil
}

// verifyStamp checks the record's inclusion under the Merkle root and the
// time-stamp token over that root.
func verifyStamp(b *Stamped, roots, inters *x509.CertPool) (*tsa.Info, error) {
	if len(b.MerkleRoot) != 32 {
		return nil, fmt.Errorf("%w: Merkle root of %d bytes", ErrTamper, len(b.MerkleRoot))
	}
	if err := tsa.VerifyInclusion(tsa.LeafHash(b.Record.Hash), b.Proof, b.MerkleRoot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTamper, err)
	}
	info, err := tsa.Verify(b.Token, tsa.VerifyOptions{Roots: roots, Intermediates: inters, Digest: b.MerkleRoot, Hash: crypto.SHA256})
	if err != nil {
		return nil, fmt.Errorf("%w: time-stamp token: %w", ErrEvidence, err)
	}
	return info, nil
}

// checkStampBinding binds the parts of the token its signature does not
// cover: the TimeStampResp wrapper must be the plain granted one Evidence
// writes, and every certificate the token carries must be on the verified
// path (a certificate the verifier ignores could otherwise be altered
// unnoticed).
func checkStampBinding(b *Stamped, info *tsa.Info) error {
	if wrapped, _, err := checkToken(info.Token, b.MerkleRoot); err != nil || !bytes.Equal(wrapped, b.Token) {
		return fmt.Errorf("%w: token is not a plain granted TimeStampResp", ErrTamper)
	}
	if err := checkTokenStructure(info.Token); err != nil {
		return err
	}
	for _, c := range info.Certificates {
		if !onPath(info.Chain, c) {
			return fmt.Errorf("%w: token carries certificate %q that is not on its verified chain", ErrTamper, c.Subject)
		}
	}
	return nil
}

// checkChainIsPath requires the embedded CA chain to be exactly a path
// from its first certificate to a trusted root at time t.
func checkChainIsPath(chain []*x509.Certificate, roots, inters *x509.CertPool, t time.Time) error {
	paths, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: t,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: CA chain: %v", ErrEvidence, err)
	}
	if !samePath(paths, chain) {
		return fmt.Errorf("%w: CA chain is not exactly a path from its first certificate to a trusted root", ErrEvidence)
	}
	return nil
}

func samePath(paths [][]*x509.Certificate, chain []*x509.Certificate) bool {
	for _, p := range paths {
		if len(p) != len(chain) {
			continue
		}
		ok := true
		for i := range p {
			ok = ok && p[i].Equal(chain[i])
		}
		if ok {
			return true
		}
	}
	return false
}

func onPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p.Equal(c) {
			return true
		}
	}
	return false
}
