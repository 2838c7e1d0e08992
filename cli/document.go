package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node/delivery"
)

// docCommand is "dxl doc": an information system's side of asynchronous
// document delivery (docs/delivery.md), on its node's API.
func docCommand() *cli.Command {
	return &cli.Command{
		Name:  "doc",
		Usage: "send, follow, receive and acknowledge documents as an information system (asynchronous delivery)",
		Description: `The commands call the node's information-system API (docs/delivery.md) as
one information system, authenticated like a call: the system's pinned
client certificate (--cert/--key), a bearer token (--token), or a consumer
key and secret (--client-id/--client-secret). The flags can come from the
environment: DXL_NODE_URL, DXL_NODE_CACERT, DXL_CLIENT_CERT, DXL_CLIENT_KEY,
DXL_TOKEN, DXL_CLIENT_ID, DXL_CLIENT_SECRET.

Example (the sender A, then the recipient B; "dxl demo" prints both ready):
   export DXL_NODE_URL=https://127.0.0.1:8443 DXL_NODE_CACERT=A/api.pem \
          DXL_CLIENT_CERT=is-a/client.pem DXL_CLIENT_KEY=is-a/client.key
   dxl doc send --to VN-TEST/GOV/000.00.00.B01/DANCU --title "Quyết định 12" --type quyet-dinh qd12.pdf
   dxl doc status ID
   # on B's side
   dxl doc events
   dxl doc list
   dxl doc fetch ID -o qd12.pdf
   dxl doc ack ID`,
		Subcommands: []*cli.Command{docSendCommand(), docStatusCommand(), docCancelCommand(),
			docListCommand(), docFetchCommand(), docAckCommand(), docEventsCommand()},
	}
}

// docFlags are systemFlags and extra.
func docFlags(extra ...cli.Flag) []cli.Flag { return append(systemFlags(), extra...) }

// docID is the command's one argument, a document ID.
func docID(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("give one document ID (see 'dxl doc %s --help')", c.Command.Name)
	}
	return url.PathEscape(c.Args().First()), nil
}

func docStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "a sent document: its signed metadata and each recipient's state and signed receipt",
		ArgsUsage: "ID",
		Description: `Example:
   dxl doc status 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11
   dxl doc status --json 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11 | jq '.recipients[].receipt'`,
		Flags: docFlags(jsonFlag()),
		Action: func(c *cli.Context) error {
			return docOutAction(c, http.MethodGet, "")
		},
	}
}

func docCancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel a sent document's deliveries that no recipient node has stored yet",
		ArgsUsage: "ID",
		Description: `Example:
   dxl doc cancel 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11
   dxl doc cancel --recipient VN-TEST/GOV/000.00.00.B01/DANCU 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11`,
		Flags: docFlags(&cli.StringFlag{Name: "recipient", Usage: "cancel the delivery to this subsystem only"}, jsonFlag()),
		Action: func(c *cli.Context) error {
			q := ""
			if r := c.String("recipient"); r != "" {
				q = "?recipient=" + url.QueryEscape(r)
			}
			return docOutAction(c, http.MethodDelete, q)
		},
	}
}

// docOutAction asks for (GET) or cancels (DELETE) a sent document and
// prints it.
func docOutAction(c *cli.Context, method, query string) error {
	id, err := docID(c)
	if err != nil {
		return err
	}
	s, err := newSystemClient(c)
	if err != nil {
		return err
	}
	var d delivery.OutDoc
	if err := s.getJSON(c.Context, method, "/dxl/documents/"+id+query, &d); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, d)
	}
	printOutDoc(c.App.Writer, &d)
	return nil
}

