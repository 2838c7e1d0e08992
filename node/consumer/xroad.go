package consumer

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
)

// X-Road REST headers (X-Road Message Protocol for REST 1.0.3, §4.3 and
// §4.4) the API reads or answers with, beside DXL's own.
const (
	HeaderXRoadID          = "X-Road-Id"
	HeaderXRoadService     = "X-Road-Service"
	HeaderXRoadRequestID   = "X-Road-Request-Id"
	HeaderXRoadRequestHash = "X-Road-Request-Hash"
	maxXRoadID             = 256
)

// lastValue is the last of h's values for name, "" when there is none:
// X-Road takes the last of a repeated X-Road-Client or X-Road-Id.
func lastValue(h http.Header, name string) string {
	if v := h.Values(name); len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// useXRoadID takes an X-Road client's message ID: it is echoed in the
// answer, and when the client sent no X-Request-ID it names the exchange,
// as is when it is a UUID version 4, else as a version 4 UUID derived from
// the client and the ID, so the same client resending the same X-Road-Id
// is the same exchange (run at most once) and two clients never collide.
func (c *Call) useXRoadID(h http.Header) error {
	xid := lastValue(h, HeaderXRoadID)
	if xid == "" {
		return nil
	}
	if len(xid) > maxXRoadID {
		return fmt.Errorf("%w: X-Road-Id over %d bytes", exchange.ErrBadRequestID, maxXRoadID)
	}
	for i := 0; i < len(xid); i++ {
		if xid[i] < 0x21 || xid[i] > 0x7e {
			return fmt.Errorf("%w: X-Road-Id has byte 0x%02x", exchange.ErrBadRequestID, xid[i])
		}
	}
	c.XRoadID = xid
	if len(h.Values(HeaderRequestID)) > 0 {
		return nil // X-Request-ID names the exchange
	}
	if id, err := envelope.ParseRequestID(xid); err == nil {
		c.RequestID = id
		return nil
	}
	sum := sha256.Sum256([]byte("DXL-XROAD-ID-v1\x00" + c.Client.String() + "\x00" + xid))
	copy(c.RequestID[:], sum[:16])
	c.RequestID[6] = c.RequestID[6]&0x0f | 0x40
	c.RequestID[8] = c.RequestID[8]&0x3f | 0x80
	return nil
}

// xroadAnswerHeaders sets the X-Road headers of an answer from the
// provider: the client's message ID, client, service, the exchange's
// request ID and the base64 SHA-512 of the signed request envelope, which
// ties the answer to exactly that request.
func xroadAnswerHeaders(h http.Header, c *Call) {
	h.Set(HeaderXRoadID, firstNonEmpty(c.XRoadID, c.RequestID.String()))
	h.Set(HeaderXRoadClient, c.Client.String())
	h.Set(HeaderXRoadService, c.Service.String())
	h.Set(HeaderXRoadRequestID, c.RequestID.String())
	if c.sent != nil {
		sum := sha512.Sum512(c.sent.Raw)
		h.Set(HeaderXRoadRequestHash, base64.StdEncoding.EncodeToString(sum[:]))
	}
}
