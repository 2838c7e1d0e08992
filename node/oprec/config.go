package oprec

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxl-network/dxl/internal/wal"
)

// Defaults and minimums.
const (
	DefaultRetention        = 365 * 24 * time.Hour
	MinRetention            = 365 * 24 * time.Hour // R-L3: logs kept at least a year
	DefaultHealthRetention  = 100 * 24 * time.Hour
	MinHealthRetention      = 90 * 24 * time.Hour // R-L4: connection status kept at least 3 months
	DefaultQueueSize        = 8192
	DefaultPruneInterval    = 24 * time.Hour
	DefaultDropWarnInterval = 10 * time.Second
	maxBatch                = 4096
)

// Config configures a Store. Zero fields take the defaults.
type Config struct {
	Path             string        // bbolt file, created if missing
	Retention        time.Duration // records; default and minimum 365 days
	HealthRetention  time.Duration // health samples; default 100 days, minimum 90
	QueueSize        int           // pending records before Add drops; default 8192
	PruneInterval    time.Duration // background prune period; default 24h, negative disables
	DropWarnInterval time.Duration // at most one "dropped" warning per interval; default 10s
	Now              func() time.Time
	Logger           *slog.Logger
	// Collectors are other parts' metrics, served with the store's own on
	// the node's /metrics endpoint.
	Collectors []prometheus.Collector
	// Journal, if set, receives every record first (journal.go): Durable
	// waits for it, not for a commit of this file.
	Journal *wal.Stream
}

// Validate checks c; zero fields are valid (they take defaults).
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return fmt.Errorf("%w: Path is required", ErrConfig)
	case c.Retention != 0 && c.Retention < MinRetention:
		return fmt.Errorf("%w: Retention %v is below the required minimum %v (R-L3)", ErrConfig, c.Retention, MinRetention)
	case c.HealthRetention != 0 && c.HealthRetention < MinHealthRetention:
		return fmt.Errorf("%w: HealthRetention %v is below the required minimum %v (R-L4)", ErrConfig, c.HealthRetention, MinHealthRetention)
	case c.QueueSize < 0:
		return fmt.Errorf("%w: QueueSize %d is negative", ErrConfig, c.QueueSize)
	case c.DropWarnInterval < 0:
		return fmt.Errorf("%w: DropWarnInterval %v is negative", ErrConfig, c.DropWarnInterval)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.HealthRetention == 0 {
		c.HealthRetention = DefaultHealthRetention
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.DropWarnInterval == 0 {
		c.DropWarnInterval = DefaultDropWarnInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
