//! The queue of events waiting for [`super::Connection::poll_event`].
//!
//! Parsing stops at the first event, so the queue almost never holds more than one: the first waits
//! inline and only a second (a terminal event behind a message) takes the heap. An idle connection
//! holds no event memory at all.

use alloc::collections::VecDeque;

use crate::message::Event;

/// First-in, first-out events, the first one stored inline.
#[derive(Debug, Default)]
pub(super) struct EventQueue {
    head: Option<Event>,
    rest: VecDeque<Event>,
}

impl EventQueue {
    /// Appends an event.
    pub(super) fn push_back(&mut self, event: Event) {
        if self.head.is_none() {
            self.head = Some(event);
        } else {
            self.rest.push_back(event);
        }
    }

    /// Takes the oldest event.
    pub(super) fn pop_front(&mut self) -> Option<Event> {
        let event = self.head.take();
        self.head = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        event
    }

    /// Whether no event waits.
    pub(super) fn is_empty(&self) -> bool {
        self.head.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn text(s: &str) -> Event {
        Event::Message(Message::from(s))
    }

    #[test]
    fn events_come_out_in_order_and_the_heap_is_released() {
        let mut queue = EventQueue::default();
        assert!(queue.is_empty());
        for s in ["a", "b", "c"] {
            queue.push_back(text(s));
        }
        assert!(!queue.is_empty());
        assert!(queue.rest.capacity() > 0);
        for s in ["a", "b"] {
            assert_eq!(queue.pop_front(), Some(text(s)));
        }
        queue.push_back(text("d"));
        assert_eq!(queue.pop_front(), Some(text("c")));
        assert_eq!(queue.pop_front(), Some(text("d")));
        assert_eq!(queue.pop_front(), None);
        assert!(queue.is_empty());
        assert_eq!(queue.rest.capacity(), 0);
    }
}
