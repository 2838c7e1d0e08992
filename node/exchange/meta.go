package exchange

// Metadata calls in the X-Road/GovStack REST form. They are addressed to a
// provider subsystem as if they were services of it
// (/r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/listMethods), travel in signed
// envelopes like any call and are answered by the provider node itself.
const (
	MetaListMethods    = "listMethods"
	MetaAllowedMethods = "allowedMethods"
	MetaGetOpenAPI     = "getOpenAPI"
	MetaGetWsdl        = "getWsdl" // SOAP only
	// MetaGetSchema answers the schema of a service version's data type
	// as published in the catalogue (getSchema?serviceCode=CODE
	// &version=V&direction=request|response), in the manner of getOpenAPI.
	MetaGetSchema = "getSchema"
)

// IsMeta reports whether a service code names a metadata call.
func IsMeta(code string) bool {
	return code == MetaListMethods || code == MetaAllowedMethods || code == MetaGetOpenAPI || code == MetaGetWsdl || code == MetaGetSchema
}
