package e3

import "time"

// optionsFromConfig returns the Client settings of cfg with the defaults
// applied.
func optionsFromConfig(cfg *Config) clientOptions {
	o := clientOptions{
		cacheSize:     cfg.CardCacheSize,
		cacheTTL:      cfg.CardCacheTTL,
		audit:         cfg.Audit,
		now:           cfg.Now,
		throttleDelay: cfg.BrainKeyRetryDelay,
	}
	if o.cacheSize == 0 {
		o.cacheSize = DefaultCardCacheSize
	}
	if o.cacheTTL == 0 {
		o.cacheTTL = DefaultCardCacheTTL
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}
