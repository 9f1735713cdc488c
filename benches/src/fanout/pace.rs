//! How far the publisher may run ahead of its subscribers.
//!
//! Each subscriber *accounts for* message `k` once it has received message
//! `k` or a later one (a message the server dropped for it is accounted for by
//! the next one that arrives). The publisher may send its next message while
//! the subscribers together have accounted for all but the last `window`
//! messages sent: `accounted >= (sent - window) * subscribers`. So at most
//! about `window` messages are on their way to each subscriber, on average.

/// Accounted deliveries (summed over all subscribers) needed before message
/// number `sent` (0-based: `sent` messages have gone out) may be sent.
pub fn required(sent: u64, subscribers: u64, window: u64) -> u64 {
    sent.saturating_sub(window).saturating_mul(subscribers)
}

/// Whether the next message may go out.
pub fn may_send(sent: u64, accounted: u64, subscribers: u64, window: u64) -> bool {
    accounted >= required(sent, subscribers, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_window_goes_out_at_once() {
        for sent in 0..=64 {
            assert!(may_send(sent, 0, 10_000, 64), "{sent}");
        }
        assert!(!may_send(65, 0, 10_000, 64));
    }

    #[test]
    fn then_each_message_waits_for_a_full_round_of_deliveries() {
        let (n, w) = (1000, 64);
        assert_eq!(required(65, n, w), 1000);
        assert!(!may_send(65, 999, n, w));
        assert!(may_send(65, 1000, n, w));
        assert!(!may_send(66, 1000, n, w));
        assert!(may_send(100, 36 * 1000, n, w));
        // Window 0: strictly one message at a time.
        assert!(may_send(0, 0, n, 0));
        assert!(!may_send(1, 999, n, 0));
        assert!(may_send(1, 1000, n, 0));
    }

    #[test]
    fn never_overflows() {
        assert_eq!(required(u64::MAX, u64::MAX, 0), u64::MAX);
    }
}
