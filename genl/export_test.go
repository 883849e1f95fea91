package genl

import "time"

// SetCacheMaxAge sets, before EnableCache, the maximum age of cached
// families and the clock the cache reads (nil: time.Now), for tests of the
// FreeBSD behaviour on any OS.
func (c *Conn) SetCacheMaxAge(d time.Duration, now func() time.Time) {
	c.cacheMaxAge = d
	c.cache.now = now
}

// CachedFamily reports what the cache holds for name, for tests.
func (c *Conn) CachedFamily(name string) (Family, bool) {
	c.cache.mu.RLock()
	defer c.cache.mu.RUnlock()
	e, ok := c.cache.byName[name]
	if !ok {
		return Family{}, false
	}
	return *e.f, true
}

// CacheOn reports whether the cache is on, for tests.
func (c *Conn) CacheOn() bool {
	c.cache.mu.RLock()
	defer c.cache.mu.RUnlock()
	return c.cache.on
}

// CacheGeneration counts the changes applied to the cache (notifications,
// invalidations), for tests.
func (c *Conn) CacheGeneration() uint64 {
	gen, _ := c.cache.generation()
	return gen
}

// CacheMaxAge reports the maximum age of cached families (0: until a
// notification), for tests.
func (c *Conn) CacheMaxAge() time.Duration {
	c.cache.mu.RLock()
	defer c.cache.mu.RUnlock()
	return c.cache.maxAge
}
