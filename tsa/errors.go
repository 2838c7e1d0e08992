package tsa

import (
	"errors"
	"fmt"
	"strings"

	"github.com/digitorus/timestamp"
)

// Sentinel errors returned by this package. Test with errors.Is; the
// returned errors wrap these with detail.
var (
	// Request intake. Each maps to an RFC 3161 PKIFailureInfo and is
	// carried by a *RequestError.

	// ErrBadDataFormat means the request is not a well-formed DER
	// TimeStampReq (garbage, truncation, trailing bytes, wrong version,
	// imprint length not matching its algorithm): failInfo badDataFormat.
	ErrBadDataFormat = errors.New("tsa: malformed time-stamp request")
	// ErrBadAlg means the imprint's hash algorithm is not SHA-256, SHA-384
	// or SHA-512: failInfo badAlg.
	ErrBadAlg = errors.New("tsa: unsupported hash algorithm")
	// ErrBadRequest means the request is well formed but asks for something
	// this TSA does not do (an oversized nonce): failInfo badRequest.
	ErrBadRequest = errors.New("tsa: request not supported")
	// ErrUnacceptedPolicy means the request names a policy other than the
	// TSA's: failInfo unacceptedPolicy.
	ErrUnacceptedPolicy = errors.New("tsa: requested policy not supported")
	// ErrUnacceptedExtension means the request carries extensions, none of
	// which this TSA supports: failInfo unacceptedExtension.
	ErrUnacceptedExtension = errors.New("tsa: request extensions not supported")
	// ErrSystemFailure means the TSA could not issue a token for a valid
	// request (serial store, signer, expired certificate): failInfo
	// systemFailure.
	ErrSystemFailure = errors.New("tsa: system failure")

	// Setup.

	// ErrConfig means a Config, option or VerifyOptions value is invalid.
	ErrConfig = errors.New("tsa: invalid configuration")
	// ErrExists means Init found an existing TSA key in the directory.
	ErrExists = errors.New("tsa: directory already holds a TSA key")
	// ErrClosed means the serial store was used after Close.
	ErrClosed = errors.New("tsa: serial store closed")

	// Verification and client.

	// ErrMalformed means a response or token cannot be parsed.
	ErrMalformed = errors.New("tsa: malformed time-stamp token")
	// ErrRejected means the TSA answered with a status other than granted;
	// the error is a *RejectionError.
	ErrRejected = errors.New("tsa: time-stamp request rejected")
	// ErrSignature means the CMS signature over the token does not verify.
	ErrSignature = errors.New("tsa: bad token signature")
	// ErrSignerCert means the signer certificate is missing, or is not the
	// one named by the token's ESS signing-certificate attribute or tsa
	// field.
	ErrSignerCert = errors.New("tsa: signer certificate not found or not bound")
	// ErrEKU means the signer certificate's extended key usage is not
	// exactly a critical id-kp-timeStamping.
	ErrEKU = errors.New("tsa: signer is not a time-stamping certificate")
	// ErrChain means the signer certificate does not chain to the roots.
	ErrChain = errors.New("tsa: signer certificate not trusted")
	// ErrImprint means the token's message imprint (hash algorithm or
	// digest) differs from the expected one.
	ErrImprint = errors.New("tsa: message imprint mismatch")
	// ErrNonce means the token's nonce differs from the request's.
	ErrNonce = errors.New("tsa: nonce mismatch")
	// ErrPolicy means the token's policy differs from the expected one.
	ErrPolicy = errors.New("tsa: policy mismatch")
	// ErrHTTP means the TSA's HTTP answer was not a time-stamp reply.
	ErrHTTP = errors.New("tsa: unexpected HTTP response")

	// Batching.

	// ErrProof means a Merkle inclusion proof does not lead to the root.
	ErrProof = errors.New("tsa: invalid inclusion proof")
	// ErrEmptyBatch means Seal was called on a batch without records.
	ErrEmptyBatch = errors.New("tsa: empty batch")
)

// RequestError is returned for a request the TSA rejects. Failure is the
// PKIFailureInfo sent back to the client; Unwrap yields one of the request
// intake sentinels above.
type RequestError struct {
	Failure timestamp.FailureInfo
	Reason  string // short, safe to log and to show the client
	err     error
}

func (e *RequestError) Error() string { return e.err.Error() + ": " + e.Reason }

// Unwrap returns the sentinel error.
func (e *RequestError) Unwrap() error { return e.err }

func reject(sentinel error, format string, args ...any) *RequestError {
	fi := timestamp.BadDataFormat
	switch sentinel {
	case ErrBadAlg:
		fi = timestamp.BadAlgorithm
	case ErrBadRequest:
		fi = timestamp.BadRequest
	case ErrUnacceptedPolicy:
		fi = timestamp.UnacceptedPolicy
	case ErrUnacceptedExtension:
		fi = timestamp.UnacceptedExtension
	case ErrSystemFailure:
		fi = timestamp.SystemFailure
	}
	return &RequestError{Failure: fi, Reason: fmt.Sprintf(format, args...), err: sentinel}
}

// RejectionError describes a TimeStampResp whose status is not granted.
type RejectionError struct {
	Status  int                   // PKIStatus: 2 rejection, 3 waiting, ...
	Failure timestamp.FailureInfo // first failInfo bit set, or UnknownFailureInfo
	Text    []string              // statusString, if the TSA sent one
}

func (e *RejectionError) Error() string {
	var b strings.Builder
	b.WriteString(ErrRejected.Error())
	fmt.Fprintf(&b, ": status %d (%s)", e.Status, timestamp.Status(e.Status))
	if e.Failure != timestamp.UnknownFailureInfo {
		fmt.Fprintf(&b, ", failure %q", e.Failure.String())
	}
	if len(e.Text) > 0 {
		fmt.Fprintf(&b, ", text %q", strings.Join(e.Text, "; "))
	}
	return b.String()
}

// Unwrap returns ErrRejected.
func (e *RejectionError) Unwrap() error { return ErrRejected }
