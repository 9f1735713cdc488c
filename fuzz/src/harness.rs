//! An open connection driven by arbitrary actions: bytes from the peer in arbitrary chunks, time steps,
//! local commands, partial writes. Every call's output and every event is checked as it happens, and at the
//! end the events are compared with the [`crate::model`].

use std::io::IoSlice;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::{Buf, BytesMut};
use ws_core::deflate::{Decompressor, Negotiated};
use ws_core::{
    CloseCode, Config, Connection, DataKind, Error, Event, Limits, Message, Role, SendError,
    SendOptions, State, Timeouts,
};

use crate::handshake::{self, DeflateParams};
use crate::model::{Item, Model};
use crate::wire::{Frame as WireFrame, frame, parse_valid_frames};

/// How the connection is configured.
#[derive(Arbitrary, Debug)]
pub struct Setup {
    /// Offer (server role) / answer (client role) permessage-deflate with these parameters.
    pub deflate: Option<DeflateParams>,
    pub max_frame_size: u16,
    pub max_message_size: u16,
    pub max_fragments: u8,
    pub max_send_frame_size: Option<u16>,
    /// Keepalive, pong and close timers of 1-4 s (else none).
    pub timers: Option<(u8, u8, u8)>,
}

/// A frame the peer sends (built correctly, so the fuzzer reaches deep states quickly).
#[derive(Arbitrary, Debug)]
pub struct PeerFrame {
    /// FIN, RSV and opcode as given.
    pub b0: u8,
    /// Mask as the role requires (true) or the other way (false).
    pub mask_ok: bool,
    pub key: [u8; 4],
    pub payload: Payload,
}

#[derive(Arbitrary, Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// Made valid UTF-8 (lossily).
    Text(Vec<u8>),
    Close(u16, Vec<u8>),
    /// A long run of one byte (exercises 16-bit lengths and the size limits).
    Run(u16, u8),
}

