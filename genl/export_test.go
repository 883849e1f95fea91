package genl

// CachedFamily reports what the cache holds for name, for tests.
func (c *Conn) CachedFamily(name string) (Family, bool) {
	c.cache.mu.RLock()
	defer c.cache.mu.RUnlock()
	f, ok := c.cache.byName[name]
	if !ok {
		return Family{}, false
	}
	return *f, true
}

// CacheOn reports whether the cache is on, for tests.
func (c *Conn) CacheOn() bool {
	c.cache.mu.RLock()
	defer c.cache.mu.RUnlock()
	return c.cache.on
}
