package node

import (
	"context"

	"github.com/dxl-network/dxl/node/consumer"
	"github.com/dxl-network/dxl/node/exchange"
)

// Headers of the consumer API (node/consumer).
const (
	HeaderClient      = consumer.HeaderClient
	HeaderXRoadClient = consumer.HeaderXRoadClient
	HeaderUserID      = consumer.HeaderUserID
	HeaderXRoadUserID = consumer.HeaderXRoadUserID
	HeaderRequestID   = consumer.HeaderRequestID
	HeaderError       = consumer.HeaderError
	HeaderProvider    = consumer.HeaderProvider
)

// Metadata calls (node/exchange).
const (
	MetaListMethods    = exchange.MetaListMethods
	MetaAllowedMethods = exchange.MetaAllowedMethods
	MetaGetOpenAPI     = exchange.MetaGetOpenAPI
	MetaGetSchema      = exchange.MetaGetSchema
)

// Call is one outgoing synchronous call, as the consumer API hands it over.
type Call = consumer.Call

// Result is a verified response (consumer.Result).
type Result = consumer.Result

// ClientList is the answer to listClients.
type ClientList = consumer.ClientList

// ClientEntry is one member or subsystem of a ClientList.
type ClientEntry = consumer.ClientEntry

// ClientID is the X-Road identifier of a ClientEntry.
type ClientID = consumer.ClientID

// Do sends c to a node of the service's provider member, failing over to
// the member's other nodes while none has received the request.
func (n *Node) Do(ctx context.Context, c *Call) (*Result, error) { return n.cons.Do(ctx, c) }

// health gives the consumer API the node's level-1 and level-2 health.
type health struct{ n *Node }

func (h health) System() (any, bool) {
	r := h.n.Health()
	return r, r.Status == "down"
}

func (h health) Service(ctx context.Context, id string) (any, bool, error) {
	sh, err := h.n.prov.CheckService(ctx, id)
	return sh, sh.Status == "ok", err
}
