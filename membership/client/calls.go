package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// The registry API calls, one method per endpoint.

// Submit sends a registration (POST /v1/registrations, no credentials).
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (RegistrationStatus, error) {
	var out RegistrationStatus
	_, err := c.do(ctx, http.MethodPost, "/v1/registrations", req, &out)
	return out, err
}

// RegistrationStatus returns the public status of a registration request.
func (c *Client) RegistrationStatus(ctx context.Context, id string) (RegistrationStatus, error) {
	var out RegistrationStatus
	_, err := c.do(ctx, http.MethodGet, "/v1/registrations/"+url.PathEscape(id), nil, &out)
	return out, err
}

// RegistrationCertificates returns the certificates issued on approving a
// registration request (no credentials): the node's and the member's
// signing certificate, each with the intermediate, and the CA chain.
// ErrNotApproved while the request is pending or when it was rejected.
func (c *Client) RegistrationCertificates(ctx context.Context, id string) (RegistrationCertificates, error) {
	var out RegistrationCertificates
	_, err := c.do(ctx, http.MethodGet, "/v1/registrations/"+url.PathEscape(id)+"/certificates", nil, &out)
	return out, err
}

// GlobalConfig returns the signed global configuration as served, not
// verified (globalconf.Verify or a globalconf.Client does that).
func (c *Client) GlobalConfig(ctx context.Context) ([]byte, error) {
	return c.do(ctx, http.MethodGet, globalconf.GlobalConfigPath, nil, nil)
}

// ---- operators ----

// Status returns the answering server's view of the cluster.
func (c *Client) Status(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/status", nil, &out)
	return out, err
}

// Registrations lists registration requests, all or those with status.
func (c *Client) Registrations(ctx context.Context, status state.RequestStatus) ([]RequestSummary, error) {
	var out struct {
		Registrations []RequestSummary `json:"registrations"`
	}
	path := "/v1/admin/registrations"
	if status != "" {
		path += "?status=" + url.QueryEscape(string(status))
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Registrations, err
}

// Registration returns a registration request in full.
func (c *Client) Registration(ctx context.Context, id string) (state.Request, error) {
	var out state.Request
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/registrations/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Approve approves a pending request: the answering server's CA issues the
// node and signing certificates.
func (c *Client) Approve(ctx context.Context, id string) (ApproveResponse, error) {
	var out ApproveResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/approve", struct{}{}, &out)
	return out, err
}

// Reject rejects a pending request; reason is required.
func (c *Client) Reject(ctx context.Context, id, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/reject", ReasonBody{Reason: reason}, &out)
	return out, err
}

// Members lists members (without their signing certificates), all or those
// with status.
func (c *Client) Members(ctx context.Context, status ident.MemberStatus) ([]state.Member, error) {
	var out struct {
		Members []state.Member `json:"members"`
	}
	path := "/v1/admin/members"
	if status != "" {
		path += "?status=" + url.QueryEscape(string(status))
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Members, err
}

// Member returns a member with its subsystems and nodes.
func (c *Client) Member(ctx context.Context, id string) (MemberDetail, error) {
	var out MemberDetail
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/members/"+escapeID(id), nil, &out)
	return out, err
}

type memberAction struct {
	Member string `json:"member"`
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Suspend suspends an active member; reason is required.
func (c *Client) Suspend(ctx context.Context, member, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/suspend", memberAction{Member: member, Reason: reason}, &out)
	return out, err
}

// Reactivate reactivates a suspended member.
func (c *Client) Reactivate(ctx context.Context, member, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/reactivate", memberAction{Member: member, Reason: reason}, &out)
	return out, err
}

// Revoke revokes a member for good: its certificates' serials enter the
// configuration. reason is an RFC 5280 reason name; note is free text.
func (c *Client) Revoke(ctx context.Context, member, reason, note string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/revoke", memberAction{Member: member, Reason: reason, Note: note}, &out)
	return out, err
}

// CancelConnectionRequest names what to disconnect: a member's node
// (PeerID) or subsystem (Subsystem).
type CancelConnectionRequest struct {
	Member    string `json:"member"`
	PeerID    string `json:"peer_id,omitempty"`
	Subsystem string `json:"subsystem,omitempty"`
	Reason    string `json:"reason"`
}

// CancelConnection cancels a node's or subsystem's connection.
func (c *Client) CancelConnection(ctx context.Context, req CancelConnectionRequest) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/connections/cancel", req, &out)
	return out, err
}

// PublishService publishes a subsystem's service in the catalogue, or
// updates the description hash (and level and schemas, when named) of a
// published one.
func (c *Client) PublishService(ctx context.Context, req PublishServiceRequest) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/publish", req, &out)
	return out, err
}

// SetDocuments declares the data types a subsystem takes by asynchronous
// delivery and whether it is its member's document inbox.
func (c *Client) SetDocuments(ctx context.Context, req SetDocumentsRequest) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/subsystems/documents", req, &out)
	return out, err
}

type serviceAction struct {
	Service string     `json:"service"`
	Sunset  *time.Time `json:"sunset,omitempty"`
}

// DeprecateService marks a published service (SUBSYSTEM-ID/CODE[/VERSION])
// deprecated until sunset.
func (c *Client) DeprecateService(ctx context.Context, service string, sunset time.Time) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/deprecate", serviceAction{Service: service, Sunset: &sunset}, &out)
	return out, err
}