impl Payload {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(b) => b.clone(),
            Payload::Text(s) => String::from_utf8_lossy(s).into_owned().into_bytes(),
            Payload::Close(code, reason) => {
                let mut p = code.to_be_bytes().to_vec();
                p.extend_from_slice(String::from_utf8_lossy(reason).as_bytes());
                p
            }
            Payload::Run(n, b) => vec![*b; *n as usize % 9000],
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Action {
    /// Raw bytes from the peer, queued after what is not delivered yet.
    Bytes(Vec<u8>),
    /// A whole frame from the peer, queued after what is not delivered yet.
    Frame(PeerFrame),
    /// Hand the connection the next `n` queued bytes (0: all), in one `receive`.
    Deliver(u16),
    /// Advance the clock by this many milliseconds and call `handle_time`.
    Time(u16),
    /// Poll up to `n` events (0: all).
    Poll(u8),
    /// Mark up to `n` output bytes written (0: all).
    Write(u16),
    Send {
        text: bool,
        data: Vec<u8>,
        compress: bool,
    },
    /// Text made valid UTF-8 (lossily).
    SendText(Vec<u8>),
    Fragment {
        text: bool,
        data: Vec<u8>,
        fin: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
    Eof,
    /// A long run of one byte sent as a binary message: servers queue 8 KiB or more by reference.
    SendRun(u16, u8),
}

/// Bytes of an input that hold the [`Setup`] (its largest encoding is 19 bytes).
pub const SETUP_LEN: usize = 20;

/// A decoded input, but for the raw stream (see [`Harness::run_bytes`]).
#[derive(Debug)]
pub struct Control {
    pub setup: Setup,
    pub actions: Vec<Action>,
}

/// What kind of call produced some output; each may only write certain frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Receive,
    Time,
}

/// A data message we are sending fragment by fragment, as seen on the wire.
struct Outgoing {
    text: bool,
    encoded: bool,
}

pub struct Harness {
    pub conn: Connection,
    role: Role,
    limits: Limits,
    max_send_frame_size: Option<usize>,
    negotiated: Option<Negotiated>,
    timers: bool,
    now: Duration,
    /// Every byte handed to `receive` since the connection opened.
    fed: Vec<u8>,
    /// Bytes queued by actions, not delivered yet.
    queued: Vec<u8>,
    eof: bool,
    /// Every event polled since the connection opened.
    events: Vec<Event>,
    terminal: bool,
    /// Our side of the wire.
    close_frame: Option<WireFrame>,
    user_closed: bool,
    outgoing: Option<Outgoing>,
    /// Inflates our compressed messages as the peer would.
    peer_inflater: Option<Decompressor>,
    /// Output bytes written by receive-side calls and by time steps, and how many time steps there were.
    receive_output: usize,
    time_output: usize,
    time_steps: usize,
    /// Payloads of pongs the core wrote by itself.
    auto_pongs: Vec<Vec<u8>>,
    /// Output taken off the front of the core's queue only because a vectored listing shows at most
    /// 64 runs (see [`Harness::queued`]): still unwritten as far as [`Action::Write`] goes.
    spill: Vec<u8>,
}

fn config(setup: &Setup) -> Config {
    let timeouts = match setup.timers {
        Some((k, p, c)) => Timeouts::default()
            .handshake(None)
            .keepalive_interval(Some(Duration::from_millis(1000 + (k % 4) as u64 * 1000)))
            .pong(Some(Duration::from_millis(1000 + (p % 4) as u64 * 1000)))
            .close(Some(Duration::from_millis(1000 + (c % 4) as u64 * 1000))),
        None => Timeouts::none(),
    };
    let config = Config::default()
        .limits(
            // 0 (what a raw seed's zero setup decodes to) means roomy limits; anything else, small ones that
            // inputs run into often.
            Limits::default()
                .max_head_bytes(2048)
                .max_headers(32)
                .max_frame_size(match setup.max_frame_size {
                    0 => 12_000,
                    n => n as usize % 2048,
                })
                .max_message_size(match setup.max_message_size {
                    0 => 20_000,
                    n => n as usize % 4096,
                })
                .max_fragments(match setup.max_fragments {
                    0 => 24,
                    n => n as usize % 8,
                })
                .max_queued_output(8192),
        )
        .timeouts(timeouts)
        .max_send_frame_size(setup.max_send_frame_size.map(|n| n as usize % 3000))
        .extensions(None);
    if setup.deflate.is_some() {
        config.with_deflate()
    } else {
        config
    }
}

impl Harness {
    /// An open connection of `role` configured by `setup`.
    pub fn open(role: Role, setup: &Setup) -> Harness {
        let config = config(setup);
        let limits = config.limits;
        let max_send_frame_size = config.max_send_frame_size;
        let (conn, negotiated) = match role {
            Role::Server => handshake::open_server(config, setup.deflate),
            Role::Client => handshake::open_client(config, setup.deflate),
        };
        assert_eq!(conn.state(), State::Open);
        let peer_inflater = negotiated.map(|n| n.decompressor(role == Role::Client));
        Harness {
            conn,
            role,
            limits,
            max_send_frame_size,
            negotiated,
            timers: setup.timers.is_some(),
            now: Duration::ZERO,
            fed: Vec::new(),
            queued: Vec::new(),
            eof: false,
            events: Vec::new(),
            terminal: false,
            close_frame: None,
            user_closed: false,
            outgoing: None,
            peer_inflater,
            receive_output: 0,
            time_output: 0,
            time_steps: 0,
            auto_pongs: Vec::new(),
            spill: Vec::new(),
        }
    }

    /// Runs one fuzz input end to end. Format: [`SETUP_LEN`] bytes of [`Setup`] (`arbitrary`-encoded, zero
    /// padded), a little-endian `u16` N, N bytes of actions (`arbitrary`-encoded `Vec<Action>`), then the
    /// raw byte stream from the peer, which is queued first. The setup has a fixed size so that mutating it
    /// does not shift the stream. Raw frames after 22 zero bytes are a valid input: default setup, no
    /// actions, the frames delivered at once.
    pub fn run_bytes(role: Role, data: &[u8]) {
        use arbitrary::Unstructured;
        let (setup, rest) = data.split_at(data.len().min(SETUP_LEN));
        let Ok(setup) = Setup::arbitrary(&mut Unstructured::new(setup)) else {
            return;
        };
        let (n, rest) = match rest {
            [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) as usize, rest),
            _ => (0, &[][..]),
        };
        let (actions, stream) = rest.split_at(n.min(rest.len()));
        let Ok(actions) = Vec::<Action>::arbitrary_take_rest(Unstructured::new(actions)) else {
            return;
        };
        Harness::run(role, &Control { setup, actions }, stream);
    }

