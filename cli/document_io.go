package cli

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/dxl-network/dxl/node/delivery"
)

func docSendCommand() *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "hand the node a document (a file, or - for stdin) for one or more recipient information systems",
		ArgsUsage: "FILE",
		Description: `The content is streamed, never held whole; a progress bar goes to stderr
on a terminal (or with --progress). The node checks every recipient against
the signed global configuration before it reads the content, then signs the
metadata and answers the document's ID; the delivery goes on without you.
Sending the same --id with the same metadata and content again is
idempotent; the same ID with anything else is refused (document_id_reused).

Example:
   dxl doc send --to VN-TEST/GOV/000.00.00.B01/DANCU --title "Quyết định 12" \
       --type quyet-dinh --priority 5 --ttl 72h qd12.pdf
   ID=$(dxl doc send --to VN-TEST/GOV/000.00.00.B01/DANCU --title t --type note --json note.txt | jq -r .meta.id)`,
		Flags: docFlags(
			&cli.StringSliceFlag{Name: "to", Usage: "a recipient subsystem INSTANCE/CLASS/MEMBER/SUBSYSTEM (repeatable)", Required: true},
			&cli.StringFlag{Name: "title", Usage: "the document's title", Required: true},
			&cli.StringFlag{Name: "type", Usage: "its data type, e.g. quyet-dinh", Required: true},
			&cli.StringFlag{Name: "format", Usage: "its media type or protocol", DefaultText: "from the file name, else application/octet-stream"},
			&cli.IntFlag{Name: "priority", Usage: "0 (lowest) to 9; higher goes first"},
			&cli.StringFlag{Name: "ttl", Usage: "expire the deliveries after this `DURATION`, e.g. 72h"},
			&cli.StringFlag{Name: "expires", Usage: "expire the deliveries at this RFC 3339 `TIME`"},
			&cli.StringFlag{Name: "id", Usage: "the document's ID (a UUID v4) for an idempotent resubmission", DefaultText: "a new one"},
			&cli.BoolFlag{Name: "progress", Usage: "show the progress bar even when stderr is not a terminal"},
			jsonFlag()),
		Action: docSendAction,
	}
}

func docSendAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("give the FILE to send (or - for stdin)")
	}
	s, err := newSystemClient(c)
	if err != nil {
		return err
	}
	q := url.Values{"recipient": c.StringSlice("to"), "title": {c.String("title")}, "type": {c.String("type")},
		"priority": {strconv.Itoa(c.Int("priority"))}}
	for _, f := range []string{"ttl", "expires", "id", "format"} {
		if v := c.String(f); v != "" {
			q.Set(f, v)
		}
	}
	in, size, err := openSendFile(c.Args().First())
	if err != nil {
		return err
	}
	defer in.Close()
	if q.Get("format") == "" {
		q.Set("format", formatOf(c.Args().First()))
	}
	bar := docProgress(c, size, "sending")
	req, err := s.request(c.Context, http.MethodPost, "/dxl/documents?"+q.Encode(), io.TeeReader(in, bar))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", q.Get("format"))
	resp, err := s.send(req)
	_ = bar.Finish()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var d delivery.OutDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return fmt.Errorf("the node's answer: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c, d)
	}
	if resp.StatusCode == http.StatusOK {
		fmt.Fprintln(c.App.ErrWriter, "already accepted earlier with this ID, metadata and content")
	}
	printOutDoc(c.App.Writer, &d)
	return nil
}

// openSendFile opens the file to send and its size (-1 for stdin).
func openSendFile(path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file (give - to send stdin)", path)
	}
	return f, st.Size(), nil
}

// formatOf is the media type of a file name's extension.
func formatOf(path string) string {
	ext := ""
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		ext = strings.ToLower(path[i:])
	}
	if t, ok := map[string]string{".pdf": "application/pdf", ".xml": "application/xml", ".json": "application/json",
		".txt": "text/plain; charset=utf-8", ".zip": "application/zip", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".jpg": "image/jpeg", ".png": "image/png"}[ext]; ok {
		return t
	}
	return "application/octet-stream"
}

