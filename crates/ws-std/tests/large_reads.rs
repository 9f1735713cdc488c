//! The read buffer grows while reads fill it, up to 256 KiB: a burst of large messages that has all
//! arrived is taken in a few large reads, not in one read per 64 KiB.

mod common;

use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use common::{blocking, bounded, read_frame};
use futures_util::io::AllowStdIo;
use ws_std::NoDeadline;
use ws_testkit::raw::{self, BINARY, CLOSE};

/// Input that has all arrived (a read takes as much as fits), output collected, reads counted.
struct Arrived {
    input: Cursor<Vec<u8>>,
    output: Arc<Mutex<Vec<u8>>>,
    reads: Arc<Mutex<usize>>,
}

impl Read for Arrived {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        *self.reads.lock().unwrap() += 1;
        self.input.read(buf)
    }
}

impl Write for Arrived {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_burst_of_large_messages_is_taken_in_few_reads() {
    const COUNT: usize = 16;
    const SIZE: usize = 60 * 1024;
    let (payloads, input) = raw::burst_of_messages(COUNT, SIZE);
    let output = Arc::new(Mutex::new(Vec::new()));
    let reads = Arc::new(Mutex::new(0));
    let stream = NoDeadline(Arrived {
        input: Cursor::new(input),
        output: output.clone(),
        reads: reads.clone(),
    });

    let echoed = bounded(30, move || {
        let mut ws = ws_std::accept(stream).unwrap();
        let mut echoed = 0;
        while let Some(message) = ws.recv() {
            ws.send(message.unwrap()).unwrap();
            echoed += 1;
        }
        echoed
    });
    assert_eq!(echoed, COUNT);

    let mut written = Cursor::new(output.lock().unwrap().clone());
    let head = blocking(raw::read_head(&mut AllowStdIo::new(&mut written))).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for payload in &payloads {
        let (opcode, echo) = read_frame(&mut written);
        assert_eq!((opcode, echo.len()), (BINARY, SIZE));
        assert!(echo == *payload, "an echo differs from its message");
    }
    assert_eq!(read_frame(&mut written).0, CLOSE);

    let reads = *reads.lock().unwrap();
    eprintln!("{COUNT} messages of 60 KiB, all arrived: {reads} reads");
    // 960 KiB in reads of 4, 8, ... 128 KiB, then 256 KiB each, and the read that finds the end: 10. With
    // reads capped at 64 KiB: 20.
    assert!(reads <= 12, "{reads} reads for {COUNT} large messages");
}
