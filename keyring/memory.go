package keyring

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// NewMemory returns an empty Store that keeps entries in process memory. It
// is safe for concurrent use, copies data and metadata in and out, and loses
// everything when the process exits: use it for tests, for short-lived
// processes, and as a cache in front of a slower Store.
func NewMemory() Store {
	return &memory{entries: make(map[string]*Entry)}
}

type memory struct {
	mu      sync.RWMutex
	entries map[string]*Entry
}

var _ Store = (*memory)(nil)

func (m *memory) Save(ctx context.Context, name string, data []byte, metadata map[string]string) error {
	return m.store(ctx, name, data, metadata, false)
}

func (m *memory) Put(ctx context.Context, name string, data []byte, metadata map[string]string) error {
	return m.store(ctx, name, data, metadata, true)
}

func (m *memory) store(ctx context.Context, name string, data []byte, metadata map[string]string, replace bool) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := ValidateEntry(name, data, metadata); err != nil {
		return err
	}
	e := &Entry{
		Info: Info{Name: name, Metadata: cloneMetadata(metadata)},
		Data: slices.Clone(data),
	}
	if e.Data == nil {
		e.Data = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().Round(0)
	e.Created, e.Modified = now, now
	if old, ok := m.entries[name]; ok {
		if !replace {
			return fmt.Errorf("%w: %q", ErrExists, name)
		}
		e.Created = old.Created
	}
	m.entries[name] = e
	return nil
}

func (m *memory) Load(ctx context.Context, name string) (*Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.entries[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return &Entry{Info: e.Info.clone(), Data: slices.Clone(e.Data)}, nil
}

func (m *memory) Delete(ctx context.Context, name string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := ValidateName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[name]; !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	delete(m.entries, name)
	return nil
}

func (m *memory) List(ctx context.Context) ([]Info, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	infos := make([]Info, 0, len(m.entries))
	for _, e := range m.entries {
		infos = append(infos, e.Info.clone())
	}
	sortInfos(infos)
	return infos, nil
}

func (i Info) clone() Info {
	i.Metadata = cloneMetadata(i.Metadata)
	return i
}

// cloneMetadata copies m, returning nil for an empty map.
func cloneMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func sortInfos(infos []Info) {
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
}
