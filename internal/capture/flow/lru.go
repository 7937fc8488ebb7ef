package flow

// lru is an intrusive doubly linked list over the flow slab, oldest first,
// so that moving a flow to the back on each packet allocates nothing.
type lru struct {
	head, tail int32
	init       bool
}

func (l *lru) ensure() {
	if !l.init {
		l.head, l.tail, l.init = -1, -1, true
	}
}

func (l *lru) push(s []entry, i int32) {
	l.ensure()
	s[i].prev, s[i].next = l.tail, -1
	if l.tail >= 0 {
		s[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
}

func (l *lru) remove(s []entry, i int32) {
	p, n := s[i].prev, s[i].next
	if p >= 0 {
		s[p].next = n
	} else {
		l.head = n
	}
	if n >= 0 {
		s[n].prev = p
	} else {
		l.tail = p
	}
	s[i].prev, s[i].next = -1, -1
}

func (l *lru) touch(s []entry, i int32) {
	if l.tail == i {
		return
	}
	l.remove(s, i)
	l.push(s, i)
}

func (l *lru) oldest() int32 {
	l.ensure()
	return l.head
}