    /// Runs decoded control and a raw stream.
    pub fn run(role: Role, control: &Control, stream: &[u8]) {
        let mut h = Harness::open(role, &control.setup);
        h.queued.extend_from_slice(stream);
        for action in control.actions.iter().take(256) {
            h.act(action);
        }
        h.finish();
    }

    fn peer_frame(&self, f: &PeerFrame) -> Vec<u8> {
        let masked = (self.role == Role::Server) == f.mask_ok;
        frame(f.b0, &f.payload.bytes(), masked.then_some(f.key))
    }

    pub fn act(&mut self, action: &Action) {
        match action {
            Action::Bytes(b) => self.queued.extend_from_slice(b),
            Action::Frame(f) => {
                let bytes = self.peer_frame(f);
                self.queued.extend_from_slice(&bytes);
            }
            Action::Deliver(n) => {
                let n = match *n as usize {
                    0 => self.queued.len(),
                    n => n.min(self.queued.len()),
                };
                self.deliver(n);
            }
            Action::Time(ms) => {
                self.now += Duration::from_millis(*ms as u64);
                let now = ws_core::Instant::ZERO + self.now;
                let before = self.queued_len();
                self.conn.handle_time(now);
                self.time_steps += 1;
                self.time_output += self.queued_len() - before;
                self.check_output(before, Call::Time);
                if let Some(deadline) = self.conn.next_deadline() {
                    assert!(
                        deadline > now,
                        "a deadline at or before `now` survived handle_time"
                    );
                }
            }
            Action::Poll(n) => {
                let n = if *n == 0 { usize::MAX } else { *n as usize };
                for _ in 0..n {
                    if !self.poll() {
                        break;
                    }
                }
            }
            Action::Write(n) => {
                let len = self.queued_len();
                let n = if *n == 0 { len } else { (*n as usize).min(len) };
                let spilled = n.min(self.spill.len());
                self.spill.drain(..spilled);
                let mut out = self.conn.output();
                let waiting = out.remaining();
                out.advance(n - spilled);
                assert_eq!(out.remaining(), waiting - (n - spilled));
                assert_eq!(self.queued_len(), len - n);
            }
            Action::Send {
                text,
                data,
                compress,
            } => {
                let message = if *text {
                    Message::from(String::from_utf8_lossy(data).into_owned())
                } else {
                    Message::from(data.clone())
                };
                let options = SendOptions::default().compress(*compress);
                self.send_whole(&message, options);
            }
            Action::SendRun(n, byte) => {
                let message = Message::from(vec![*byte; *n as usize % 20_000]);
                self.send_whole(&message, SendOptions::default().compress(false));
            }
            Action::SendText(s) => {
                let text = String::from_utf8_lossy(s).into_owned();
                self.send_whole(&Message::from(text), SendOptions::default());
            }
            Action::Fragment { text, data, fin } => {
                let kind = if *text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                self.fragment(kind, data, *fin);
            }
            Action::Ping(p) => {
                let p = &p[..p.len().min(130)];
                let ok = p.len() <= 125;
                let frames = self.command(ok, |c| c.ping(p));
                if let Some(frames) = frames {
                    assert!(ok && frames.len() == 1 && frames[0].opcode == 0x9);
                    assert_eq!(frames[0].payload, p);
                } else if self.conn.state() == State::Open {
                    assert!(!ok, "ping refused on an open connection");
                }
            }
            Action::Pong(p) => {
                let p = &p[..p.len().min(130)];
                let ok = p.len() <= 125;
                let frames = self.command(ok, |c| c.pong(p));
                if let Some(frames) = frames {
                    assert!(ok && frames.len() == 1 && frames[0].opcode == 0xA);
                    assert_eq!(frames[0].payload, p);
                }
            }
            Action::Close(code, reason) => {
                let reason = String::from_utf8_lossy(reason);
                let reason = truncate_chars(&reason, 130);
                let code = CloseCode(*code);
                let ok = if code == CloseCode::NO_STATUS {
                    reason.is_empty()
                } else {
                    crate::sendable_close_code(code.0) && reason.len() <= 123
                };
                let now = self.instant();
                let frames = self.command(ok, |c| c.close(code, reason, now));
                if let Some(frames) = frames {
                    assert!(ok && frames.len() == 1 && frames[0].opcode == 0x8);
                    let expected = if code == CloseCode::NO_STATUS {
                        Vec::new()
                    } else {
                        [&code.0.to_be_bytes()[..], reason.as_bytes()].concat()
                    };
                    assert_eq!(frames[0].payload, expected);
                    self.user_closed = true;
                }
            }
            Action::Eof => {
                self.deliver(self.queued.len());
                if !self.eof {
                    self.eof = true;
                    let before = self.queued_len();
                    self.conn.receive_eof(self.instant());
                    self.receive_output += self.queued_len() - before;
                    self.check_output(before, Call::Receive);
                }
            }
        }
        self.check_bounds();
    }

