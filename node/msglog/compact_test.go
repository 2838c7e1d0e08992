package msglog

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/node/envelope"
)

// TestCertificatesStoredOnce: records keep their envelopes without the
// signers' certificates, each certificate once in its bucket; what comes
// back is every envelope as it was signed, the chain verifies, and a
// record stored whole (by an earlier version) still reads.
func TestCertificatesStoredOnce(t *testing.T) {
	p := newPKI(t, 0, 0)
	path := filepath.Join(t.TempDir(), "msglog.db")
	l := openLog(t, Config{Path: path, TSAs: tsas(), Now: p.now})
	type sent struct {
		id        string
		req, resp []byte
	}
	var all []sent
	for range 40 {
		req, resp := p.exchange(t, 200)
		all = append(all, sent{req.RequestID.String(), req.Raw, resp})
		if err := l.Append(record(req, resp, 200), nil); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, l)
	for _, s := range all {
		recs, err := l.Records(s.id)
		if err != nil || len(recs) != 1 || !bytes.Equal(recs[0].Request, s.req) || !bytes.Equal(recs[0].Response, s.resp) {
			t.Fatalf("record of %s: %v", s.id, err)
		}
	}
	if _, err := l.VerifyChain(); err != nil {
		t.Fatal(err)
	}
	_, consumerCert, _, _ := envelope.Compact(all[0].req)
	_, providerCert, _, _ := envelope.Compact(all[0].resp)
	err := l.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketCerts).Stats().KeyN; n != 2 {
			t.Errorf("%d certificates stored, want 2", n)
		}
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			if bytes.Contains(v, consumerCert) || bytes.Contains(v, providerCert) {
				t.Errorf("record %x holds a certificate", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	// A record stored whole reads as it is.
	req, resp := p.exchange(t, 201)
	whole := record(req, resp, 201)
	whole.Seq, whole.Time = 1000, p.now().UTC().Round(0)
	whole.PrevHash = make([]byte, 32)
	whole.Hash = whole.ComputeHash()
	if err := l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put(seqKey(1000), marshalRecord(&whole))
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.db.View(func(tx *bolt.Tx) error {
		r, err := l.getRecord(tx, 1000)
		if err == nil && (!bytes.Equal(r.Request, req.Raw) || !bytes.Equal(r.Response, resp)) {
			t.Error("whole record changed on reading")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
