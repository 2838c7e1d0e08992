package provider

import (
	"fmt"
	"mime"
	"strings"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// mask applies the masking rules for client on service (its groups:
// groups) to the backend's
// answer, before it is signed: the signed body hash, the message log and
// the evidence are then of what the consumer gets. A masked answer is held
// whole (at most exchange.MaxWholeBody) and must be JSON or XML (SOAP
// included); an answer with a body of another type is refused rather than
// passed on unmasked.
func (pr *Provider) mask(client services.SubsystemID, service services.ServiceID, groups services.Groups, ans *answer) error {
	set := pr.cfg.Masks.For(client, service, groups)
	if set == nil || ans.body.Len() == 0 {
		return nil
	}
	if ans.body.Len() > exchange.MaxWholeBody {
		return fmt.Errorf("%w: an answer of %d bytes to mask, over %d", exchange.ErrTooLarge, ans.body.Len(), exchange.MaxWholeBody)
	}
	apply := set.Apply
	switch {
	case isJSON(ans.ctype):
	case isXML(ans.ctype):
		apply = set.ApplyXML
	default:
		return fmt.Errorf("%w: a %q answer for a consumer with masking rules (only JSON and XML are masked)", services.ErrMask, ans.ctype)
	}
	raw, err := ans.body.ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %v", exchange.ErrSpool, err)
	}
	out, err := apply(raw)
	if err != nil {
		return err
	}
	ans.body = spool.Bytes(out) // the caller closes the backend's spool
	return nil
}

// isXML reports whether a content type is XML: application/xml, text/xml
// or +xml (SOAP 1.2's application/soap+xml).
func isXML(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"))
}

// isJSON reports whether a content type is application/json or +json.
func isJSON(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