    fn deliver(&mut self, n: usize) {
        let chunk: Vec<u8> = self.queued.drain(..n).collect();
        if self.eof {
            return; // nothing arrives after the end of the stream
        }
        let before = self.queued_len();
        self.conn.receive(&chunk, self.instant());
        self.fed.extend_from_slice(&chunk);
        self.receive_output += self.queued_len() - before;
        self.check_output(before, Call::Receive);
    }

    /// Polls one event; returns whether there was one.
    fn poll(&mut self) -> bool {
        let before = self.queued_len();
        let event = self.conn.poll_event();
        self.receive_output += self.queued_len() - before;
        self.check_output(before, Call::Receive);
        let Some(event) = event else { return false };
        assert!(!self.terminal, "an event after the terminal one: {event:?}");
        match &event {
            Event::Request(_) | Event::Open(_) | Event::Rejected(_) => {
                panic!("handshake event on an open connection: {event:?}")
            }

            Event::Message(m) => {
                assert!(
                    m.len() <= self.limits.max_message_size,
                    "a message of {} bytes passed max_message_size {}",
                    m.len(),
                    self.limits.max_message_size
                );
                if let Message::Text(t) = m {
                    assert!(std::str::from_utf8(t.as_bytes()).is_ok());
                }
            }
            Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
            Event::Closed(frame) => {
                self.terminal = true;
                // RFC 6455 section 5.5.1: a close frame is answered, unless we sent ours first.
                let ours = self
                    .close_frame
                    .as_ref()
                    .expect("Closed without our close frame on the wire");
                if !self.user_closed {
                    assert_eq!(
                        ours.close_code(),
                        frame.as_ref().map(|f| f.code.0),
                        "the echo must carry the peer's code"
                    );
                }
                if let Some(f) = frame {
                    assert!(crate::sendable_close_code(f.code.0));
                }
            }
            Event::Failed(error) => {
                self.terminal = true;
                let owed = match error {
                    Error::Protocol(_) | Error::InvalidUtf8 | Error::LimitExceeded(_) => {
                        Some(error.close_code().0)
                    }
                    Error::Timeout(ws_core::Timeout::Pong) => Some(1011),
                    Error::Timeout(ws_core::Timeout::Close) | Error::UnexpectedEof => None,
                    Error::Handshake(_) | Error::Timeout(ws_core::Timeout::Handshake) => {
                        panic!("handshake failure on an open connection: {error:?}")
                    }
                    // A failure added to ws-core after this harness: teach the harness what it owes.
                    _ => panic!("a failure the harness does not know: {error:?}"),
                };
                if let Some(code) = owed {
                    assert!(
                        [1002, 1007, 1009, 1011].contains(&code),
                        "unexpected close code {code} for {error:?}"
                    );
                    if !self.user_closed {
                        let ours = self
                            .close_frame
                            .as_ref()
                            .unwrap_or_else(|| panic!("{error:?} but no close frame was written"));
                        assert_eq!(
                            ours.close_code(),
                            Some(code),
                            "wrong close code for {error:?}"
                        );
                    }
                }
            }
            // An event added to ws-core after this harness: teach the harness its invariants.
            _ => panic!("an event the harness does not know: {event:?}"),
        }
        self.events.push(event);
        true
    }

