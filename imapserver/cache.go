package imapserver

import (
	"container/list"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
)

// msgCache keeps what is costly to compute and the same for every copy
// of a message, by message ID, least recently used first out: the
// envelope (needs the header), the header's length, and the MIME
// structure (needs the whole message). Shared by all sessions.
type msgCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[archive.ID]*list.Element
}

type msgInfo struct {
	id     archive.ID
	env    *imap.Envelope
	hdrLen int64 // 0: not known yet
	root   *entity
}

func newMsgCache(max int) *msgCache {
	return &msgCache{max: max, ll: list.New(), m: map[archive.ID]*list.Element{}}
}

// get returns a copy of what is known of id.
func (c *msgCache) get(id archive.ID) msgInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[id]; ok {
		c.ll.MoveToFront(el)
		return *el.Value.(*msgInfo)
	}
	return msgInfo{id: id}
}

// put records what was learnt of a message (non-zero fields of mi).
func (c *msgCache) put(mi msgInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[mi.id]; ok {
		old := el.Value.(*msgInfo)
		if mi.env != nil {
			old.env = mi.env
		}
		if mi.hdrLen != 0 {
			old.hdrLen = mi.hdrLen
		}
		if mi.root != nil {
			old.root = mi.root
		}
		c.ll.MoveToFront(el)
		return
	}
	c.m[mi.id] = c.ll.PushFront(&mi)
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*msgInfo).id)
	}
}
