package service

import (
	"context"
	"sync"
	"time"

	"github.com/tierspayant/tierspayant/internal/organism"
)

// OrganismRefresh is how often the server reloads the organisms: they are
// reference data, read on every claim for the paying organism's calendar.
const OrganismRefresh = 10 * time.Second

// organismCache keeps the organisms in memory. The claim path loads it once;
// RefreshOrganisms (called in the background by the server) keeps it fresh,
// so that a claim costs no extra round trip.
type organismCache struct {
	store  OrganismRegistry
	mu     sync.RWMutex
	byCode map[string]organism.Organism
	loaded time.Time
}

// ensure loads the cache if it has never been loaded.
func (c *organismCache) ensure(ctx context.Context) error {
	c.mu.RLock()
	loaded := c.byCode != nil
	c.mu.RUnlock()
	if loaded {
		return nil
	}
	return c.reload(ctx)
}

func (c *organismCache) reload(ctx context.Context) error {
	if c.store == nil {
		return nil
	}
	list, err := c.store.List(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]organism.Organism, len(list))
	for _, o := range list {
		m[o.Code] = o
	}
	c.mu.Lock()
	c.byCode, c.loaded = m, time.Now()
	c.mu.Unlock()
	return nil
}

// RefreshOrganisms reloads the in-process copy of the organisms.
func (s *Service) RefreshOrganisms(ctx context.Context) error { return s.organisms.reload(ctx) }

func (c *organismCache) invalidate(ctx context.Context) error { return c.reload(ctx) }

func (c *organismCache) cached(code string) (organism.Organism, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o, ok := c.byCode[code]
	return o, ok
}
