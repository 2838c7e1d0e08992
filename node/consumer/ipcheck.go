package consumer

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// CheckIP applies the node's ip_rules to every request before h, so no
// authentication work (TLS client certificate lookup, token check, body
// read) is done for a refused address: the API-wide lists, then the lists
// of the service a REST (/r1/…) or LGSP path names. SOAP calls name their
// service in the body: forward checks them (checkServiceIP). Handler has
// it already; the node wraps its other endpoints on the same listener
// (document delivery) with it.
func (a *API) CheckIP(h http.Handler) http.Handler {
	if a.cfg.IPRules == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, err := callerIP(r)
		if err == nil {
			err = a.cfg.IPRules.CheckAPI(ip)
		}
		if err == nil {
			if sid, ok := a.pathService(r); ok {
				err = a.cfg.IPRules.CheckService(ip, sid)
			}
		}
		if err != nil {
			a.cfg.Logger.Info("address refused", "component", "consumer", "caller_ip", hostOf(r.RemoteAddr), "error_code", "ip_denied")
			a.noteRefusal("ip_denied", r, "")
			a.fail(w, "", err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// alertCodes are the refusals the abnormal-access detector counts.
var alertCodes = map[string]bool{
	"ip_denied": true, "unauthenticated": true, "client_mismatch": true, "unknown_client": true,
	"member_suspended": true, "member_revoked": true, "access_denied": true,
	// signed requests (node/auth): forged, replayed or with a dead key
	"auth_signature_invalid": true, "auth_signature_malformed": true, "auth_body_mismatch": true, "auth_replayed": true,
	"auth_unknown_access_key": true, "auth_access_key_revoked": true, "auth_algorithm_refused": true,
}

// noteRefusal counts a refusal with code for the abnormal-access detector
// (node/alert), by the caller's address and, when known, its subsystem.
func (a *API) noteRefusal(code string, r *http.Request, subsystem string) {
	if a.cfg.Alerts != nil && alertCodes[code] {
		a.cfg.Alerts.Record(code, hostOf(r.RemoteAddr), subsystem)
	}
}

// checkServiceIP is the service's lists for a call about to go out (SOAP
// calls, whose service the path does not name).
func (a *API) checkServiceIP(r *http.Request, sid services.ServiceID) error {
	if a.cfg.IPRules == nil {
		return nil
	}
	ip, err := callerIP(r)
	if err != nil {
		return err
	}
	return a.cfg.IPRules.CheckService(ip, sid)
}

// callerIP is the address of the connection (never a forwarded header).
func callerIP(r *http.Request) (netip.Addr, error) {
	ip, err := netip.ParseAddr(hostOf(r.RemoteAddr))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: no caller address", services.ErrIPDenied)
	}
	return ip, nil
}

// pathService is the service a REST or LGSP path names (unversioned is
// enough: the lists are per service).
func (a *API) pathService(r *http.Request) (services.ServiceID, bool) {
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/r1/"); ok {
		parts := strings.SplitN(rest, "/", 6)
		if len(parts) < 5 || exchange.IsMeta(parts[4]) {
			return services.ServiceID{}, false
		}
		sid, err := services.ParseServiceID(strings.Join(parts[:5], "/"))
		return sid, err == nil
	}
	if a.cfg.LGSP != nil {
		if svc, _, ok := a.cfg.LGSP.Lookup(r.URL.RequestURI()); ok {
			return svc, true
		}
	}
	return services.ServiceID{}, false
}
