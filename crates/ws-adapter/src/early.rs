//! Early replies: when a connection has its CPU to itself, the replies to a read are written at once
//! (all of them when its reads bring a few messages, else the first few) instead of with the rest of
//! the read's replies. Written once for the async engine (which counts
//! reads per thread) and for `ws-std`'s blocking loop (which counts them per process, its connections
//! being threads that share the CPUs).

/// Replies written at once after a read, each on its own, before the rest of the read's replies are
/// coalesced into one write, when the previous read brought more than [`FEW_MESSAGES`].
///
/// Coalescing saves the system calls that connections sharing a busy thread compete for (64
/// connections x 20 B x 8 in flight: 7x the messages/s of per-message writes). A lone connection has
/// no such competition, and one write per read makes its peer wait for the whole batch: a peer with 8
/// messages in flight then only ever has one batch travelling, and both ends idle half the time
/// (1 connection x 20 B x 8 in flight: 130k msgs/s at 45% CPU, against 190k for servers that write
/// each reply). Writing the first few replies at once keeps the peer busy while the rest are made.
/// Measured (ws-tokio, medians of 3, 1 connection, 20 B; none, 2, 3, 4 early replies): 8 in flight
/// 127k, 127k, 160k, 183k msgs/s; 64 in flight 838k, 1,005k, 1,008k, 987k; 512 in flight 2.97M,
/// 2.48M, 2.65M, 2.73M.
const EARLY_REPLIES: u8 = 4;

/// A lone connection whose previous read brought at most this many messages writes each reply of the
/// next read at once (up to this many), as the peers that write every reply do: with a few messages per
/// read the extra writes are few, and each lets the peer start on its echo sooner. Deeper pipelines
/// keep [`EARLY_REPLIES`] (writing up to 8 of every read cost 3% at 64 in flight and 5% at 512).
/// Measured against 4 for every read (ws-tokio, 1 connection, 8 in flight, medians of 3, loadgen
/// pinned to the other CPU): 20 B 101.1k -> 104.0k msgs/s with the whole batch in one write per peer
/// (fastwebsockets 107.7k), 133.3k -> 135.9k with each message in a write of its own; 1 KiB 99.0k ->
/// 98.0k and 127.7k -> 135.3k; 64 in flight unchanged (816k -> 824k). `ws-std`: 20 B x 8 110.1k ->
/// 125.1k (tungstenite's blocking server 112.6k).
const FEW_MESSAGES: u8 = 8;

/// Queued output above this is never written early: large replies are copy-bound, and gathering
/// several into one vectored write is what pays (1 connection x 64 KiB x 8 in flight: 43k msgs/s
/// with each reply written early, 46k without).
const EARLY_REPLY_MAX: usize = 16 * 1024;

/// One connection's early replies: call [`EarlyReplies::on_read`] after each read and
/// [`EarlyReplies::take`] before handing out each event.
#[derive(Debug, Default)]
pub struct EarlyReplies {
    /// The read count at this connection's last read.
    last_read: u32,
    /// Replies still to be written early after the last read.
    left: u8,
    /// Replies queued since the last read (saturating): about how many messages that read brought,
    /// for a connection that answers what it receives.
    since_read: u8,
}

impl EarlyReplies {
    /// Notes a read. `reads` counts the reads of every connection that competes with this one for the
    /// CPU, this one included (wrapping): when it is just one past this connection's previous read, no
    /// other connection read in between, and the read's first replies are written early (up to 8 of
    /// them when the previous read was answered with no more replies than that, else 4).
    pub fn on_read(&mut self, reads: u32) {
        // (Counts from two counters, such as two threads' after a task moved, can only misjudge one
        // read: its replies are then written early, or coalesced, when the other would have been right.)
        let alone = reads == self.last_read.wrapping_add(1);
        let few = self.since_read <= FEW_MESSAGES;
        self.left = match (alone, few) {
            (false, _) => 0,
            (true, true) => FEW_MESSAGES,
            (true, false) => EARLY_REPLIES,
        };
        self.last_read = reads;
        self.since_read = 0;
    }

    /// Whether the `queued` bytes of output should be written now rather than with the rest of the
    /// read's replies (and counts them as an early reply when so). Output queued since the previous
    /// call counts as one reply to the last read.
    pub fn take(&mut self, queued: usize) -> bool {
        if queued == 0 {
            return false;
        }
        self.since_read = self.since_read.saturating_add(1);
        if self.left == 0 || queued > EARLY_REPLY_MAX {
            return false;
        }
        self.left -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::EarlyReplies;

    /// How many of `replies` queued replies (one per event) are written early after a read.
    fn early_after_read(early: &mut EarlyReplies, reads: u32, replies: usize) -> usize {
        early.on_read(reads);
        (0..replies).filter(|_| early.take(20)).count()
    }

    #[test]
    fn every_reply_while_reads_bring_few_messages_else_the_first_four() {
        // (the read count, the replies to that read, how many are written early, why)
        let reads = [
            (1, 8, 8, "first read, alone"),
            (2, 32, 8, "the previous read brought 8"),
            (3, 32, 4, "the previous read brought 32"),
            (4, 5, 4, "the previous read brought 32"),
            (5, 3, 3, "the previous read brought 5"),
            (7, 8, 0, "another connection read between"),
            (8, 8, 8, "alone again, the previous read brought 8"),
        ];
        let mut early = EarlyReplies::default();
        for (count, replies, written_early, why) in reads {
            assert_eq!(
                early_after_read(&mut early, count, replies),
                written_early,
                "{why}"
            );
        }
    }

    #[test]
    fn nothing_queued_is_no_reply_and_large_output_waits_for_the_batch() {
        let mut early = EarlyReplies::default();
        early.on_read(1);
        assert!(!early.take(0));
        assert!(!early.take(super::EARLY_REPLY_MAX + 1));
        assert!(early.take(super::EARLY_REPLY_MAX));
        // Calls with nothing queued did not count as replies: 2 replies, so the next read is "few".
        assert_eq!(early_after_read(&mut early, 2, 8), 8);
    }
}
