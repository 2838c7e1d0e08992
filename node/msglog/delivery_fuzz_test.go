package msglog

import (
	"bytes"
	"context"
	"testing"

	"github.com/dxl-network/dxl/tsa"
)

// FuzzReadDeliveryBundle: no input makes ReadDeliveryBundle or
// VerifyDeliveryBundle panic, and an accepted input is its own canonical
// form.
func FuzzReadDeliveryBundle(f *testing.F) {
	p, auth := newTSA(f)
	l := openLog(f, Config{TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)})})
	for _, r := range deliveryRecords(p.delivery(f, "")) {
		if err := l.Append(r, nil); err != nil {
			f.Fatal(err)
		}
	}
	b, err := l.DeliveryEvidence(context.Background(), testDocID, testRecipient, p.caChain)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := b.Marshal()
	f.Add(good)
	f.Add([]byte(`{"format":2}`))
	f.Add(bytes.Replace(good, []byte(`"format": 2`), []byte(`"format": 1`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadDeliveryBundle(data)
		if err != nil {
			return
		}
		if canon, _ := b.Marshal(); !bytes.Equal(canon, data) {
			t.Fatal("accepted a non-canonical bundle")
		}
		_, _ = VerifyDeliveryBundle(b, p.roots) // must not panic; a larger proof size still verifies (doc.go)
	})
}