// printOutDoc writes a sent document as text.
func printOutDoc(w io.Writer, d *delivery.OutDoc) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "document\t%s\n", d.Meta.ID)
	fmt.Fprintf(tw, "title\t%s\n", d.Meta.Title)
	fmt.Fprintf(tw, "type\t%s\n", d.Meta.DataType)
	fmt.Fprintf(tw, "size\t%d bytes\n", d.Meta.Size)
	fmt.Fprintf(tw, "sha256\t%s\n", d.Meta.SHA256)
	if !d.Meta.Expires.IsZero() {
		fmt.Fprintf(tw, "expires\t%s\n", d.Meta.Expires.Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPIENT\tSTATE\tATTEMPTS\tRECEIPT\tREASON")
	for _, r := range d.Recipients {
		receipt := "-"
		if r.Receipt != nil {
			receipt = "signed " + r.Acked.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.ID, r.State, r.Attempts, receipt, r.Reason)
	}
	tw.Flush()
}

func docListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "the information system's inbox: documents waiting (or all, or acknowledged)",
		Description: `Example:
   dxl doc list
   dxl doc list --state all --json`,
		Flags: docFlags(&cli.StringFlag{Name: "state", Value: "waiting", Usage: "waiting, acknowledged or all"}, jsonFlag()),
		Action: func(c *cli.Context) error {
			s, err := newSystemClient(c)
			if err != nil {
				return err
			}
			var items []delivery.Item
			if err := s.getJSON(c.Context, http.MethodGet, "/dxl/inbox?state="+url.QueryEscape(c.String("state")), &items); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, items)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSENDER\tTITLE\tTYPE\tSIZE\tSTATE\tRECEIVED")
			for _, it := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.Sender, it.Title, it.DataType, it.Size, it.State, it.Received.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
}

func docAckCommand() *cli.Command {
	return &cli.Command{
		Name:      "ack",
		Usage:     "acknowledge an inbox document: the node signs a receipt for its sender and deletes the content",
		ArgsUsage: "ID",
		Description: `Fetch the content first: after the acknowledgment it is gone from the node.

Example:
   dxl doc ack 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11
   dxl doc ack --json 3f1c0a2e-5b7d-4c4e-9a51-0d6f2b8e7c11 > receipt.json`,
		Flags: docFlags(jsonFlag()),
		Action: func(c *cli.Context) error {
			id, err := docID(c)
			if err != nil {
				return err
			}
			s, err := newSystemClient(c)
			if err != nil {
				return err
			}
			var rv delivery.ReceiptView
			if err := s.getJSON(c.Context, http.MethodPost, "/dxl/inbox/"+id+"/ack", &rv); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, rv)
			}
			r := rv.Receipt
			fmt.Fprintf(c.App.Writer, "acknowledged %s at %s; receipt signed by %s for sha256 %s\n",
				r.DocumentID, r.Acknowledged.Format(time.RFC3339), r.Recipient, r.SHA256)
			return nil
		},
	}
}

func docEventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "follow the information system's delivery events (new documents, deliveries, receipts) until interrupted",
		Description: `Prints one line per event: its type, the document ID and what it carries;
with --json one JSON object per line. Events announce, they are not the
record: after a gap, list the inbox or ask a document's status.

Example:
   dxl doc events
   dxl doc events --json | jq -r 'select(.type=="document") | .id'`,
		Flags: docFlags(jsonFlag()),
		Action: func(c *cli.Context) error {
			s, err := newSystemClient(c)
			if err != nil {
				return err
			}
			req, err := s.request(c.Context, http.MethodGet, "/dxl/events", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := s.send(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			return printEvents(c, resp.Body)
		},
	}
}

// printEvents prints the events of a server-sent event stream.
func printEvents(c *cli.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if c.Bool("json") {
			fmt.Fprintln(c.App.Writer, data)
			continue
		}
		var e delivery.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("event: %w", err)
		}
		fmt.Fprintln(c.App.Writer, eventLine(&e))
	}
	if c.Context.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("the node closed the event stream; run 'dxl doc events' again")
}

// eventLine is an event as one line of text.
func eventLine(e *delivery.Event) string {
	parts := []string{e.Type, e.ID}
	for _, kv := range [][2]string{{"sender", e.Sender}, {"recipient", e.Recipient}, {"title", e.Title}, {"type", e.DataType}, {"reason", e.Reason}} {
		if kv[1] != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", kv[0], kv[1]))
		}
	}
	if e.Size > 0 {
		parts = append(parts, fmt.Sprintf("size=%d", e.Size))
	}
	return strings.Join(parts, " ")
}
