//! Early replies: when a connection has its CPU to itself, the first few replies to a read are written at
//! once instead of with the rest of the read's replies. Written once for the async engine (which counts
//! reads per thread) and for `ws-std`'s blocking loop (which counts them per process, its connections
//! being threads that share the CPUs).

/// Replies written at once after a read, each on its own, before the rest of the read's replies are
/// coalesced into one write.
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
}

impl EarlyReplies {
    /// Notes a read. `reads` counts the reads of every connection that competes with this one for the
    /// CPU, this one included (wrapping): when it is just one past this connection's previous read, no
    /// other connection read in between, and the read's first replies are written early.
    pub fn on_read(&mut self, reads: u32) {
        // (Counts from two counters, such as two threads' after a task moved, can only misjudge one
        // read: its replies are then written early, or coalesced, when the other would have been right.)
        let alone = reads == self.last_read.wrapping_add(1);
        self.left = if alone { EARLY_REPLIES } else { 0 };
        self.last_read = reads;
    }

    /// Whether the `queued` bytes of output should be written now rather than with the rest of the
    /// read's replies (and counts them as an early reply when so).
    pub fn take(&mut self, queued: usize) -> bool {
        if self.left == 0 || queued == 0 || queued > EARLY_REPLY_MAX {
            return false;
        }
        self.left -= 1;
        true
    }
}
