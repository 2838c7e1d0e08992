package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

// refMTH is RFC 6962's recursive definition, as an independent reference.
func refMTH(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return leaves[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		return nodeHash(refMTH(leaves[:k]), refMTH(leaves[k:]))
	}
}

// refPath is RFC 6962's PATH(m, D[n]).
func refPath(m int, leaves [][]byte) [][]byte {
	n := len(leaves)
	if n <= 1 {
		return nil
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	if m < k {
		return append(refPath(m, leaves[:k]), refMTH(leaves[k:]))
	}
	return append(refPath(m-k, leaves[k:]), refMTH(leaves[:k]))
}

func testLeaves(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = LeafHash([]byte(fmt.Sprintf("record %d", i)))
	}
	return leaves
}

func TestMerkleAllSizes(t *testing.T) {
	for n := 1; n <= 33; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			leaves := testLeaves(n)
			root := Root(leaves)
			if !bytes.Equal(root, refMTH(leaves)) {
				t.Fatal("root differs from RFC 6962 MTH")
			}
			for i := 0; i < n; i++ {
				p, err := Prove(leaves, i)
				if err != nil {
					t.Fatal(err)
				}
				want := refPath(i, leaves)
				if len(p.Path) != len(want) {
					t.Fatalf("leaf %d: path of %d, RFC 6962 gives %d", i, len(p.Path), len(want))
				}
				for j := range want {
					if !bytes.Equal(p.Path[j], want[j]) {
						t.Fatalf("leaf %d: path[%d] differs from RFC 6962 PATH", i, j)
					}
				}
				if err := VerifyInclusion(leaves[i], p, root); err != nil {
					t.Fatalf("leaf %d: %v", i, err)
				}
				for _, bad := range tamper(p) {
					if err := VerifyInclusion(leaves[i], bad.p, root); !errors.Is(err, ErrProof) {
						t.Fatalf("leaf %d, %s: %v", i, bad.name, err)
					}
				}
				other := leaves[(i+1)%n]
				if n > 1 {
					if err := VerifyInclusion(other, p, root); !errors.Is(err, ErrProof) {
						t.Fatalf("leaf %d: proof accepted another leaf", i)
					}
				}
				if err := VerifyInclusion(leaves[i], p, LeafHash([]byte("x"))); !errors.Is(err, ErrProof) {
					t.Fatalf("leaf %d: proof accepted another root", i)
				}
			}
		})
	}
}

type badProof struct {
	name string
	p    Proof
}

func tamper(p Proof) []badProof {
	clonePath := func() [][]byte {
		out := make([][]byte, len(p.Path))
		for i := range p.Path {
			out[i] = bytes.Clone(p.Path[i])
		}
		return out
	}
	var out []badProof
	for j := range p.Path {
		path := clonePath()
		path[j][0] ^= 0x80
		out = append(out, badProof{fmt.Sprintf("flipped path[%d]", j), Proof{p.Index, p.Size, path}})
	}
	if len(p.Path) > 0 {
		out = append(out, badProof{"truncated path", Proof{p.Index, p.Size, clonePath()[:len(p.Path)-1]}})
		path := clonePath()
		path[0], path[len(path)-1] = path[len(path)-1], path[0]
		if len(path) > 1 && !bytes.Equal(path[0], path[len(path)-1]) {
			out = append(out, badProof{"swapped path", Proof{p.Index, p.Size, path}})
		}
	}
	out = append(out,
		badProof{"extra hash", Proof{p.Index, p.Size, append(clonePath(), make([]byte, 32))}},
		badProof{"index = size", Proof{p.Size, p.Size, clonePath()}},
		badProof{"short hash", Proof{p.Index, p.Size, append(clonePath(), []byte{1})}},
	)
	if p.Size > 1 {
		out = append(out, badProof{"index + 1", Proof{(p.Index + 1) % p.Size, p.Size, clonePath()}})
	}
	// A wrong Size is not always detectable: the root does not commit to
	// the size, and trees of neighbouring sizes can give a leaf the same
	// path shape. It does not matter: the leaf is under the root either way.
	return out
}

func TestBatchSeal(t *testing.T) {
	p := newTestPKI(t, "batch")
	a := newTestAuthority(t, p, nil)
	ctx := context.Background()
	var b Batch
	if _, err := b.Seal(ctx, LocalStamper(a)); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("empty Seal: %v", err)
	}
	const n = 13
	for i := 0; i < n; i++ {
		b.Add(digestOf(crypto.SHA256, []byte(fmt.Sprintf("envelope %d", i))))
	}
	ev, err := b.Seal(ctx, LocalStamper(a))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != n || b.Len() != 0 {
		t.Fatalf("%d evidence, %d left", len(ev), b.Len())
	}
	opts := VerifyOptions{Roots: p.roots, Policy: DefaultPolicy}
	for i, e := range ev {
		if _, err := VerifyEvidence(e, opts); err != nil {
			t.Fatalf("evidence %d: %v", i, err)
		}
	}
	// Evidence for one record does not prove another.
	forged := ev[0]
	forged.RecordHash = ev[1].RecordHash
	if _, err := VerifyEvidence(forged, opts); !errors.Is(err, ErrProof) {
		t.Fatalf("forged record: %v", err)
	}
	// A root the token does not certify.
	other := ev[0]
	other.Root = bytes.Clone(other.Root)
	other.Root[0] ^= 1
	if _, err := VerifyEvidence(other, opts); !errors.Is(err, ErrProof) {
		t.Fatalf("other root: %v", err)
	}
	// Token from a second batch does not cover the first batch's root.
	b.Add([]byte("later"))
	ev2, err := b.Seal(ctx, LocalStamper(a))
	if err != nil {
		t.Fatal(err)
	}
	swapped := ev[0]
	swapped.Token = ev2[0].Token
	if _, err := VerifyEvidence(swapped, opts); !errors.Is(err, ErrImprint) {
		t.Fatalf("swapped token: %v", err)
	}
}

type failingStamper struct{ err error }

func (f failingStamper) Stamp(context.Context, []byte) ([]byte, error) { return nil, f.err }

// When the TSA is down, records stay queued for the next Seal.
func TestBatchSealFailureKeepsRecords(t *testing.T) {
	var b Batch
	b.Add([]byte("a"))
	b.Add([]byte("b"))
	boom := errors.New("tsa down")
	if _, err := b.Seal(context.Background(), failingStamper{boom}); !errors.Is(err, boom) {
		t.Fatalf("Seal: %v", err)
	}
	if b.Len() != 2 {
		t.Fatalf("%d records left after failed Seal, want 2", b.Len())
	}
}
