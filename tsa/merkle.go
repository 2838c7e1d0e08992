package tsa

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// Merkle trees as in RFC 6962 section 2.1 (and RFC 9162 section 2.1):
// leaf hash SHA-256(0x00 || data), interior node SHA-256(0x01 || left ||
// right); a tree of n leaves splits at the largest power of two below n,
// so sizes that are not powers of two are handled without padding. The
// domain-separation bytes stop a leaf from posing as a node.

// LeafHash returns SHA-256(0x00 || data).
func LeafHash(data []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

func nodeHash(left, right []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(left)
	h.Write(right)
	return h.Sum(nil)
}

// Proof is an inclusion proof: the audit path of leaf Index in a tree of
// Size leaves, from the leaf's sibling up to the root's child.
type Proof struct {
	Index uint64   `json:"index"`
	Size  uint64   `json:"size"`
	Path  [][]byte `json:"path"`
}

// tree holds every level of a Merkle tree, leaves first. A level with an
// odd number of nodes carries its last node up unchanged, which yields
// exactly the RFC 6962 tree.
type tree [][][]byte

func buildTree(leaves [][]byte) tree {
	t := tree{leaves}
	for level := leaves; len(level) > 1; {
		next := make([][]byte, 0, (len(level)+1)/2)
		for i := 0; i+1 < len(level); i += 2 {
			next = append(next, nodeHash(level[i], level[i+1]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		t = append(t, next)
		level = next
	}
	return t
}

func (t tree) root() []byte { return t[len(t)-1][0] }

func (t tree) proof(index int) Proof {
	p := Proof{Index: uint64(index), Size: uint64(len(t[0]))}
	for _, level := range t[:len(t)-1] {
		if sib := index ^ 1; sib < len(level) {
			p.Path = append(p.Path, level[sib])
		}
		index >>= 1
	}
	return p
}

// Root returns the Merkle tree hash of leafHashes (already LeafHash'ed),
// or nil for none.
func Root(leafHashes [][]byte) []byte {
	if len(leafHashes) == 0 {
		return nil
	}
	return buildTree(leafHashes).root()
}

// Prove returns the inclusion proof of leaf index among leafHashes.
func Prove(leafHashes [][]byte, index int) (Proof, error) {
	if index < 0 || index >= len(leafHashes) {
		return Proof{}, fmt.Errorf("%w: index %d outside tree of %d", ErrProof, index, len(leafHashes))
	}
	return buildTree(leafHashes).proof(index), nil
}

// VerifyInclusion checks that leafHash sits at p.Index of a tree of p.Size
// leaves whose root is root (RFC 9162 section 2.1.3.2).
func VerifyInclusion(leafHash []byte, p Proof, root []byte) error {
	if p.Index >= p.Size {
		return fmt.Errorf("%w: index %d outside tree of %d", ErrProof, p.Index, p.Size)
	}
	if want := pathLen(p.Index, p.Size); len(p.Path) != want {
		return fmt.Errorf("%w: path has %d hashes, want %d", ErrProof, len(p.Path), want)
	}
	fn, sn := p.Index, p.Size-1
	r := leafHash
	for _, h := range p.Path {
		if sn == 0 {
			return fmt.Errorf("%w: path too long", ErrProof)
		}
		if len(h) != sha256.Size {
			return fmt.Errorf("%w: path hash of %d bytes", ErrProof, len(h))
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(h, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, h)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || !bytes.Equal(r, root) {
		return fmt.Errorf("%w: path does not lead to the root", ErrProof)
	}
	return nil
}

// pathLen is the audit path length of leaf index in a tree of size leaves.
func pathLen(index, size uint64) int {
	// One hash per level at which the node has a sibling.
	n := 0
	for last := size - 1; last > 0; index, last = index>>1, last>>1 {
		if index^1 <= last {
			n++
		}
	}
	return n
}
