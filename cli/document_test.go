package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node/delivery"
)

// demoDoc runs one of the demo's printed dxl doc lines in-process, with
// FILE and ID replaced and extra arguments added.
func demoDoc(t *testing.T, ctx context.Context, info map[string]string, key string, repl map[string]string, extra ...string) (string, string, error) {
	t.Helper()
	args := strings.Fields(info[key])
	if len(args) < 5 || strings.Join(args[:4], " ") != "go run . doc" {
		t.Fatalf("%s line %q", key, info[key])
	}
	args = args[3:]
	for i, a := range args {
		if r, ok := repl[a]; ok && i > 1 { // not "doc" of "doc fetch"
			args[i] = r
		}
	}
	// Flags before the positional argument: urfave/cli stops at the first.
	if last := args[len(args)-1]; !strings.HasPrefix(last, "-") && len(extra) > 0 && repl != nil {
		args = append(append(args[:len(args)-1:len(args)-1], extra...), last)
	} else {
		args = append(args, extra...)
	}
	return dxlSplit(ctx, args...)
}

// testDemoDxlDoc runs the demo's dxl doc lines: A's system sends a file of
// a few chunks; B's event stream announces it; B's inbox lists it; a
// partial download resumes with --continue and a wrong partial file is
// caught by the signed SHA-256; B acknowledges; A's status holds B's
// signed receipt. A fetch after the acknowledgment is refused. Errors carry the node's code and what to do.
func testDemoDxlDoc(t *testing.T, ctx context.Context, info map[string]string, dir string) {
	content := make([]byte, 3*delivery.ChunkSize+123)
	_, _ = rand.Read(content)
	file := filepath.Join(dir, "dxl-doc.bin")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	evCtx, stopEvents := context.WithCancel(ctx)
	events := &testutil.SyncBuffer{}
	evDone := make(chan error, 1)
	go func() {
		args := append(strings.Fields(info["dxl_doc_events"])[3:], "--json")
		evDone <- runSplit(evCtx, events, &testutil.SyncBuffer{}, args...)
	}()
	defer func() { stopEvents(); <-evDone }()

	out, errOut, err := demoDoc(t, ctx, info, "dxl_doc_send", map[string]string{"FILE": file}, "--json")
	var sent delivery.OutDoc
	if err != nil || json.Unmarshal([]byte(out), &sent) != nil || sent.Meta.ID == "" || sent.Meta.Size != int64(len(content)) {
		t.Fatalf("send: %v\n%s\n%s", err, out, errOut)
	}
	id := sent.Meta.ID
	ids := map[string]string{"ID": id}
	waitFor(t, "the document event at B", func() bool { return strings.Contains(events.String(), `"id":"`+id+`"`) })
	if out, _, err := demoDoc(t, ctx, info, "dxl_doc_list", nil, "--json"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("list: %v %s", err, out)
	}

	// A partial file resumes; a wrong one is refused by the hash.
	got := filepath.Join(dir, "dxl-doc.out")
	_ = os.WriteFile(got, content[:1000], 0o600)
	if _, e, err := demoDoc(t, ctx, info, "dxl_doc_fetch", map[string]string{"ID": id, "doc": got}, "--continue"); err != nil {
		t.Fatalf("fetch --continue: %v %s", err, e)
	}
	if b, _ := os.ReadFile(got); !bytes.Equal(b, content) {
		t.Fatalf("resumed fetch: %d bytes, not the %d sent", len(b), len(content))
	}
	_ = os.WriteFile(got, make([]byte, 1000), 0o600)
	if _, _, err := demoDoc(t, ctx, info, "dxl_doc_fetch", map[string]string{"ID": id, "doc": got}, "--continue"); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("fetch --continue of a wrong partial file: %v", err)
	}

	if out, _, err := demoDoc(t, ctx, info, "dxl_doc_ack", ids); err != nil || !strings.Contains(out, "acknowledged "+id) {
		t.Fatalf("ack: %v %s", err, out)
	}
	waitFor(t, "B's receipt in A's status", func() bool {
		out, _, err := demoDoc(t, ctx, info, "dxl_doc_status", ids, "--json")
		var d delivery.OutDoc
		return err == nil && json.Unmarshal([]byte(out), &d) == nil && len(d.Recipients) == 1 &&
			d.Recipients[0].State == delivery.Acknowledged && d.Recipients[0].Receipt != nil
	})

	// Errors: the node's code and a hint; no credentials at all.
	_, _, err = demoDoc(t, ctx, info, "dxl_doc_fetch", map[string]string{"ID": id, "doc": got})
	if err == nil || !strings.Contains(err.Error(), "409 document_state") || !strings.Contains(err.Error(), "dxl doc list --state all") {
		t.Fatalf("fetch after the acknowledgment: %v", err)
	}
	unknown := map[string]string{"ID": "00000000-0000-4000-8000-000000000000"}
	if _, _, err := demoDoc(t, ctx, info, "dxl_doc_status", unknown); err == nil || !strings.Contains(err.Error(), "404 document_not_found") {
		t.Fatalf("status of an unknown ID: %v", err)
	}
	node := strings.Fields(info["dxl_doc_list"])[6]
	if _, _, err := dxlSplit(ctx, "doc", "list", "--node", node); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("list without credentials: %v", err)
	}
}
