package ca

import (
	"context"
	"errors"
	"testing"
)

// FuzzIssueCSR feeds arbitrary bytes to certificate issuance. Whatever the
// input, Issue must not panic, must fail with one of the CSR sentinels or
// succeed, and a failure must leave the database unchanged.
func FuzzIssueCSR(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Add(make([]byte, MaxCSRSize+1))
	c := newTestCA(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := c.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Issue(ctx, IssueRequest{CSR: data, Profile: ProfileMemberSign, Member: "GOV/FUZZ", Organization: "Fuzz"})
		after, _ := c.List(ctx, "")
		if err != nil {
			known := false
			for _, e := range []error{ErrCSRMalformed, ErrCSRTooLarge, ErrCSRSignature, ErrWeakKey, ErrUnsupportedKey, ErrBadRequest} {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("unclassified error %v", err)
			}
			if len(after) != len(before) {
				t.Fatalf("rejected input changed the database: %d -> %d records", len(before), len(after))
			}
		} else if len(after) != len(before)+1 {
			t.Fatalf("issued without a record: %d -> %d", len(before), len(after))
		}
	})
}