    /// Runs a control command; `valid`: its arguments are fine, so it must succeed on an open connection.
    /// Returns the frames it wrote, `None` when it was refused.
    fn command(
        &mut self,
        valid: bool,
        f: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Option<Vec<WireFrame>> {
        let state = self.conn.state();
        let before = self.queued_len();
        let result = f(&mut self.conn);
        if matches!(state, State::Closing | State::Closed) {
            assert_eq!(result, Err(SendError::Closed), "a command after close");
        }
        if state == State::Open && valid {
            assert_eq!(
                result,
                Ok(()),
                "a valid command refused on an open connection"
            );
        }
        if result.is_err() {
            assert_eq!(self.queued_len(), before, "a refused command wrote output");
            return None;
        }
        let frames = parse_valid_frames(&self.queued()[before..]);
        self.after_frames(&frames);
        Some(frames)
    }

    /// Sends a whole message; checks its frames carry exactly the message.
    fn send_whole(&mut self, message: &Message, options: SendOptions) {
        let state = self.conn.state();
        let before = self.queued_len();
        let result = self.conn.send_with(message, options);
        if matches!(state, State::Closing | State::Closed) {
            assert_eq!(result, Err(SendError::Closed), "a send after close");
        } else if self.outgoing.is_some() {
            assert_eq!(result, Err(SendError::FragmentInProgress));
        } else {
            assert_eq!(result, Ok(()), "a send refused on an open connection");
        }
        if result.is_err() {
            assert_eq!(self.queued_len(), before, "a refused send wrote output");
            return;
        }
        let frames = parse_valid_frames(&self.queued()[before..]);
        assert!(!frames.is_empty());
        let encoded = frames[0].rsv & 0x40 != 0;
        assert!(!encoded || (options.compress && self.negotiated.is_some()));
        if self.negotiated.is_some() && options.compress {
            // The default threshold is 0: every message is compressed.
            assert!(
                encoded,
                "a message sent uncompressed although deflate is on"
            );
        }
        let payload = self.check_data_frames(&frames, true, true, message.is_text(), encoded);
        assert_eq!(
            payload,
            message.as_bytes(),
            "the frames do not carry the message"
        );
        self.after_frames(&frames);
    }

    fn fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) {
        let state = self.conn.state();
        let before = self.queued_len();
        let result = self.conn.send_fragment(kind, data, fin);
        let text = kind == DataKind::Text;
        if matches!(state, State::Closing | State::Closed) {
            assert_eq!(result, Err(SendError::Closed));
        } else if let Some(out) = &self.outgoing
            && out.text != text
        {
            assert_eq!(result, Err(SendError::FragmentInProgress));
        } else if state == State::Open && !text {
            assert_eq!(
                result,
                Ok(()),
                "a binary fragment refused on an open connection"
            );
        }
        if result.is_err() {
            assert_eq!(self.queued_len(), before);
            return;
        }
        let first = self.outgoing.is_none();
        let frames = parse_valid_frames(&self.queued()[before..]);
        assert!(!frames.is_empty(), "a fragment wrote no frame");
        if first {
            let encoded = frames[0].rsv & 0x40 != 0;
            self.outgoing = Some(Outgoing { text, encoded });
        }
        let encoded = self.outgoing.as_ref().unwrap().encoded;
        let payload = self.check_data_frames(&frames, first, fin, text, encoded);
        assert_eq!(payload, data, "the frames do not carry the fragment");
        self.after_frames(&frames);
        if fin {
            self.outgoing = None;
        }
    }

