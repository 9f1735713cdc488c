//! The queue of events waiting for [`super::Connection::poll_event`].
//!
//! Parsing stops at the first event, so the queue almost never holds more than one: the first waits
//! inline and only a second (a terminal event behind a message) takes the heap, released as soon as it
//! empties. An idle connection holds no event memory at all, and the overflow costs one pointer inline.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use crate::message::Event;

/// First-in, first-out events, the first one stored inline.
#[derive(Debug, Default)]
pub(super) struct EventQueue {
    head: Option<Event>,
    // One word inline instead of a `VecDeque`'s four: the overflow is rare, the inline room is paid by
    // every connection.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<Event>>>,
}

impl EventQueue {
    /// Appends an event.
    pub(super) fn push_back(&mut self, event: Event) {
        if self.head.is_none() {
            self.head = Some(event);
        } else {
            self.rest.get_or_insert_default().push_back(event);
        }
    }

    /// Takes the oldest event.
    pub(super) fn pop_front(&mut self) -> Option<Event> {
        let event = self.head.take();
        if let Some(rest) = &mut self.rest {
            self.head = rest.pop_front();
            if rest.is_empty() {
                self.rest = None;
            }
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
        assert!(queue.rest.is_some());
        for s in ["a", "b"] {
            assert_eq!(queue.pop_front(), Some(text(s)));
        }
        queue.push_back(text("d"));
        assert_eq!(queue.pop_front(), Some(text("c")));
        assert_eq!(queue.pop_front(), Some(text("d")));
        assert_eq!(queue.pop_front(), None);
        assert!(queue.is_empty());
        assert!(queue.rest.is_none());
    }
}
