package provider

import (
	"fmt"
	"mime"
	"strings"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// mask applies the masking rules for client on service to the backend's
// answer, before it is signed: the signed body hash, the message log and
// the evidence are then of what the consumer gets. A masked answer is held
// whole (at most exchange.MaxWholeBody) and must be JSON; an answer with
// a body of another type is refused rather than passed on unmasked.
func (pr *Provider) mask(client services.SubsystemID, service services.ServiceID, ans *answer) error {
	set := pr.cfg.Masks.For(client, service)
	if set == nil || ans.body.Len() == 0 {
		return nil
	}
	if ans.body.Len() > exchange.MaxWholeBody {
		return fmt.Errorf("%w: an answer of %d bytes to mask, over %d", exchange.ErrTooLarge, ans.body.Len(), exchange.MaxWholeBody)
	}
	if !isJSON(ans.ctype) {
		return fmt.Errorf("%w: a %q answer for a consumer with masking rules (only JSON is masked)", services.ErrMask, ans.ctype)
	}
	raw, err := ans.body.ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %v", exchange.ErrSpool, err)
	}
	out, err := set.Apply(raw)
	if err != nil {
		return err
	}
	ans.body = spool.Bytes(out) // the caller closes the backend's spool
	return nil
}

// isJSON reports whether a content type is application/json or +json.
func isJSON(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
