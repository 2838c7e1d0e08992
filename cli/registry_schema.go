package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/services"
)

// schemaFlags are `dxl registry service publish`'s flags for the schemas
// of the service's data type (R-F2).
func schemaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "request-schema", Usage: "the request body's schema `FILE`: its SHA-256 goes into the catalogue", TakesFile: true},
		&cli.StringFlag{Name: "response-schema", Usage: "the response body's schema `FILE`: its SHA-256 goes into the catalogue", TakesFile: true},
		&cli.StringFlag{Name: "schema-type", Usage: "`TYPE` of the schema files: json (JSON Schema 2020-12) or xsd (XML Schema)", Value: services.SchemaJSON},
	}
}

// schemaDigests reads the schema files publish names and fills req's
// schema fields with their SHA-256. Each file must be a schema of its
// type: a JSON Schema compiles, an XSD is well-formed XML with an
// xs:schema root (the node checks it compiles, with xmllint). No file: no
// schema fields, which leaves a published entry's schemas unchanged.
func schemaDigests(c *cli.Context, req *client.PublishServiceRequest) error {
	typ := c.String("schema-type")
	if typ != services.SchemaJSON && typ != services.SchemaXSD {
		return fmt.Errorf("--schema-type %q: want json or xsd", typ)
	}
	for _, f := range []struct {
		flag string
		dst  *string
	}{{"request-schema", &req.RequestSchemaSHA256}, {"response-schema", &req.ResponseSchemaSHA256}} {
		file := c.String(f.flag)
		if file == "" {
			continue
		}
		data, err := readInput(c, file, services.MaxSchema)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
		if typ == services.SchemaXSD {
			err = services.CheckXSDDocument(file, data)
		} else {
			_, err = services.CompileSchema(file, typ, data)
		}
		if err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
		sum := sha256.Sum256(data)
		*f.dst = hex.EncodeToString(sum[:])
	}
	if req.RequestSchemaSHA256 != "" || req.ResponseSchemaSHA256 != "" {
		req.SchemaType = typ
	} else if c.IsSet("schema-type") {
		return fmt.Errorf("--schema-type without --request-schema or --response-schema")
	}
	return nil
}