// RetireService retires a published or deprecated service for good.
func (c *Client) RetireService(ctx context.Context, service string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/retire", serviceAction{Service: service}, &out)
	return out, err
}

// SetGroup creates or replaces global group code with the subsystems
// (INSTANCE/CLASS/CODE/SUBSYSTEM) in members.
func (c *Client) SetGroup(ctx context.Context, code, description string, members []string) (state.Result, error) {
	var out state.Result
	if members == nil {
		members = []string{}
	}
	body := struct {
		Description string   `json:"description"`
		Members     []string `json:"members"`
	}{description, members}
	_, err := c.do(ctx, http.MethodPut, "/v1/admin/groups/"+url.PathEscape(code), body, &out)
	return out, err
}

// DeleteGroup deletes global group code.
func (c *Client) DeleteGroup(ctx context.Context, code string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodDelete, "/v1/admin/groups/"+url.PathEscape(code), nil, &out)
	return out, err
}

// History returns up to limit (0: the server's default, 100) most recent
// history entries, oldest first, all or those about target.
func (c *Client) History(ctx context.Context, target string, limit int) ([]state.HistoryEntry, error) {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/admin/history"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		History []state.HistoryEntry `json:"history"`
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.History, err
}

// ExportHistory writes the registry's whole history to w as JSON lines,
// oldest first (GET /v1/admin/history/export), streaming it; check it with
// VerifyHistoryExport. Servers are tried in turn until one answers; once the
// answer has started, an error ends the call and w holds part of the export,
// so write to a temporary file and keep it only when ExportHistory returns
// nil.
func (c *Client) ExportHistory(ctx context.Context, w io.Writer) error {
	return c.stream(ctx, "/v1/admin/history/export", "history export", w)
}

// Backup writes a backup of the first registry server that answers to w
// (admin; GET BackupPath, a tar archive restored with
// membership.RestoreRegistry), streaming it, as ExportHistory does.
func (c *Client) Backup(ctx context.Context, w io.Writer) error {
	return c.stream(ctx, BackupPath, "backup", w)
}

// stream copies the answer of GET path of the first server that answers
// to w.
func (c *Client) stream(ctx context.Context, path, what string, w io.Writer) error {
	start := int(c.next.Load())
	var errs []error
	for k := range c.urls {
		i := (start + k) % len(c.urls)
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		res, err := c.openStream(ctx, c.urls[i], path)
		if err != nil {
			if !retryable(http.MethodGet, err) || ctx.Err() != nil {
				return err
			}
			c.log.Debug("registry server unusable, trying the next", "server", c.urls[i], "error", err)
			errs = append(errs, err)
			continue
		}
		c.next.Store(int64(i))
		_, err = io.Copy(w, res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("membership: %s from %s: %w", what, c.urls[i], err)
		}
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("membership: no registry server answered (%d tried): %w", len(errs), errors.Join(errs...))
}

// CreateJoinToken mints a one-time join token for a new registry server
// (admin). Any server will do: a follower commits it through the leader.
func (c *Client) CreateJoinToken(ctx context.Context, ttl time.Duration) (MintJoinTokenResponse, error) {
	var out MintJoinTokenResponse
	return out, c.post(ctx, JoinTokensPath, map[string]string{"ttl": ttl.String()}, &out)
}

// RemoveServer takes registry server id out of the Raft configuration and
// forgets its record (admin; a follower forwards it to the leader).
func (c *Client) RemoveServer(ctx context.Context, id string) (RemoveServerResponse, error) {
	var out RemoveServerResponse
	return out, c.post(ctx, "/v1/admin/registry-servers/"+url.PathEscape(id)+"/remove", struct{}{}, &out)
}

// AddNode registers a further node of an active member from the node's
// certificate request (PEM) and returns its node-auth certificate.
func (c *Client) AddNode(ctx context.Context, member, nodeCSR string, addrs []string) (AddNodeResponse, error) {
	var out AddNodeResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/nodes", AddNodeRequest{Member: member, NodeCSR: nodeCSR, Addrs: addrs}, &out)
	return out, err
}

// post POSTs in to path and decodes the answer into out.
func (c *Client) post(ctx context.Context, path string, in, out any) error {
	_, err := c.do(ctx, http.MethodPost, path, in, out)
	return err
}
