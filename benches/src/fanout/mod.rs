//! The fan-out (broadcast) benchmark behind the `fanout` binary: one
//! publisher and N subscribers on one broadcast server, every message the
//! publisher sends delivered by the server to every subscriber.
//!
//! * [`message`]: the publisher's messages (a sequence number, then filler);
//! * [`count`]: a subscriber's view: whole messages counted and checked
//!   (length, order, permessage-deflate inflated);
//! * [`pace`]: how far the publisher may run ahead of its subscribers;
//! * [`run`]: one measured run against one running server;
//! * [`table`]: the markdown report.

pub mod count;
pub mod message;
pub mod pace;
pub mod run;
pub mod table;
