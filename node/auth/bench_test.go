package auth

import (
	"context"
	"testing"
)

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.a.Issue(ctx, cred.KeyID, cred.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, sc := range []struct {
		name  string
		store func(testing.TB) Store
	}{
		{"mem", func(testing.TB) Store { return NewMemStore() }},
		{"bolt", newBoltStore},
	} {
		b.Run(sc.name, func(b *testing.B) {
			f := newFixture(b, sc.store(b))
			ctx := context.Background()
			cred, _ := f.a.Create(ctx, testSubsystem)
			tok, _ := f.a.Issue(ctx, cred.KeyID, cred.Secret)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.Verify(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	tok, _ := f.a.Issue(ctx, cred.KeyID, cred.Secret)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.a.Verify(ctx, tok.AccessToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
