package delivery

// Crash points: named places of the delivery path where Config.Fault,
// for tests, is called, so a fault test can stop a node (a SIGKILL of
// its process) exactly there and check what its restart makes of the
// state left behind. A nil Fault costs a nil check; an error from it
// breaks the operation there as a lost connection or a failed write
// would. The names, in the order a document meets them:
const (
	// Sender: the submitted content is written to its temporary file
	// and signed; then it is stored in the outbox and the 202 not yet
	// written. (A body cut half way needs no point: the fault test kills
	// the node while it reads.)
	FaultSubmitSpooled = "submit.spooled"
	FaultSubmitStored  = "submit.stored-before-answer"
	// Sender: the offer is written; each chunk frame is about to be sent
	// (FaultPushChunk, once per chunk); the content is sent and the
	// transport receipt (the recipient node's "complete") is awaited; it
	// came and the outbox is about to record the delivery.
	FaultPushOffered  = "push.offered"
	FaultPushChunk    = "push.chunk"
	FaultPushSent     = "push.sent-before-answer"
	FaultPushAnswered = "push.answered-before-store"
	// Recipient: content is read from the stream (every read); the
	// content is whole on disk, not yet accepted; the inbox holds the
	// document as waiting and the transport receipt is not yet written.
	FaultRecvRead     = "recv.read"
	FaultRecvFinished = "recv.finished-before-accept"
	FaultRecvStored   = "recv.stored-before-answer"
	// Recipient: an acknowledgment is about to be turned into a signed
	// receipt; the receipt is stored and the content not yet deleted; a
	// due receipt is about to be offered to the sender's node; the
	// sender's node took it and the inbox does not know yet.
	FaultAckBefore      = "ack.before-receipt"
	FaultAckStored      = "ack.stored-before-delete"
	FaultAckBeforeSend  = "ack.before-send"
	FaultAckSentNotMark = "ack.sent-before-mark"
	// Sender: a receipt arrived and is about to be stored; it is stored
	// and the answer to the recipient's node not yet written.
	FaultReceiptBefore = "receipt.before-store"
	FaultReceiptStored = "receipt.stored-before-answer"
)

// FaultPoints lists every crash point.
var FaultPoints = []string{
	FaultSubmitSpooled, FaultSubmitStored,
	FaultPushOffered, FaultPushChunk, FaultPushSent, FaultPushAnswered,
	FaultRecvRead, FaultRecvFinished, FaultRecvStored,
	FaultAckBefore, FaultAckStored, FaultAckBeforeSend, FaultAckSentNotMark,
	FaultReceiptBefore, FaultReceiptStored,
}

// fault calls Config.Fault at point, if set.
func (s *Service) fault(point string) error {
	if s.cfg.Fault == nil {
		return nil
	}
	return s.cfg.Fault(point)
}