    /// Checks the data frames of one send: opcodes, FIN, RSV1, sizes; returns the inflated payload.
    fn check_data_frames(
        &mut self,
        frames: &[WireFrame],
        first: bool,
        fin: bool,
        text: bool,
        encoded: bool,
    ) -> Vec<u8> {
        let mut payload = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let expected_op = if first && i == 0 {
                if text { 0x1 } else { 0x2 }
            } else {
                0x0
            };
            assert_eq!(f.opcode, expected_op, "opcode of data frame {i}");
            assert_eq!(f.fin, fin && i + 1 == frames.len(), "FIN of data frame {i}");
            let rsv1 = first && i == 0 && encoded;
            assert_eq!(f.rsv, if rsv1 { 0x40 } else { 0 }, "RSV of data frame {i}");
            if let Some(max) = self.max_send_frame_size {
                assert!(
                    f.payload.len() <= max.max(1),
                    "frame over max_send_frame_size"
                );
            }
            payload.extend_from_slice(&f.payload);
        }
        if encoded {
            let inflater = self.peer_inflater.as_mut().expect("RSV1 without deflate");
            let mut out = BytesMut::new();
            inflater
                .decompress(&payload, fin, &mut out, usize::MAX)
                .expect("our compressed data inflates");
            out.to_vec()
        } else {
            payload
        }
    }

    /// Checks what the last call wrote (bytes from `before` on).
    /// Everything queued to write, every run of it (large server payloads are queued by reference, as
    /// runs of their own).
    fn queued(&mut self) -> Vec<u8> {
        loop {
            let mut out = self.conn.output();
            let waiting = out.remaining();
            // (A payload queued by reference may be partly written already, so the number of runs cannot
            // be told from the length: the list grows until the runs hold every waiting byte, or until
            // `chunks_vectored` lists no more, which it may: at most 64 runs.)
            let mut room = 4;
            let listed = loop {
                let mut runs = vec![IoSlice::new(&[]); room];
                let n = out.chunks_vectored(&mut runs);
                let mut all = Vec::with_capacity(waiting);
                for run in &runs[..n] {
                    assert!(!run.is_empty(), "an empty run listed");
                    all.extend_from_slice(run);
                }
                assert!(all.len() <= waiting, "runs hold more than waits");
                if all.len() == waiting {
                    break Some(all);
                }
                if n < room {
                    assert!(n >= 64, "runs do not add up: {n} runs listed");
                    break None;
                }
                room *= 2;
            };
            match listed {
                Some(all) => {
                    let mut queued = self.spill.clone();
                    queued.extend_from_slice(&all);
                    return queued;
                }
                None => {
                    // Too many runs to list: take the first one off the core's queue.
                    let n = out.chunk().len();
                    assert!(n > 0, "an empty first run while bytes wait");
                    self.spill.extend_from_slice(out.chunk());
                    out.advance(n);
                }
            }
        }
    }

    /// How many bytes wait to be written (the spill and the core's queue).
    fn queued_len(&mut self) -> usize {
        self.spill.len() + self.conn.output().remaining()
    }

    /// The harness's clock as the core's time.
    fn instant(&self) -> ws_core::Instant {
        ws_core::Instant::ZERO + self.now
    }

    fn check_output(&mut self, before: usize, call: Call) {
        let new = &self.queued()[before..];
        if new.is_empty() {
            return;
        }
        let frames = parse_valid_frames(new);
        for f in &frames {
            let allowed = match call {
                Call::Receive => matches!(f.opcode, 0x8 | 0xA),
                Call::Time => matches!(f.opcode, 0x8 | 0x9),
            };
            assert!(
                allowed,
                "{call:?} wrote a frame with opcode {:#x}",
                f.opcode
            );
            if call == Call::Receive && f.opcode == 0xA {
                self.auto_pongs.push(f.payload.clone());
            }
            if call == Call::Time && f.opcode == 0x9 {
                assert!(self.timers && f.payload.len() == 4, "keepalive ping");
            }
        }
        if call == Call::Time {
            assert!(
                frames.len() <= 2,
                "a time step wrote {} frames",
                frames.len()
            );
        }
        self.after_frames(&frames);
    }

    /// Rules for every frame we write, whatever wrote it.
    fn after_frames(&mut self, frames: &[WireFrame]) {
        for f in frames {
            assert!(
                self.close_frame.is_none(),
                "a frame (opcode {:#x}) after our close frame",
                f.opcode
            );
            assert_eq!(f.masked, self.role == Role::Client, "masking of our frames");
            if f.is_control() {
                assert!(f.fin && f.payload.len() <= 125 && f.rsv == 0);
            } else if f.rsv != 0 {
                assert!(f.rsv == 0x40 && self.negotiated.is_some());
            }
            if f.opcode == 0x8 {
                assert!(f.payload.len() != 1, "a one-byte close payload");
                if let Some(code) = f.close_code() {
                    assert!(
                        crate::sendable_close_code(code),
                        "we sent close code {code}"
                    );
                    assert!(std::str::from_utf8(&f.payload[2..]).is_ok());
                }
                self.close_frame = Some(f.clone());
            }
        }
    }

    /// Memory bounds: what the peer can make us write.
    fn check_bounds(&self) {
        let fed = self.fed.len();
        // A pong per ping (at most 3x the ping's bytes: a 2-byte header can become a 6-byte masked one)
        // and one close frame.
        assert!(
            self.receive_output <= 3 * fed + 131,
            "receive-side output {} after {fed} bytes fed",
            self.receive_output
        );
        assert!(
            self.time_output <= 10 * self.time_steps + 131,
            "time steps wrote {} bytes in {} steps",
            self.time_output,
            self.time_steps
        );
        if self.terminal {
            assert_eq!(self.conn.state(), State::Closed);
        }
    }

    /// Delivers the rest, drains the events, compares with the model, then ends the stream.
    pub fn finish(mut self) {
        self.deliver(self.queued.len());
        while self.poll() {}
        assert_eq!(self.conn.poll_event(), None);
        assert_eq!(self.conn.state() == State::Closed, self.terminal);
        if debug() {
            eprintln!("fed {} bytes; events: {:?}", self.fed.len(), self.events);
        }
        self.compare_with_model();
        // Pongs answer pings in order; all of them while we had not sent a close frame.
        let pings: Vec<Vec<u8>> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Ping(p) => Some(p.to_vec()),
                _ => None,
            })
            .collect();
        assert!(
            pings.starts_with(&self.auto_pongs),
            "auto pongs {:?} are not the pings {:?}",
            self.auto_pongs,
            pings
        );
        if self.close_frame.is_none() {
            assert_eq!(pings.len(), self.auto_pongs.len(), "a ping went unanswered");
        }
        // The end of the stream ends the connection, with exactly one terminal event in all.
        if !self.eof {
            self.eof = true;
            self.conn.receive_eof(self.instant());
        }
        while self.poll() {}
        assert!(self.terminal, "no terminal event after EOF");
        assert_eq!(self.events.iter().filter(|e| e.is_terminal()).count(), 1);
        for _ in 0..3 {
            assert_eq!(self.conn.poll_event(), None);
        }
    }

    fn compare_with_model(&self) {
        let inflater = self
            .negotiated
            .map(|n| n.decompressor(self.role == Role::Server));
        let deflate = inflater.is_some();
        let expected = Model::new(self.role, self.limits, inflater).run(&self.fed);
        let mut stopped = false;
        let mut got = Vec::new();
        for e in &self.events {
            got.push(match e {
                Event::Message(m) => Item::Message {
                    text: m.is_text(),
                    data: m.as_bytes().to_vec(),
                },
                Event::Ping(p) => Item::Ping(p.to_vec()),
                Event::Pong(p) => Item::Pong(p.to_vec()),
                Event::Closed(f) => Item::Close(
                    f.as_ref()
                        .map(|f| (f.code.0, f.reason.as_str().to_string())),
                ),
                Event::Failed(
                    e @ (Error::Protocol(_) | Error::InvalidUtf8 | Error::LimitExceeded(_)),
                ) => Item::Fault(e.close_code().0),
                Event::Failed(_) => {
                    stopped = true; // timeout or EOF: the model knows nothing of those
                    break;
                }
                other => panic!("unexpected event {other:?}"),
            });
        }
        let n = got.len();
        assert!(
            expected.len() >= n,
            "the core produced more events than the model:\n core:  {}\n model: {}",
            summary(&got),
            summary(&expected)
        );
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            let same = match (g, e) {
                // With deflate, which of two faults in one frame is seen first may depend on how the frame
                // was cut (invalid UTF-8 in an early piece vs. bad DEFLATE data later).
                (Item::Fault(_), Item::Fault(_)) if deflate => true,
                _ => g == e,
            };
            assert!(
                same,
                "event {i} differs:\n core:  {}\n model: {}",
                summary(&got),
                summary(&expected)
            );
        }
        if !stopped && !self.terminal {
            assert_eq!(
                n,
                expected.len(),
                "the core is missing events:\n core:  {}\n model: {}",
                summary(&got),
                summary(&expected)
            );
        }
    }
}

fn summary(items: &[Item]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|i| match i {
            Item::Message { text, data } => {
                format!("{}({}B)", if *text { "Text" } else { "Binary" }, data.len())
            }
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(", ")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_chars(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `WS_FUZZ_DEBUG=1` prints what each run saw (for replaying a single input).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("WS_FUZZ_DEBUG").is_some())
}