// docProgress is a progress bar of size bytes (-1: unknown) on stderr when
// that is a terminal or --progress is set; otherwise one that prints
// nothing.
func docProgress(c *cli.Context, size int64, what string) *progressbar.ProgressBar {
	tty := false
	if f, ok := c.App.ErrWriter.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if !tty && !c.Bool("progress") {
		return progressbar.DefaultBytesSilent(size, what)
	}
	return progressbar.NewOptions64(size, progressbar.OptionSetWriter(c.App.ErrWriter), progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true), progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowCount(), progressbar.OptionSpinnerType(14),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.App.ErrWriter) }), progressbar.OptionSetRenderBlankState(true))
}

func docFetchCommand() *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "download an inbox document's content, checked against the SHA-256 its sender signed",
		ArgsUsage: "ID",
		Description: `Streams the content to --out (or stdout with -o -); with --continue an
existing partial file is resumed with a Range request. The bytes are
checked against the signed SHA-256 at the end; a mismatch removes nothing
but fails, so fetch again without --continue. Acknowledge afterwards with
'dxl doc ack ID'.

Example:
   dxl doc fetch 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11 -o qd12.pdf
   dxl doc fetch --continue 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11 -o qd12.pdf`,
		Flags: docFlags(
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the content to `FILE` (- for stdout)", Required: true},
			&cli.BoolFlag{Name: "continue", Aliases: []string{"C"}, Usage: "resume a partial --out file"},
			&cli.BoolFlag{Name: "progress", Usage: "show the progress bar even when stderr is not a terminal"},
			jsonFlag()),
		Action: docFetchAction,
	}
}

// fetched is dxl doc fetch's result.
type fetched struct {
	ID      string `json:"id"`
	Sender  string `json:"sender"`
	Out     string `json:"out"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Resumed int64  `json:"resumed_at,omitempty"`
}

func docFetchAction(c *cli.Context) error {
	id, err := docID(c)
	if err != nil {
		return err
	}
	s, err := newSystemClient(c)
	if err != nil {
		return err
	}
	f, from, err := openFetchOut(c.String("out"), c.Bool("continue"))
	if err != nil {
		return err
	}
	var out io.Writer = c.App.Writer
	if f != nil {
		defer f.Close()
		out = f
	}
	req, err := s.request(c.Context, http.MethodGet, "/dxl/inbox/"+id, nil)
	if err != nil {
		return err
	}
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	resp, err := s.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if from > 0 && resp.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("the node did not resume at byte %d (%s); fetch again without --continue", from, resp.Status)
	}
	bar := docProgress(c, from+resp.ContentLength, "fetching")
	_ = bar.Set64(from)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, bar, h), resp.Body)
	if err != nil {
		return fmt.Errorf("interrupted after %d bytes: %w; run again with --continue", from+n, err)
	}
	_ = bar.Finish()
	res := fetched{ID: resp.Header.Get(delivery.HeaderDocumentID), Sender: resp.Header.Get(delivery.HeaderSender),
		Out: c.String("out"), Size: from + n, SHA256: resp.Header.Get(delivery.HeaderSHA256), Resumed: from}
	sum := hex.EncodeToString(h.Sum(nil))
	if from > 0 { // the bytes before from were written by an earlier run
		raw, err := hashFile(c, c.String("out"), crypto.SHA256)
		if err != nil {
			return err
		}
		sum = hex.EncodeToString(raw)
	}
	if sum != res.SHA256 {
		return fmt.Errorf("the content's SHA-256 %s is not the signed %s: fetch again without --continue", sum, res.SHA256)
	}
	if c.Bool("json") {
		return printJSON(c, res)
	}
	fmt.Fprintf(c.App.ErrWriter, "fetched %s from %s: %d bytes, sha256 %s verified\n", res.ID, res.Sender, res.Size, res.SHA256)
	return nil
}

// openFetchOut opens the output file (nil for stdout) and the offset to
// resume from.
func openFetchOut(path string, resume bool) (*os.File, int64, error) {
	if path == "-" {
		if resume {
			return nil, 0, errors.New("--continue needs an --out file")
		}
		return nil, 0, nil
	}
	flags := os.O_CREATE | os.O_RDWR | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_RDWR
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, 0, err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, end, nil
}
